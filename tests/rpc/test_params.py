"""Parameter text is read exactly as FISCO BCOS 2.x reads it (``dev::jsToInt``, ``dev::fromHex``).

Python's ``int()`` and ``bytes.fromhex`` accept more than FISCO does — spaces, ``_`` separators,
other scripts' digits — so the same request meant different things to this node and to FISCO.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from chain.rpc.errors import INVALID_PARAMS, RpcError
from chain.rpc.params import as_bytes, as_int


@pytest.mark.parametrize("text, number", [("0x1a", 26), ("0x1A", 26), ("0x0", 0), ("0x00ff", 255),
                                          ("26", 26), ("0", 0), ("007", 7), (26, 26)])
def test_numbers_fisco_reads(text: Any, number: int) -> None:
    assert as_int(text, "n") == number


@pytest.mark.parametrize("text", [
    " 1", "1 ", "\t1", "1\n", "0x 1", "0x1 ",                  # whitespace (int() strips it)
    "1_0", "0x1_0",                                            # digit separators (int() takes them)
    "\u0661", "\uff11", "\u0967",                              # Arabic-Indic, fullwidth, Devanagari one
    "0X1a",                                                    # FISCO only knows a lower-case 0x
    "0x", "", "+1", "-1", "1e3", "1.0", "0b1", "0o7", "x1",    # not a number at all
    True, 1.0, None, [1],
])
def test_loose_numbers_are_refused(text: Any) -> None:
    with pytest.raises(RpcError) as caught:
        as_int(text, "n")
    assert caught.value.code == INVALID_PARAMS


@pytest.mark.parametrize("text, data", [("0xab", b"\xab"), ("AB", b"\xab"), ("", b""), ("0x", b""),
                                        ("0x00ff", b"\x00\xff")])
def test_hex_bytes_fisco_reads(text: str, data: bytes) -> None:
    assert as_bytes(text, "b") == data


@pytest.mark.parametrize("text", ["ab cd", " ab", "ab ", "ab\n", "0Xab", "0x0xab", "0xabc", "abc", "zz",
                                  "\uff41\uff42"])
def test_loose_hex_is_refused(text: str) -> None:
    with pytest.raises(RpcError) as caught:
        as_bytes(text, "b")
    assert caught.value.code == INVALID_PARAMS


def test_a_loose_block_number_is_refused_over_rpc(rpc: Callable[..., dict[str, Any]]) -> None:
    assert "result" in rpc("getBlockByNumber", [1, "0x1", False])
    for loose in (" 1", "\u0661", "0x1_0"):
        assert rpc("getBlockByNumber", [1, loose, False])["error"]["code"] == INVALID_PARAMS, loose
