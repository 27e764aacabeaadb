"""Liveness after GST: the checker finds GST in the fault state of a run and judges recovery against a bound.

The monitor is tested on synthetic histories (each rule, and that each can fail), then on real
simulations: healing a partition, a crash or loss sets GST; Byzantine nodes within f do not delay
it; and a chain that really stops after its faults are healed is reported as not live.
"""

from __future__ import annotations

import pytest

from chain.sim import SimConfig, Simulation
from chain.sim.liveness import FaultState, LivenessMonitor, recovery_bound_ms, run_until_live

HEALED = FaultState(f=1)
PARTITIONED = FaultState(partitioned=True, f=1)


def _monitor(bound: int = 10_000) -> LivenessMonitor:
    monitor = LivenessMonitor(bound)
    monitor.faults_changed(0, PARTITIONED, {0: 0, 1: 0, 2: 0, 3: 0}, work=True)
    return monitor


def test_recovery_bound_follows_its_derivation() -> None:
    # FISCO defaults, f = 1: (1 + 2) × 3000 × 1.5^6 plus one honest round of slack (docstring: ~106 s).
    capped = int(3000 * 1.5 ** 6)
    assert recovery_bound_ms(3000, 6, 1) == 3 * capped + 500 + 8 * 50 + 1000 + 1000 + 1000 == 106_413
    # Each faulty leader the bound allows for costs one capped timeout more.
    assert recovery_bound_ms(1000, 6, 3) - recovery_bound_ms(1000, 6, 1) == 2 * int(1000 * 1.5 ** 6)
    # The cap is what bounds it: a larger exponent means a longer bound.
    assert recovery_bound_ms(1000, 8, 1) > recovery_bound_ms(1000, 6, 1)


def test_fault_state_healed_means_gst_conditions() -> None:
    assert HEALED.healed and FaultState(byzantine=frozenset({1}), byzantine_weight=1, f=1).healed
    for unhealed in (PARTITIONED, FaultState(crashed=frozenset({2}), f=1), FaultState(loss=0.01, f=1),
                     FaultState(byzantine=frozenset({1, 2}), byzantine_weight=2, f=1)):
        assert not unhealed.healed and unhealed.describe()


def test_a_block_within_the_bound_after_gst_is_live() -> None:
    monitor = _monitor()
    monitor.faults_changed(5000, HEALED, {0: 3, 1: 3, 2: 3, 3: 2}, work=True)
    for node in range(4):
        monitor.committed(node, 3, 5500, work=True)
        monitor.committed(node, 4, 7000, work=True)
    verdict = monitor.verdict(9000)
    assert verdict.live is True and verdict.gst_ms == 5000 and verdict.gst_height == 3, verdict


def test_no_block_within_the_bound_after_gst_is_a_stall() -> None:
    monitor = _monitor()
    monitor.faults_changed(5000, HEALED, {0: 3, 1: 3, 2: 3, 3: 3}, work=True)
    assert monitor.verdict(14_000).live is None  # not yet: the bound has not passed
    verdict = monitor.verdict(15_001)
    assert verdict.live is False and "stalled at height" in verdict.reason


def test_a_late_stall_is_found_even_long_after_gst() -> None:
    """A chain that recovered, then halted for good: every stretch with work waiting is judged."""
    monitor = _monitor()
    monitor.faults_changed(5000, HEALED, {i: 3 for i in range(4)}, work=True)
    for number, at in ((4, 6000), (5, 7000)):
        for node in range(4):
            monitor.committed(node, number, at, work=True)
    assert monitor.verdict(16_000).live is True
    assert monitor.verdict(17_001).live is False


def test_a_gap_longer_than_the_bound_is_a_stall_even_if_blocks_came_back() -> None:
    monitor = _monitor()
    monitor.faults_changed(5000, HEALED, {i: 3 for i in range(4)}, work=True)
    for node in range(4):
        monitor.committed(node, 4, 16_000, work=True)
    verdict = monitor.verdict(16_500)
    assert verdict.live is False and "the next block came at 16000 ms" in verdict.reason


def test_no_work_no_judgement_and_work_starts_the_clock() -> None:
    monitor = _monitor()
    monitor.faults_changed(5000, HEALED, {i: 3 for i in range(4)}, work=False)
    assert monitor.verdict(50_000).live is None and "no work" in monitor.verdict(50_000).reason
    monitor.submitted(50_000, 0, honest=True)
    assert monitor.verdict(59_000).live is None
    assert monitor.verdict(60_001).live is False


def test_submissions_to_a_byzantine_node_are_no_work() -> None:
    monitor = _monitor()
    monitor.faults_changed(5000, HEALED, {i: 3 for i in range(4)}, work=False)
    monitor.submitted(6000, 1, honest=False)
    assert "no work" in monitor.verdict(60_000).reason


def test_every_honest_node_must_catch_up() -> None:
    monitor = _monitor()
    monitor.faults_changed(5000, HEALED, {0: 9, 1: 9, 2: 9, 3: 2}, work=True)
    for node in range(3):
        monitor.committed(node, 10, 6000, work=True)
    verdict = monitor.verdict(15_001)
    assert verdict.live is False and any("node 3 did not reach height 9" in v for v in verdict.violations)


def test_a_node_that_stops_following_is_found_at_the_end() -> None:
    monitor = _monitor()
    monitor.faults_changed(5000, HEALED, {i: 3 for i in range(4)}, work=True)
    for number in range(4, 40):
        for node in range(4 if number < 6 else 3):  # node 3 stops at height 5
            monitor.committed(node, number, 5000 + number * 500, work=True)
    verdict = monitor.verdict(25_000, {0: 39, 1: 39, 2: 39, 3: 5})
    assert verdict.live is False and any("node 3 is at height 5" in v for v in verdict.violations)


def test_unhealed_and_lasting_loss_are_not_judged() -> None:
    monitor = _monitor()
    assert monitor.verdict(100_000).live is None and "partitioned" in monitor.verdict(100_000).reason
    monitor.faults_changed(5000, FaultState(loss=0.02, f=1), {i: 3 for i in range(4)}, work=True)
    verdict = monitor.verdict(100_000)
    assert verdict.live is None and "never ends" in verdict.reason


def test_byzantine_nodes_at_gst_are_not_held_to_the_rule() -> None:
    monitor = _monitor()
    byzantine = FaultState(byzantine=frozenset({3}), byzantine_weight=1, f=1)
    monitor.faults_changed(5000, byzantine, {0: 3, 1: 3, 2: 3, 3: 0}, work=True)
    assert monitor.judged_nodes() == [0, 1, 2]
    for node in range(3):
        monitor.committed(node, 4, 6000, work=False)  # nothing left to do
    assert monitor.verdict(30_000).live is True  # node 3 lags, but it is the liar


# --- on the simulator --------------------------------------------------------------------------

FAST = dict(timeout_ms=1000, min_seal_time_ms=200, tx_rate=15.0)
# rPBFT: 7 sealers, K = 4 working per 3-block epoch (f = 1 among them), so epochs turn during the faults.
CHAINS = {"pbft": dict(nodes=4), "rpbft": dict(nodes=7, consensus="rpbft", epoch_sealers=4, epoch_blocks=3)}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_healing_a_partition_is_gst_and_the_chain_recovers_within_the_bound(chain: str) -> None:
    sim = Simulation(SimConfig(seed=5, **CHAINS[chain], **FAST))  # type: ignore[arg-type]
    half = sim.config.nodes // 2
    sim.schedule(2000, lambda: sim.partition([list(range(half)), list(range(half, sim.config.nodes))]))
    sim.schedule(6000, sim.heal)
    sim.run_until(6000)
    assert sim.check().live is None  # partitioned until now: not judged
    assert run_until_live(sim, sim.recovery_bound_ms())
    report = sim.check()
    assert report.ok and report.live is True and report.gst_ms == 6000, report.liveness_after_gst


@pytest.mark.timeout(60)
def test_crashes_and_loss_set_gst_when_the_last_is_healed() -> None:
    sim = Simulation(SimConfig(nodes=4, seed=6, **FAST))
    sim.schedule(1000, lambda: sim.set_loss(0.1))
    sim.schedule(2000, lambda: sim.crash(2))
    sim.schedule(4000, lambda: sim.restart(2))
    sim.schedule(5000, lambda: sim.set_loss(0.0))
    sim.run_until(5000)
    assert run_until_live(sim, sim.recovery_bound_ms())
    report = sim.check()
    assert report.live is True and report.gst_ms == 5000
    changes = [(t, state.healed) for t, state in sim.liveness.timeline]
    assert changes == [(0, True), (1000, False), (2000, False), (4000, False), (5000, True)]


@pytest.mark.timeout(60)
def test_set_network_changes_loss_mid_run_and_is_traced() -> None:
    sim = Simulation(SimConfig(nodes=4, seed=7, **FAST))
    records: list[dict] = []
    sim.subscribe(records.append)
    sim.run_until(1000)
    sim.set_network(loss=1.0)
    dropped = sim.dropped
    sim.run_until(3000)
    assert sim.dropped > dropped and sim.network.default.loss == 1.0
    assert {"ev": "network", "loss": 1.0, "duplicate": 0.0, "t": 1000} in records
    sim.set_loss(0.0)
    assert run_until_live(sim, sim.recovery_bound_ms())


@pytest.mark.timeout(60)
@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_byzantine_within_f_does_not_delay_gst_but_more_than_f_does(chain: str) -> None:
    sim = Simulation(SimConfig(seed=8, **CHAINS[chain], **FAST))  # type: ignore[arg-type]
    sim.set_behaviour(1, "silent")
    assert sim.liveness.gst_ms == 0  # one liar is within f (of four sealers; of the four working ones)
    sim.set_behaviour(2, "silent")
    assert sim.liveness.gst_ms is None  # two are not (in rPBFT whatever n is: both may be drawn to work)
    sim.run_until(2000)
    sim.set_behaviour(2, None)
    assert sim.liveness.gst_ms == 2000
    assert run_until_live(sim, sim.recovery_bound_ms())
    assert sim.check().live is True


@pytest.mark.timeout(120)
def test_a_chain_that_stops_after_gst_is_reported_not_live() -> None:
    """The rule can fail: with every timer of every node lost from 4 s on, no leader seals any more.

    (Leaders that wait min_seal_time before sealing: one that seals at once on an idle chain
    needs no timer to go on.)
    """
    sim = Simulation(SimConfig(nodes=4, seed=9, seal_when_idle=False, **FAST))
    sim.run_until(4000)
    height = sim.checker.highest
    assert height > 0 and sim.check().live is True
    sim._on_timer = lambda index, name, generation: index  # type: ignore[method-assign]
    sim.run_until(4000 + sim.recovery_bound_ms() + 1000)
    report = sim.check()
    assert report.ok  # safety still holds: nothing was committed at all
    assert report.live is False and f"stalled at height {sim.checker.highest}" in report.liveness_after_gst
    assert report.liveness_violations and not report.violations
