"""EVM bytecode as a list of instructions: what the sm rewrite, the dispatcher rebuild and the verifier read.

Decoding walks the code from offset 0 and skips each PUSH's immediate data, so a data byte is never
mistaken for an opcode (the same walk the EVM does when it marks valid JUMPDESTs). The CBOR
metadata solc and vyper append is not code and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

PUSH0, PUSH1, PUSH2, PUSH4, PUSH32 = 0x5F, 0x60, 0x61, 0x63, 0x7F
DUP1, DUP2 = 0x80, 0x81
LT, GT, SLT, SGT, EQ = 0x10, 0x11, 0x12, 0x13, 0x14
SHL, SHR = 0x1B, 0x1C
CALLDATALOAD = 0x35
JUMP, JUMPI, PC, JUMPDEST = 0x56, 0x57, 0x58, 0x5B
STOP, RETURN, REVERT, INVALID = 0x00, 0xF3, 0xFD, 0xFE
HALTS = frozenset({STOP, RETURN, REVERT, INVALID, 0xFF})  # SELFDESTRUCT ends the frame too
ENDS_BLOCK = HALTS | {JUMP}


@dataclass(frozen=True)
class Instruction:
    pc: int
    op: int
    data: bytes  # a PUSH's immediate, empty for every other opcode

    @property
    def end(self) -> int:
        return self.pc + 1 + len(self.data)

    @property
    def is_push(self) -> bool:
        return PUSH1 <= self.op <= PUSH32

    @property
    def value(self) -> int:
        return int.from_bytes(self.data, "big")


def code_end(code: bytes) -> int:
    """Where the CBOR metadata appended by solc/vyper starts (its length is in the last 2 bytes)."""
    if len(code) >= 2:
        length = int.from_bytes(code[-2:], "big")
        if 0 < length + 2 <= len(code) and code[len(code) - length - 2] in (0xA1, 0xA2, 0xA3, 0xA4, 0x84, 0x85):
            return len(code) - length - 2
    return len(code)


def decode(code: bytes, metadata: bool = True) -> list[Instruction]:
    """Every instruction of code (its metadata excluded, if it ends with some); a PUSH cut short keeps what is there."""
    result, pc, end = [], 0, code_end(code) if metadata else len(code)
    while pc < end:
        op = code[pc]
        size = op - PUSH1 + 1 if PUSH1 <= op <= PUSH32 else 0
        result.append(Instruction(pc, op, bytes(code[pc + 1: pc + 1 + size])))
        pc += 1 + size
    return result


def push(value: int, width: int | None = None) -> bytes:
    """A PUSHn of value: n = width, or the fewest bytes that hold it (at least one)."""
    size = width if width is not None else max(1, (value.bit_length() + 7) // 8)
    if not 1 <= size <= 32 or value >= 1 << (8 * size):
        raise ValueError(f"{value:#x} does not fit a PUSH{size}")
    return bytes([PUSH1 + size - 1]) + value.to_bytes(size, "big")
