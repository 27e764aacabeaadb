"""Table-based key-value state, like FISCO BCOS's table storage: (table, key) → value.

Everything a chain remembers between blocks — contract code and storage, system config, the
consensus node list, user KV tables — is rows in named tables. Execution writes into overlays
(one per block, a child per transaction) so that a failed transaction is dropped by simply not
merging its overlay, and the block's change set is committed atomically with the block.
"""

from __future__ import annotations

from typing import Iterator, Mapping, Protocol

from chain.crypto.suite import CryptoSuite
from chain.ledger import codec

Changes = dict[tuple[str, bytes], "bytes | None"]


class StateReader(Protocol):
    def get(self, table: str, key: bytes) -> bytes | None: ...


class MemoryState:
    """A dict-backed state for tests and the simulator."""

    def __init__(self, rows: Mapping[tuple[str, bytes], bytes] | None = None) -> None:
        self._rows: dict[tuple[str, bytes], bytes] = dict(rows or {})

    def get(self, table: str, key: bytes) -> bytes | None:
        return self._rows.get((table, key))

    def apply(self, changes: Mapping[tuple[str, bytes], bytes | None]) -> None:
        for row, value in changes.items():
            if value is None:
                self._rows.pop(row, None)
            else:
                self._rows[row] = value

    def snapshot(self) -> MemoryState:
        return MemoryState(self._rows)

    def rows(self, table: str) -> Iterator[tuple[bytes, bytes]]:
        """All (key, value) rows of one table, in key order."""
        return iter(sorted((k, v) for (t, k), v in self._rows.items() if t == table))

    def __len__(self) -> int:
        return len(self._rows)


class StateOverlay:
    """Buffered writes over a reader. Reads see the overlay's own writes first."""

    def __init__(self, base: StateReader, parent: StateOverlay | None = None) -> None:
        self._base = base
        self._parent = parent
        self._writes: Changes = {}

    def get(self, table: str, key: bytes) -> bytes | None:
        row = (table, key)
        if row in self._writes:
            return self._writes[row]
        return self._base.get(table, key)

    def set(self, table: str, key: bytes, value: bytes | None) -> None:
        """Write a row; None deletes it."""
        self._writes[(table, key)] = value

    def child(self) -> StateOverlay:
        """A nested overlay (one transaction); merge() keeps its writes, dropping it reverts them."""
        return StateOverlay(self, parent=self)

    def merge(self) -> None:
        if self._parent is None:
            raise ValueError("merge() on a root overlay: commit its changes() to the store instead")
        self._parent._writes.update(self._writes)
        self._writes = {}

    def changes(self) -> Changes:
        return dict(self._writes)


def change_set_hash(suite: CryptoSuite, changes: Mapping[tuple[str, bytes], bytes | None]) -> bytes:
    """A canonical hash of a change set: rows sorted; a deletion is an empty list, a value [value]."""
    rows = [
        [table.encode(), key, [] if value is None else [value]]
        for (table, key), value in sorted(changes.items())
    ]
    return suite.hash(codec.encode(rows))


def next_state_root(suite: CryptoSuite, parent_root: bytes, changes: Mapping[tuple[str, bytes], bytes | None]) -> bytes:
    """The state root after a block: unchanged when nothing changed, else chained over the change set."""
    if not changes:
        return parent_root
    return suite.hash(parent_root + change_set_hash(suite, changes))
