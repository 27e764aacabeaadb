"""Key locks between transactions, and FISCO BCOS's deterministic deadlock resolution.

Why locks at all: a transaction paused at a cross-contract call has read and written rows of its
contract that other transactions must not see half-done (a later transaction reading a balance
the paused one will still change would break serializability). So every row a frame touches is
locked by its transaction from the moment the frame pauses (the executor reports the rows with
its reply) until the transaction ends. A frame that touches a row another running transaction
holds pauses too (KEY_LOCK) until the scheduler grants it the row.

The lock graph is FISCO's ``GraphKeyLocks``: rows point at the transaction holding them, a waiting
transaction points at the row it waits for. Each transaction runs one frame at a time, so it
waits for at most one row; following "waits for -> held by" from a transaction is a path that
either ends or loops.

Deadlock: when no executor has anything left to run and some frames wait for rows, the scheduler
walks the waiting frames in a fixed order — contracts in address order, then transactions in
block order — and picks the first whose transaction holds at least one row and from which the
path loops (``detectDeadLock``: a depth-first search that meets a back edge). That frame's row
access fails with a revert; its transaction usually reverts as a whole, releasing its rows, and
the others go on. Every node walks the same graph in the same order, so every node reverts the
same transaction: the result stays deterministic.
"""

from __future__ import annotations

from chain.execution.dmc.messages import Row
from chain.execution.dmc.ownership import row_owner


class LockConflict(Exception):
    """A transaction reported a row another one holds: an executor broke the locking rule (a bug)."""


class KeyLocks:
    """Which transaction holds which row, and which transaction waits for which row."""

    def __init__(self) -> None:
        self._holder: dict[Row, int] = {}
        self._held: dict[int, set[Row]] = {}
        self._waiting: dict[int, Row] = {}

    def hold(self, context: int, rows: tuple[Row, ...]) -> None:
        """Record rows a frame of context touched (it held them already: nobody else did)."""
        for row in rows:
            holder = self._holder.setdefault(row, context)
            # an executor never lets a frame touch a row held by another transaction
            if holder != context:
                raise LockConflict(f"row {row!r} reported by transaction {context}, held by {holder}")
            self._held.setdefault(context, set()).add(row)

    def try_acquire(self, context: int, row: Row) -> bool:
        """Give context the row if nobody else holds it; else remember that context waits for it."""
        holder = self._holder.get(row)
        if holder is not None and holder != context:
            self._waiting[context] = row
            return False
        self._waiting.pop(context, None)
        self.hold(context, (row,))
        return True

    def release(self, context: int) -> None:
        """The transaction ended: all its rows are free."""
        for row in self._held.pop(context, set()):
            del self._holder[row]
        self._waiting.pop(context, None)

    def forget_wait(self, context: int) -> None:
        self._waiting.pop(context, None)

    def holder(self, row: Row) -> int | None:
        return self._holder.get(row)

    def held_rows(self, contract: bytes) -> tuple[tuple[Row, int], ...]:
        """The rows of one contract held by running transactions, in row order."""
        return tuple(sorted((row, ctx) for row, ctx in self._holder.items() if row_owner(*row) == contract))

    def held_by(self, context: int) -> frozenset[Row]:
        return frozenset(self._held.get(context, ()))

    def in_deadlock(self, context: int) -> bool:
        """FISCO's detectDeadLock: context holds a row, and its wait path runs into a loop."""
        # a transaction holding nothing cannot be what others wait for
        if not self._held.get(context):
            return False
        seen = {context}
        current = context
        while True:
            row = self._waiting.get(current)
            if row is None:
                return False  # the path ends at a running (or finished) transaction
            holder = self._holder.get(row)
            if holder is None:
                return False  # the row is free: the wait will be granted
            if holder in seen:
                return True  # a back edge: the path loops
            seen.add(holder)
            current = holder
