"""Block lookups: the head is served from the store's decoded copy, older blocks decoded once."""

from __future__ import annotations

from typing import Any

import pytest

from chain.crypto.keys import KeyPair
from chain.rpc.methods import RpcContext
from tests.rpc.conftest import kv_tx
from tests.rpc.localnode import LocalNode


def test_head_and_recent_blocks_are_not_decoded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    node = LocalNode("standard", seed=8)
    user = KeyPair("standard", 8080)
    for i in range(2):
        node.submit_transaction(kv_tx(user, b"k%d" % i, b"v", node.store.head_number()))
        node.seal()
    ctx = RpcContext(node)
    assert ctx.block(1) is not None  # decoded from the store once
    decoded: list[int] = []
    original = node.store.block_by_number

    def counting(number: int) -> Any:
        decoded.append(number)
        return original(number)

    monkeypatch.setattr(node.store, "block_by_number", counting)
    assert ctx.block(2) is node.store.head()  # the head: the store's own object
    assert ctx.block(1).number == 1 and ctx.block(0).number == 0
    assert decoded == [0]  # block 1 came from the cache, block 2 from the head
    assert ctx.block(5) is None
