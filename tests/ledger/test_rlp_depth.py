"""RLP nesting is bounded before decoding: transactions, blocks, P2P messages and hellos alike.

Why it matters: pyrlp recurses once per list level and copies what it decoded at each, so a 350 KB
transaction nested 90,000 deep took 92 s of one core, and deeper ones raised RecursionError from
the middle of a peer's message handling. Every decoder goes through ``codec.decode_list``; these
tests feed deep input to each entry point that takes bytes from outside.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from chain.consensus.pbft.messages import decode_envelope
from chain.errors import ChainError, LedgerError
from chain.ledger import codec
from chain.ledger.block import Block
from chain.ledger.transaction import Transaction
from chain.network.hello import Hello

_values = st.recursive(st.binary(max_size=70), lambda inner: st.lists(inner, max_size=4), max_leaves=30)


def _depth(value: Any) -> int:
    return 1 + max(map(_depth, value), default=0) if isinstance(value, list) else 0


@lru_cache(maxsize=8)
def nested(depth: int, leaf: bytes = b"") -> bytes:
    """depth lists, one inside the other, holding leaf."""
    inner = codec.encode(leaf)
    prefixes, size = [], len(inner)
    for _ in range(depth):  # innermost first; joined once (prepending level by level is quadratic)
        prefixes.append(codec._prefix(size, 0xC0))
        size += len(prefixes[-1])
    return b"".join(reversed(prefixes)) + inner


@settings(max_examples=200, deadline=None)
@given(_values)
def test_depth_walk_is_exact_on_every_encoding(value: Any) -> None:
    assert codec.list_depth(codec.encode(value)) == _depth(value)


def test_our_deepest_record_fits_and_one_more_level_is_refused() -> None:
    at_limit = nested(codec.MAX_RLP_DEPTH - 1)  # inside the outer list decode_list asks for
    assert _depth(codec.decode_list(codec._prefix(len(at_limit), 0xC0) + at_limit, "x")) == codec.MAX_RLP_DEPTH
    with pytest.raises(LedgerError, match="nested more than"):
        codec.decode_list(nested(codec.MAX_RLP_DEPTH + 1), "x")


@pytest.mark.parametrize("depth", [codec.MAX_RLP_DEPTH + 1, 20_000, 300_000])
@pytest.mark.parametrize("decode, error", [
    (Transaction.decode, LedgerError),  # sendRawTransaction, tx gossip, blocks from peers
    (Block.decode, LedgerError),        # sync responses, the store
    (decode_envelope, ChainError),      # every consensus/sync message a peer sends
    (Hello.decode, ChainError),         # the first frame of a P2P link
], ids=["transaction", "block", "p2p message", "hello"])
def test_deep_input_is_refused_by_every_decoder(decode: Any, error: type[Exception], depth: int) -> None:
    with pytest.raises(error, match="nested more than"):
        decode(nested(depth))
