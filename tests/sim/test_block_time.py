"""Simulated blocks carry epoch milliseconds too: the fixed genesis epoch plus virtual time."""

from __future__ import annotations

import pytest

from chain.sim import SimConfig, Simulation
from chain.sim.runner import GENESIS_EPOCH_MS


@pytest.mark.timeout(60)
def test_simulated_block_time_is_genesis_epoch_plus_virtual_time() -> None:
    sim = Simulation(SimConfig(nodes=4, seed=5, suite="standard"))
    sim.run_blocks(3, 30_000)
    store = sim.nodes[0].store
    stamps = [store.block_by_number(n).header.timestamp for n in range(store.head_number() + 1)]
    assert stamps[0] == GENESIS_EPOCH_MS
    assert all(GENESIS_EPOCH_MS < t <= GENESIS_EPOCH_MS + sim.now_ms for t in stamps[1:])
    assert stamps == sorted(stamps)
