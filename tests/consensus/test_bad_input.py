"""Bad input never crashes a replica and never changes its state: it is rejected with a reason."""

from __future__ import annotations

from typing import Any

import pytest

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.messages import (
    Checkpoint, MsgType, NewView, PrePrepare, SyncResponse, ViewChange, Vote, make_envelope, sign_message,
)
from chain.consensus.pbft.replica import Replica
from chain.ledger.block import BlockHeader
from chain.ledger.codec import encode
from chain.sim import SimConfig, Simulation


def _snapshot(replica: Replica) -> Any:
    return (
        replica.status(), replica.height, replica.view, replica.to_view, sorted(replica.proposals),
        {k: sorted(v.votes) for k, v in replica.prepares.items()}, {k: sorted(v.votes) for k, v in replica.commits.items()},
        {k: sorted(v.votes) for k, v in replica.checkpoints.items()}, {k: sorted(v.votes) for k, v in replica.view_changes.items()},
        len(replica._future), replica.store.head_number(),
    )


@pytest.fixture(scope="module")
def sim() -> Simulation:
    simulation = Simulation(SimConfig(nodes=4, observers=1, seed=11, tx_rate=0))
    simulation.submit_transactions(3)
    assert simulation.run_blocks(2, 20_000) >= 1
    simulation.run_until(simulation.now_ms + 3000)
    return simulation


def _feed(sim: Simulation, raw: bytes, to: int = 0, src: int = 1) -> list[fx.Effect]:
    replica = sim.nodes[to].replica
    assert replica is not None
    before = _snapshot(replica)
    effects = replica.handle(fx.Deliver(sim.nodes[src].node_id, raw), sim.now_ms)
    assert _snapshot(replica) == before
    rejected = [e for e in effects if isinstance(e, fx.Rejected)]
    assert rejected, effects
    assert not any("internal error" in e.reason for e in rejected)
    assert not any(isinstance(e, (fx.Send, fx.Broadcast, fx.BlockCommitted)) for e in effects)
    return rejected


def _signed(sim: Simulation, signer: int, msg_type: MsgType, body: Any, as_index: int | None = None) -> bytes:
    index = signer if as_index is None else as_index
    return sign_message(sim.suite, sim.nodes[signer].key.secret, msg_type, index, body).raw


@pytest.mark.parametrize("raw", [b"", b"\x00", b"\xc0", b"garbage" * 20, encode([b"", b"", b"", b""]), encode([1] * 4)])
def test_garbage_bytes(sim: Simulation, raw: bytes) -> None:
    _feed(sim, raw)


def test_wrong_signature(sim: Simulation) -> None:
    height = sim.nodes[0].replica.height  # type: ignore[union-attr]
    raw = _signed(sim, 2, MsgType.PREPARE, Vote(0, height, b"\x01" * 32), as_index=1)  # node 2 pretends to be 1
    assert "does not verify" in _feed(sim, raw)[0].reason


def test_missing_signature(sim: Simulation) -> None:
    height = sim.nodes[0].replica.height  # type: ignore[union-attr]
    envelope = sign_message(sim.suite, sim.nodes[1].key.secret, MsgType.PREPARE, 1, Vote(0, height, b"\x01" * 32))
    raw = make_envelope(envelope.type, 1, envelope.payload, b"").raw
    assert "signature" in _feed(sim, raw)[0].reason


def test_unknown_sender(sim: Simulation) -> None:
    raw = _signed(sim, 1, MsgType.PREPARE, Vote(0, 1, b"\x01" * 32), as_index=99)
    assert "unknown sender" in _feed(sim, raw)[0].reason


def test_observer_may_not_vote(sim: Simulation) -> None:
    height = sim.nodes[0].replica.height  # type: ignore[union-attr]
    raw = _signed(sim, 4, MsgType.COMMIT, Vote(0, height, b"\x01" * 32))
    assert "not a sealer" in _feed(sim, raw, src=4)[0].reason


def test_old_height(sim: Simulation) -> None:
    raw = _signed(sim, 1, MsgType.CHECKPOINT, Checkpoint(1, b"\x01" * 32))
    assert "old height" in _feed(sim, raw)[0].reason


def test_pre_prepare_from_non_leader(sim: Simulation) -> None:
    replica = sim.nodes[0].replica
    assert replica is not None
    impostor = next(i for i in range(1, 4) if i != replica.leader())
    header = BlockHeader(replica.head_hash, replica.height, sim.now_ms, impostor, replica.sealer_ids, b"\x00" * 32)
    raw = _signed(sim, impostor, MsgType.PRE_PREPARE, PrePrepare(replica.view, replica.height, header, (b"\x01" * 32,)))
    assert "not the leader" in _feed(sim, raw, src=impostor)[0].reason


def test_new_view_without_quorum(sim: Simulation) -> None:
    replica = sim.nodes[0].replica
    assert replica is not None
    view = replica.view + 1
    leader = replica.leader(view)
    vc = _signed(sim, leader, MsgType.VIEW_CHANGE, ViewChange(view, replica.height, replica.head_hash, None))
    raw = _signed(sim, leader, MsgType.NEW_VIEW, NewView(view, replica.height, (vc,), b""))
    if leader == 0:
        pytest.skip("node 0 leads the next view")
    assert "quorum" in _feed(sim, raw, src=leader)[0].reason


def test_sync_response_with_forged_block(sim: Simulation) -> None:
    lagging = Simulation(SimConfig(nodes=4, observers=1, seed=11, tx_rate=0))
    replica = lagging.nodes[0].replica
    assert replica is not None
    block = sim.nodes[1].store.block_by_number(1)
    assert block is not None
    forged = block.with_signatures([(i, b"\x01" * len(sig)) for i, sig in block.signatures])
    before = _snapshot(replica)
    effects = replica.handle(fx.Deliver(lagging.nodes[1].node_id,
                                        _signed(lagging, 1, MsgType.SYNC_RESPONSE, SyncResponse((forged.encode(),)))), 0)
    assert _snapshot(replica) == before
    assert any(isinstance(e, fx.Rejected) and "signature" in e.reason for e in effects)
    # …while the genuine block, with its quorum of signatures, is applied.
    effects = replica.handle(fx.Deliver(lagging.nodes[1].node_id,
                                        _signed(lagging, 1, MsgType.SYNC_RESPONSE, SyncResponse((block.encode(),)))), 0)
    assert replica.store.head_number() == 1
    assert any(isinstance(e, fx.BlockCommitted) and e.via == "sync" for e in effects)


def test_votes_for_views_far_ahead_are_refused(sim: Simulation) -> None:
    replica = sim.nodes[0].replica
    assert replica is not None
    raw = _signed(sim, 1, MsgType.PREPARE, Vote(replica.view + 10**6, replica.height, b"\x01" * 32))
    assert "too far ahead" in _feed(sim, raw)[0].reason
