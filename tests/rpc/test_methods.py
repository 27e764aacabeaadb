"""Every method's result shape, against a node backed by a real Store and TxPool (in-process)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from chain.ledger.status import Status
from chain.wire.views import header_from_json, status_message
from tests.rpc.conftest import kv_tx


def h(data: bytes) -> str:
    return "0x" + data.hex()


def ok(response: dict[str, Any]) -> Any:
    assert "error" not in response, response
    return response["result"]


def err(response: dict[str, Any]) -> tuple[int, str]:
    assert "result" not in response, response
    return response["error"]["code"], response["error"]["message"]


def refused(response: dict[str, Any]) -> tuple[int, str]:
    """(transaction status, message) of a refused sendRawTransaction: FISCO 2.x over HTTP answers
    -32603 with the status's name first in the text; the status itself is in data."""
    code, message = err(response)
    assert code == -32603, response
    status = int(response["error"]["data"]["status"], 16)
    assert message.startswith(status_message(status)), response
    return status, message


def test_client_version_and_groups(rpc, chain):
    version = ok(rpc("getClientVersion"))
    assert version["Chain Id"] == "7"
    assert version["Crypto Suite"] == "sm"
    assert version["FISCO-BCOS Version"].startswith("2.")
    assert ok(rpc("getGroupList")) == [1]


def test_block_number_is_hex_head(rpc, chain):
    assert ok(rpc("getBlockNumber", [1])) == hex(chain["node"].store.head_number()) == "0x2"


def test_block_by_number_with_and_without_transactions(rpc, chain):
    suite = chain["node"].suite
    full = ok(rpc("getBlockByNumber", [1, "0x1", True]))
    hashes = ok(rpc("getBlockByNumber", [1, "0x1", False]))
    block = chain["block1"]
    assert full["number"] == "0x1" and full["hash"] == h(block.hash(suite))
    assert [t["hash"] for t in full["transactions"]] == hashes["transactions"] == [h(tx.hash(suite)) for tx in chain["good"]]
    first = full["transactions"][0]
    assert first["from"] == h(chain["user"].address)
    assert first["blockNumber"] == "0x1" and first["transactionIndex"] == "0x0" and first["blockHash"] == full["hash"]
    assert len(full["sealerList"]) == 4 and all(len(node) == 128 for node in full["sealerList"])
    assert [s["index"] for s in full["signatureList"]] == ["0x0", "0x1", "0x2"]
    # The view carries every header field: it rebuilds the header whose hash it claims.
    assert header_from_json(full).hash(suite) == block.hash(suite)


def test_block_by_hash_and_hash_by_number_agree(rpc, chain):
    by_number = ok(rpc("getBlockByNumber", [1, "0x2", False]))
    assert ok(rpc("getBlockHashByNumber", [1, "0x2"])) == by_number["hash"]
    assert ok(rpc("getBlockByHash", [1, by_number["hash"], False])) == by_number
    assert ok(rpc("getBlockByNumber", [1, 2, False])) == by_number  # a JSON integer works too
    assert ok(rpc("getBlockByNumber", [1, "latest", False])) == by_number


def test_missing_blocks_are_fisco_errors(rpc):
    assert err(rpc("getBlockByNumber", [1, "0x63", True]))[0] == -40004
    assert err(rpc("getBlockHashByNumber", [1, "0x63"]))[0] == -40004
    assert err(rpc("getBlockByHash", [1, h(b"\x11" * 32), True]))[0] == -40003


def test_transaction_by_hash_and_position(rpc, chain):
    suite = chain["node"].suite
    tx = chain["good"][2]
    view = ok(rpc("getTransactionByHash", [1, h(tx.hash(suite))]))
    assert view["hash"] == h(tx.hash(suite)) and view["transactionIndex"] == "0x2"
    assert view["nonce"] == hex(tx.nonce) and view["input"] == h(tx.data) and view["to"] == h(tx.to)
    assert view["blockLimit"] == hex(tx.block_limit) and view["chainId"] == "0x7"
    assert ok(rpc("getTransactionByBlockNumberAndIndex", [1, "0x1", "0x2"])) == view
    assert err(rpc("getTransactionByBlockNumberAndIndex", [1, "0x1", "0x3"]))[0] == -40005
    assert ok(rpc("getTransactionByHash", [1, h(b"\x22" * 32)])) is None


def test_receipts_success_failure_and_pending(rpc, chain):
    suite = chain["node"].suite
    good = ok(rpc("getTransactionReceipt", [1, h(chain["good"][0].hash(suite))]))
    assert good["status"] == "0x0" and good["blockNumber"] == "0x1" and good["transactionIndex"] == "0x0"
    assert good["from"] == h(chain["user"].address) and good["input"] == h(chain["good"][0].data)
    assert good["contractAddress"] == "0x" + "00" * 20 and good["logs"] == []
    assert good["output"] == "0x"  # the kv stand-in returns the previous value: none
    bad = ok(rpc("getTransactionReceipt", [1, h(chain["bad"].hash(suite))]))
    assert bad["status"] == hex(Status.INVALID_FORMAT) and bad["blockNumber"] == "0x2"
    assert ok(rpc("getTransactionReceipt", [1, h(chain["pending"].hash(suite))])) is None


def test_node_lists_and_consensus(rpc, chain):
    node = chain["node"]
    sealers = ok(rpc("getSealerList", [1]))
    assert sealers == sorted(k.public_key.hex() for k in node.sealer_keys)
    assert ok(rpc("getObserverList", [1])) == [node.observer_key.public_key.hex()]
    assert ok(rpc("getPbftView", [1])) == "0x3"
    status, views = ok(rpc("getConsensusStatus", [1]))
    assert status["nodeNum"] == 4 and status["max_faulty_leader"] == 1 and status["currentView"] == 3
    assert [status[f"sealer.{i}"] for i in range(4)] == sealers
    # FISCO 2.x lists every sealer's view (here each connected sealer; this node knows no other view)
    assert status["highestblockNumber"] == 2 and views == [{"nodeId": s, "view": 3} for s in sealers]
    assert status["accountType"] == 1 and status["connectedNodes"] == 3 and status["leaderFailed"] is False
    sync = ok(rpc("getSyncStatus", [1]))
    assert sync["blockNumber"] == 2 and sync["isSyncing"] is False and sync["txPoolSize"] == "1"
    assert sync["genesisHash"] == h(node.store.block_hash(0)) and len(sync["peers"]) == 3
    peers = ok(rpc("getPeers", [1]))
    assert {p["IPAndPort"] for p in peers} == {"127.0.0.1:30301", "127.0.0.1:30302", "127.0.0.1:30303"}
    ids = ok(rpc("getNodeIDList", [1]))
    assert ids[0] == node.node_id.hex() and len(ids) == 5 and len(set(ids)) == 5


def test_pending_and_counts(rpc, chain):
    suite = chain["node"].suite
    pending = ok(rpc("getPendingTransactions", [1]))
    assert [p["hash"] for p in pending] == [h(chain["pending"].hash(suite))]
    assert "blockNumber" not in pending[0]
    assert ok(rpc("getPendingTxSize", [1])) == "0x1"
    assert ok(rpc("getTotalTransactionCount", [1])) == {"blockNumber": "0x2", "txSum": "0x4", "failedTxSum": "0x1"}


def test_system_config(rpc):
    assert ok(rpc("getSystemConfigByKey", [1, "tx_count_limit"])) == "1000"
    assert ok(rpc("getSystemConfigByKey", [1, "consensus_leader_period"])) == "1"
    code, message = err(rpc("getSystemConfigByKey", [1, "no_such_key"]))
    assert code == -40008 and "tx_count_limit" in message


def test_code_and_call(rpc, chain):
    assert ok(rpc("getCode", [1, h(b"\x33" * 20)])) == "0x"
    result = ok(rpc("call", [1, {"from": h(chain["user"].address), "to": h(b"\x00" * 20), "data": h(b"k1")}]))
    assert result == {"currentBlockNumber": "0x2", "output": h(b"v1"), "status": "0x0"}
    assert err(rpc("call", [1, {"to": h(b"\x00" * 20), "data": "0x"}]))[0] == -40006
    assert err(rpc("call", [1, {"from": "0x12", "to": h(b"\x00" * 20)}]))[0] == -32602
    assert err(rpc("call", [1, "not an object"]))[0] == -32602


def test_three_x_dialect(rpc, chain):
    assert ok(rpc("getBlockNumber", ["group0", "node0"])) == 2  # 3.x: a JSON number (tests/rpc/test_fisco3x.py)
    assert ok(rpc("getBlockNumber", ["group0", ""])) == 2
    assert ok(rpc("getBlockByNumber", ["group0", "", 1, False, True]))["hash"] == ok(rpc("getBlockByNumber", [1, "0x1", False]))["hash"]
    assert ok(rpc("getCode", ["group0", "", "0x" + "00" * 20])) == ok(rpc("getCode", [1, "0x" + "00" * 20]))  # same in both
    assert ok(rpc("getBlockNumber", ["0x1"])) == "0x2"  # a number in text is still 2.x
    assert err(rpc("getBlockNumber", ["group9", ""]))[0] == -40001
    assert err(rpc("getBlockNumber", [2]))[0] == -40001
    assert err(rpc("getBlockNumber", ["group0", "node7"]))[0] == -32602
    assert err(rpc("getBlockNumber", ["group0"]))[0] == -32602
    assert err(rpc("getBlockNumber", []))[0] == -32602


@pytest.mark.parametrize("method, params, fragment", [
    ("getBlockNumber", [1, "extra"], "expected 0 parameters"),
    ("getBlockByNumber", [1], "expected 1 to 2 parameters"),
    ("getBlockByNumber", [1, "0xZZ", True], "hex"),
    ("getBlockByNumber", [1, -1, True], "out of range"),
    ("getBlockByNumber", [1, "0x1", "yes"], "true or false"),
    ("getBlockByHash", [1, "0x1234", True], "32 bytes"),
    ("getTransactionByHash", [1, 12], "hex string"),
    ("getCode", [1, "0x" + "00" * 21], "20 bytes"),
    ("getSystemConfigByKey", [1, 5], "string"),
    ("getBlockNumber", [True], "boolean"),
])
def test_wrong_params_say_what_is_wrong(rpc, method, params, fragment):
    code, message = err(rpc(method, params))
    assert code == -32602 and fragment in message


class TestSendRawTransaction:
    def test_accepts_then_refuses_replays(self, rpc, chain):
        node, user = chain["node"], chain["user"]
        tx = kv_tx(user, b"fresh", b"1", node.store.head_number())
        assert ok(rpc("sendRawTransaction", [1, h(tx.encode())])) == h(tx.hash(node.suite))
        code, message = refused(rpc("sendRawTransaction", [1, h(tx.encode())]))
        assert code == Status.ALREADY_KNOWN and message.startswith("AlreadyKnown")
        node.seal()
        assert ok(rpc("getTransactionReceipt", [1, h(tx.hash(node.suite))]))["status"] == "0x0"
        code, _ = refused(rpc("sendRawTransaction", [1, h(tx.encode())]))  # replay of a committed tx
        assert code in (Status.ALREADY_IN_CHAIN, Status.NONCE_CHECK_FAIL)
        # The same nonce re-signed as another transaction is a replay too.
        again = kv_tx(user, b"fresh", b"2", node.store.head_number(), nonce=tx.nonce)
        assert refused(rpc("sendRawTransaction", [1, h(again.encode())]))[0] in (Status.ALREADY_IN_CHAIN, Status.NONCE_CHECK_FAIL)

    def test_expired_block_limit(self, rpc, chain):
        node, user = chain["node"], chain["user"]
        head = node.store.head_number()
        expired = kv_tx(user, b"old", b"1", head, block_limit=head)
        code, message = refused(rpc("sendRawTransaction", [1, h(expired.encode())]))
        assert code == Status.BLOCK_LIMIT_CHECK_FAIL and message.startswith("BlockLimitCheckFail")
        too_far = kv_tx(user, b"far", b"1", head, block_limit=head + 1001)
        assert refused(rpc("sendRawTransaction", [1, h(too_far.encode())]))[0] == Status.BLOCK_LIMIT_CHECK_FAIL

    def test_wrong_chain_group_and_signature(self, rpc, chain):
        node, user = chain["node"], chain["user"]
        head = node.store.head_number()
        assert refused(rpc("sendRawTransaction", [1, h(kv_tx(user, b"a", b"1", head, chain_id=8).encode())]))[0] == Status.INVALID_CHAIN_ID
        assert refused(rpc("sendRawTransaction", [1, h(kv_tx(user, b"a", b"1", head, group_id=2).encode())]))[0] == Status.INVALID_GROUP_ID
        forged = replace(kv_tx(user, b"a", b"1", head), data=b"a\x00forged")  # signature over other data
        assert refused(rpc("sendRawTransaction", [1, h(forged.encode())]))[0] == Status.INVALID_SIGNATURE

    def test_malformed_input(self, rpc):
        assert err(rpc("sendRawTransaction", [1, "0xnothex"]))[0] == -32602
        code, message = refused(rpc("sendRawTransaction", [1, "0xc0"]))  # an empty RLP list
        assert code == Status.MALFORMED_TX and "malformed" in message
        assert err(rpc("sendRawTransaction", [1]))[0] == -32602


def test_sender_shortcut_matches_verified_sender(chain):
    from chain.crypto.keys import KeyPair
    from chain.ledger.transaction import Transaction
    from chain.wire.views import sender_of
    from tests.rpc.conftest import kv_tx

    for suite_name in ("sm", "standard"):
        user = KeyPair(suite_name, 31337)
        fresh = Transaction.decode(kv_tx(user, b"a", b"b", 0).encode())
        assert sender_of(user.suite, fresh) == fresh.sender(user.suite) == user.address


def test_a_call_stopped_by_its_time_budget_is_a_clear_error(rpc, chain, monkeypatch):
    from chain.execution.result import CallOutOfTime
    from chain.rpc.methods import CALL_OUT_OF_TIME

    def endless(to: bytes, data: bytes, sender: bytes) -> tuple[int, bytes]:
        raise CallOutOfTime("the call ran out of its time budget before it finished")

    monkeypatch.setattr(chain["node"], "call", endless)
    code, message = err(rpc("call", [1, {"from": h(chain["user"].address), "to": h(b"\x00" * 20), "data": "0x"}]))
    assert code == CALL_OUT_OF_TIME and "time budget" in message
    assert ok(rpc("getBlockNumber", [1])) == hex(chain["node"].store.head_number())  # and the server goes on answering


def test_calls_are_run_off_the_loop_but_transactions_are_not():
    from chain.rpc.methods import runs_off_loop

    call = {"jsonrpc": "2.0", "id": 1, "method": "call", "params": []}
    number = {"jsonrpc": "2.0", "id": 2, "method": "getBlockNumber", "params": [1]}
    send = {"jsonrpc": "2.0", "id": 3, "method": "sendRawTransaction", "params": []}
    assert runs_off_loop(call) and runs_off_loop([number, call])
    assert not runs_off_loop(number) and not runs_off_loop([number])
    # A batch with transactions keeps the admission round (and its one gossip message) on the loop.
    assert not runs_off_loop([call, send])
    assert not runs_off_loop("call") and not runs_off_loop([1, None])
