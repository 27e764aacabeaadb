"""Cheap checks come before the signature check: a vote a replica can no longer use costs no verify."""

from __future__ import annotations

from typing import Any

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.messages import Checkpoint, MsgType, Vote, make_envelope, sign_message
from chain.sim import SimConfig, Simulation


def _ordered_node() -> Simulation:
    """A 4-node run stopped when node 0 has ordered a block (commit quorum) but not yet stored it."""
    sim = Simulation(SimConfig(nodes=4, seed=51, tx_rate=0))
    sim.submit_transactions(2, node=0)
    replica = sim.nodes[0].replica
    assert replica is not None
    while replica.committed is None:
        assert sim.step() is not None
    return sim


def _forged(sim: Simulation, signer: int, msg_type: MsgType, body: Any) -> bytes:
    """Signed by `signer`, then one signature byte flipped: valid in every respect but the signature."""
    good = sign_message(sim.suite, sim.nodes[signer].key.secret, msg_type, signer, body)
    return make_envelope(msg_type, signer, good.payload, bytes([good.signature[0] ^ 1]) + good.signature[1:]).raw


def _deliver(sim: Simulation, raw: bytes, src: int = 1) -> list[fx.Effect]:
    replica = sim.nodes[0].replica
    assert replica is not None
    return replica.handle(fx.Deliver(sim.nodes[src].node_id, raw), sim.now_ms)


def _reasons(effects: list[fx.Effect]) -> list[str]:
    return [e.reason for e in effects if isinstance(e, fx.Rejected)]


def test_surplus_votes_after_ordering_are_dropped_unverified_but_others_are_verified() -> None:
    sim = _ordered_node()
    replica = sim.nodes[0].replica
    assert replica is not None and replica.committed is not None
    height, view = replica.height, replica.view
    digest = replica.committed.digest
    commits = {k: sorted(v.votes) for k, v in replica.commits.items()}
    # Another Commit for the ordered block adds nothing: dropped, signature never looked at.
    effects = _deliver(sim, _forged(sim, 3, MsgType.COMMIT, Vote(view, height, digest)), src=3)
    assert _reasons(effects) == [] and {k: sorted(v.votes) for k, v in replica.commits.items()} == commits
    # A Checkpoint is still needed at this height: its signature is checked.
    effects = _deliver(sim, _forged(sim, 3, MsgType.CHECKPOINT, Checkpoint(height, b"\x05" * 32)), src=3)
    assert any("does not verify" in reason for reason in _reasons(effects))


def test_votes_for_a_decided_height_are_refused_before_their_signature() -> None:
    sim = _ordered_node()
    sim.run_until(sim.now_ms + 2000)
    replica = sim.nodes[0].replica
    assert replica is not None and replica.height >= 2
    old = replica.height - 1
    effects = _deliver(sim, _forged(sim, 2, MsgType.CHECKPOINT, Checkpoint(old, b"\x05" * 32)), src=2)
    assert any(reason.startswith(f"old height {old}") for reason in _reasons(effects))
