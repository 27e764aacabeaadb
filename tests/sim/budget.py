"""A wall-clock budget for a hypothesis test that really fails the test when it runs out.

Why not pytest-timeout alone: its default method arms SIGALRM and raises ``Failed`` from the
signal handler, in whatever Python code runs at that moment. Hypothesis installs a garbage
collector callback (``gc_cumulative_time`` in hypothesis.internal.conjecture.junkdrawer, to take
GC pauses out of its deadline), and a signal that arrives during a collection is handled in that
callback — the first Python code to run. An exception escaping a gc callback is *unraisable*: it
is printed ("Exception ignored in: gc_callback", a PytestUnraisableExceptionWarning) and dropped.
A simulation keeps a big heap, so full collections are long and the alarm often lands there: the
600 s limit of the long property test printed a warning and the test passed. (When the alarm lands
in the test body instead, hypothesis takes ``Failed`` for a failing example and replays it, where
it no longer fails: a "flaky" error about the wrong thing.)

So the budget is enforced by the test itself: ``check()`` at the start of every example raises
``OverBudget``, a BaseException that is not among the exceptions hypothesis treats as a failing
example (Exception, SystemExit, GeneratorExit, pytest's Failed — see
hypothesis.core.failure_exceptions_to_catch), so it leaves hypothesis at once without shrinking
or replaying; ``run()`` turns it into a plain test failure. An example that hangs never reaches
the next check: for that, mark the test ``@pytest.mark.timeout(..., method="thread")`` as a
backstop — the thread method dumps every stack and ends the process with os._exit(1), which no
callback can swallow. tests/sim/test_time_budget.py proves both halves.
"""

from __future__ import annotations

import time
from typing import Callable

import pytest


class OverBudget(BaseException):
    """The test ran out of its wall-clock budget (a BaseException: hypothesis lets it through at once)."""


class TimeBudget:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.started = clock()
        self.examples = 0

    def check(self) -> None:
        """Call first thing in every example: raises OverBudget once the budget is spent."""
        elapsed = self.clock() - self.started
        if elapsed > self.seconds:
            raise OverBudget(f"time budget of {self.seconds:g} s spent ({elapsed:.0f} s) after {self.examples} examples")
        self.examples += 1

    def run(self, test: Callable[[], None]) -> None:
        """Run a @given test; running out of budget fails the calling pytest test."""
        try:
            test()
        except OverBudget as exc:
            pytest.fail(str(exc), pytrace=False)
