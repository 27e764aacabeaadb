"""When the leader seals: at once on an idle chain, after ``min_seal_time_ms`` only when told to gather.

Issue 18: one client waiting for each commit paid the whole seal time on every transaction,
although nothing was in flight that the wait could batch behind.
"""

from __future__ import annotations

import pytest

from chain.sim import SimConfig, Simulation

SEAL_MS = 2000  # far longer than a round on a 10 ms network: a wait for it cannot hide


def _first_commit_after_submit(seal_when_idle: bool) -> int:
    sim = Simulation(SimConfig(nodes=4, seed=2, tx_rate=0, latency_ms=(10, 10), timeout_ms=10_000,
                               min_seal_time_ms=SEAL_MS, seal_when_idle=seal_when_idle, suite="standard"))
    sim.run_until(1000)
    submitted = sim.now_ms
    sim.submit_transactions(1, node=0)  # gossiped to node 1, the leader of height 1 in view 0
    assert sim.run_blocks(1, 30_000) == 1
    return sim.now_ms - submitted


@pytest.mark.timeout(60)
def test_an_idle_leader_seals_a_transaction_at_once() -> None:
    assert _first_commit_after_submit(seal_when_idle=True) < 200  # a few 10 ms hops, no seal wait


@pytest.mark.timeout(60)
def test_a_lesson_can_bring_back_the_seal_wait() -> None:
    assert _first_commit_after_submit(seal_when_idle=False) >= SEAL_MS


@pytest.mark.timeout(60)
def test_under_load_blocks_still_batch_what_arrives_while_one_is_decided() -> None:
    sim = Simulation(SimConfig(nodes=4, seed=4, tx_rate=200, latency_ms=(10, 30), suite="standard", seal_when_idle=True))
    sim.run_until(5000)
    store = sim.nodes[0].store
    sizes = [len(store.block_by_number(n).transactions) for n in range(1, store.head_number() + 1)]
    assert len(sizes) >= 10 and max(sizes) > 1, sizes
