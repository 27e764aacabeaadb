"""The DMC scheduler: rounds of parallel execution separated by global synchronisation points.

It follows FISCO BCOS's ``BlockExecutive::DMCExecute`` and ``DmcExecutor``. Each transaction of the
block becomes a message to the contract it calls (its *DMC contract*: the address, or ``SYSTEM``
for the system contracts). A round sends every contract's pending messages to the executor that
owns the contract; the executors run in parallel; the scheduler waits for all of them (the global
synchronisation) and then, contracts in address order and each contract's replies in the order
they were made, applies FISCO's fixed rules:

1. a frame that **called another contract** is paused; the call becomes a message to the callee's
   contract in the next round (a new seq, pushed on the transaction's call stack);
2. a frame that **ended** pops the call stack: if a caller remains, its contract gets the result
   in the next round (a failed callee's writes elsewhere are undone first); if not, the
   transaction is over — its receipt is final, every executor it ran on commits (or drops) its
   writes at the start of the next round, and its key locks are released;
3. a frame that **waits for a row** another transaction holds is parked; after releases, parked
   frames are granted their rows in contract-address, then block order;
4. when nothing can run but frames are parked, the lock graph is searched for a deadlock and one
   frame is reverted (``locks``).

Nothing here depends on timing or on how many executors there are: what a round contains is
decided from the previous round's replies in a fixed order, and an executor's replies for one
contract depend only on that contract's messages and rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

from chain.execution.dmc.locks import KeyLocks
from chain.execution.dmc.messages import (
    Reply, ReplyKind, Request, RequestKind, RoundBatch, RoundReplies, Row, TxOutcome,
)
from chain.execution.dmc.ownership import contract_key

RunRound = Callable[[dict[int, RoundBatch]], dict[int, RoundReplies]]


class SchedulerError(RuntimeError):
    """The scheduler found itself stuck: an executor broke the protocol (a bug, not bad input)."""


@dataclass(frozen=True)
class Step:
    """One frame an executor ran in a round (until it paused or ended), for lessons and the Gantt chart."""

    context: int
    seq: int
    reply: str  # ReplyKind value: how the frame stopped
    row: str = ""  # the row a KEY_LOCK waits for
    callee: str = ""  # the contract a CALL_OUT calls


@dataclass
class _Notices:
    undo: list[tuple[int, int]] = field(default_factory=list)
    commit: list[int] = field(default_factory=list)
    drop: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Stage:
    """A round: which contract ran on which executor, what each did; then the sync point's decisions."""

    number: int
    contracts: tuple[tuple[str, int, tuple[Step, ...]], ...]  # (contract hex, executor, steps)
    granted: tuple[int, ...] = ()  # contexts given their row after this round
    deadlock_victim: int | None = None  # context whose row access was reverted before this round


@dataclass
class _Tx:
    context: int
    origin: bytes
    stack: list[tuple[int, bytes]]  # (seq, contract) of the frames in flight, innermost last
    next_seq: int = 1
    executors: set[int] = field(default_factory=set)
    outcome: TxOutcome | None = None


class Scheduler:
    """Runs one block's START requests to completion over executors reached through run_round."""

    def __init__(self, run_round: RunRound, executor_of: Callable[[bytes], int]) -> None:
        self._run_round = run_round
        self._executor_of = executor_of
        self.stages: list[Stage] = []

    def run(self, starts: list[Request]) -> dict[int, TxOutcome]:
        self.stages = []
        locks = KeyLocks()
        txs = {r.context: _Tx(r.context, r.origin, [(0, r.contract)]) for r in starts}
        pending: dict[bytes, list[Request]] = defaultdict(list)
        for request in starts:
            pending[request.contract].append(request)
        notices: dict[int, _Notices] = defaultdict(_Notices)
        waits: dict[int, tuple[bytes, int, Row]] = {}  # context -> (contract, seq, row) of its parked frame
        victim: int | None = None
        granted: list[int] = []
        open_txs = len(txs)
        while pending or notices:
            stage_number = len(self.stages)
            batches = self._batches(pending, notices, locks)
            pending = defaultdict(list)
            notices = defaultdict(_Notices)
            replies = self._run_round(batches)
            by_contract = {contract: rs for executor_replies in replies.values() for contract, rs in executor_replies.replies}
            finished: list[int] = []
            for contract in sorted(by_contract):
                for reply in by_contract[contract]:
                    self._route(reply, txs, locks, pending, notices, waits, finished)
            open_txs -= len(finished)
            granted = []
            for context, (contract, seq, row) in sorted(waits.items(), key=lambda item: (item[1][0], item[0])):
                if locks.try_acquire(context, row):
                    granted.append(context)
                    pending[contract].append(Request(RequestKind.GRANTED, context, seq, contract))
            for context in granted:
                del waits[context]
            if by_contract:  # a round of notices only (commits after the last transaction) shows nothing
                self.stages.append(self._stage(stage_number, by_contract, granted, victim))
                victim = None
            if not pending and waits:
                victim = self._deadlock_victim(waits, locks)
                contract, seq, _ = waits.pop(victim)
                locks.forget_wait(victim)
                pending[contract].append(Request(RequestKind.DEADLOCK, victim, seq, contract))
        if open_txs or waits:
            raise SchedulerError(f"DMC stopped with {open_txs} transactions open and {len(waits)} frames parked")
        outcomes: dict[int, TxOutcome] = {}
        for context, tx in txs.items():
            assert tx.outcome is not None
            outcomes[context] = tx.outcome
        return outcomes

    # --- the sync point ---

    def _route(self, reply: Reply, txs: dict[int, _Tx], locks: KeyLocks, pending: dict[bytes, list[Request]],
               notices: dict[int, _Notices], waits: dict[int, tuple[bytes, int, Row]],
               finished: list[int]) -> None:
        tx = txs[reply.context]
        executor = self._executor_of(reply.contract)
        tx.executors.add(executor)
        if reply.keys:
            locks.hold(reply.context, reply.keys)
        if reply.undo_from is not None:
            # a call that failed inside the frame had callees elsewhere: their writes go too
            for other in sorted(tx.executors - {executor}):
                notices[other].undo.append((reply.context, reply.undo_from))
        if reply.kind is ReplyKind.KEY_LOCK:
            assert reply.wait_row is not None
            waits[reply.context] = (reply.contract, reply.seq, reply.wait_row)
            locks.try_acquire(reply.context, reply.wait_row)  # records the wait edge (never free here)
            return
        if reply.kind is ReplyKind.CALL_OUT:
            call = reply.call
            assert call is not None
            seq = tx.next_seq
            tx.next_seq += 1
            callee = contract_key(call.to)
            tx.stack.append((seq, callee))
            pending[callee].append(Request(RequestKind.CALL, reply.context, seq, callee, marks=reply.marks, message=call,
                                           origin=tx.origin))
            return
        # the frame ended
        top_seq, _ = tx.stack.pop()
        if top_seq != reply.seq:
            raise SchedulerError(f"transaction {reply.context}: frame {reply.seq} ended, {top_seq} was running")
        if not tx.stack:
            tx.outcome = reply.outcome
            finished.append(reply.context)
            locks.release(reply.context)  # its rows are free now (FISCO frees them one sync point later)
            for other in sorted(tx.executors - {executor}):
                ended = notices[other].commit if reply.kind is ReplyKind.FINISHED else notices[other].drop
                ended.append(reply.context)
            return
        if reply.kind is ReplyKind.FAILED:
            for other in sorted(tx.executors - {executor}):
                notices[other].undo.append((reply.context, reply.seq))
        caller_seq, caller_contract = tx.stack[-1]
        pending[caller_contract].append(Request(
            RequestKind.RESUME, reply.context, caller_seq, caller_contract, marks=reply.marks, result=reply.result,
            callee_seq=reply.seq,
        ))

    @staticmethod
    def _deadlock_victim(waits: dict[int, tuple[bytes, int, Row]], locks: KeyLocks) -> int:
        """FISCO: executors in address order, their locked frames in context order; first in a deadlock."""
        for context, _ in sorted(waits.items(), key=lambda item: (item[1][0], item[0])):
            if locks.in_deadlock(context):
                return context
        raise SchedulerError("frames wait for rows but no deadlock was found")

    def _batches(self, pending: dict[bytes, list[Request]], notices: dict[int, _Notices],
                 locks: KeyLocks) -> dict[int, RoundBatch]:
        per_executor: dict[int, list[tuple[bytes, tuple[Request, ...]]]] = defaultdict(list)
        for contract in sorted(pending):
            per_executor[self._executor_of(contract)].append((contract, tuple(pending[contract])))
        batches: dict[int, RoundBatch] = {}
        for executor in sorted(set(per_executor) | set(notices)):
            requests = tuple(per_executor.get(executor, ()))
            note = notices.get(executor, _Notices())
            batches[executor] = RoundBatch(
                requests=requests,
                held=tuple((contract, locks.held_rows(contract)) for contract, _ in requests),
                undo=tuple(note.undo), commit=tuple(note.commit), drop=tuple(note.drop),
            )
        return batches

    def _stage(self, number: int, replies: dict[bytes, tuple[Reply, ...]], granted: list[int],
               victim: int | None) -> Stage:
        contracts = []
        for contract in sorted(replies):
            steps = tuple(
                Step(r.context, r.seq, r.kind.value,
                     row=f"{r.wait_row[0]}/{r.wait_row[1].hex()}" if r.wait_row else "",
                     callee=contract_key(r.call.to).hex() if r.call else "")
                for r in replies[contract]
            )
            contracts.append((contract.hex(), self._executor_of(contract), steps))
        return Stage(number, tuple(contracts), tuple(granted), victim)
