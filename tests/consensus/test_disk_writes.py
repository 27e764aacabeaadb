"""What a sealer writes to disk per block: each durable write is one the safety argument needs (issue 18).

docs/consensus.md ("What is written to disk, and why"): the PrePrepare or Prepare (one proposal
per view), the Commit with its prepared proof (what a view change must not lose), and the block.
The Checkpoint is not written: it signs the deterministic result of the one block ordered at
its height, so signing it again after a restart signs the same hash.
"""

from __future__ import annotations

from unittest import mock

import pytest

from chain.consensus.pbft.messages import MsgType
from chain.sim import SimConfig, Simulation


@pytest.mark.timeout(60)
def test_a_block_without_view_change_costs_each_sealer_two_vote_writes_and_no_checkpoint_write() -> None:
    sim = Simulation(SimConfig(nodes=4, seed=9, tx_rate=20, latency_ms=(5, 20), suite="standard"))
    phases: list[int] = []
    for node in sim.nodes:
        original = node.store.record_vote

        def record(number: int, phase: int, view: int, digest: bytes, evidence: bytes = b"",
                   original=original) -> None:
            phases.append(phase)
            original(number, phase, view, digest, evidence)

        node.store.record_vote = record  # type: ignore[method-assign]
    blocks = sim.run_blocks(10, 60_000)
    assert blocks == 10 and all(n.replica is not None and n.replica.view == 0 for n in sim.nodes)
    assert int(MsgType.CHECKPOINT) not in phases
    assert len(phases) == 2 * 4 * blocks  # (PrePrepare or Prepare) + Commit, per sealer per block
