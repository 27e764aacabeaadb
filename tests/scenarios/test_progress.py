"""The `progress` observation fails a run that stalls after its last fault — also a Byzantine one that stays.

Issue 11: a chain that committed a block or two after its last fault and then halted for good
passed "progress", which only compared the height at the last fault with the final one.
"""

from __future__ import annotations

import pytest

from chain.scenarios.observations import RunRecord, Sample, check_progress
from chain.scenarios.runner import run_scenario
from chain.scenarios.spec import parse_scenario


def _record(heights: list[tuple[int, int]], last_fault_ms: int, live: bool | None = None) -> RunRecord:
    """A run of 4 honest nodes at the given (time, height) samples."""
    record = RunRecord(suite="standard", last_fault_ms=last_fault_ms, live=live, liveness="the checker's reason")
    for t, h in heights:
        record.samples.append(Sample(t, tuple({"height": h, "state": "ok", "role": "sealer"} for _ in range(4))))
    return record


def test_blocks_up_to_the_end_are_progress() -> None:
    record = _record([(t, t // 500) for t in range(0, 30_001, 100)], last_fault_ms=10_000)
    assert check_progress(record).held


def test_a_block_or_two_after_the_last_fault_then_a_halt_is_not_progress() -> None:
    record = _record([(t, min(t // 500, 22)) for t in range(0, 40_001, 100)], last_fault_ms=10_000)
    verdict = check_progress(record)
    assert not verdict.held and "last new block at 11000 ms" in verdict.detail


def test_the_last_block_must_be_recent_even_in_a_long_run() -> None:
    # Blocks until 60 s, then nothing for the last 20 s of a 100 s run (last fault at 10 s).
    record = _record([(t, min(t // 500, 120)) for t in range(0, 100_001, 100)], last_fault_ms=10_000)
    assert not check_progress(record).held


def test_a_liveness_violation_found_by_the_checker_is_not_progress() -> None:
    record = _record([(t, t // 500) for t in range(0, 30_001, 100)], last_fault_ms=10_000, live=False)
    verdict = check_progress(record)
    assert not verdict.held and "the checker's reason" in verdict.detail


@pytest.mark.timeout(60)
def test_byzantine_nodes_that_stay_byzantine_and_halt_the_chain_fail_progress() -> None:
    """Two silent liars of four (more than f) from 3.15 s on, for good: the block in flight lands, then nothing.

    At 3.15 s a block is being decided: it is committed after the last fault (height 4 → 5), which
    the old check took for progress. Nothing follows it.
    """
    scenario = parse_scenario("""
name = "silent_pair"
nodes = 4
suite = "standard"
seed = 1
duration_ms = 15000
expect = ["progress", "no_fork"]

[[event]]
at_ms = 3150
action = "byzantine"
node = 2
behaviour = "silent"

[[event]]
at_ms = 3150
action = "byzantine"
node = 3
behaviour = "silent"
""")
    result = run_scenario(scenario)
    progress, no_fork = result.verdicts
    assert not progress.held, "\n".join(result.narration)
    assert "went from height 4 (at the last fault, 3150 ms) to 5" in progress.detail  # it did grow once
    assert no_fork.held
