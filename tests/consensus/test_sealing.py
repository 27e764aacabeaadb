"""When the leader seals: at once on an idle chain, after ``min_seal_time_ms`` only when told to gather.

Issue 18: one client waiting for each commit paid the whole seal time on every transaction,
although nothing was in flight that the wait could batch behind.
"""

from __future__ import annotations

import pytest

from chain.consensus.pbft import proposal as proposing
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


def _next_block(sim: Simulation, submit_at: list[int], count: int = 1) -> tuple[int, int]:
    """Submit `count` transactions at node 0 at each of the given offsets (ms from now); how long
    from the first until the next block is stored somewhere, and how many transactions it holds."""
    start = sim.now_ms
    for offset in submit_at:
        sim.run_until(start + offset)
        sim.submit_transactions(count, node=0)
    assert sim.run_blocks(1, 30_000) == 1
    store = max((node.store for node in sim.nodes), key=lambda store: store.head_number())  # the first to store it
    return sim.now_ms - start, len(store.block_by_number(store.head_number()).transactions)


def _gathering_sim(min_seal_time_ms: int) -> Simulation:
    sim = Simulation(SimConfig(nodes=4, seed=2, tx_rate=0, latency_ms=(10, 10), timeout_ms=10_000,
                               min_seal_time_ms=min_seal_time_ms, seal_when_idle=True, suite="standard"))
    sim.run_until(1000)
    return sim


@pytest.mark.timeout(60)
def test_an_idle_leader_gathers_while_transactions_keep_coming_up_to_the_last_block_size() -> None:
    # Sixteen clients that each wait for their commit send again together after each block: a leader
    # sealing the first one to come back split them over small blocks, each paying the fixed cost
    # of a block (issue 18). Below the last block's size it waits while more keep coming.
    gap = proposing.GATHER_GAP_MS
    sim = _gathering_sim(SEAL_MS)
    elapsed, size = _next_block(sim, [0], count=3)
    assert size == 3 and elapsed < 200  # after the genesis block: at once
    elapsed, size = _next_block(sim, [0, gap // 2, gap])
    assert size == 3 and elapsed < 200  # one by one, each within the gap of the one before: one block
    elapsed, size = _next_block(sim, [0, 4 * gap])
    assert size == 1  # none came within the gap: sealed without the second
    elapsed, size = _next_block(sim, [0])
    assert size == 1 and elapsed < 200  # the second, alone: its block may be as small as the last


@pytest.mark.timeout(60)
def test_gathering_ends_at_min_seal_time_however_fast_they_come() -> None:
    gap = proposing.GATHER_GAP_MS
    sim = _gathering_sim(min_seal_time_ms=5 * gap)
    _, size = _next_block(sim, [0], count=40)
    assert size == 40
    _, size = _next_block(sim, [k * gap // 2 for k in range(40)])  # one every half gap, for 20 gaps
    assert 5 <= size <= 12  # sealed once min_seal_time (5 gaps: ~11 in) had passed, not when 40 were in
