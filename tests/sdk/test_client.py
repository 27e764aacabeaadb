"""SDK round trips over real HTTP against an in-process node: sign, send, wait, call, prove."""

from __future__ import annotations

import asyncio

import pytest

from chain.crypto.keys import KeyPair, save_private_key
from chain.execution.kv import encode_kv
from chain.ledger.status import Status
from chain.sdk.account import Account
from chain.ledger.transaction import BLOCK_LIMIT_AHEAD
from chain.sdk.client import Client, SyncClient, transaction_status
from chain.sdk.errors import ReceiptTimeout, RpcCallError, RpcTransportError
from tests.rpc.localnode import AutoSealer, LocalNode

pytestmark = pytest.mark.timeout(60)
KV = b"\x00" * 20


@pytest.fixture(scope="module")
def node():
    return LocalNode("sm", seed=2)


@pytest.fixture
def sealing(node):
    sealer = AutoSealer(node)
    yield sealer
    sealer.stop()


@pytest.fixture
def client(served, node):
    with SyncClient(served.url, node.suite, group_id=1) as sync:
        yield sync


def test_account_from_key_file(tmp_path):
    key = KeyPair.generate("sm")
    save_private_key(tmp_path / "k.pem", key, "pw")
    account = Account.from_key_file(tmp_path / "k.pem", "pw")
    assert account.address == key.address and account.suite.name == "sm"


def test_send_wait_and_read_back(client, node, sealing):
    account = Account(KeyPair("sm", 55))
    head = client.block_number()
    tx = client.build_transaction(account, KV, encode_kv(b"color", b"blue"))
    assert tx.block_limit == head + BLOCK_LIMIT_AHEAD and tx.chain_id == node.chain_id
    assert tx.sender(node.suite) == account.address
    tx_hash = client.send_raw(tx)
    assert tx_hash == tx.hash(node.suite)
    receipt = client.wait_for_receipt(tx_hash, timeout=10)
    assert receipt.ok and receipt.transaction_hash == tx_hash and receipt.block_number > head
    assert client.call(KV, b"color") == (0, b"blue")
    view = client.transaction(tx_hash)
    assert view["from"] == "0x" + account.address.hex()
    # A second write returns the previous value as its output (the kv stand-in's rule).
    receipt = client.send_and_wait(account, KV, encode_kv(b"color", b"red"), timeout=10)
    assert receipt.output == b"blue"


def test_verified_transaction_checks_proofs(client, sealing):
    account = Account(KeyPair("sm", 56))
    receipts = [client.send_and_wait(account, KV, encode_kv(b"p%d" % i, b"x"), timeout=10) for i in range(2)]
    tx, receipt = client.verified_transaction(receipts[1].transaction_hash)
    assert receipt == receipts[1] and tx.hash(client.suite) == receipts[1].transaction_hash


def test_failed_transaction_has_a_failed_receipt(client, sealing):
    receipt = client.send_and_wait(Account(KeyPair("sm", 57)), KV, b"no separator", timeout=10)
    assert not receipt.ok and receipt.status == Status.INVALID_FORMAT


def test_rejections_carry_the_pool_status(client, node):
    account = Account(KeyPair("sm", 58))
    tx = client.build_transaction(account, KV, encode_kv(b"a", b"b"))
    client.send_raw(tx)
    with pytest.raises(RpcCallError) as caught:
        client.send_raw(tx)
    assert transaction_status(caught.value) == Status.ALREADY_KNOWN and caught.value.method == "sendRawTransaction"
    assert caught.value.code == -32603 and caught.value.message.startswith("AlreadyKnown")  # FISCO 2.x over HTTP
    with pytest.raises(RpcCallError) as caught:
        client.send_transaction(account, KV, encode_kv(b"a", b"b"), block_limit=client.block_number())
    assert transaction_status(caught.value) == Status.BLOCK_LIMIT_CHECK_FAIL


def test_wait_for_receipt_times_out(client):
    with pytest.raises(ReceiptTimeout):
        client.wait_for_receipt(b"\x01" * 32, timeout=0.2, poll=0.05)


def test_batch_returns_results_and_errors_in_order(client):
    results = client.batch([("getBlockNumber", [1]), ("nope", []), ("getGroupList", [])])
    assert results[0].startswith("0x") and isinstance(results[1], RpcCallError) and results[2] == [1]
    assert results[1].code == -32601


def test_unreachable_node_is_a_transport_error(node):
    with SyncClient("http://127.0.0.1:9/", node.suite, timeout=2) as sync:
        with pytest.raises(RpcTransportError, match="cannot reach"):
            sync.block_number()


def test_async_client_concurrent_requests(served, node):
    async def main() -> list[int]:
        async with Client(served.url, node.suite, connections=4) as client:
            return await asyncio.gather(*(client.block_number() for _ in range(20)))
    numbers = asyncio.run(main())
    assert len(numbers) == 20 and all(n >= 0 for n in numbers)
