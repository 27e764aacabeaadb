"""Runs of sendRawTransaction in one JSON-RPC batch are admitted together, each judged alone."""

from __future__ import annotations

import json
from typing import Any, Sequence

from chain.crypto.keys import KeyPair
from chain.errors import ChainError
from chain.ledger.transaction import Transaction
from chain.rpc.methods import RpcContext
from chain.rpc.server import handle_body
from chain.ledger.status import Status
from tests.rpc.conftest import kv_tx
from tests.rpc.localnode import LocalNode


class BatchingNode(LocalNode):
    """A LocalNode that also offers submit_transactions, and records each call's size."""

    def __init__(self) -> None:
        super().__init__("sm", seed=4)
        self.calls: list[int] = []

    def submit_transactions(self, txs: Sequence[Transaction]) -> list[bytes | ChainError]:
        self.calls.append(len(txs))
        outcomes: list[bytes | ChainError] = []
        for tx in txs:
            try:
                outcomes.append(self.submit_transaction(tx))
            except ChainError as exc:
                outcomes.append(exc)
        return outcomes


def send(tx_or_hex: Transaction | str, request_id: Any) -> dict[str, Any]:
    raw = tx_or_hex if isinstance(tx_or_hex, str) else "0x" + tx_or_hex.encode().hex()
    return {"jsonrpc": "2.0", "id": request_id, "method": "sendRawTransaction", "params": [1, raw]}


def test_a_run_is_one_submission_and_other_methods_split_runs() -> None:
    node = BatchingNode()
    ctx = RpcContext(node)
    user = KeyPair("sm", 515151)
    txs = [kv_tx(user, b"k%d" % i, b"v", 0) for i in range(5)]
    batch = [
        send(txs[0], 1), send(txs[1], 2), send("0xzz", 3), send(txs[1], 4), send(txs[2], 5),
        {"jsonrpc": "2.0", "id": 6, "method": "getPendingTxSize", "params": [1]},
        send(txs[3], 7),
        {"jsonrpc": "2.0", "method": "sendRawTransaction", "params": [1, "0x" + txs[4].encode().hex()]},  # notification
    ]
    answers = handle_body(ctx, json.dumps(batch).encode())
    assert [a["id"] for a in answers] == [1, 2, 3, 4, 5, 6, 7]
    assert answers[0]["result"] == "0x" + txs[0].hash(node.suite).hex()
    assert answers[1]["result"] == "0x" + txs[1].hash(node.suite).hex()
    assert answers[2]["error"]["code"] == -32602  # not hex: refused before admission
    assert answers[3]["error"]["message"].startswith("AlreadyKnown")  # the same tx twice in one run
    assert answers[4]["result"] == "0x" + txs[2].hash(node.suite).hex()
    assert answers[5]["result"] == "0x3"  # sees every transaction sent before it
    assert answers[6]["result"] == "0x" + txs[3].hash(node.suite).hex()
    assert node.calls == [4, 2]  # the run before getPendingTxSize, then the two after it
    assert len(node.txpool) == 5  # the notification was admitted too


def test_a_node_without_submit_transactions_gets_them_one_at_a_time() -> None:
    node = LocalNode("sm", seed=5)
    ctx = RpcContext(node)
    user = KeyPair("sm", 525252)
    txs = [kv_tx(user, b"k%d" % i, b"v", 0) for i in range(3)]
    answers = handle_body(ctx, json.dumps([send(tx, i) for i, tx in enumerate(txs)] + [send(txs[0], 9)]).encode())
    assert [a.get("result") for a in answers[:3]] == ["0x" + tx.hash(node.suite).hex() for tx in txs]
    assert answers[3]["error"]["message"].startswith("AlreadyKnown") and len(node.txpool) == 3


class RoundNode(BatchingNode):
    """A BatchingNode that also offers submit_soon (admitting at once) and records each round."""

    def __init__(self) -> None:
        super().__init__()
        self.rounds: list[int] = []

    async def submit_soon(self, txs: list[Transaction]) -> list[bytes | ChainError]:
        self.rounds.append(len(txs))
        return self.submit_transactions(txs)


def test_the_async_server_admits_through_submit_soon() -> None:
    import asyncio

    from chain.rpc.server import handle_body_async

    node = RoundNode()
    ctx = RpcContext(node)
    user = KeyPair("sm", 535353)
    txs = [kv_tx(user, b"k%d" % i, b"v", 0) for i in range(4)]

    def ask(payload: Any) -> Any:
        return asyncio.run(handle_body_async(ctx, json.dumps(payload).encode()))

    assert ask(send(txs[0], 1))["result"] == "0x" + txs[0].hash(node.suite).hex()  # a lone request
    assert ask(send(txs[0], 2))["error"]["message"].startswith("AlreadyKnown")
    assert ask(send("0x00", 3))["error"]["data"]["status"] == hex(Status.MALFORMED_TX)  # refused before any round
    batch = [send(txs[1], 4), send(txs[2], 5), {"jsonrpc": "2.0", "id": 6, "method": "getPendingTxSize", "params": [1]},
             send(txs[3], 7)]
    answers = ask(batch)
    assert [a["id"] for a in answers] == [4, 5, 6, 7] and answers[2]["result"] == "0x3"
    assert ask({"jsonrpc": "2.0", "id": 8, "method": "getPendingTxSize", "params": [1]})["result"] == "0x4"
    assert node.rounds == [1, 1, 2, 1] and ask([])["error"]["code"] == -32600
