from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from chain.crypto.keys import KeyPair
from chain.execution.kv import encode_kv
from chain.ledger.transaction import new_transaction, sign_transaction
from chain.rpc.methods import RpcContext
from chain.rpc.server import handle_body
from tests.rpc.localnode import CHAIN_ID, GROUP_ID, LocalNode

KV_ADDRESS = b"\x00" * 19 + b"\x09"  # the KV stand-in ignores `to`


def kv_tx(user: KeyPair, key: bytes, value: bytes, head: int, **fields: Any):
    tx = new_transaction(to=KV_ADDRESS, data=encode_kv(key, value), block_limit=head + 500,
                         chain_id=CHAIN_ID, group_id=GROUP_ID)
    if fields:
        from dataclasses import replace
        tx = replace(tx, **fields)
    return sign_transaction(tx, user)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: starts real node processes on 127.0.0.1 (slower)")


@pytest.fixture(scope="module")
def chain() -> dict[str, Any]:
    """A chain at height 2: block 1 holds three good kv writes, block 2 one malformed write; one tx pending."""
    node = LocalNode("sm")
    user = KeyPair("sm", 424242)
    good = [kv_tx(user, f"k{i}".encode(), f"v{i}".encode(), 0) for i in range(3)]
    for tx in good:
        node.submit_transaction(tx)
    block1 = node.seal()
    bad = sign_transaction(new_transaction(to=KV_ADDRESS, data=b"no-separator", block_limit=500,
                                           chain_id=CHAIN_ID, group_id=GROUP_ID), user)
    node.submit_transaction(bad)
    block2 = node.seal()
    pending = kv_tx(user, b"later", b"x", node.store.head_number())
    node.submit_transaction(pending)
    return {"node": node, "user": user, "good": good, "bad": bad, "pending": pending,
            "block1": block1, "block2": block2}


@pytest.fixture(scope="module")
def rpc(chain: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    """Call the server's request handler in-process: (method, params) -> the full response object."""
    ctx = RpcContext(chain["node"])

    def call(method: str, params: list[Any] | None = None, request_id: Any = 1) -> dict[str, Any]:
        body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or []})
        return handle_body(ctx, body.encode())

    call.ctx = ctx  # type: ignore[attr-defined]
    return call
