"""The shared jump-destination analysis answers exactly what py-evm's own CodeStream answers."""

from __future__ import annotations

from eth.vm.code_stream import CodeStream
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.execution.evm import AnalysedCodeStream, push_data_mask

# Code rich in PUSHes (0x60..0x7f), JUMPDESTs (0x5b) and truncated PUSH data at the end.
opcodes = st.one_of(st.integers(0x60, 0x7F), st.just(0x5B), st.integers(0, 255))


@settings(max_examples=200, deadline=None)
@given(st.lists(opcodes, max_size=120).map(bytes))
def test_valid_positions_match_py_evm(code: bytes) -> None:
    ours, theirs = AnalysedCodeStream(code), CodeStream(code)
    for position in range(len(code) + 3):
        assert ours.is_valid_opcode(position) == theirs.is_valid_opcode(position), position


def test_push_data_is_never_an_instruction() -> None:
    code = bytes([0x60, 0x5B, 0x5B, 0x7F]) + b"\x5b" * 32 + bytes([0x5B, 0x61, 0x00])
    data = {i for i, flag in enumerate(push_data_mask(code)) if flag}
    assert data == {1, *range(4, 36), 38} and len(push_data_mask(code)) == len(code)  # PUSH2 at 37 is cut short
    stream = AnalysedCodeStream(code)
    assert stream.is_valid_opcode(2) and stream.is_valid_opcode(36) and not stream.is_valid_opcode(1)
    assert not stream.is_valid_opcode(38) and not stream.is_valid_opcode(39)  # data; past the end
