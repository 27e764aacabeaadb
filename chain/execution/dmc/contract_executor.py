"""The executor side of DMC: runs the frames of the contracts one executor owns, pausing them at
cross-contract calls and at rows locked by other transactions (FISCO's ``TransactionExecutor``
with its per-contract ``ExecutiveStackFlow``).

Per contract, requests of a round run in FISCO's stack-flow order:

1. first every frame that was waiting — calls in from other contracts, callee results, lock
   answers — in (transaction, seq) order;
2. then, only if no frame of this contract is paused, the contract's own transactions from the
   block, in block order, until one of them pauses (it pauses the queue: a contract never has two
   of its own transactions half-done).

State: rows the executor owns accumulate in one overlay per block. A running transaction's
writes stay in its own journal (one per transaction and executor, shared by all its frames here)
until the scheduler says the transaction ended: then they are committed to the overlay, or
dropped. A failed call's subtree is undone here when the scheduler says so (``undo``): every
write made here since the first frame of the subtree started — nothing else of the transaction
ran in between, because a transaction runs one frame at a time.
"""

from __future__ import annotations

import dataclasses

from collections import deque
from functools import lru_cache
from typing import Any, cast

from eth import constants as evm_constants
from eth.abc import ComputationAPI, MessageAPI
from eth.exceptions import (
    ContractCreationCollision, FullStack, InsufficientFunds, InsufficientStack, InvalidInstruction,
    InvalidJumpDestination, OutOfGas, Revert, VMError,
)
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.cancun.transaction_context import CancunTransactionContext
from eth.vm.message import Message
from eth_typing import Address

from chain.crypto.suite import CryptoSuite
from chain.execution.dmc.fiber import Fiber, FiberPool, done_value, is_done
from chain.execution.dmc.messages import (
    CallMessage, FrameResult, Marks, RawLog, Reply, ReplyKind, Request, RequestKind, RoundBatch, RoundReplies, Row,
    TxOutcome,
)
from chain.execution.dmc.ownership import SHARED_READ_TABLES, SYSTEM, contract_key, row_owner, runs_in_caller
from chain.execution.evm import CODE_TABLE, ChainState, state_class
from chain.execution.executor import status_of
from chain.execution.journal import TableJournal
from chain.execution.precompiled import PrecompiledFailure, system_contracts
from chain.ledger.state import Changes, StateOverlay, StateReader
from chain.ledger.status import Status
from chain.abi.codec import encode_error


class OwnershipViolation(VMError):
    """A frame touched a row its contract does not own (DMC's premise: contracts share no data)."""


class DeadlockRevert(Revert):
    """The scheduler chose this frame's row access to break a deadlock (FISCO: DEAD_LOCK, revert)."""


DEADLOCK_REASON = "dead lock detected: the transaction's row access is reverted (DMC)"

# A failed remote frame's status, back into the py-evm error its caller's EVM expects.
ERROR_CLASSES: dict[Status, type[VMError]] = {
    Status.REVERT_INSTRUCTION: Revert,
    Status.OUT_OF_GAS: OutOfGas,
    Status.BAD_INSTRUCTION: InvalidInstruction,
    Status.BAD_JUMP_DESTINATION: InvalidJumpDestination,
    Status.STACK_UNDERFLOW: InsufficientStack,
    Status.OUT_OF_STACK: FullStack,
    Status.NOT_ENOUGH_CASH: InsufficientFunds,
    Status.ADDRESS_ALREADY_USED: ContractCreationCollision,
}


def error_for(result: FrameResult) -> VMError:
    status = Status(result.status)
    if result.refused:
        return PrecompiledFailure(status, result.message)
    return ERROR_CLASSES.get(status, VMError)(result.message or status.name)


# --- the journal of one transaction at one executor -----------------------------------------------

class DmcJournal(TableJournal):
    """A transaction's journal that enforces ownership and key locks on every row it touches."""

    def __init__(self, base: StateReader, shared: StateReader) -> None:
        super().__init__(base)
        self._shared = shared  # the block's starting state: other contracts' code and accounts
        self.frame: Frame | None = None  # the frame running now (one at a time per transaction)
        self.calls: list[tuple[int, int]] = []  # (journal length, callee seq) of each call sent out
        self.undo_from: int | None = None  # the first callee seq of calls undone by a local revert

    def revert(self, checkpoint: int) -> None:
        """py-evm undoes a failed call made inside the frame; callees it reached elsewhere must follow.

        A call to another contract made after the checkpoint ran on other executors: their writes
        are not in this journal. Remember the first such callee; the frame's next reply carries it
        and the scheduler has the other executors undo everything from it on.
        """
        at = self._checkpoints.get(checkpoint)
        if at is not None:
            undone = [seq for length, seq in self.calls if length >= at]
            if undone:
                first = min(undone)
                self.undo_from = first if self.undo_from is None else min(self.undo_from, first)
                self.calls = [(length, seq) for length, seq in self.calls if length < at]
        super().revert(checkpoint)

    def _own(self, table: str, key: bytes) -> bool:
        frame = self.frame
        if frame is None or row_owner(table, key) == frame.contract:
            return True
        return False

    def get(self, table: str, key: bytes) -> bytes | None:
        if not self._own(table, key):
            # other contracts' code and existence, and the system tables: as the block found them
            if table in SHARED_READ_TABLES or row_owner(table, key) == SYSTEM:
                return self._shared.get(table, key)
            raise OwnershipViolation(f"row {table}/{key.hex()} belongs to another contract")
        # code is written once, by the frame creating the contract: reading it conflicts with nobody
        # (locking it would make every frame of a contract wait for any paused one)
        if self.frame is not None and table != CODE_TABLE:
            self.frame.access((table, key))
        return super().get(table, key)

    def get_original(self, table: str, key: bytes) -> bytes | None:
        if self.frame is not None and self._own(table, key):
            self.frame.access((table, key))
        return super().get_original(table, key)

    def set(self, table: str, key: bytes, value: bytes | None) -> None:
        # a frame writes only its own contract's rows
        if not self._own(table, key):
            raise OwnershipViolation(f"write to row {table}/{key.hex()} of another contract")
        if self.frame is not None:
            self.frame.access((table, key))
        super().set(table, key, value)

    def truncate(self, length: int) -> None:
        """Undo as the table journal does; calls sent out after that point are forgotten with it."""
        super().truncate(length)
        self.calls = [(at, seq) for at, seq in self.calls if at < length]

    def marks(self) -> Marks:
        return frozenset(self._marks)

    def install_marks(self, marks: Marks) -> None:
        for mark in marks:
            self.add_mark(mark)  # journaled: a reverted call takes back what it warmed


# --- frames ---------------------------------------------------------------------------------------

class ContextState:
    """One transaction at this executor: its journal, its py-evm state, where each frame began."""

    def __init__(self, journal: DmcJournal, vm_state: ChainState, origin: bytes, tx_hash: bytes) -> None:
        self.journal = journal
        self.vm_state = vm_state
        self.origin = origin
        self.tx_hash = tx_hash  # for the receipt, built here when the transaction's own frame ends
        self.first_position: dict[int, int] = {}  # seq -> journal length when it first ran here


class Frame:
    """One frame (context, seq) running a contract's code on a fiber."""

    def __init__(self, executor: ContractExecutor, context: int, seq: int, contract: bytes,
                 state: ContextState, flow: ContractFlow) -> None:
        self.executor = executor
        self.context = context
        self.seq = seq
        self.contract = contract
        self.state = state
        self.flow = flow
        self.fiber: Fiber | None = None
        self.touched: set[Row] = set()  # rows touched since the last reply

    def access(self, row: Row) -> None:
        """Before touching a row: wait if another running transaction holds it."""
        holder = self.flow.held.get(row)
        if holder is not None and holder != self.context:
            assert self.fiber is not None
            answer = self.fiber.pause(("lock", row))
            if answer is RequestKind.DEADLOCK:
                raise DeadlockRevert(DEADLOCK_REASON)
        self.touched.add(row)

    def call_out(self, call: CallMessage) -> FrameResult:
        """Pause at a call to another contract; the callee's result, when the scheduler has it.

        The transaction's warm addresses and slots come back with it (the callee may have warmed
        more): this frame's journal takes them in, so gas is what one EVM running it all would charge.
        """
        assert self.fiber is not None
        journal = self.state.journal
        at = journal.length()
        result, marks, callee_seq = self.fiber.pause(("call", call))
        assert isinstance(result, FrameResult)
        journal.calls.append((at, callee_seq))
        journal.install_marks(marks)
        return result


class DmcComputationMixin:
    """py-evm's computation, with calls to other contracts sent out instead of run here."""

    def apply_child_computation(self, child_msg: MessageAPI) -> ComputationAPI:
        parent: Any = self
        journal = parent.state.journal
        frame: Frame | None = journal.frame if isinstance(journal, DmcJournal) else None
        target = child_msg.storage_address
        # same contract (or DELEGATECALL/CALLCODE, which keep the caller's storage) and stateless
        # precompiles run here, inside the calling frame
        if frame is None or runs_in_caller(child_msg.code_address) or contract_key(target) == frame.contract:
            return cast(ComputationAPI, super().apply_child_computation(child_msg))  # type: ignore[misc]  # a mixin: super() is py-evm's computation at run time
        call = CallMessage(
            sender=child_msg.sender, to=target, data=bytes(child_msg.data), gas=child_msg.gas,
            depth=child_msg.depth, is_static=child_msg.is_static, create=child_msg.is_create,
            init_code=bytes(child_msg.code) if child_msg.is_create else b"",
        )
        result = frame.call_out(call)
        child = remote_child(parent, child_msg, result)
        parent.add_child_computation(child)
        return child


def remote_child(parent: Any, child_msg: MessageAPI, result: FrameResult) -> ComputationAPI:
    """A computation standing for a frame that ran elsewhere, as the caller's EVM must see it."""
    child: Any = type(parent)(parent.state, child_msg, parent.transaction_context)
    used = child_msg.gas - result.gas_remaining
    if used > 0:
        child._gas_meter.consume_gas(used, "the callee, run by its contract's executor")
    if result.ok:
        if result.refund:
            child._gas_meter.refund_gas(result.refund)
        child._log_entries = [
            (parent.transaction_context.get_next_log_counter(), address, topics, data)
            for address, topics, data in result.logs
        ]
    else:
        child._error = error_for(result)
    child._output = result.output
    return cast(ComputationAPI, child)


@lru_cache(maxsize=None)
def dmc_state_class(suite: CryptoSuite) -> type[ChainState]:
    """The serial executor's state class, with the computation that sends cross-contract calls out."""
    base = state_class(suite, system_contracts(suite))
    computation = type(f"DmcComputation[{suite.name}]", (DmcComputationMixin, base.computation_class), {})
    return base.configure(__name__=f"DmcState[{suite.name}]", computation_class=computation)


# --- per-contract flow and the executor ------------------------------------------------------------

class ContractFlow:
    """One contract's queue at its executor (FISCO's ExecutiveStackFlow)."""

    def __init__(self, contract: bytes) -> None:
        self.contract = contract
        self.origin: deque[Request] = deque()  # its own transactions not started yet, block order
        self.paused: set[tuple[int, int]] = set()
        self.held: dict[Row, int] = {}  # rows of this contract locked by running transactions


class ContractExecutor:
    """Runs the contracts the scheduler gave it; one per worker process (or in-process)."""

    def __init__(self, suite: CryptoSuite) -> None:
        self.suite = suite
        self._state_class = dmc_state_class(suite)
        self._fibers = FiberPool()
        self._overlay: StateOverlay | None = None

    # --- block ---

    def begin_block(self, base: StateReader, context: ExecutionContext) -> None:
        self._base = base
        self._overlay = StateOverlay(base)
        self._context = context
        self._contexts: dict[int, ContextState] = {}
        self._flows: dict[bytes, ContractFlow] = {}
        self._paused: dict[tuple[int, int], Frame] = {}

    def end_block(self) -> Changes:
        """The rows this executor's contracts wrote in the block (all transactions ended)."""
        # every transaction ended, so nothing may still wait here
        if self._paused or self._contexts:
            raise RuntimeError(f"DMC block ended with {len(self._paused)} paused frames, {len(self._contexts)} open transactions")
        assert self._overlay is not None
        changes = self._overlay.changes()
        self._overlay = None
        return changes

    def close(self) -> None:
        self._fibers.close()

    # --- a round ---

    def run_round(self, batch: RoundBatch) -> RoundReplies:
        self._apply_notices(batch)
        held = dict(batch.held)
        out: list[tuple[bytes, tuple[Reply, ...]]] = []
        for contract, requests in batch.requests:
            flow = self._flows.get(contract)
            if flow is None:
                flow = self._flows[contract] = ContractFlow(contract)
            flow.held = dict(held.get(contract, ()))
            replies: list[Reply] = []
            waiting = sorted((r for r in requests if r.kind is not RequestKind.START), key=lambda r: (r.context, r.seq))
            flow.origin.extend(r for r in requests if r.kind is RequestKind.START)
            for request in waiting:
                self._run_one(flow, request, replies)
            # the contract's own transactions go on only while none of its frames is paused
            while flow.origin and not flow.paused:
                self._run_one(flow, flow.origin.popleft(), replies)
            out.append((contract, tuple(replies)))
        return RoundReplies(tuple(out))

    def _apply_notices(self, batch: RoundBatch) -> None:
        for context, seq in batch.undo:
            state = self._contexts.get(context)
            if state is None:
                continue
            starts = [at for s, at in state.first_position.items() if s >= seq]
            if starts:
                state.journal.truncate(min(starts))
                for s in [s for s in state.first_position if s >= seq]:
                    del state.first_position[s]
        for context in batch.commit:
            self._end_context(context, commit=True)
        for context in batch.drop:
            self._end_context(context, commit=False)

    def _end_context(self, context: int, *, commit: bool) -> None:
        state = self._contexts.pop(context, None)
        if state is not None and commit:
            assert self._overlay is not None
            state.journal.flush_into(self._overlay)

    def _context_state(self, request: Request) -> ContextState:
        state = self._contexts.get(request.context)
        if state is None:
            assert self._overlay is not None
            journal = DmcJournal(self._overlay, self._base)
            vm_state = self._state_class(journal, self._context)
            state = self._contexts[request.context] = ContextState(journal, vm_state, request.origin,
                                                                         request.tx_hash)
        return state

    def _run_one(self, flow: ContractFlow, request: Request, replies: list[Reply]) -> None:
        key = (request.context, request.seq)
        if request.kind in (RequestKind.START, RequestKind.CALL):
            state = self._context_state(request)
            state.journal.frame = None
            state.journal.install_marks(request.marks)
            state.first_position.setdefault(request.seq, state.journal.length())
            frame = Frame(self, request.context, request.seq, flow.contract, state, flow)
            frame.fiber = self._fibers.take()
            state.journal.frame = frame
            event = frame.fiber.run(lambda fiber: self._frame_body(frame, request))
        else:
            frame = self._paused.pop(key)
            flow.paused.discard(key)
            frame.state.journal.frame = frame
            assert frame.fiber is not None
            if request.kind is RequestKind.RESUME:
                event = frame.fiber.resume((request.result, request.marks, request.callee_seq))
            else:
                event = frame.fiber.resume(request.kind)
        frame.state.journal.frame = None
        self._reply(flow, frame, event, replies)

    def _reply(self, flow: ContractFlow, frame: Frame, event: Any, replies: list[Reply]) -> None:
        keys = tuple(sorted(frame.touched))
        frame.touched = set()
        journal = frame.state.journal
        marks = journal.marks()
        undo_from, journal.undo_from = journal.undo_from, None
        if is_done(event):
            result, outcome = done_value(event)
            if outcome is not None:
                receipt = outcome.to_receipt(self.suite, self._context.block_number, frame.state.tx_hash, frame.context)
                outcome = dataclasses.replace(outcome, receipt=receipt)
            kind = ReplyKind.FINISHED if result.ok else ReplyKind.FAILED
            if frame.seq == 0:
                keys = ()  # the transaction ends here and now: nothing of it stays locked
            replies.append(Reply(kind, frame.context, frame.seq, frame.contract, keys=keys, marks=marks,
                                 result=result, outcome=outcome, undo_from=undo_from))
            if frame.seq == 0:
                # the transaction is over: its rows here are final (other executors hear it next
                # round), so this contract's next frames may use them at once
                self._end_context(frame.context, commit=result.ok)
                for row in [row for row, holder in flow.held.items() if holder == frame.context]:
                    del flow.held[row]
            else:
                flow.held.update((row, frame.context) for row in keys)
            return
        what, detail = event
        self._paused[(frame.context, frame.seq)] = frame
        flow.paused.add((frame.context, frame.seq))
        flow.held.update((row, frame.context) for row in keys)  # FISCO: lastKeyLocks
        if what == "call":
            replies.append(Reply(ReplyKind.CALL_OUT, frame.context, frame.seq, frame.contract, keys=keys,
                                 marks=marks, call=detail, undo_from=undo_from))
        else:
            replies.append(Reply(ReplyKind.KEY_LOCK, frame.context, frame.seq, frame.contract, keys=keys,
                                 marks=marks, wait_row=detail, undo_from=undo_from))

    # --- the EVM message of one frame (runs on the frame's fiber) ---

    def _frame_body(self, frame: Frame, request: Request) -> tuple[FrameResult, TxOutcome | None]:
        message = request.message
        assert message is not None
        vm_state = frame.state.vm_state
        computation_class: Any = vm_state.computation_class
        root = request.kind is RequestKind.START
        tx_context = CancunTransactionContext(gas_price=0, origin=Address(frame.state.origin))
        full_gas = message.gas + request.intrinsic
        try:
            if root:
                # EIP-2929: the sender and the target start warm
                vm_state.mark_address_warm(Address(message.sender))
                vm_state.mark_address_warm(Address(message.to))
                # a deploy must not land on an existing contract
                if message.create and vm_state.has_code_or_nonce(Address(message.to)):
                    return self._failed(Status.ADDRESS_ALREADY_USED, message.gas, full_gas)
            if message.create:
                evm_message = Message(
                    gas=message.gas, to=evm_constants.CREATE_CONTRACT_ADDRESS, sender=Address(message.sender), value=0,
                    data=b"", code=message.init_code, create_address=Address(message.to), depth=message.depth,
                    is_static=message.is_static,
                )
                computation = computation_class.apply_create_message(vm_state, evm_message, tx_context)
            else:
                evm_message = Message(
                    gas=message.gas, to=Address(message.to), sender=Address(message.sender), value=0,
                    data=message.data, code=vm_state.get_code(Address(message.to)), depth=message.depth,
                    is_static=message.is_static,
                )
                computation = computation_class.apply_message(vm_state, evm_message, tx_context)
        except VMError as error:  # raised before the computation started
            if isinstance(error, Revert):  # a revert before any code ran keeps all the frame's gas
                return self._failed(status_of(error), message.gas, request.intrinsic, remaining=message.gas)
            return self._failed(status_of(error), message.gas, full_gas)
        except Exception as exc:  # a bug must not stop the chain: fail this frame, the same on every node
            return self._failed(Status.UNKNOWN, message.gas, full_gas, f"internal error: {type(exc).__name__}".encode())
        return self._frame_result(computation, vm_state, message, request.intrinsic, root)

    @staticmethod
    def _failed(status: Status, gas: int, gas_used: int, output: bytes = b"",
                remaining: int = 0) -> tuple[FrameResult, TxOutcome | None]:
        result = FrameResult(int(status), output, remaining, 0, ())
        return result, TxOutcome(int(status), output, b"", gas_used, ())

    def _frame_result(self, computation: ComputationAPI, vm_state: ChainState, message: CallMessage,
                      intrinsic: int, root: bool) -> tuple[FrameResult, TxOutcome | None]:
        output = bytes(computation.output)
        if computation.is_error:
            error = computation.error
            status = status_of(error)
            if root and isinstance(error, DeadlockRevert):
                output = encode_error(self.suite, DEADLOCK_REASON)
            refused = isinstance(error, PrecompiledFailure)
            reason = error.message if isinstance(error, PrecompiledFailure) else ""
            result = FrameResult(int(status), output, computation.get_gas_remaining(), 0, (), reason, refused)
            used = intrinsic + computation.get_gas_used()
            return result, (TxOutcome(int(status), output, b"", used, ()) if root else None)
        logs: tuple[RawLog, ...] = tuple(
            (bytes(address), tuple(topics), bytes(data)) for address, topics, data in computation.get_log_entries()
        )
        result = FrameResult(0, output, computation.get_gas_remaining(), computation.get_gas_refund(), logs)
        if not root:
            return result, None
        used = intrinsic + computation.get_gas_used()
        refund = min(computation.get_gas_refund(), used // 5)  # EIP-3529 cap
        for address in sorted(computation.get_accounts_for_deletion()):  # EIP-6780: created in this tx
            vm_state.delete_account(address)
        created = message.to if message.create else b""
        return result, TxOutcome(0, b"" if created else output, created, used - refund, logs)
