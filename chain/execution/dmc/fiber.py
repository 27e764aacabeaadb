"""Pausing a transaction in the middle of py-evm: one thread per paused frame, one running at a time.

FISCO BCOS pauses a frame at a cross-contract call with a coroutine (boost::coroutines2 in
``CoroutineTransactionExecutive``): the EVM's native stack is kept aside and resumed when the
callee's result arrives. py-evm is plain recursive Python, so a frame's state *is* the Python call
stack; the portable way to keep one aside is to run the frame on its own thread and block that
thread. A ``Fiber`` does exactly that, with a strict hand-off: the executor's thread and a fiber
never run at the same time (each waits on a queue while the other runs), so nothing here is
concurrent — it is a coroutine built from a thread. The other choice, re-executing a transaction
from the start with the recorded call results, costs a re-run per call and was not taken.

Threads are reused: a fiber whose frame ended goes back to an idle list (starting a thread costs
more than a hand-off), so a block whose transactions never pause costs two hand-offs each.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable

Job = Callable[["Fiber"], Any]


class _Done:
    """The fiber's job returned (value) or raised (error)."""

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value = value
        self.error = error


class Fiber:
    """A thread that runs one job at a time and can pause it, handing control back."""

    def __init__(self, pool: FiberPool) -> None:
        self._pool = pool
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="dmc-fiber", daemon=True)
        self._thread.start()

    # --- the executor's side ---

    def run(self, job: Job) -> Any:
        """Start job on this fiber; return what it paused with, or a _Done when it ended."""
        self._inbox.put(job)
        return self._outbox.get()

    def resume(self, value: Any) -> Any:
        """Continue the paused job with value; return its next pause or its _Done."""
        self._inbox.put(value)
        return self._outbox.get()

    # --- the job's side ---

    def pause(self, event: Any) -> Any:
        """Hand event to the executor and wait for the value to resume with."""
        self._outbox.put(event)
        return self._inbox.get()

    def _loop(self) -> None:
        while True:
            job = self._inbox.get()
            if job is None:
                return
            try:
                done = _Done(value=job(self))
            except BaseException as exc:  # noqa: BLE001 - handed to the executor, which decides
                done = _Done(error=exc)
            self._pool.idle.append(self)
            self._outbox.put(done)

    def stop(self) -> None:
        self._inbox.put(None)


class FiberPool:
    """Idle fibers to reuse."""

    def __init__(self) -> None:
        self.idle: list[Fiber] = []

    def take(self) -> Fiber:
        return self.idle.pop() if self.idle else Fiber(self)

    def close(self) -> None:
        while self.idle:
            self.idle.pop().stop()


def is_done(event: Any) -> bool:
    return isinstance(event, _Done)


def done_value(event: Any) -> Any:
    """The job's return value, re-raising what it raised."""
    assert isinstance(event, _Done)
    if event.error is not None:
        raise event.error
    return event.value
