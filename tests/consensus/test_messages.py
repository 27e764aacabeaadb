"""Message codec, quorum arithmetic and the leader rule."""

from __future__ import annotations

import pytest

from chain.consensus.pbft.messages import (
    Checkpoint, MsgType, NewView, PreparedProof, PrePrepare, SyncRequest, SyncResponse, TxList, TxRequest,
    ViewChange, Vote, decode_envelope, sign_message,
)
from chain.consensus.pbft.quorum import VoteSet, leader_index, max_faulty, next_timeout_ms, quorum
from chain.crypto.suite import get_suite
from chain.errors import ConsensusError
from chain.ledger.block import BlockHeader
from chain.ledger.codec import encode

SUITE = get_suite("standard")
SECRET = 0x1234_5678_9ABC
HEADER = BlockHeader(parent_hash=b"\x01" * 32, number=7, timestamp=1000, sealer=2,
                     sealer_list=(SUITE.public_key(SECRET),), transactions_root=b"\x02" * 32)

BODIES = [
    (MsgType.PRE_PREPARE, PrePrepare(3, 7, HEADER, (b"\x03" * 32, b"\x04" * 32))),
    (MsgType.PREPARE, Vote(3, 7, b"\x05" * 32)),
    (MsgType.COMMIT, Vote(0, 1, b"\x06" * 32)),
    (MsgType.CHECKPOINT, Checkpoint(7, b"\x07" * 32)),
    (MsgType.VIEW_CHANGE, ViewChange(4, 7, b"\x08" * 32, None)),
    (MsgType.VIEW_CHANGE, ViewChange(4, 7, b"\x08" * 32, PreparedProof(b"pp", (b"a", b"b")))),
    (MsgType.NEW_VIEW, NewView(4, 7, (b"vc1", b"vc2"), b"")),
    (MsgType.TX_GOSSIP, TxList((b"tx1", b"tx2"))),
    (MsgType.TX_REQUEST, TxRequest(7, (b"\x09" * 32,))),
    (MsgType.TX_RESPONSE, TxList(())),
    (MsgType.SYNC_REQUEST, SyncRequest(3, 9)),
    (MsgType.SYNC_RESPONSE, SyncResponse((b"block",))),
]


@pytest.mark.parametrize("msg_type,body", BODIES)
def test_every_message_round_trips_and_verifies(msg_type: MsgType, body: object) -> None:
    envelope = sign_message(SUITE, SECRET, msg_type, 5, body)  # type: ignore[arg-type]
    decoded = decode_envelope(envelope.raw)
    assert (decoded.type, decoded.sender) == (msg_type, 5)
    assert decoded.body() == body
    assert SUITE.verify(SUITE.public_key(SECRET), decoded.signed_hash(SUITE), decoded.signature)


def test_checkpoint_signature_is_over_the_block_hash_itself() -> None:
    envelope = sign_message(SUITE, SECRET, MsgType.CHECKPOINT, 0, Checkpoint(7, b"\x07" * 32))
    assert SUITE.verify(SUITE.public_key(SECRET), b"\x07" * 32, envelope.signature)


def test_signature_covers_type_and_sender() -> None:
    envelope = sign_message(SUITE, SECRET, MsgType.PREPARE, 1, Vote(0, 1, b"\x01" * 32))
    moved = decode_envelope(encode([int(MsgType.COMMIT), 1, envelope.payload, envelope.signature]))
    assert not SUITE.verify(SUITE.public_key(SECRET), moved.signed_hash(SUITE), moved.signature)


@pytest.mark.parametrize("raw", [
    b"", b"\xff\xff", encode([1, 2, 3]), encode([99, 0, b"", b""]), encode([1, 0, b"\x01", b""]),
    encode([2, 0, encode([0, 1]), b""]), encode([2, 0, encode([0, 1, b"short"]), b""]),
    encode([5, 0, encode([1, 1, b"\x00" * 32, [b"x", b"y"]]), b""]), encode([b"\x00\x01", 0, b"", b""]),
])
def test_malformed_messages_raise_consensus_error(raw: bytes) -> None:
    with pytest.raises(ConsensusError):
        decode_envelope(raw).body()


def test_quorum_arithmetic() -> None:
    assert [(n, max_faulty(n), quorum(n)) for n in (1, 4, 7, 10, 16)] == [
        (1, 0, 1), (4, 1, 3), (7, 2, 5), (10, 3, 7), (16, 5, 11)]
    votes: VoteSet[str] = VoteSet((1, 1, 2, 3))
    assert votes.add(3, "a") and not votes.add(3, "again")
    assert votes.weight == 3 and not votes.reached(5)
    votes.add(2, "b")
    assert votes.reached(5)


def test_leader_rotates_with_number_and_view() -> None:
    assert [leader_index(n, 0, 1, 4) for n in range(1, 6)] == [1, 2, 3, 0, 1]
    assert [leader_index(n, 0, 2, 4) for n in range(1, 6)] == [0, 1, 1, 2, 2]
    assert leader_index(5, 2, 1, 4) == 3


def test_timeout_grows_by_half_and_is_capped() -> None:
    assert [next_timeout_ms(3000, k) for k in range(3)] == [3000, 4500, 6750]
    assert next_timeout_ms(3000, 50) == next_timeout_ms(3000, 6)
