"""The simulator's DMC side: a contract load with cross-contract calls, and each committed block's rounds.

Why: the dashboard's Gantt chart and the `dmc_parallel` scenario read `Simulation.dmc_stages`; a
load that only wrote kv keys (one address) would give DMC nothing to run in parallel, and a log
that grew without bound would eat a long lesson's memory.
"""

from __future__ import annotations

import pytest

from chain.errors import ScenarioError
from chain.execution.dmc.scheduler import Stage, Step
from chain.sim import SimConfig, Simulation
from chain.sim.dmc_load import StageLog


def _run(executors: int, until_ms: int = 3000) -> Simulation:
    sim = Simulation(SimConfig(nodes=4, seed=1, executor="dmc", workload="contracts", tx_rate=10,
                               dmc_executors=executors))
    sim.run_until(until_ms)
    return sim


def test_contract_load_gives_dmc_parallel_rounds_and_cross_contract_calls() -> None:
    sim = _run(4)
    kept = sim.dmc_stages.by_height
    assert sorted(kept) == list(range(1, max(kept) + 1)) and len(kept) >= 3
    stages = [stage for _, rounds in kept.values() for stage in rounds]
    replies = {step.reply for stage in stages for _, _, steps in stage.contracts for step in steps}
    assert "call_out" in replies  # add_via paused at its call to another contract
    assert any(len({executor for _, executor, _ in stage.contracts}) > 1 for stage in stages)
    assert any(len(rounds) > 1 for _, rounds in kept.values())
    # every committed transaction of the load succeeded (deployments first, calls only once mined)
    store = sim.nodes[0].store
    assert all(r.ok for n in range(1, store.head_number() + 1) for r in store.receipts(n))
    assert sim.check().violations == ()


def test_the_number_of_executors_changes_nothing_on_chain() -> None:
    one, four = _run(1, 2000), _run(4, 2000)
    top = min(one.nodes[0].store.head_number(), four.nodes[0].store.head_number())
    assert top >= 2
    assert [one.nodes[0].store.block_hash(n) for n in range(top + 1)] == \
        [four.nodes[0].store.block_hash(n) for n in range(top + 1)]
    assert {e for _, rounds in one.dmc_stages.by_height.values() for s in rounds for _, e, _ in s.contracts} == {0}


def test_stage_log_keeps_only_committed_blocks_and_the_newest_heights() -> None:
    log = StageLog(keep=2)
    stage = Stage(0, (("aa" * 20, 0, (Step(0, 0, "finished"),)),))
    for number in range(1, 5):
        log.executed(number, bytes([number]) * 32, [stage])
    log.executed(4, b"\xee" * 32, [])  # a proposal a view change abandoned: never committed
    for number in range(1, 5):
        log.committed(number, bytes([number]) * 32)
    assert list(log.by_height) == [3, 4]
    assert log.by_height[4] == ((b"\x04" * 32).hex(), (stage,))
    assert not log._executed  # the abandoned execution of height 4 went with its height


def test_contract_load_needs_an_executor_that_runs_contracts() -> None:
    with pytest.raises(ScenarioError, match="workload"):
        SimConfig(executor="kv", workload="contracts")
