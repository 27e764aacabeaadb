"""Check an sm artifact against its ABI before it is returned or written: selectors and topics are SM3's.

Always, on the bytes (init code included, metadata excluded):

* no Keccak selector of an ABI function or error, and no Keccak topic of an ABI event, is left —
  neither as a byte string nor as a pushed value (a PUSH31 of a topic starting with 0x00 counts);
* every ABI function's SM3 selector is in the runtime.

With the Keccak build and the dispatcher's byte range (Solidity, where the rewrite keeps the layout),
the dispatch itself is *run* on a small EVM interpreter (stack, memory, calldata, jumps, arithmetic;
no state, so it stops at the first SLOAD/CALL/LOG and the like — the dispatcher has chosen by then):

* each function, called with its SM3 selector, leaves the dispatcher at the entry where the Keccak
  build arrives with the Keccak selector;
* each function's Keccak selector leaves it where selectors of no function do (the not-found path:
  a revert, or the fallback function), never where a function's SM3 selector does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from chain.abi.codec import signature_of
from chain.crypto.hashing import keccak256
from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError
from chain.sdk.evm_code import JUMPDEST, PUSH0, PUSH1, PUSH32, code_end, decode

MAX_STEPS = 4000
MAX_MEMORY = 1 << 20  # bytes of EVM memory a traced path may touch before the trace gives up on it
WORD = (1 << 256) - 1


class VerifyError(ChainError):
    """An sm artifact whose code does not match its ABI under SM3."""


class _Stop(Exception):
    """The interpreter met an instruction it does not model (state, calls, logs) or a halt."""


def _signed(x: int) -> int:
    return x - (1 << 256) if x >> 255 else x


def _jumpdests(code: bytes) -> set[int]:
    dests, pc = set(), 0
    while pc < len(code):
        op = code[pc]
        if op == JUMPDEST:
            dests.add(pc)
        pc += 1 + (op - PUSH1 + 1 if PUSH1 <= op <= PUSH32 else 0)
    return dests


_BINARY = {
    0x01: lambda a, b: (a + b) & WORD, 0x02: lambda a, b: (a * b) & WORD, 0x03: lambda a, b: (a - b) & WORD,
    0x04: lambda a, b: a // b if b else 0, 0x06: lambda a, b: a % b if b else 0,
    0x10: lambda a, b: int(a < b), 0x11: lambda a, b: int(a > b),
    0x12: lambda a, b: int(_signed(a) < _signed(b)), 0x13: lambda a, b: int(_signed(a) > _signed(b)),
    0x14: lambda a, b: int(a == b), 0x16: lambda a, b: a & b, 0x17: lambda a, b: a | b, 0x18: lambda a, b: a ^ b,
    0x1A: lambda a, b: (b >> (248 - 8 * a)) & 0xFF if a < 32 else 0,
    0x1B: lambda a, b: (b << a) & WORD if a < 256 else 0, 0x1C: lambda a, b: b >> a if a < 256 else 0,
    0x1D: lambda a, b: (_signed(b) >> min(a, 256)) & WORD,
}


def trace(code: bytes, calldata: bytes) -> list[int]:
    """The program counters a call with calldata executes, until a halt or an unmodelled instruction."""
    dests = _jumpdests(code)
    stack: list[int] = []
    memory = bytearray()
    visited: list[int] = []
    pc = 0

    def mem(offset: int, size: int) -> None:
        if offset + size > MAX_MEMORY:
            raise _Stop
        if len(memory) < offset + size:
            memory.extend(b"\x00" * (offset + size - len(memory)))

    def pop() -> int:
        if not stack:
            raise _Stop
        return stack.pop()

    try:
        for _ in range(MAX_STEPS):
            if pc >= len(code):
                break
            visited.append(pc)
            op = code[pc]
            pc += 1
            if PUSH0 <= op <= PUSH32:
                size = op - PUSH0
                stack.append(int.from_bytes(code[pc: pc + size].ljust(size, b"\x00"), "big"))
                pc += size
            elif 0x80 <= op <= 0x8F:
                if len(stack) < op - 0x7F:
                    raise _Stop
                stack.append(stack[-(op - 0x7F)])
            elif 0x90 <= op <= 0x9F:
                n = op - 0x8F
                if len(stack) <= n:
                    raise _Stop
                stack[-1], stack[-1 - n] = stack[-1 - n], stack[-1]
            elif op in _BINARY:
                a, b = pop(), pop()
                stack.append(_BINARY[op](a, b))
            elif op == 0x15:
                stack.append(int(pop() == 0))
            elif op == 0x19:
                stack.append(pop() ^ WORD)
            elif op == 0x50:
                pop()
            elif op == 0x56 or op == 0x57:
                target = pop()
                if op == 0x57 and pop() == 0:
                    continue
                if target not in dests:
                    raise _Stop
                pc = target
            elif op == JUMPDEST:
                continue
            elif op == 0x51:
                offset = pop()
                mem(offset, 32)
                stack.append(int.from_bytes(memory[offset: offset + 32], "big"))
            elif op == 0x52:
                offset, value = pop(), pop()
                mem(offset, 32)
                memory[offset: offset + 32] = value.to_bytes(32, "big")
            elif op == 0x35:
                offset = pop()
                stack.append(int.from_bytes(calldata[offset: offset + 32].ljust(32, b"\x00"), "big") if offset < 1 << 32 else 0)
            elif op == 0x36:
                stack.append(len(calldata))
            elif op in (0x37, 0x39):  # CALLDATACOPY, CODECOPY
                dest, offset, size = pop(), pop(), pop()
                source = calldata if op == 0x37 else code
                mem(dest, size)
                memory[dest: dest + size] = (source[offset: offset + size] if offset < 1 << 32 else b"").ljust(size, b"\x00")
            elif op == 0x38:
                stack.append(len(code))
            elif op in (0x30, 0x32, 0x33, 0x34):  # ADDRESS, ORIGIN, CALLER, CALLVALUE: zero
                stack.append(0)
            elif op == 0x58:
                stack.append(pc - 1)
            elif op == 0x5A:
                stack.append(10**9)
            else:
                raise _Stop  # a halt, state access, a call, a log: the dispatch is over
    except _Stop:
        pass
    return visited


@dataclass(frozen=True)
class _Signatures:
    functions: tuple[str, ...]
    errors: tuple[str, ...]
    events: tuple[str, ...]


def _signatures(abi: Sequence[Mapping[str, Any]]) -> _Signatures:
    kinds: dict[str, list[str]] = {"function": [], "error": [], "event": []}
    for entry in abi:
        if entry.get("type") in kinds and not entry.get("anonymous"):
            kinds[entry["type"]].append(signature_of(entry))
    return _Signatures(tuple(kinds["function"]), tuple(kinds["error"]), tuple(kinds["event"]))


def _call(selector: int, arguments: int = 8) -> bytes:
    return selector.to_bytes(4, "big") + b"\x00" * (32 * arguments)


def entry_point(code: bytes, selector: int, dispatcher: tuple[int, int]) -> int | None:
    """Where a call with selector leaves the dispatcher range for a function, or None (not found)."""
    start, end = dispatcher
    entered = False
    for pc in trace(code, _call(selector)):
        if start <= pc < end:
            entered = True
        elif entered:
            return None if pc == end else pc
    return None


def verify(runtime: bytes, bytecode: bytes, abi: Sequence[Mapping[str, Any]], suite: CryptoSuite,
           keccak_runtime: bytes | None = None, dispatcher: tuple[int, int] | None = None) -> None:
    """Raise VerifyError naming the first function, error or event the sm code gets wrong.

    keccak_runtime and dispatcher (the byte range of the dispatcher, the same in both builds) turn on
    the dispatch check: each function entered where the Keccak build enters it, no Keccak selector
    entering anything.
    """
    names = _signatures(abi)
    sm = {s: int.from_bytes(suite.hash(s.encode())[:4], "big") for s in names.functions}
    kc = {s: int.from_bytes(keccak256(s.encode())[:4], "big") for s in names.functions}
    if keccak_runtime is not None and dispatcher is not None:
        # where calls for no function leave the dispatcher: at its end, or where the not-found code
        # (say, a fallback function) copied into a leaf jumps; selectors next to the real ones reach every leaf
        probes = {0, 0xFFFFFFFF} | {(v + d) & 0xFFFFFFFF for v in sm.values() for d in (-1, 1)}
        not_found = {entry_point(runtime, p, dispatcher) for p in probes - set(sm.values())}
        for signature in names.functions:
            entry = entry_point(runtime, sm[signature], dispatcher)
            expected = entry_point(keccak_runtime, kc[signature], dispatcher)
            if entry != expected:
                raise VerifyError(f"{signature}: its SM3 selector 0x{sm[signature]:08x} enters the code at "
                                  f"{_where(entry)}, the Keccak build's at {_where(expected)}")
            if kc[signature] not in sm.values() and entry_point(runtime, kc[signature], dispatcher) not in not_found:
                raise VerifyError(f"{signature}: the dispatcher still answers its Keccak selector 0x{kc[signature]:08x}")
    sm_values = {suite.hash(s.encode()) for s in (*names.functions, *names.errors, *names.events)}
    for code, metadata in ((runtime, True), (bytecode, True)):
        body = bytes(code[:code_end(bytes(code))])
        pushed = {ins.value for ins in decode(bytes(code), metadata) if ins.is_push}
        for signature in (*names.functions, *names.errors):
            old = keccak256(signature.encode())[:4]
            if any(v.startswith(old) for v in sm_values):
                continue  # the SM3 value of something else happens to start alike
            if old in body or int.from_bytes(old, "big") in pushed or int.from_bytes(old + bytes(28), "big") in pushed:
                raise VerifyError(f"{signature}: its Keccak selector 0x{old.hex()} is still in the code")
        for signature in names.events:
            old = keccak256(signature.encode())
            if old in body or int.from_bytes(old, "big") in pushed:
                raise VerifyError(f"event {signature}: its Keccak topic is still in the code")
    body = bytes(runtime[:code_end(bytes(runtime))])
    for signature in names.functions:
        new = sm[signature].to_bytes(4, "big")
        if new not in body and new.lstrip(b"\x00") not in body:
            raise VerifyError(f"{signature}: its SM3 selector 0x{sm[signature]:08x} is nowhere in the code")


def _where(pc: int | None) -> str:
    return "nothing (not found)" if pc is None else f"0x{pc:x}"
