"""PBFT messages: what replicas say to each other, and the signed envelope every message travels in.

Every message is one RLP envelope::

    [type, sender index, payload, signature]

``payload`` is the RLP of the message body (below). ``sender index`` is the sender's position in the
node list in force (sealers first, sorted by node id, then observers). The signature covers
``hash(RLP([type, sender index, payload]))`` with the chain's suite (``hash(RLP([type, sender index,
payload, domain]))`` in a group other than the first: see ``signing_domain``) — except for a Checkpoint, whose
signature is over the executed block hash itself, because that very signature is what goes into the
block's signature list (FISCO BCOS 3.x). The Checkpoint body names that hash, so it is still the
whole message that is authenticated.

Bodies (all integers are canonical RLP integers):

=============  =================================================================================
PrePrepare     [view, number, proposal header (execution fields empty), [tx hash, ...]]
Prepare        [view, number, digest]       digest = hash of the proposal header
Commit         [view, number, digest]
Checkpoint     [number, executed block hash]
ViewChange     [to view, number, committed head hash, [prepared proof] or []]
               prepared proof = [PrePrepare envelope, [Prepare envelope, ...]]
NewView        [view, number, [ViewChange envelope, ...], PrePrepare envelope or b""]
TxGossip       [[raw tx, ...]]
TxRequest      [number, [tx hash, ...]]
TxResponse     [[raw tx, ...]]
SyncRequest    [from number, to number]
SyncResponse   [[raw block with signature list, ...]]
=============  =================================================================================

Decoding is strict (chain.ledger.codec): anything malformed is a ConsensusError naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache
from typing import Any, Union

from chain.crypto.suite import CryptoSuite
from chain.errors import ConsensusError, LedgerError
from chain.ledger import codec
from chain.ledger.block import HASH_SIZE, Block, BlockHeader
from chain.ledger.genesis import FIRST_GROUP_NAME, genesis_group_id, group_id_of

MAX_MESSAGE_SIZE = 32 << 20  # a sync response with a few full blocks; anything larger is refused
MAX_LIST = 100_000  # tx hashes per proposal, txs per gossip: a cap a peer cannot blow up


class MsgType(IntEnum):
    PRE_PREPARE = 1
    PREPARE = 2
    COMMIT = 3
    CHECKPOINT = 4
    VIEW_CHANGE = 5
    NEW_VIEW = 6
    TX_GOSSIP = 7
    TX_REQUEST = 8
    TX_RESPONSE = 9
    SYNC_REQUEST = 10
    SYNC_RESPONSE = 11


# Messages only a sealer may send: the signer must be in the sealer part of the node list.
SEALER_ONLY = frozenset({MsgType.PRE_PREPARE, MsgType.PREPARE, MsgType.COMMIT, MsgType.CHECKPOINT,
                         MsgType.VIEW_CHANGE, MsgType.NEW_VIEW})


# --- bodies ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PrePrepare:
    view: int
    number: int
    header: BlockHeader
    tx_hashes: tuple[bytes, ...]

    def to_rlp(self) -> list[Any]:
        return [self.view, self.number, self.header.to_rlp(), list(self.tx_hashes)]


@dataclass(frozen=True)
class Vote:
    """The body of a Prepare and of a Commit: 'I accept proposal `digest` at (view, number)'."""

    view: int
    number: int
    digest: bytes

    def to_rlp(self) -> list[Any]:
        return [self.view, self.number, self.digest]


@dataclass(frozen=True)
class Checkpoint:
    number: int
    block_hash: bytes  # hash of the executed header; the envelope signature is over exactly this

    def to_rlp(self) -> list[Any]:
        return [self.number, self.block_hash]


@dataclass(frozen=True)
class PreparedProof:
    """A PrePrepare and a quorum of matching Prepares: proof that a block was prepared in a view."""

    pre_prepare: bytes  # raw signed envelope
    prepares: tuple[bytes, ...]  # raw signed envelopes

    def to_rlp(self) -> list[Any]:
        return [self.pre_prepare, list(self.prepares)]

    @classmethod
    def from_rlp(cls, item: Any) -> PreparedProof:
        proof = codec.as_list(item, "ViewChange.proof")
        _arity(proof, 2, "ViewChange.proof")
        return cls(
            codec.as_bytes(proof[0], "ViewChange.proof.prePrepare"),
            tuple(codec.as_bytes(p, "ViewChange.proof.prepare") for p in _bounded(proof[1], "ViewChange.proof.prepares")),
        )

    def encode(self) -> bytes:
        return codec.encode(self.to_rlp())

    @classmethod
    def decode(cls, raw: bytes) -> PreparedProof:
        """A proof from its encoding (as kept in the store with this node's Commit); ConsensusError if malformed."""
        try:
            return cls.from_rlp(codec.decode_list(raw, "prepared proof"))
        except LedgerError as exc:
            raise ConsensusError(str(exc)) from exc


@dataclass(frozen=True)
class ViewChange:
    view: int  # the view the sender wants to move to
    number: int  # the height the sender is working on (its head + 1)
    committed_hash: bytes  # the sender's head hash (number - 1)
    prepared: PreparedProof | None

    def to_rlp(self) -> list[Any]:
        return [self.view, self.number, self.committed_hash, [] if self.prepared is None else [self.prepared.to_rlp()]]


@dataclass(frozen=True)
class NewView:
    view: int
    number: int
    view_changes: tuple[bytes, ...]  # raw signed ViewChange envelopes, a quorum of them
    pre_prepare: bytes  # raw signed PrePrepare envelope to (re-)propose, or b"" for none

    def to_rlp(self) -> list[Any]:
        return [self.view, self.number, list(self.view_changes), self.pre_prepare]


@dataclass(frozen=True)
class TxList:
    """Body of TxGossip and TxResponse: raw transactions."""

    txs: tuple[bytes, ...]

    def to_rlp(self) -> list[Any]:
        return [list(self.txs)]


@dataclass(frozen=True)
class TxRequest:
    number: int
    hashes: tuple[bytes, ...]

    def to_rlp(self) -> list[Any]:
        return [self.number, list(self.hashes)]


@dataclass(frozen=True)
class SyncRequest:
    from_number: int
    to_number: int

    def to_rlp(self) -> list[Any]:
        return [self.from_number, self.to_number]


@dataclass(frozen=True)
class SyncResponse:
    blocks: tuple[bytes, ...]  # raw blocks, each with its signature list

    def to_rlp(self) -> list[Any]:
        return [list(self.blocks)]


Body = Union[PrePrepare, Vote, Checkpoint, ViewChange, NewView, TxList, TxRequest, SyncRequest, SyncResponse]


# --- the envelope ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Envelope:
    type: MsgType
    sender: int
    payload: bytes
    signature: bytes
    raw: bytes
    _memo: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    def signed_hash(self, suite: CryptoSuite, domain: bytes = b"") -> bytes:
        """The 32 bytes the signature covers (computed once per envelope and domain)."""
        key = "signed:" + suite.name + ":" + domain.hex()
        if key not in self._memo:
            body = self.body() if self.type == MsgType.CHECKPOINT else None
            if isinstance(body, Checkpoint):  # always, for this type: decode_body checks it
                self._memo[key] = body.block_hash
            else:
                self._memo[key] = suite.hash(_signed_fields(self.type, self.sender, self.payload, domain))
        signed: bytes = self._memo[key]
        return signed

    def body(self) -> Body:
        """The decoded body (decoded once per envelope)."""
        if "body" not in self._memo:
            self._memo["body"] = decode_body(self)
        body: Body = self._memo["body"]
        return body


def _body_type_check(msg_type: MsgType, body: Body) -> None:
    expected = {
        MsgType.PRE_PREPARE: PrePrepare, MsgType.PREPARE: Vote, MsgType.COMMIT: Vote,
        MsgType.CHECKPOINT: Checkpoint, MsgType.VIEW_CHANGE: ViewChange, MsgType.NEW_VIEW: NewView,
        MsgType.TX_GOSSIP: TxList, MsgType.TX_REQUEST: TxRequest, MsgType.TX_RESPONSE: TxList,
        MsgType.SYNC_REQUEST: SyncRequest, MsgType.SYNC_RESPONSE: SyncResponse,
    }[msg_type]
    if not isinstance(body, expected):
        raise ConsensusError(f"{msg_type.name} needs a {expected.__name__} body, got {type(body).__name__}")


def signing_domain(genesis: Block, suite: CryptoSuite) -> bytes:
    """What a group's consensus signatures are bound to, so that none is valid in another group.

    The nodes of a chain sign with one key in every group they are in, and a Prepare, Commit or
    ViewChange names only a height, a view and a digest: without a domain, a ViewChange a node
    signed in group1 would count towards a view change at the same height of group0 if somebody
    replayed it there. So outside the first group (2.x group id 1, "group0") the signed fields end
    with the group's genesis hash, which names its chain id, group id, suite and first sealers.
    The first group's domain is empty, which keeps what its nodes sign exactly as before groups
    existed (and differs from every other group's, whose signed list has one field more).
    A Checkpoint signs the executed block hash, which already differs between groups.
    """
    try:
        group_id = genesis_group_id(genesis)
    except LedgerError as exc:
        raise ConsensusError(str(exc)) from exc
    return b"" if group_id == group_id_of(FIRST_GROUP_NAME) else genesis.hash(suite)


def _signed_fields(msg_type: MsgType, sender: int, payload: bytes, domain: bytes) -> bytes:
    return codec.encode([int(msg_type), sender, payload, domain] if domain else [int(msg_type), sender, payload])


def sign_message(suite: CryptoSuite, secret: int, msg_type: MsgType, sender: int, body: Body,
                 domain: bytes = b"") -> Envelope:
    """Encode body, sign it as sender (in the group of ``domain``) and return the envelope, ready to send."""
    _body_type_check(msg_type, body)
    payload = codec.encode(body.to_rlp())
    if isinstance(body, Checkpoint):  # exactly when msg_type is CHECKPOINT (checked above)
        signed = body.block_hash
    else:
        signed = suite.hash(_signed_fields(msg_type, sender, payload, domain))
    signature = suite.sign(secret, signed)
    envelope = make_envelope(msg_type, sender, payload, signature, body=body)
    envelope._memo["signed:" + suite.name + ":" + domain.hex()] = signed
    return envelope


def make_envelope(msg_type: MsgType, sender: int, payload: bytes, signature: bytes, body: Body | None = None) -> Envelope:
    """An envelope from its parts, without signing (Byzantine behaviours use it to forge)."""
    raw = codec.encode([int(msg_type), sender, payload, signature])
    envelope = Envelope(msg_type, sender, payload, signature, raw)
    if body is not None:
        envelope._memo["body"] = body
    return envelope


def decode_envelope(raw: bytes) -> Envelope:
    """Parse the outer envelope; ConsensusError for anything malformed.

    Decoding is a pure function of the bytes and an Envelope is immutable (its memo holds only
    values derived from the bytes), so the last few thousand results are shared: in the simulator
    every receiver of a broadcast gets the very same bytes, and each of them used to decode and
    hash them again. Each receiver still checks the signature itself (Replica.verify).
    """
    if not isinstance(raw, (bytes, bytearray)):
        raise ConsensusError("message: expected bytes")
    if len(raw) > MAX_MESSAGE_SIZE:
        raise ConsensusError(f"message: larger than {MAX_MESSAGE_SIZE} bytes")
    return _decode_envelope(bytes(raw))


@lru_cache(maxsize=4096)
def _decode_envelope(raw: bytes) -> Envelope:
    try:
        items = codec.decode_list(bytes(raw), "message", 4)
        type_code = codec.as_int(items[0], "message.type", 8)
        sender = codec.as_int(items[1], "message.sender", 32)
        payload = codec.as_bytes(items[2], "message.payload")
        signature = codec.as_bytes(items[3], "message.signature", max_size=256)
    except LedgerError as exc:
        raise ConsensusError(str(exc)) from exc
    # Only the message types of this protocol exist.
    try:
        msg_type = MsgType(type_code)
    except ValueError:
        raise ConsensusError(f"message: unknown type {type_code}") from None
    return Envelope(msg_type, sender, payload, signature, raw)


def _hash(item: Any, what: str) -> bytes:
    return codec.as_bytes(item, what, size=HASH_SIZE)


def _bounded(items: Any, what: str) -> list[Any]:
    found = codec.as_list(items, what)
    if len(found) > MAX_LIST:
        raise LedgerError(f"{what}: more than {MAX_LIST} entries")
    return found


def _decode(msg_type: MsgType, items: list[Any]) -> Body:
    if msg_type == MsgType.PRE_PREPARE:
        _arity(items, 4, "PrePrepare")
        return PrePrepare(
            view=codec.as_int(items[0], "PrePrepare.view", 64),
            number=codec.as_int(items[1], "PrePrepare.number", 64),
            header=BlockHeader.from_rlp(items[2]),
            tx_hashes=tuple(_hash(h, "PrePrepare.txHash") for h in _bounded(items[3], "PrePrepare.txHashes")),
        )
    if msg_type in (MsgType.PREPARE, MsgType.COMMIT):
        _arity(items, 3, "Vote")
        return Vote(codec.as_int(items[0], "Vote.view", 64), codec.as_int(items[1], "Vote.number", 64),
                    _hash(items[2], "Vote.digest"))
    if msg_type == MsgType.CHECKPOINT:
        _arity(items, 2, "Checkpoint")
        return Checkpoint(codec.as_int(items[0], "Checkpoint.number", 64), _hash(items[1], "Checkpoint.blockHash"))
    if msg_type == MsgType.VIEW_CHANGE:
        _arity(items, 4, "ViewChange")
        proofs = codec.as_list(items[3], "ViewChange.prepared")
        if len(proofs) > 1:
            raise LedgerError("ViewChange.prepared: at most one proof")
        prepared = PreparedProof.from_rlp(proofs[0]) if proofs else None
        return ViewChange(codec.as_int(items[0], "ViewChange.view", 64), codec.as_int(items[1], "ViewChange.number", 64),
                          _hash(items[2], "ViewChange.committedHash"), prepared)
    if msg_type == MsgType.NEW_VIEW:
        _arity(items, 4, "NewView")
        return NewView(
            codec.as_int(items[0], "NewView.view", 64), codec.as_int(items[1], "NewView.number", 64),
            tuple(codec.as_bytes(v, "NewView.viewChange") for v in _bounded(items[2], "NewView.viewChanges")),
            codec.as_bytes(items[3], "NewView.prePrepare"),
        )
    if msg_type in (MsgType.TX_GOSSIP, MsgType.TX_RESPONSE):
        _arity(items, 1, "TxList")
        return TxList(tuple(codec.as_bytes(t, "TxList.tx") for t in _bounded(items[0], "TxList.txs")))
    if msg_type == MsgType.TX_REQUEST:
        _arity(items, 2, "TxRequest")
        return TxRequest(codec.as_int(items[0], "TxRequest.number", 64),
                         tuple(_hash(h, "TxRequest.hash") for h in _bounded(items[1], "TxRequest.hashes")))
    if msg_type == MsgType.SYNC_REQUEST:
        _arity(items, 2, "SyncRequest")
        return SyncRequest(codec.as_int(items[0], "SyncRequest.from", 64), codec.as_int(items[1], "SyncRequest.to", 64))
    _arity(items, 1, "SyncResponse")
    return SyncResponse(tuple(codec.as_bytes(b, "SyncResponse.block") for b in _bounded(items[0], "SyncResponse.blocks")))


def _arity(items: list[Any], n: int, what: str) -> None:
    if len(items) != n:
        raise LedgerError(f"{what}: expected {n} fields, got {len(items)}")


def decode_body(envelope: Envelope) -> Body:
    """The typed body of an envelope; ConsensusError for anything malformed."""
    try:
        items = codec.decode_list(envelope.payload, f"{envelope.type.name} payload")
        return _decode(envelope.type, items)
    except LedgerError as exc:
        raise ConsensusError(str(exc)) from exc
