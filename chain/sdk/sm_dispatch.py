"""Rebuild solc's function dispatcher for SM3 selectors, inside the bytes it occupies.

solc (optimiser on, more than four external functions) dispatches by binary search over the
*numeric order* of the Keccak selectors::

    PUSH0 CALLDATALOAD PUSH1 0xe0 SHR            selector load
    DUP1 PUSH4 pivot GT PUSH2 low JUMPI           split: selector < pivot goes to `low`
    DUP1 PUSH4 sel EQ PUSH2 entry JUMPI  (x <= 4) a leaf: compare, jump to the function's entry
    <not found>                                   PUSH0 PUSH0 REVERT, a jump, or fall into it
    low: JUMPDEST ...                             the other half, same shape

Swapping the constants in place would break the order the splits rely on. Instead the whole tree is
read into (selector, entry) pairs and a new tree with the same layout rules is written for the SM3
selectors — what an SM3 solc would have emitted — into the same byte range, padded with JUMPDESTs
(no-ops on the not-found path). Nothing outside the range moves, so every jump target, CODECOPY
offset, immutable position and the metadata stay valid. When the new tree does not fit (a Keccak
selector with a leading zero byte was pushed in fewer bytes) a linear chain of comparisons, which
needs no splits, is tried. Anything the reader does not recognise is refused, by name, rather than
guessed at: a split block that other code jumps to, leaves that end differently, a comparison with a
value that is no function of the contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence, Union

from chain.errors import ChainError
from chain.sdk.evm_code import (
    CALLDATALOAD, DUP1, ENDS_BLOCK, EQ, GT, JUMP, JUMPDEST, JUMPI, PC, PUSH0, PUSH1, SHR, Instruction,
    decode, push,
)

LINEAR_LIMIT = 4  # solc compares at most this many selectors in a row before splitting


class DispatchError(ChainError):
    """A dispatcher the rebuild cannot rewrite soundly (the message names the construct)."""


@dataclass(frozen=True)
class Entry:
    selector: int
    dest: int


@dataclass(frozen=True)
class Leaf:
    entries: tuple[Entry, ...]
    terminal: bytes | None  # the not-found code ending the leaf; None: it falls through to the range's end


@dataclass(frozen=True)
class Split:
    pivot: int
    low: "Node"
    high: "Node"


Node = Union[Leaf, Split]


@dataclass(frozen=True)
class Dispatcher:
    start: int  # first byte after the selector load
    end: int  # first byte after the tree
    root: Node
    not_found: bytes | None  # code equivalent to falling through to `end`, if a leaf halts; None: jump there
    tag_width: int  # bytes of solc's jump-target pushes (1 in code under 256 bytes, else 2)

    @property
    def entries(self) -> list[Entry]:
        return _entries(self.root)


def _entries(node: Node) -> list[Entry]:
    if isinstance(node, Leaf):
        return list(node.entries)
    return _entries(node.low) + _entries(node.high)


def _selector_load(instructions: list[Instruction]) -> int | None:
    """Index of the first instruction after `PUSH0|PUSH1 0  CALLDATALOAD  PUSH1 0xe0  SHR`, if any."""
    for i in range(len(instructions) - 3):
        a, b, c, d = instructions[i: i + 4]
        zero = a.op == PUSH0 or (a.op == PUSH1 and a.value == 0)
        if zero and b.op == CALLDATALOAD and c.op == PUSH1 and c.value == 0xE0 and d.op == SHR:
            return i + 4
    return None


class _Reader:
    def __init__(self, code: bytes, instructions: list[Instruction]) -> None:
        self.code = code
        self.instructions = instructions
        self.index = {ins.pc: i for i, ins in enumerate(instructions)}
        self.ranges: list[tuple[int, int]] = []
        self.split_targets: set[int] = set()
        self.terminals: list[bytes | None] = []
        self.tag_widths: set[int] = set()

    def comparison(self, i: int) -> tuple[int, int, int] | None:
        """(op, constant, jump target) of `DUP1 PUSH<=4 c GT|EQ PUSHn t JUMPI` at i."""
        ins = self.instructions[i: i + 5]
        if len(ins) < 5 or ins[0].op != DUP1 or not ins[1].is_push or len(ins[1].data) > 4:
            return None
        if ins[2].op not in (GT, EQ) or not ins[3].is_push or ins[4].op != JUMPI:
            return None
        self.tag_widths.add(len(ins[3].data))
        return ins[2].op, ins[1].value, ins[3].value

    def node_at_jumpdest(self, target: int) -> Node:
        i = self.index.get(target)
        if i is None or self.instructions[i].op != JUMPDEST:
            raise DispatchError(f"the dispatcher jumps to 0x{target:x}, which is no JUMPDEST")
        if target in self.split_targets:
            raise DispatchError(f"two dispatcher splits share the block at 0x{target:x}")
        self.split_targets.add(target)
        return self.node(i + 1, block_start=target)

    def node(self, i: int, block_start: int) -> Node:
        entries: list[Entry] = []
        while (found := self.comparison(i)) is not None:
            op, constant, target = found
            if op == GT:
                if entries:
                    raise DispatchError(f"a dispatcher split at 0x{self.instructions[i].pc:x} follows comparisons")
                self.ranges.append((block_start, self.instructions[i + 5].pc))
                high = self.node(i + 5, block_start=self.instructions[i + 5].pc)
                low = self.node_at_jumpdest(target)
                return Split(constant, low, high)
            entries.append(Entry(constant, target))
            i += 5
        first = self.instructions[i] if i < len(self.instructions) else None
        if first is None or first.op == JUMPDEST:
            end = first.pc if first is not None else len(self.code)
            self.ranges.append((block_start, end))
            self.terminals.append(None)
            return Leaf(tuple(entries), None)
        j = i
        while self.instructions[j].op not in ENDS_BLOCK:
            if self.instructions[j].op in (JUMPDEST, JUMPI) or j + 1 == len(self.instructions):
                raise DispatchError(f"the dispatcher leaf at 0x{first.pc:x} does not end in a halt or a jump")
            j += 1
        terminal = bytes(self.code[first.pc: self.instructions[j].end])
        self.ranges.append((block_start, self.instructions[j].end))
        self.terminals.append(terminal)
        return Leaf(tuple(entries), terminal)


def _check_order(node: Node, low: int, high: int) -> None:
    """Every selector of a subtree lies in the range its splits send there (else this is no sorted tree)."""
    if isinstance(node, Split):
        if not low <= node.pivot <= high:
            raise DispatchError(f"dispatcher pivot 0x{node.pivot:08x} is out of order")
        _check_order(node.low, low, node.pivot - 1)
        _check_order(node.high, node.pivot, high)
        return
    for entry in node.entries:
        if not low <= entry.selector <= high:
            raise DispatchError(f"selector 0x{entry.selector:08x} sits outside its dispatcher branch")


def find_dispatcher(code: bytes, foreign: Sequence[tuple[int, int]] = ()) -> Dispatcher | None:
    """solc's selector dispatcher in code, or None if it has none (no external functions).

    foreign: byte ranges holding other contracts' code (what `new C()` deploys), whose jumps are their own.
    """
    instructions = decode(code)
    first = _selector_load(instructions)
    if first is None or first >= len(instructions):
        return None
    reader = _Reader(code, instructions)
    start = instructions[first].pc
    root = reader.node(first, block_start=start)
    if not reader.split_targets and not _entries(root):
        return None
    ranges = sorted(reader.ranges)
    for (_, end_a), (start_b, _) in zip(ranges, ranges[1:]):
        if end_a != start_b:
            raise DispatchError(f"the dispatcher is not one contiguous block of code (gap at 0x{end_a:x})")
    end = ranges[-1][1]
    _check_order(root, 0, 0xFFFFFFFF)
    inside = {i for i, ins in enumerate(instructions) if start <= ins.pc < end}
    for i, ins in enumerate(instructions):
        if any(a <= ins.pc < b for a, b in foreign):
            continue
        if i not in inside and ins.is_push and ins.value in reader.split_targets:
            raise DispatchError(f"code at 0x{ins.pc:x} refers to the dispatcher block at 0x{ins.value:x}")
    return Dispatcher(start, end, root, _not_found(code, reader.terminals, end), max(reader.tag_widths))


def _not_found(code: bytes, terminals: list[bytes | None], end: int) -> bytes | None:
    """The one not-found behaviour all leaves share, as code a non-final leaf can end with."""
    halts = [t for t in terminals if t is not None]
    if len(halts) == len(terminals):  # no leaf falls through: all must halt alike
        if len(set(halts)) > 1:
            raise DispatchError("the dispatcher's leaves end differently; cannot tell the not-found path")
        return halts[0]
    if end >= len(code) or code[end] != JUMPDEST:
        raise DispatchError(f"the dispatcher falls through to 0x{end:x}, which is no JUMPDEST")
    for terminal in halts:
        jumps_there = terminal[-1] == JUMP and int.from_bytes(terminal[1:-1], "big") == end and len(terminal) > 2
        # the same bytes do the same wherever they sit (jumps are absolute), unless they read PC
        same_code = code[end + 1: end + 1 + len(terminal)] == terminal \
            and all(i.op != PC for i in decode(terminal, metadata=False))
        if not (jumps_there or same_code):
            raise DispatchError(f"a dispatcher leaf ends with 0x{terminal.hex()}, unlike the not-found code at 0x{end:x}")
    return min(halts, key=len) if halts else None


# --- writing a new tree --------------------------------------------------------------------------------

def _emit(pairs: list[tuple[int, int]], last: bool, d: Dispatcher, out: list[bytes | tuple[str, int]],
          labels: dict[int, int], linear: bool) -> None:
    """Append the tree for sorted (selector, dest) pairs; labels are resolved by `assemble`."""
    if len(pairs) > LINEAR_LIMIT and not linear:
        middle = len(pairs) // 2
        label = len(labels)
        labels[label] = -1
        out += [bytes([DUP1]) + push(pairs[middle][0]) + bytes([GT]), ("ref", label), bytes([JUMPI])]
        _emit(pairs[middle:], False, d, out, labels, linear)  # selector >= pivot falls through
        out += [("label", label), bytes([JUMPDEST])]
        _emit(pairs[:middle], last, d, out, labels, linear)
        return
    for selector, dest in pairs:
        out.append(bytes([DUP1]) + push(selector) + bytes([EQ]) + push(dest, d.tag_width) + bytes([JUMPI]))
    if last and d.not_found is not None and not _falls_through(d):
        out.append(d.not_found)
    elif not last:
        out.append(d.not_found if d.not_found is not None else push(d.end, d.tag_width) + bytes([JUMP]))


def _falls_through(d: Dispatcher) -> bool:
    def any_fall(node: Node) -> bool:
        if isinstance(node, Leaf):
            return node.terminal is None
        return any_fall(node.low) or any_fall(node.high)
    return any_fall(d.root)


def _assemble(d: Dispatcher, pairs: list[tuple[int, int]], linear: bool) -> bytes:
    out: list[bytes | tuple[str, int]] = []
    labels: dict[int, int] = {}
    _emit(pairs, True, d, out, labels, linear)
    offset = d.start
    for part in out:  # first pass: where the labels are (every reference is a PUSH of tag_width bytes)
        if isinstance(part, tuple):
            if part[0] == "label":
                labels[part[1]] = offset
            else:
                offset += 1 + d.tag_width
        else:
            offset += len(part)
    try:
        return b"".join(part if isinstance(part, bytes) else
                        (push(labels[part[1]], d.tag_width) if part[0] == "ref" else b"") for part in out)
    except ValueError as exc:
        raise DispatchError(f"a jump target of the rebuilt dispatcher does not fit solc's tag width: {exc}") from exc


def rebuild(d: Dispatcher, selectors: Mapping[int, int]) -> bytes:
    """The dispatcher's byte range rewritten for new selectors {old: new}, same length."""
    pairs = []
    for entry in d.entries:
        if entry.selector not in selectors:
            raise DispatchError(f"the dispatcher compares with 0x{entry.selector:08x}, no function of the contract's ABI")
        pairs.append((selectors[entry.selector], entry.dest))
    pairs.sort()
    for (a, _), (b, _) in zip(pairs, pairs[1:]):
        if a == b:
            raise DispatchError(f"two functions share the selector 0x{a:08x} in this suite; rename one")
    size = d.end - d.start
    for linear in (False, True):
        code = _assemble(d, pairs, linear)
        if len(code) <= size:
            return code + bytes([JUMPDEST]) * (size - len(code))
    raise DispatchError(f"the rebuilt dispatcher needs {len(code)} bytes where solc's took {size} "
                        "(a selector pushed in fewer than 4 bytes); rename a function whose selector starts with 0x00")
