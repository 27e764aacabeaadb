"""The replica's explicit Step says what its height state shows, through faults and restarts.

The step is recorded as the phases move (``HeightState.advance`` / ``enter_view``), not rebuilt
from the fields each time; this run checks, after every simulator event, that it still agrees
with what the fields say — so a phase that forgets to advance the step, or a view change that
forgets to start it over, fails here.
"""

from __future__ import annotations

from chain.consensus.pbft.height import Step
from chain.consensus.pbft.replica import Replica
from chain.sim.runner import Simulation
from chain.sim.sweep import draw_schedule


def _step_from_fields(replica: Replica) -> Step:
    height = replica.current
    if height.executed is not None:
        return Step.EXECUTED
    if height.committed is not None:
        return Step.COMMITTED
    if height.prepared is not None and height.prepared[0] == replica.view:
        return Step.PREPARED
    if replica.view in height.proposals:
        return Step.PRE_PREPARED
    return Step.NEW


def test_the_step_agrees_with_the_height_state_after_every_event() -> None:
    # Seed 6: a double-voting sealer, crashes and restarts, message loss — view changes while a block is
    # in flight, and sealers restarting with a prepared certificate of the view they are in.
    schedule = draw_schedule(6)
    sim = Simulation(schedule.config)
    for action in schedule.actions:
        sim.schedule(action.at_ms, lambda a=action: a.apply(sim))
    steps_seen: set[Step] = set()
    checked = 0
    while sim.now_ms < schedule.fault_end_ms and sim.step() is not None:
        for node in sim.nodes:
            if node.replica is not None and node.behaviour is None:
                assert node.replica.current.step == _step_from_fields(node.replica), f"node {node.index} at {sim.now_ms} ms"
                assert node.replica.current.number == node.replica.height
                steps_seen.add(node.replica.current.step)
                checked += 1
    assert checked > 1000 and steps_seen >= {Step.NEW, Step.PRE_PREPARED, Step.PREPARED}
