"""What a sealer signed survives a restart (Store.record_vote), and it never signs a conflicting one."""

from __future__ import annotations

from pathlib import Path

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.messages import MsgType, PreparedProof, ViewChange, Vote, decode_envelope
from chain.crypto.suite import get_suite
from chain.ledger.store import Store
from chain.sim import SimConfig, Simulation


def test_votes_are_kept_on_disk_and_heights_two_below_dropped(tmp_path: Path) -> None:
    path = tmp_path / "chain.db"
    with Store(path, get_suite("standard")) as store:
        store.record_vote(5, int(MsgType.PREPARE), 2, b"\x01" * 32)
        store.record_vote(5, int(MsgType.COMMIT), 2, b"\x01" * 32, b"proof")
    with Store(path, get_suite("standard")) as store:  # a new process reads them back
        assert store.signed_votes() == [(5, int(MsgType.PREPARE), 2, b"\x01" * 32, b""),
                                        (5, int(MsgType.COMMIT), 2, b"\x01" * 32, b"proof")]
        store.record_vote(6, int(MsgType.PREPARE), 3, b"\x02" * 32)  # the pipeline votes one height ahead:
        assert [v.number for v in store.signed_votes()] == [5, 5, 6]  # the height below stays
        store.record_vote(7, int(MsgType.PREPARE), 3, b"\x03" * 32)
        assert store.signed_votes() == [(6, int(MsgType.PREPARE), 3, b"\x02" * 32, b""),
                                        (7, int(MsgType.PREPARE), 3, b"\x03" * 32, b"")]


def _prepared_node(seed: int) -> tuple[Simulation, int]:
    """A 4-node run stopped when node 0 has sent its Commit for a height (so it is prepared there)."""
    sim = Simulation(SimConfig(nodes=4, seed=seed, tx_rate=0))
    sim.submit_transactions(2, node=0)
    replica = sim.nodes[0].replica
    assert replica is not None
    while not (replica.prepared is not None and replica.committed is None):
        assert sim.step() is not None
    return sim, replica.height


def test_a_restarted_sealer_takes_back_its_votes_and_its_prepared_proof() -> None:
    sim, height = _prepared_node(seed=41)
    before = sim.nodes[0].replica
    assert before is not None and before.prepared is not None
    view, proof = before.prepared
    sim.crash(0)
    sim.restart(0)
    after = sim.nodes[0].replica
    assert after is not None and after is not before
    assert after.height == height and after.view == view
    assert after.prepared == (view, proof) and isinstance(proof, PreparedProof)
    # A block is in flight here, so its view timer runs; the proof goes into its next ViewChange,
    # so a block it helped prepare can never be replaced.
    effects = after.handle(fx.TimerFired("view"), sim.now_ms + 60_000)
    sent = [decode_envelope(e.raw) for e in effects if isinstance(e, fx.Broadcast) and e.type == MsgType.VIEW_CHANGE]
    assert len(sent) == 1, effects
    view_change = sent[0].body()
    assert isinstance(view_change, ViewChange) and view_change.view == view + 1 and view_change.prepared == proof


def test_a_restarted_sealer_refuses_to_sign_a_second_vote_in_a_slot() -> None:
    sim, height = _prepared_node(seed=42)
    replica = sim.nodes[0].replica
    assert replica is not None and replica.prepared is not None
    view = replica.prepared[0]
    sim.crash(0)
    sim.restart(0)
    replica = sim.nodes[0].replica
    assert replica is not None
    replica._out = []
    assert replica.sign_once(MsgType.COMMIT, view, b"\x09" * 32, Vote(view, height, b"\x09" * 32)) is None
    assert any(isinstance(e, fx.Rejected) and "not signing a second COMMIT" in e.reason for e in replica._out)
    # The same vote again is fine: it is not a conflict.
    digest = replica.current.signed[(int(MsgType.COMMIT), view)]
    assert replica.sign_once(MsgType.COMMIT, view, digest, Vote(view, height, digest)) is not None
