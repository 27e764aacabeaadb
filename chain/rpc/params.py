"""Reading method parameters strictly: every malformed value is an ``invalid params`` error.

Numbers arrive the FISCO 2.x way — hex strings like ``"0x1a"`` — but decimal strings and JSON
integers are accepted too, since hand-written curl requests use them. Byte strings are hex with an
optional ``0x``; hashes and addresses must have their exact length.

Text is read exactly as FISCO BCOS 2.x reads it (``dev::jsToInt`` and ``dev::fromHex``): a number
is ``0x`` followed by hex digits, or decimal digits only; bytes are hex digits after an optional
``0x``. Python's own parsers are looser — ``int()`` takes spaces, ``_`` separators and any Unicode
digit (``"١"`` is 1), ``bytes.fromhex`` skips spaces — so none of them sees text these patterns refuse.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from chain.rpc.errors import invalid_params

MAX_INT_TEXT = 80  # a 256-bit number is at most 78 decimal digits; longer text is not a number
HEX_NUMBER = re.compile(r"0x[0-9a-fA-F]+")  # FISCO: only a lower-case 0x, then at least one hex digit
DECIMAL_NUMBER = re.compile(r"[0-9]+")  # ASCII digits only: no sign, space, "_" or other scripts' digits
HEX_DIGIT_PAIRS = re.compile(r"(?:[0-9a-fA-F]{2})*")  # whole bytes, nothing between them (after the 0x)


def take(params: Sequence[Any], required: int, optional: int = 0, names: str = "") -> list[Any]:
    """params padded with None up to required + optional; error if too few or too many."""
    if not required <= len(params) <= required + optional:
        wanted = f"{required}" if not optional else f"{required} to {required + optional}"
        hint = f" ({names})" if names else ""
        raise invalid_params(f"expected {wanted} parameters{hint} after the group, got {len(params)}")
    return list(params) + [None] * (required + optional - len(params))


def as_int(value: Any, what: str, *, minimum: int = 0, maximum: int = (1 << 256) - 1) -> int:
    """An integer given as a JSON number, "0x..." hex or a decimal string."""
    if isinstance(value, bool):  # bool is an int in Python, never a number in JSON
        raise invalid_params(f"{what} must be a number, got a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and len(value) <= MAX_INT_TEXT and HEX_NUMBER.fullmatch(value):
        number = int(value[2:], 16)
    elif isinstance(value, str) and len(value) <= MAX_INT_TEXT and DECIMAL_NUMBER.fullmatch(value):
        number = int(value, 10)
    else:
        raise invalid_params(f"{what} must be a hex (0x...) or decimal number, got {_show(value)}")
    if not minimum <= number <= maximum:
        raise invalid_params(f"{what} {number} is out of range [{minimum}, {maximum}]")
    return number


def as_bytes(value: Any, what: str, *, size: int | None = None, max_size: int | None = None) -> bytes:
    """Bytes from hex text (with or without 0x), of an exact size when given."""
    if not isinstance(value, str):
        raise invalid_params(f"{what} must be a hex string, got {_show(value)}")
    digits = value[2:] if value[:2] == "0x" else value
    if max_size is not None and len(digits) > 2 * max_size:  # before any work on the text
        raise invalid_params(f"{what} is longer than {max_size} bytes")
    if HEX_DIGIT_PAIRS.fullmatch(digits) is None:
        raise invalid_params(f"{what} is not valid hex (an optional 0x, then pairs of hex digits)")
    data = bytes.fromhex(digits)
    if size is not None and len(data) != size:
        raise invalid_params(f"{what} must be {size} bytes, got {len(data)}")
    return data


def as_hash(value: Any, what: str = "hash") -> bytes:
    return as_bytes(value, what, size=32)


def as_address(value: Any, what: str = "address") -> bytes:
    return as_bytes(value, what, size=20)


def as_bool(value: Any, what: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid_params(f"{what} must be true or false, got {_show(value)}")
    return value


def as_str(value: Any, what: str, *, max_size: int = 256) -> str:
    if not isinstance(value, str) or len(value) > max_size:
        raise invalid_params(f"{what} must be a string of at most {max_size} characters")
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
