"""What the DMC scheduler and its contract executors say to each other.

FISCO BCOS's scheduler and executors exchange one ``ExecutionMessage`` type whose ``type`` field
says what it is (MESSAGE, TXHASH, FINISHED, REVERT, KEY_LOCK...). Here each direction has its own
frozen record, so every field that is set means something:

* a ``Request`` goes from the scheduler to the executor owning one contract: start a transaction
  there, run a call another contract made, resume a frame with its callee's result, or answer a
  frame waiting for a key lock (granted, or reverted to break a deadlock);
* a ``Reply`` goes back: the frame called out to another contract (and is paused), it waits for a
  key another transaction holds (paused), or it ended (finished or failed).

A *context* is one transaction (its index in the block, FISCO's contextID); a *seq* numbers the
frames of one transaction in the order they start (0 is the transaction's own frame, FISCO's seq).
All records are plain data: they cross process boundaries by pickling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from chain.crypto.suite import CryptoSuite
from chain.ledger.receipt import Log, Receipt

Row = tuple[str, bytes]  # (table, key): the unit of state, and of key locking
Marks = frozenset[object]  # EIP-2929 warm addresses and slots of the transaction so far
RawLog = tuple[bytes, tuple[int, ...], bytes]  # (address, topics as ints, data), as py-evm keeps them


@dataclass(frozen=True)
class CallMessage:
    """An EVM message crossing to another contract (py-evm's ``Message`` without the code, which
    the receiving executor loads itself — except for a creation, whose code is the init code)."""

    sender: bytes
    to: bytes  # the address whose storage the frame uses (the new address for a creation)
    data: bytes
    gas: int
    depth: int
    is_static: bool = False
    create: bool = False
    init_code: bytes = b""  # a creation's code


@dataclass(frozen=True)
class FrameResult:
    """How a frame ended, as its caller's EVM needs to see it."""

    status: int  # chain.ledger.status.Status; SUCCESS for a frame that finished
    output: bytes
    gas_remaining: int
    refund: int  # gas refund of the frame and its callees (0 when it failed)
    logs: tuple[RawLog, ...]  # in emission order (empty when it failed)
    message: str = ""  # a system contract's refusal reason
    refused: bool = False  # failed as a system contract or a permission check refuses: no gas burnt

    @property
    def ok(self) -> bool:
        return self.status == 0


@dataclass(frozen=True)
class TxOutcome:
    """What the transaction's own frame (seq 0) adds when it ends: its receipt's fields.

    ``receipt`` is the finished receipt, built where the frame ended with its encoding and hash
    already computed (``Receipt`` memoises them, and they travel with it): encoding and hashing
    thousands of receipts is a tenth of a block's work, and in the scheduler's process it would be
    done on one core while the executors' cores wait.
    """

    status: int
    output: bytes
    contract_address: bytes
    gas_used: int
    logs: tuple[RawLog, ...]
    receipt: Receipt | None = None

    def to_receipt(self, suite: CryptoSuite, block_number: int, tx_hash: bytes, index: int) -> Receipt:
        """The receipt of transaction `index` of the block, its encoding and hash computed."""
        logs = tuple(Log(address, tuple(t.to_bytes(32, "big") for t in topics), data) for address, topics, data in self.logs)
        receipt = Receipt(status=self.status, output=self.output, contract_address=self.contract_address,
                          gas_used=self.gas_used, logs=logs, block_number=block_number, transaction_hash=tx_hash,
                          transaction_index=index)
        receipt.hash(suite)  # memoised, with the encoding
        return receipt


class RequestKind(Enum):
    START = "start"  # the transaction's own frame (seq 0), from the block
    CALL = "call"  # a call or creation another contract made (seq > 0)
    RESUME = "resume"  # a paused frame's callee ended: here is its result
    GRANTED = "granted"  # a paused frame now holds the key it waited for
    DEADLOCK = "deadlock"  # a paused frame is chosen to break a deadlock: its access reverts


@dataclass(frozen=True)
class Request:
    kind: RequestKind
    context: int
    seq: int
    contract: bytes  # the DMC contract (executor queue) this goes to
    marks: Marks = frozenset()
    message: CallMessage | None = None  # START and CALL
    result: FrameResult | None = None  # RESUME
    origin: bytes = b""  # START and CALL: the transaction's sender (tx.origin)
    callee_seq: int = 0  # RESUME: the seq the callee ran as
    intrinsic: int = 0  # START: intrinsic gas already charged
    tx_hash: bytes = b""  # START: the transaction's hash, for its receipt


class ReplyKind(Enum):
    CALL_OUT = "call_out"  # paused at a call to another contract
    KEY_LOCK = "key_lock"  # paused at a row another transaction holds
    FINISHED = "finished"  # the frame ended without error
    FAILED = "failed"  # the frame ended with an error (its own writes are already undone)


@dataclass(frozen=True)
class Reply:
    kind: ReplyKind
    context: int
    seq: int
    contract: bytes
    keys: tuple[Row, ...] = ()  # rows of `contract` the frame touched since its last reply
    marks: Marks = frozenset()
    call: CallMessage | None = None  # CALL_OUT
    wait_row: Row | None = None  # KEY_LOCK
    result: FrameResult | None = None  # FINISHED / FAILED
    outcome: TxOutcome | None = None  # FINISHED / FAILED of seq 0
    undo_from: int | None = None  # a call inside this frame failed after its callee (this seq on) ran elsewhere


@dataclass(frozen=True)
class RoundBatch:
    """One executor's work for one round: first the notices, then each contract's requests.

    Notices finish what earlier rounds decided: ``commit``/``drop`` a transaction that ended (its
    rows written here become block state, or vanish), ``undo`` the writes a failed call's subtree
    made here (context, first seq of the subtree). ``held`` lists, per contract, the rows key-locked
    by transactions still running (row -> context), as the scheduler's lock graph has them.
    """

    requests: tuple[tuple[bytes, tuple[Request, ...]], ...]  # (contract, its requests), contract order
    held: tuple[tuple[bytes, tuple[tuple[Row, int], ...]], ...] = ()
    undo: tuple[tuple[int, int], ...] = ()
    commit: tuple[int, ...] = ()
    drop: tuple[int, ...] = ()


@dataclass(frozen=True)
class RoundReplies:
    """An executor's replies to one batch, per contract in contract order, each in the order made."""

    replies: tuple[tuple[bytes, tuple[Reply, ...]], ...] = field(default=())
    cpu_seconds: float = 0.0  # CPU time the executor's process spent on the round (for benchmarks)
