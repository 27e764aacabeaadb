"""Where a node's replica runs: one thread of its own, and a clock that stands still while it executes.

Why a thread. Executing a block is pure Python (py-evm) and can take long: a transaction may use
up to ``tx_gas_limit`` gas, and this EVM runs a few million gas a second, so 300,000,000 gas is a
minute or more. Run on the asyncio loop, that froze the node: no JSON-RPC answer (not even
``getBlockNumber``), no P2P frame read, for the whole execution. Now every replica event is handled
in ``ReplicaThread``, one at a time and in arrival order — the replica stays a single-threaded
state machine — while the loop keeps serving RPC and the peers. (The GIL is shared, so the loop
gets its turn every few milliseconds; that is enough to answer.)

Why a clock that stops. PBFT's view timer asks for a view change when a block takes too long. On
a node that is busy executing a correct, ordered block, that timer is wrong: the block is not
late, it is being worked on, and every correct node is executing the same block. FISCO BCOS 2.x
counts its view timeout from when the node last signed, which it does after executing
(``TimeManager::isTimeout`` uses ``max(lastConsensusTime, lastSignTime)``). Here the replica's
clock (``ReplicaClock``) is the monotonic clock minus the time spent executing blocks: no timer of
the replica runs while it executes, and its view timeout counts only the time it was waiting for
the others. The consensus core is untouched: it is handed ``now`` as always (the simulator's
virtual clock never needed this: executing takes no virtual time).
"""

from __future__ import annotations

import concurrent.futures
import cProfile
import logging
import queue
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from chain.execution.result import BlockExecutor, ExecutionResult
from chain.ledger.block import Block
from chain.ledger.state import StateReader

log = logging.getLogger("chain.node")

T = TypeVar("T")


class ReplicaClock:
    """Monotonic milliseconds that stand still while the node executes a block (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopped_for = 0.0  # seconds spent executing, in total, before the current execution
        self._stopped_at: float | None = None  # time.monotonic() when the current execution began

    def now_ms(self) -> int:
        with self._lock:
            now = time.monotonic()
            stopped = self._stopped_for + (now - self._stopped_at if self._stopped_at is not None else 0.0)
            return int((now - stopped) * 1000)

    @property
    def stopped(self) -> bool:
        """True while a block is being executed."""
        return self._stopped_at is not None

    @contextmanager
    def stopped_while(self) -> Iterator[None]:
        """The clock does not move inside this block (executions do not nest)."""
        with self._lock:
            self._stopped_at = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                assert self._stopped_at is not None
                self._stopped_for += time.monotonic() - self._stopped_at
                self._stopped_at = None


class ClockStoppingExecutor:
    """A BlockExecutor that stops the replica's clock while the block executor it wraps runs."""

    def __init__(self, inner: BlockExecutor, clock: ReplicaClock) -> None:
        self.inner = inner
        self.clock = clock

    def execute(self, block: Block, state: StateReader, parent_state_root: bytes) -> ExecutionResult:
        with self.clock.stopped_while():
            return self.inner.execute(block, state, parent_state_root)


PROFILE_ENV = "CHAIN_PROFILE"  # a directory: the node's threads write their cProfiles there (chain.node.process)


class ReplicaThread:
    """One daemon thread running submitted jobs in order (the replica's events and pool lookups).

    A daemon, so that a process told to stop in the middle of a long execution can still exit:
    the store commits a block in one SQLite transaction, so an execution cut short writes nothing.
    """

    def __init__(self, name: str, profile_to: Path | None = None) -> None:
        """profile_to: a file to write a cProfile of this thread to when it ends (``CHAIN_PROFILE``).

        Why: the process-wide profile of ``chain.node.process`` sees only the event loop's thread;
        consensus, execution and storage run here.
        """
        self._profile_to = profile_to
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future[Any] | None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._closed = False
        self._thread.start()

    def submit(self, job: Callable[[], T]) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        if self._closed:
            future.cancel()
        else:
            self._jobs.put((job, future))
        return future

    def post(self, job: Callable[[], Any]) -> None:
        """Run job in turn, with nobody waiting for its result (cheaper than ``submit``)."""
        if not self._closed:
            self._jobs.put((job, None))

    def backlog(self) -> int:
        """How many jobs wait (not counting the one running)."""
        return self._jobs.qsize()

    def close(self, timeout_s: float) -> bool:
        """Run no more jobs; wait up to timeout_s for the one running. True if the thread ended."""
        self._closed = True
        self._jobs.put(None)
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _run(self) -> None:
        if self._profile_to is None:
            self._serve()
            return
        profiler = cProfile.Profile()
        profiler.enable()
        try:
            self._serve()
        finally:
            profiler.disable()
            self._profile_to.parent.mkdir(parents=True, exist_ok=True)
            profiler.dump_stats(str(self._profile_to))

    def _serve(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                break
            job, future = item
            if future is None:
                if not self._closed:
                    try:
                        job()
                    except Exception:  # noqa: BLE001 - nobody waits for it: say it, and go on
                        log.exception("a replica job failed")
                continue
            if self._closed:
                future.cancel()
                continue
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
                future.set_exception(exc)
        # Jobs queued behind the stop are never run.
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                return
            if item is not None and item[1] is not None:
                item[1].cancel()
