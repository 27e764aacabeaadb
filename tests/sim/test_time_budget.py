"""The property tests' time limit really fails the test (it used to be swallowed; see tests/sim/budget.py).

Three checks: the budget turns into a test failure without hypothesis shrinking or replaying; in a
child pytest, under the very condition that made pytest-timeout's alarm vanish (a big heap, so the
alarm lands in hypothesis's gc callback), the budget still fails the test; and an example that
hangs is ended by the thread-method backstop, which kills the process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.sim.budget import OverBudget, TimeBudget

ROOT = Path(__file__).resolve().parents[2]


def test_running_out_of_budget_fails_the_test_at_once() -> None:
    ticks = iter(range(1000))
    budget = TimeBudget(5, clock=lambda: float(next(ticks)))  # one "second" per look at the clock
    ran: list[int] = []

    @settings(max_examples=100, database=None, derandomize=True, deadline=None)
    @given(st.integers())
    def examples(x: int) -> None:
        budget.check()
        ran.append(x)

    with pytest.raises(pytest.fail.Exception, match="time budget of 5 s spent"):
        budget.run(examples)
    assert len(ran) == 5  # stopped at the first example over budget: no shrinking, no replay


def test_over_budget_is_not_a_failing_example_to_hypothesis() -> None:
    # Hypothesis shrinks and replays only these; OverBudget must pass straight through.
    from hypothesis.core import failure_exceptions_to_catch

    assert not issubclass(OverBudget, failure_exceptions_to_catch())


def _child_pytest(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    test = tmp_path / "test_child.py"
    test.write_text(textwrap.dedent(body))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.timeout(120)
def test_the_budget_fails_a_test_where_the_signal_alarm_is_swallowed(tmp_path: Path) -> None:
    result = _child_pytest(tmp_path, """
        import gc, time
        from hypothesis import given, settings, strategies as st
        from tests.sim.budget import TimeBudget

        KEEP = [[{} for _ in range(10)] for _ in range(200_000)]  # a big heap: long full collections

        def test_slow():
            budget = TimeBudget(1.5)

            @settings(max_examples=40, deadline=None, database=None, derandomize=True)
            @given(st.integers())
            def examples(x):
                budget.check()
                started = time.perf_counter()
                while time.perf_counter() - started < 0.1:
                    gc.collect()  # the time goes to the collector, where hypothesis's callback runs

            budget.run(examples)
    """)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "time budget of 1.5 s spent" in result.stdout and "1 failed" in result.stdout


@pytest.mark.timeout(120)
def test_a_hanging_example_is_ended_by_the_thread_backstop(tmp_path: Path) -> None:
    result = _child_pytest(tmp_path, """
        import time, pytest
        from hypothesis import given, settings, strategies as st

        @pytest.mark.timeout(2, method="thread")
        @settings(max_examples=5, deadline=None, database=None)
        @given(st.integers())
        def test_hangs(x):
            time.sleep(60)
    """)
    assert result.returncode != 0
    assert "Timeout" in result.stdout + result.stderr
