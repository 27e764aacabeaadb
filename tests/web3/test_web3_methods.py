"""The web3 methods in-process (a LocalNode with the EVM, sealed by the test): shapes, tags, WebSocket push."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, Iterator

import aiohttp
import pytest
from eth_account import Account
from eth_utils import to_checksum_address

from chain.abi.codec import ContractABI
from chain.contracts import load_artifact
from chain.errors import ChainError
from chain.execution.executor import EVMExecutor
from chain.logs.service import LogService
from chain.rpc.server import bound_port
from chain.txpool.pool import TxPool
from chain.web3.methods import Web3Context, Web3Error, dispatch
from chain.web3.server import start_web3_server
from tests.rpc.localnode import CHAIN_ID as FISCO_CHAIN_ID, GROUP_ID, LocalNode

ETH_CHAIN_ID = 31337
ACCOUNT = Account.from_key(b"\x07" * 32)


class Node(LocalNode):
    def __init__(self, suite: str = "standard") -> None:  # noqa: D107
        super().__init__(suite)
        self.executor = EVMExecutor(self.suite, chain_id=FISCO_CHAIN_ID)
        self.txpool = TxPool(self.suite, self.store, chain_id=FISCO_CHAIN_ID, group_id=GROUP_ID, eth_chain_id=ETH_CHAIN_ID)
        self.logs = LogService(self.store, self.suite)

    def seal(self, limit: int = 1000) -> Any:
        block = super().seal(limit)
        self.logs.on_commit(block.number)
        return block


def call(ctx: Web3Context, name: str, *params: Any) -> Any:
    return dispatch(ctx, name, list(params))


def send(ctx: Web3Context, nonce: int, **fields: Any) -> str:
    tx = {"nonce": nonce, "gas": 1_000_000, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0, "value": 0,
          "chainId": ETH_CHAIN_ID, "data": b""}
    tx.update(fields)
    if "to" in tx:
        tx["to"] = to_checksum_address(tx["to"])
    return call(ctx, "eth_sendRawTransaction", ACCOUNT.sign_transaction(tx).raw_transaction.to_0x_hex())


@pytest.fixture(scope="module")
def chain() -> tuple[Node, Web3Context, str, ContractABI]:
    node = Node()
    ctx = Web3Context(node, ETH_CHAIN_ID, node.logs)
    artifact = load_artifact("HelloWorld", "standard")
    abi = ContractABI(node.suite, artifact.abi)
    send(ctx, 0, data=abi.encode_deploy(artifact.bytecode))
    node.seal()
    receipt = call(ctx, "eth_getTransactionReceipt", call(ctx, "eth_getBlockByNumber", "latest", False)["transactions"][0])
    return node, ctx, receipt["contractAddress"], abi


def test_quantities_are_minimal_hex_and_tags_name_the_head(chain: Any) -> None:
    node, ctx, _, _ = chain
    assert call(ctx, "eth_chainId") == hex(ETH_CHAIN_ID) and call(ctx, "net_version") == str(ETH_CHAIN_ID)
    assert call(ctx, "eth_gasPrice") == "0x0" and call(ctx, "eth_getBalance", ACCOUNT.address, "latest") == "0x0"
    head = call(ctx, "eth_blockNumber")
    assert head == hex(node.store.head_number())
    for tag in ("latest", "pending", "safe", "finalized"):
        assert call(ctx, "eth_getBlockByNumber", tag, False)["number"] == head
    assert call(ctx, "eth_getBlockByNumber", "earliest", False)["number"] == "0x0"
    # seconds since the epoch (headers hold FISCO's milliseconds): 1.7e9 here, not 1.7e12
    assert 1_600_000_000 < int(call(ctx, "eth_getBlockByNumber", "latest", False)["timestamp"], 16) < 10_000_000_000
    assert call(ctx, "eth_getBlockByNumber", "0x999", False) is None
    history = call(ctx, "eth_feeHistory", "0x2", "latest", [50])
    assert history["baseFeePerGas"] == ["0x0"] * 3 and history["reward"] == [["0x0"], ["0x0"]]


def test_nonces_latest_and_pending(chain: Any) -> None:
    node, ctx, address, abi = chain
    latest = int(call(ctx, "eth_getTransactionCount", ACCOUNT.address, "latest"), 16)
    send(ctx, latest, to=address, data=abi.encode_call("set", "pending"))
    assert call(ctx, "eth_getTransactionCount", ACCOUNT.address, "pending") == hex(latest + 1)
    assert call(ctx, "eth_getTransactionCount", ACCOUNT.address, "latest") == hex(latest)
    node.seal()
    assert call(ctx, "eth_getTransactionCount", ACCOUNT.address, "latest") == hex(latest + 1)


def test_state_of_an_older_block_is_refused_not_faked(chain: Any) -> None:
    node, ctx, address, _ = chain
    assert call(ctx, "eth_getCode", address, "latest") != "0x"
    with pytest.raises(Web3Error, match="historical state"):
        call(ctx, "eth_getCode", address, "0x0")


def test_log_index_counts_within_the_block(chain: Any) -> None:
    node, ctx, address, abi = chain
    nonce = int(call(ctx, "eth_getTransactionCount", ACCOUNT.address, "pending"), 16)
    hashes = [send(ctx, nonce + i, to=address, data=abi.encode_call("set", f"n{i}")) for i in range(2)]
    block = node.seal()
    second = call(ctx, "eth_getTransactionReceipt", hashes[1])
    assert second["transactionIndex"] == "0x1" and [log["logIndex"] for log in second["logs"]] == ["0x1"]
    logs = call(ctx, "eth_getLogs", {"fromBlock": hex(block.number), "toBlock": hex(block.number), "address": address})
    assert [log["logIndex"] for log in logs] == ["0x0", "0x1"]
    assert second["cumulativeGasUsed"] == hex(sum(int(call(ctx, "eth_getTransactionReceipt", h)["gasUsed"], 16) for h in hashes))
    full = call(ctx, "eth_getBlockByNumber", hex(block.number), True)
    assert [tx["hash"] for tx in full["transactions"]] == hashes and full["transactions"][0]["type"] == "0x2"


def test_fisco_transactions_show_through_web3_too(chain: Any) -> None:
    node, ctx, _, _ = chain
    from tests.rpc.conftest import kv_tx  # noqa: PLC0415 - a FISCO tx from the FISCO RPC tests
    tx = kv_tx(node.admin, b"k", b"v", node.store.head_number())
    node.submit_transaction(tx)
    node.seal()
    shown = call(ctx, "eth_getTransactionByHash", "0x" + tx.hash(node.suite).hex())
    assert shown["type"] == "0x0" and shown["from"] == "0x" + node.admin.address.hex()


def test_unknown_method_names_itself(chain: Any) -> None:
    _, ctx, _, _ = chain
    with pytest.raises(Web3Error) as info:
        call(ctx, "eth_mine")
    assert info.value.code == -32601 and "eth_mine" in info.value.message


def test_sm_chain_refuses_to_start_the_endpoint() -> None:
    node = LocalNode("sm")
    with pytest.raises(ChainError, match="standard-suite"):
        asyncio.run(start_web3_server(Web3Context(node, ETH_CHAIN_ID, LogService(node.store, node.suite)), "127.0.0.1", 0))


def test_eth_subscribe_new_heads_and_logs_over_websocket(chain: Any) -> None:
    node, ctx, address, abi = chain
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        holder["runner"] = loop.run_until_complete(start_web3_server(ctx, "127.0.0.1", 0))
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    url = f"ws://127.0.0.1:{bound_port(holder['runner'])}/"

    async def client() -> list[dict[str, Any]]:
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}))
            heads = json.loads((await ws.receive(5)).data)["result"]
            await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "eth_subscribe",
                                          "params": ["logs", {"address": address}]}))
            logs = json.loads((await ws.receive(5)).data)["result"]
            nonce = int(call(ctx, "eth_getTransactionCount", ACCOUNT.address, "pending"), 16)
            await asyncio.get_running_loop().run_in_executor(None, lambda: (
                send(ctx, nonce, to=address, data=abi.encode_call("set", "pushed")), node.seal()))
            got = [json.loads((await ws.receive(5)).data) for _ in range(2)]
            assert {m["params"]["subscription"] for m in got} == {heads, logs}
            return got

    try:
        messages = asyncio.run(client())
    finally:
        asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
    by_kind = {("number" in m["params"]["result"]): m["params"]["result"] for m in messages}
    assert by_kind[True]["number"] == hex(node.store.head_number()) and "transactions" not in by_kind[True]
    assert by_kind[False]["address"] == address and by_kind[False]["logIndex"] == "0x0"


@pytest.mark.parametrize("body, code", [
    (b"{not json", -32700),
    (b"[]", -32600),
    (json.dumps([{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(101)]).encode(), -32600),
    (b'"a string"', -32600),
    (b'{"jsonrpc": "2.0", "id": true, "method": "eth_chainId"}', -32600),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": {"a": 1}}', -32602),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": []}', -32602),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_getCode", "params": ["0x12", "latest"]}', -32602),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": ["0xzz"]}', -32602),
])
def test_hostile_bodies_get_json_rpc_errors(chain: Any, body: bytes, code: int) -> None:
    from chain.web3.server import handle_body
    _, ctx, _, _ = chain
    answer = handle_body(ctx, body)
    assert answer["error"]["code"] == code, answer
