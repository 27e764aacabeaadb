"""Property: with at most f Byzantine sealers (any behaviours), plus loss, duplication, partitions
and crashes, honest nodes never commit different blocks, every block they store is valid, and no
honest node signs two conflicting messages (restarts included: its votes are durable).

Seeded and bounded: a couple of hundred short schedules by default; CHAIN_LONG_TESTS=1 runs thousands.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain.consensus.pbft.quorum import max_faulty
from chain.sim import SimConfig, Simulation
from chain.sim.byzantine import BEHAVIOURS

LONG = os.environ.get("CHAIN_LONG_TESTS") == "1"
EXAMPLES = 3000 if LONG else 200


@st.composite
def schedules(draw: st.DrawFn) -> tuple[SimConfig, list[tuple[int, str, tuple[int, ...]]]]:
    nodes = draw(st.sampled_from([4, 4, 4, 5, 7]))  # f = 1, 1, 1, 1, 2
    f = max_faulty(nodes)
    liars = draw(st.lists(st.integers(0, nodes - 1), max_size=f, unique=True))
    byzantine = {i: draw(st.sampled_from(sorted(BEHAVIOURS))) for i in liars}
    config = SimConfig(
        nodes=nodes, seed=draw(st.integers(0, 2**32)), byzantine=byzantine, tx_rate=draw(st.sampled_from([10, 30])),
        loss=draw(st.sampled_from([0.0, 0.02, 0.1])), duplicate=draw(st.sampled_from([0.0, 0.05])),
        latency_ms=draw(st.sampled_from([(5, 20), (10, 80), (1, 300)])), timeout_ms=draw(st.sampled_from([600, 1500])),
        min_seal_time_ms=100,
    )
    actions = []
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, 3000))
        kind = draw(st.sampled_from(["partition", "heal", "crash", "restart"]))
        if kind == "partition":
            side = draw(st.lists(st.integers(0, nodes - 1), min_size=1, max_size=nodes - 1, unique=True))
            actions.append((at, kind, tuple(sorted(side))))
        elif kind in ("crash", "restart"):
            actions.append((at, kind, (draw(st.integers(0, nodes - 1)),)))
        else:
            actions.append((at, kind, ()))
    return config, sorted(actions)


@pytest.mark.timeout(600 if LONG else 120)
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(schedules())
def test_at_most_f_byzantine_never_break_agreement(schedule: tuple[SimConfig, list[tuple[int, str, tuple[int, ...]]]]) -> None:
    config, actions = schedule
    sim = Simulation(config)
    for at, kind, args in actions:
        if kind == "partition":
            rest = [i for i in range(config.nodes) if i not in args]
            sim.schedule(at, lambda a=args, r=rest: sim.partition([list(a), r]))
        elif kind == "heal":
            sim.schedule(at, sim.heal)
        elif kind == "crash":
            sim.schedule(at, lambda i=args[0]: sim.crash(i))
        else:
            sim.schedule(at, lambda i=args[0]: sim.restart(i))
    sim.run_until(3000)
    sim.heal()
    sim.run_until(3500)
    report = sim.check()
    assert report.agreement and report.validity and report.no_gaps and report.no_double_signing, report.violations
    assert not any("internal error" in reason for reason in sim.rejections), sorted(sim.rejections)
