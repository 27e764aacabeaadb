"""The scenario file's `executor`, and the `dmc_parallel` observation failing when DMC did not do its job.

Why: `test_library_runs` shows the shipped `dmc_parallel` scenario holds; these show the check can
fail — nodes that disagree on a state root, a chain whose blocks ran on one executor only — and that
a scenario cannot expect DMC of a chain that does not run it.
"""

from __future__ import annotations

from typing import Any

import pytest

from chain.errors import ScenarioError
from chain.scenarios.observations import RunRecord, check_dmc_parallel
from chain.scenarios.spec import parse_scenario

HEALTHY: dict[str, Any] = {"blocks": 10, "several_contracts": 9, "parallel": 9, "several_rounds": 8, "call_outs": 12,
                           "lock_waits": 3, "deadlocks": 0, "heights_checked": 10, "state_roots_differ_at": []}


def _verdict(**changes: Any) -> bool:
    return check_dmc_parallel(RunRecord(suite="standard", dmc={**HEALTHY, **changes})).held


def test_dmc_parallel_holds_only_when_dmc_ran_in_parallel_and_nodes_agree() -> None:
    assert _verdict()
    assert not _verdict(state_roots_differ_at=[7])
    assert not _verdict(parallel=0)  # every round on one executor
    assert not _verdict(call_outs=0, several_rounds=0)  # no cross-contract call ever paused
    assert not check_dmc_parallel(RunRecord(suite="standard")).held  # a chain without DMC


def test_executor_field() -> None:
    text = 'name = "x"\nnodes = 4\nduration_ms = 1000\nexpect = ["{expect}"]\n'
    assert parse_scenario(text.format(expect="progress")).executor == ""
    assert parse_scenario(text.format(expect="dmc_parallel") + 'executor = "dmc"\n').executor == "dmc"
    with pytest.raises(ScenarioError, match="executor"):
        parse_scenario(text.format(expect="progress") + 'executor = "fast"\n')
    with pytest.raises(ScenarioError, match="dmc for dmc_parallel"):
        parse_scenario(text.format(expect="dmc_parallel") + 'executor = "evm"\n')
