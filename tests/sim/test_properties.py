"""Property: with at most f Byzantine sealers (any behaviours), plus loss, duplication, partitions
and crashes, honest nodes never commit different blocks, every block they store is valid, and no
honest node signs two conflicting messages (restarts included: its votes are durable). And once
the faults end — partition healed, crashed nodes restarted, loss back to 0, the liars (at most f)
still lying — the chain is live again: the checker's liveness after GST holds.

Seeded and bounded: a hundred short schedules by default; CHAIN_LONG_TESTS=1 runs two thousand.
The wall-clock limit is enforced by tests/sim/budget.py (pytest-timeout's signal alarm is lost
inside hypothesis's gc callback; see there), with pytest-timeout's thread method as a backstop.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain.consensus.pbft.quorum import max_faulty
from chain.sim import SimConfig, Simulation
from chain.sim.byzantine import BEHAVIOURS
from chain.sim.liveness import run_until_live
from tests.sim.budget import TimeBudget

LONG = os.environ.get("CHAIN_LONG_TESTS") == "1"
EXAMPLES = 2000 if LONG else 100  # about 1.2 s each on this project's 2-core machine, recovery included
RPBFT_EXAMPLES = 200 if LONG else 10  # the same schedules on rPBFT chains (7 or 10 sealers, K = 4): slower each
BUDGET_S = 3600 if LONG else 300  # wall-clock seconds for all the examples: running out fails the test
FAULTS_END_MS = 3000

Action = tuple[int, str, tuple[int, ...]]


@st.composite
def schedules(draw: st.DrawFn, consensus: str = "pbft") -> tuple[SimConfig, list[Action]]:
    if consensus == "rpbft":  # K = 4 working sealers per 2- or 5-block epoch: f = 1 among them, whatever n is
        nodes = draw(st.sampled_from([7, 7, 10] if LONG else [7]))
        f = max_faulty(4)
        epochs = dict(consensus="rpbft", epoch_sealers=4, epoch_blocks=draw(st.sampled_from([2, 5])))
    else:
        nodes = draw(st.sampled_from([4, 4, 4, 5, 7]))  # f = 1, 1, 1, 1, 2
        f = max_faulty(nodes)
        epochs = {}
    liars = draw(st.lists(st.integers(0, nodes - 1), max_size=f, unique=True))
    byzantine = {i: draw(st.sampled_from(sorted(BEHAVIOURS))) for i in liars}
    config = SimConfig(
        nodes=nodes, seed=draw(st.integers(0, 2**32)), byzantine=byzantine, tx_rate=draw(st.sampled_from([10, 30])),
        loss=draw(st.sampled_from([0.0, 0.02, 0.1])), duplicate=draw(st.sampled_from([0.0, 0.05])),
        latency_ms=draw(st.sampled_from([(5, 20), (10, 80), (1, 300)])), timeout_ms=draw(st.sampled_from([600, 1500])),
        min_seal_time_ms=100, **epochs,  # type: ignore[arg-type]
    )
    actions = []
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, FAULTS_END_MS))
        kind = draw(st.sampled_from(["partition", "heal", "crash", "restart"]))
        if kind == "partition":
            side = draw(st.lists(st.integers(0, nodes - 1), min_size=1, max_size=nodes - 1, unique=True))
            actions.append((at, kind, tuple(sorted(side))))
        elif kind in ("crash", "restart"):
            actions.append((at, kind, (draw(st.integers(0, nodes - 1)),)))
        else:
            actions.append((at, kind, ()))
    return config, sorted(actions)


def check_schedule(config: SimConfig, actions: list[Action]) -> None:
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
    sim.run_until(FAULTS_END_MS)
    # The quiet period: every fault healed; the Byzantine nodes (at most f) stay Byzantine.
    sim.heal()
    for i in range(config.nodes):
        sim.restart(i)
    sim.set_loss(0.0)
    sim.run_until(FAULTS_END_MS + 500)
    report = sim.check()
    assert report.agreement and report.validity and report.no_gaps and report.no_double_signing, report.violations
    assert not any("internal error" in reason for reason in sim.rejections), sorted(sim.rejections)
    # Liveness after GST: run until every honest sealer committed 2 new blocks, or the bound passed.
    assert sim.liveness.gst_ms is not None and sim.liveness.gst_ms <= FAULTS_END_MS  # healed: GST has come
    run_until_live(sim, sim.recovery_bound_ms() + 1000)
    report = sim.check()
    assert report.ok, report.violations
    assert report.live is True, (report.liveness_after_gst, report.heights, sim.node_status())


@pytest.mark.timeout(BUDGET_S + 300, method="thread")  # backstop for one example that hangs: ends the process
@pytest.mark.parametrize("consensus", ["pbft", "rpbft"])
def test_at_most_f_byzantine_never_break_agreement_and_the_chain_recovers(consensus: str) -> None:
    budget = TimeBudget(BUDGET_S)

    @settings(max_examples=EXAMPLES if consensus == "pbft" else RPBFT_EXAMPLES, derandomize=True, deadline=None,
              database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(schedules(consensus))
    def examples(schedule: tuple[SimConfig, list[Action]]) -> None:
        budget.check()
        check_schedule(*schedule)

    budget.run(examples)
