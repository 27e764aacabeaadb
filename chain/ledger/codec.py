"""Strict RLP helpers: decoding that refuses anything a canonical encoder would not produce.

Every decoder in the ledger goes through these, so truncated input, extra fields, wrong types,
non-canonical integers and oversize values all become one clear LedgerError.

Lists nested deeper than ``MAX_RLP_DEPTH`` are refused before ``rlp.decode`` sees them: it recurses
once per level and copies the rest of the input at each, so a transaction or peer message of
350 KB nested 90,000 deep took 92 s of CPU, and deeper ones hit the recursion limit. No record of
ours nests more than a few levels: nested records travel as byte strings, decoded one at a time.
"""

from __future__ import annotations

from typing import Any

import rlp

from chain.errors import LedgerError

MAX_RLP_DEPTH = 16  # our deepest record, a ViewChange carrying a prepared proof, nests 4
_LIST_PREFIXES = bytes(range(0xC0, 0x100))


def decode_list(raw: bytes, what: str, length: int | None = None) -> list[Any]:
    """RLP-decode raw, which must be a list (of exactly `length` items when given)."""
    if not isinstance(raw, (bytes, bytearray)):
        raise LedgerError(f"{what}: expected bytes, got {type(raw).__name__}")
    # Refuse deep nesting before the recursive decoder spends quadratic time on it.
    if nested_deeper_than(raw, MAX_RLP_DEPTH):
        raise LedgerError(f"{what}: RLP lists nested more than {MAX_RLP_DEPTH} deep")
    try:
        items = rlp.decode(bytes(raw), strict=True)
    except Exception as exc:  # rlp raises DecodingError and several other types on garbage
        raise LedgerError(f"{what}: invalid RLP ({exc})") from exc
    return as_list(items, what, length)


def nested_deeper_than(raw: bytes | bytearray, limit: int) -> bool:
    """Whether RLP lists nest more than limit deep in raw (a walk only if it has that many list prefixes)."""
    if len(raw) - len(raw.translate(None, _LIST_PREFIXES)) <= limit:
        return False  # every list starts with a byte >= 0xC0: too few of them to nest that deep
    return list_depth(raw, stop_above=limit) > limit


def list_depth(raw: bytes | bytearray, stop_above: int | None = None) -> int:
    """How deep RLP lists nest in raw, found by walking the length prefixes without recursion.

    Stops counting once the depth exceeds stop_above. Lengths running past the end just end the walk:
    the depth is then a bound of what a decoder would reach before failing.
    """
    ends: list[int] = []  # where each open list ends
    position, deepest, size = 0, 0, len(raw)
    while position < size:
        while ends and position >= ends[-1]:
            ends.pop()
        first = raw[position]
        if first < 0x80:  # a single byte
            position += 1
        elif first < 0xB8:  # a short string
            position += first - 0x7F
        elif first < 0xC0:  # a long string: its length's length, then its length
            header = first - 0xB6
            position += header + int.from_bytes(raw[position + 1 : position + header], "big")
        else:  # a list: step inside it
            header = 1 if first < 0xF8 else first - 0xF6
            length = first - 0xC0 if first < 0xF8 else int.from_bytes(raw[position + 1 : position + header], "big")
            ends.append(position + header + length)
            position += header
            if len(ends) > deepest:
                deepest = len(ends)
                if stop_above is not None and deepest > stop_above:
                    break
    return deepest


def as_bytes(item: Any, what: str, size: int | None = None, max_size: int | None = None) -> bytes:
    """An RLP byte string, optionally of an exact size or bounded size."""
    if not isinstance(item, bytes):
        raise LedgerError(f"{what}: expected a byte string, got a list")
    if size is not None and len(item) != size:
        raise LedgerError(f"{what}: expected {size} bytes, got {len(item)}")
    if max_size is not None and len(item) > max_size:
        raise LedgerError(f"{what}: longer than {max_size} bytes")
    return item


def as_int(item: Any, what: str, max_bits: int = 256) -> int:
    """A canonical big-endian unsigned integer (no leading zero bytes) of at most max_bits."""
    data = as_bytes(item, what)
    if data[:1] == b"\x00":
        raise LedgerError(f"{what}: integer has leading zero bytes (non-canonical)")
    if len(data) * 8 > max_bits:
        raise LedgerError(f"{what}: integer larger than {max_bits} bits")
    return int.from_bytes(data, "big")


def as_list(item: Any, what: str, length: int | None = None) -> list[Any]:
    """An RLP list (of exactly `length` items when given): a record's fields or a sequence."""
    if not isinstance(item, list):
        raise LedgerError(f"{what}: expected an RLP list")
    if length is not None and len(item) != length:
        raise LedgerError(f"{what}: expected {length} fields, got {len(item)}")
    return item


def encode(value: Any) -> bytes:
    """RLP of bytes, non-negative ints and (nested) lists of them.

    Written out rather than calling ``rlp.encode``: the library infers a serializer for every item
    and is ~10x slower, which made encoding receipts the largest cost of committing a block. The
    output is byte-for-byte the library's (a property test checks it against ``rlp.encode``).
    """
    if isinstance(value, (bytes, bytearray)):
        if len(value) == 1 and value[0] < 0x80:
            return bytes(value)  # a single low byte is its own encoding
        return _prefix(len(value), 0x80) + value
    if isinstance(value, int):
        if value < 0:
            raise LedgerError("RLP cannot encode a negative integer")
        return encode(value.to_bytes((value.bit_length() + 7) // 8, "big"))  # 0 is the empty string
    if isinstance(value, (list, tuple)):
        # Short byte strings and small integers, most of any record (a header lists every
        # sealer's 64-byte id), are done inline: a call per item was most of the cost.
        body = b"".join([
            ((item if len(item) == 1 and item[0] < 0x80 else _STRING_PREFIX[len(item)] + item)
             if len(item) < 256 else encode(item)) if type(item) is bytes
            else _SMALL_INT[item] if type(item) is int and 0 <= item < 1024 else encode(item)
            for item in value
        ])
        return _prefix(len(body), 0xC0) + body
    raise LedgerError(f"RLP cannot encode a {type(value).__name__}")


def list_prefix(length: int) -> bytes:
    """The RLP prefix of a list whose items' encodings, joined, are `length` bytes (to splice in encoded items)."""
    return _prefix(length, 0xC0)


def _prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(size)]) + size


_STRING_PREFIX = tuple(_prefix(length, 0x80) for length in range(256))  # of a byte string that long
_SMALL_INT = tuple(encode(number) for number in range(1024))
