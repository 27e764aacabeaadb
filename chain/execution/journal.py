"""The rows one transaction writes, with the nested checkpoints the EVM needs.

A transaction is a tree of calls; any call can fail and must then undo exactly its own writes
(and those of the calls it made), while its caller carries on. ``TableJournal`` records every
write as an undo entry, so reverting to a checkpoint pops entries until the journal is as long as
it was then. Contract storage, contract code, account nonces and the system contracts' tables
all go through the same journal, so a Solidity contract that writes a KV table through the
KVTable system contract and then reverts leaves no trace in that table either.

When the whole transaction succeeds, ``flush_into`` hands the *net* changes — rows whose final
value differs from what the transaction started with — to the transaction's state overlay. A write
that puts a value back, or a slot set to the value it already had, is not a change: the state root
moves exactly when the state does.
"""

from __future__ import annotations

from typing import Hashable, Literal, Union

from eth.db.journal import get_next_checkpoint

from chain.ledger.state import StateOverlay, StateReader

Row = tuple[str, bytes]


class _Missing:
    """Marks 'this row had not been written in this transaction' in an undo entry."""


MISSING = _Missing()

# What reverting needs: a row's value before the write (MISSING: not written before), or a new mark.
_Undo = Union[tuple[Literal["row"], Row, "bytes | None | _Missing"], tuple[Literal["mark"], Hashable, None]]


class TableJournal:
    """Journaled writes of one transaction over the state it started from."""

    def __init__(self, base: StateReader) -> None:
        self._base = base
        self._writes: dict[Row, bytes | None] = {}
        self._marks: set[Hashable] = set()  # warm addresses/slots (EIP-2929); journaled, never stored
        self._undo: list[_Undo] = []
        self._checkpoints: dict[int, int] = {}

    # --- rows ---------------------------------------------------------------------------------

    def get(self, table: str, key: bytes) -> bytes | None:
        row = (table, key)
        if row in self._writes:
            return self._writes[row]
        return self._base.get(table, key)

    def get_original(self, table: str, key: bytes) -> bytes | None:
        """The row as it was when the transaction started (EIP-2200 'original value')."""
        return self._base.get(table, key)

    def set(self, table: str, key: bytes, value: bytes | None) -> None:
        """Write a row; None deletes it."""
        row = (table, key)
        self._undo.append(("row", row, self._writes.get(row, MISSING)))
        self._writes[row] = value

    def written_keys(self, table: str, prefix: bytes) -> list[bytes]:
        """Keys of rows of `table` starting with `prefix` written in this transaction, sorted."""
        return sorted(k for (t, k), v in self._writes.items() if t == table and k.startswith(prefix))

    # --- marks (access lists) -----------------------------------------------------------------

    def has_mark(self, mark: Hashable) -> bool:
        return mark in self._marks

    def add_mark(self, mark: Hashable) -> None:
        if mark not in self._marks:
            self._undo.append(("mark", mark, None))
            self._marks.add(mark)

    # --- checkpoints --------------------------------------------------------------------------

    def checkpoint(self) -> int:
        """A fresh checkpoint id, from py-evm's own counter: its transient storage journal shares them."""
        checkpoint = get_next_checkpoint()
        self._checkpoints[checkpoint] = len(self._undo)
        return checkpoint

    def revert(self, checkpoint: int) -> None:
        """Undo every write and mark made since checkpoint."""
        self.truncate(self._checkpoints.pop(checkpoint))

    def length(self) -> int:
        """How many undo entries the journal holds: a position to truncate back to."""
        return len(self._undo)

    def truncate(self, length: int) -> None:
        """Undo every write and mark made after the journal had `length` entries."""
        while len(self._undo) > length:
            entry = self._undo.pop()
            if entry[0] == "mark":
                self._marks.discard(entry[1])
                continue
            _, row, previous = entry
            if isinstance(previous, _Missing):
                del self._writes[row]
            else:
                self._writes[row] = previous
        for later in [c for c, at in self._checkpoints.items() if at > length]:
            del self._checkpoints[later]  # checkpoints taken inside the reverted span are gone

    def commit(self, checkpoint: int) -> None:
        """Keep the writes since checkpoint (an enclosing checkpoint can still revert them)."""
        self._checkpoints.pop(checkpoint, None)

    # --- the end of the transaction -----------------------------------------------------------

    def net_changes(self) -> dict[Row, bytes | None]:
        """Rows whose final value differs from the value the transaction started with, sorted."""
        return {
            row: value for row, value in sorted(self._writes.items(), key=lambda item: item[0])
            if self._base.get(*row) != value
        }

    def flush_into(self, overlay: StateOverlay) -> None:
        for (table, key), value in self.net_changes().items():
            overlay.set(table, key, value)
