"""The normal case: honest nodes on a clean network commit blocks and agree."""

from __future__ import annotations

import pytest

from chain.sim import SimConfig, Simulation


@pytest.mark.timeout(60)
@pytest.mark.parametrize("suite", ["standard", "sm"])
def test_honest_nodes_commit_and_agree(suite: str) -> None:
    sim = Simulation(SimConfig(nodes=4, seed=3, suite=suite))
    committed = sim.run_blocks(5, 30_000)
    report = sim.check()
    assert committed == 5
    assert report.ok, report.violations
    assert report.view_changes == 0
    # Every node holds the same chain up to the lowest head.
    low = min(report.heights)
    assert low >= 4
    hashes = {node.store.block_hash(low) for node in sim.nodes}
    assert len(hashes) == 1
    # Blocks carry a quorum of signatures of the suite's own size.
    block = sim.nodes[0].store.block_by_number(low)
    assert block is not None and len(block.signatures) >= 3
    assert all(len(sig) == sim.suite.signature_size for _, sig in block.signatures)
    assert report.latency_p50_ms is not None and report.latency_p50_ms > 0
