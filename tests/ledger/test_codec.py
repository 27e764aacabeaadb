"""The hand-written RLP encoder gives exactly the rlp library's bytes."""

from __future__ import annotations

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.errors import LedgerError
from chain.ledger import codec

items = st.recursive(
    st.one_of(st.binary(max_size=70), st.integers(min_value=0, max_value=1 << 300)),
    lambda children: st.lists(children, max_size=6),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(value=items)
def test_encode_matches_the_rlp_library(value: object) -> None:
    assert codec.encode(value) == rlp.encode(value)


def test_long_strings_and_lists_use_long_length_prefixes() -> None:
    for size in (55, 56, 255, 256, 70_000):
        assert codec.encode(b"\x01" * size) == rlp.encode(b"\x01" * size)
        assert codec.encode([b"\x01"] * size) == rlp.encode([b"\x01"] * size)


@pytest.mark.parametrize("value", [-1, "text", None, 1.5, {b"a": b"b"}])
def test_what_rlp_cannot_hold_is_refused(value: object) -> None:
    with pytest.raises(LedgerError):
        codec.encode(value)
