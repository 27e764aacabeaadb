"""Pausing a transaction in the middle of py-evm: a coroutine per frame, built on greenlets.

FISCO BCOS pauses a frame at a cross-contract call with a coroutine (boost::coroutines2 in
``CoroutineTransactionExecutive``): the EVM's native stack is kept aside and resumed when the
callee's result arrives. py-evm is plain recursive Python, so a frame's state *is* the Python call
stack; ``greenlet`` keeps such a stack aside exactly as boost's coroutines do, and a switch costs
about a microsecond. The first version ran each frame on a thread of its own with a strict queue
hand-off (the same coroutine, built from a thread): two hand-offs per transaction cost as much as a
fifth of a simple transfer, and a profiler saw only the queue waits. Re-executing a transaction
from the start with the recorded call results (the other choice) costs a re-run per call.

A fiber belongs to the thread that created it (greenlets never switch across threads): a DMC block
creates, runs and resumes its frames within one ``execute`` call, on one thread.
"""

from __future__ import annotations

from typing import Any, Callable

from greenlet import getcurrent, greenlet

Job = Callable[["Fiber"], Any]


class _Done:
    """The fiber's job returned (value) or raised (error)."""

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value = value
        self.error = error


class Fiber:
    """One job that can pause itself, handing control (and an event) back to whoever ran it."""

    def __init__(self) -> None:
        self._greenlet: greenlet | None = None

    # --- the executor's side ---

    def run(self, job: Job) -> Any:
        """Start job on this fiber; return what it paused with, or a _Done when it ended."""
        def body() -> _Done:
            try:
                return _Done(value=job(self))
            except BaseException as exc:  # noqa: BLE001 - handed to the executor, which decides
                return _Done(error=exc)

        self._greenlet = greenlet(body, parent=getcurrent())
        return self._greenlet.switch()

    def resume(self, value: Any) -> Any:
        """Continue the paused job with value; return its next pause or its _Done."""
        assert self._greenlet is not None and not self._greenlet.dead, "resuming a fiber that is not paused"
        self._greenlet.parent = getcurrent()
        return self._greenlet.switch(value)

    # --- the job's side ---

    def pause(self, event: Any) -> Any:
        """Hand event to the executor and wait for the value to resume with."""
        assert self._greenlet is not None and self._greenlet.parent is not None
        return self._greenlet.parent.switch(event)


class FiberPool:
    """Where frames get their fibers (a greenlet is cheap to create: nothing is pooled)."""

    def take(self) -> Fiber:
        return Fiber()

    def close(self) -> None:
        """Nothing to stop: a paused greenlet that is dropped is collected (after GreenletExit)."""


def is_done(event: Any) -> bool:
    return isinstance(event, _Done)


def done_value(event: Any) -> Any:
    """The job's return value, re-raising what it raised."""
    assert isinstance(event, _Done)
    if event.error is not None:
        raise event.error
    return event.value
