"""Byzantine behaviours: pluggable lies a simulated node tells, by name.

A behaviour wraps an honest replica: it sees the events before the replica does (``incoming``,
which may also answer on its own) and rewrites the effects the replica returns (``outgoing``).
It signs its lies with the node's real key — a Byzantine sealer is a legitimate member that
misbehaves, not an outsider — so honest replicas must catch them by the protocol's rules.

=================  ===============================================================================
silent             sends nothing at all (a crash that keeps listening)
equivocate         as leader sends one block to half the nodes and another to the rest; and votes
                   only by echoing, to each honest node, whatever that node voted for (so two
                   colluding ones can split a 4-node chain)
wrong_digest       its Prepares and Commits name a random digest
forge              corrupts its messages: flipped signature byte, no signature, or another sender index
double_vote        votes twice per view (second one for a random digest) and votes in the next view early
replay             re-sends old messages it received earlier to random peers
invalid_block      as leader proposes invalid blocks (wrong parent, wrong tx root, unknown tx, …)
lie_view_change    its ViewChanges carry a fabricated prepared proof
drop_prepared      as a new view's leader, re-proposes a fresh block of its own instead of the one a
                   ViewChange proves prepared; its Commits reach one peer only, so a block can end
                   up ordered at one honest sealer while the others time out
empty_new_view     the same, but its NewView carries no proposal at all, and it proposes a fresh block
                   of its own in the new view afterwards
thin_proof         its ViewChanges carry a proof of too little weight (its own PrePrepare alone) for
                   a block of its own in a view it led — a view it makes fail by withholding its
                   NewView; its Commits reach one peer only
future_proof       its ViewChanges carry a proof from a view not earlier than the one they ask for
newview_non_leader announces views it does not lead: a NewView with a quorum of ViewChanges and its
                   own PrePrepare (re-proposing what they prove, if anything); keeps its ViewChanges
                   from the view's leader, so that it is first
weak_sync          answers sync requests, and sends blocks unasked, with blocks it made up, signed by
                   f weight only (itself and any weak_sync colluders), a different one to each peer
=================  ===============================================================================

The last six each exploit the absence of one safety rule: with the rule in place honest nodes
reject them with its reason and agree; with it deleted (``tools/mutate.py``) the simulator shows
the harm — two honest sealers executing different blocks at one height, a stall, or a fork in
the stored chains. See tests/sim/test_byzantine.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeGuard

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.messages import (
    Checkpoint, Envelope, MsgType, NewView, PreparedProof, PrePrepare, SyncRequest, SyncResponse, ViewChange, Vote,
    decode_envelope, make_envelope,
)
from chain.errors import ChainError, ScenarioError
from chain.ledger.block import Block, BlockHeader
from chain.ledger.merkle import merkle_root
from chain.txpool.pool import TxPool

if TYPE_CHECKING:
    from chain.sim.runner import Simulation, SimNode

Incoming = tuple["fx.Event | None", list[fx.Effect]]


class Behaviour:
    name = "honest"
    description = "follows the protocol"

    def incoming(self, sim: Simulation, node: SimNode, event: fx.Event) -> Incoming:
        return event, []

    def outgoing(self, sim: Simulation, node: SimNode, effects: list[fx.Effect]) -> list[fx.Effect]:
        return effects


def _is_network(effect: fx.Effect) -> TypeGuard[fx.Send | fx.Broadcast]:
    return isinstance(effect, (fx.Send, fx.Broadcast))


def _peers(sim: Simulation, node: SimNode) -> list[SimNode]:
    return [other for other in sim.nodes if other.index != node.index]


def _send_to(other: SimNode, envelope: Envelope, number: int, view: int) -> fx.Send:
    return fx.Send(other.node_id, envelope.raw, envelope.type, number, view)


def _pre_prepare(raw: bytes) -> PrePrepare:
    """The PrePrepare a proof carries (the replica checked the proof before counting the ViewChange)."""
    body = decode_envelope(raw).body()
    assert isinstance(body, PrePrepare)
    return body


def _decoded(raw: bytes) -> Envelope | None:
    try:
        envelope = decode_envelope(raw)
        envelope.body()
        return envelope
    except ChainError:
        return None


def _random_hash(sim: Simulation) -> bytes:
    return hashlib.sha256(sim.rng.getrandbits(64).to_bytes(8, "big")).digest()


class Silent(Behaviour):
    name = "silent"
    description = "sends nothing at all"

    def outgoing(self, sim: Simulation, node: SimNode, effects: list[fx.Effect]) -> list[fx.Effect]:
        return [e for e in effects if not _is_network(e)]


class Rewriter(Behaviour):
    """A behaviour that rewrites, one by one, the messages of some types its node broadcasts.

    `rewrite` gets the decoded body of each such broadcast and returns what goes out instead
    (nothing, the message re-signed with other content, extra messages...); other effects pass.
    """

    types: frozenset[MsgType] = frozenset()

    def outgoing(self, sim: Simulation, node: SimNode, effects: list[fx.Effect]) -> list[fx.Effect]:
        out: list[fx.Effect] = []
        for effect in effects:
            if isinstance(effect, fx.Broadcast) and effect.type in self.types:
                envelope = _decoded(effect.raw)
                assert envelope is not None and node.replica is not None
                out += self.rewrite(sim, node, effect, envelope)
            else:
                out.append(effect)
        return out

    def rewrite(self, sim: Simulation, node: SimNode, effect: fx.Broadcast, envelope: Envelope) -> list[fx.Effect]:
        return [effect]


def _resigned(node: SimNode, effect: fx.Broadcast, body: Any, **changes: Any) -> fx.Broadcast:
    """The broadcast with another body, signed with the node's real key."""
    assert node.replica is not None
    return replace(effect, raw=node.replica.sign(effect.type, body).raw, **changes)


class Equivocate(Rewriter):
    name = "equivocate"
    description = "as leader, a different block to each half; votes for whatever honest nodes vote for"
    types = frozenset({MsgType.PRE_PREPARE, MsgType.PREPARE, MsgType.COMMIT, MsgType.CHECKPOINT})

    def __init__(self) -> None:
        self._echoed: set[tuple[int, int, int, bytes]] = set()

    def rewrite(self, sim: Simulation, node: SimNode, effect: fx.Broadcast, envelope: Envelope) -> list[fx.Effect]:
        if effect.type != MsgType.PRE_PREPARE:
            return []  # it votes only by echoing, so each side sees it agree
        pp = envelope.body()
        assert isinstance(pp, PrePrepare) and node.replica is not None
        twin = PrePrepare(pp.view, pp.number, replace(pp.header, timestamp=pp.header.timestamp + 1), pp.tx_hashes)
        other = node.replica.sign(MsgType.PRE_PREPARE, twin)
        peers = _peers(sim, node)
        half = len(peers) // 2
        out: list[fx.Effect] = [_send_to(p, envelope, pp.number, pp.view) for p in peers[:half]]
        return out + [_send_to(p, other, pp.number, pp.view) for p in peers[half:]]

    def incoming(self, sim: Simulation, node: SimNode, event: fx.Event) -> Incoming:
        extra: list[fx.Effect] = []
        if isinstance(event, fx.Deliver) and node.replica is not None and node.replica.is_sealer:
            envelope = _decoded(event.raw)
            sender = sim._index_of.get(event.peer)
            if envelope is not None and sender is not None and envelope.type in (MsgType.PREPARE, MsgType.COMMIT, MsgType.CHECKPOINT):
                body = envelope.body()
                assert isinstance(body, (Vote, Checkpoint))  # what those three types decode to
                digest, view = (body.block_hash, 0) if isinstance(body, Checkpoint) else (body.digest, body.view)
                key = (sender, int(envelope.type), view, digest)
                if key not in self._echoed and body.number == node.replica.height:
                    self._echoed.add(key)
                    echo = node.replica.sign(envelope.type, body)
                    extra.append(_send_to(sim.nodes[sender], echo, body.number, view))
        return event, extra


class WrongDigest(Rewriter):
    name = "wrong_digest"
    description = "its Prepares and Commits name a random digest"
    types = frozenset({MsgType.PREPARE, MsgType.COMMIT})

    def rewrite(self, sim: Simulation, node: SimNode, effect: fx.Broadcast, envelope: Envelope) -> list[fx.Effect]:
        vote = envelope.body()
        assert isinstance(vote, Vote)
        return [_resigned(node, effect, Vote(vote.view, vote.number, _random_hash(sim)))]


class Forge(Behaviour):
    name = "forge"
    description = "flips a signature byte, drops the signature, or claims another sender"

    def outgoing(self, sim: Simulation, node: SimNode, effects: list[fx.Effect]) -> list[fx.Effect]:
        out: list[fx.Effect] = []
        for effect in effects:
            if not _is_network(effect):
                out.append(effect)
                continue
            envelope = _decoded(effect.raw)
            if envelope is None:
                continue
            trick = sim.rng.randrange(3)
            if trick == 0 and envelope.signature:
                signature = bytes([envelope.signature[0] ^ 0x01]) + envelope.signature[1:]
                forged = make_envelope(envelope.type, envelope.sender, envelope.payload, signature)
            elif trick == 1:
                forged = make_envelope(envelope.type, envelope.sender, envelope.payload, b"")
            else:
                other = (envelope.sender + 1) % max(1, len(sim.nodes))
                forged = make_envelope(envelope.type, other, envelope.payload, envelope.signature)
            out.append(replace(effect, raw=forged.raw))
        return out


class DoubleVote(Rewriter):
    name = "double_vote"
    description = "votes twice per view and votes in the next view before entering it"
    types = frozenset({MsgType.PREPARE, MsgType.COMMIT})

    def rewrite(self, sim: Simulation, node: SimNode, effect: fx.Broadcast, envelope: Envelope) -> list[fx.Effect]:
        vote = envelope.body()
        assert isinstance(vote, Vote)
        second = _resigned(node, effect, Vote(vote.view, vote.number, _random_hash(sim)))
        early = _resigned(node, effect, Vote(vote.view + 1, vote.number, vote.digest), view=vote.view + 1)
        return [effect, second, early]


class Replay(Behaviour):
    name = "replay"
    description = "re-sends old messages it received to random peers"

    def __init__(self) -> None:
        self._seen: list[tuple[bytes, MsgType, int, int]] = []

    def incoming(self, sim: Simulation, node: SimNode, event: fx.Event) -> Incoming:
        if isinstance(event, fx.Deliver):
            envelope = _decoded(event.raw)
            if envelope is not None:
                number = int(getattr(envelope.body(), "number", 0))
                self._seen.append((event.raw, envelope.type, number, int(getattr(envelope.body(), "view", 0))))
                del self._seen[:-200]
        return event, []

    def outgoing(self, sim: Simulation, node: SimNode, effects: list[fx.Effect]) -> list[fx.Effect]:
        out = list(effects)
        if self._seen and any(_is_network(e) for e in effects):
            peers = _peers(sim, node)
            for _ in range(2):
                raw, msg_type, number, view = self._seen[sim.rng.randrange(len(self._seen))]
                target = peers[sim.rng.randrange(len(peers))]
                out.append(fx.Send(target.node_id, raw, msg_type, number, view))
        return out


class InvalidBlock(Rewriter):
    name = "invalid_block"
    description = "as leader proposes blocks that break a validity rule"
    types = frozenset({MsgType.PRE_PREPARE})

    def rewrite(self, sim: Simulation, node: SimNode, effect: fx.Broadcast, envelope: Envelope) -> list[fx.Effect]:
        pp = envelope.body()
        assert isinstance(pp, PrePrepare)
        return [_resigned(node, effect, self._spoil(sim, pp))]

    def _spoil(self, sim: Simulation, pp: PrePrepare) -> PrePrepare:
        header = pp.header
        kind = sim.rng.randrange(4)
        if kind == 0:  # not a child of the head
            return replace(pp, header=replace(header, parent_hash=_random_hash(sim)))
        if kind == 1:  # header does not commit to these transactions
            return replace(pp, header=replace(header, transactions_root=_random_hash(sim)))
        if kind == 2:  # a transaction no one has (and the leader cannot produce)
            return replace(pp, tx_hashes=pp.tx_hashes[:-1] + (_random_hash(sim),))
        return replace(pp, header=replace(header, state_root=_random_hash(sim)))  # pre-filled result


class LieViewChange(Rewriter):
    name = "lie_view_change"
    description = "its ViewChanges carry a fabricated prepared proof"
    types = frozenset({MsgType.VIEW_CHANGE})

    def rewrite(self, sim: Simulation, node: SimNode, effect: fx.Broadcast, envelope: Envelope) -> list[fx.Effect]:
        vc = envelope.body()
        replica = node.replica
        assert isinstance(vc, ViewChange) and replica is not None
        fake_header = replace(replica.head.header, number=vc.number, parent_hash=vc.committed_hash,
                              timestamp=replica.wall_now(), transactions_root=_random_hash(sim))
        fake = replica.sign(MsgType.PRE_PREPARE, PrePrepare(max(0, vc.view - 1), vc.number, fake_header, ()))
        vote = replica.sign(MsgType.PREPARE, Vote(max(0, vc.view - 1), vc.number, fake_header.hash(replica.suite)))
        return [_resigned(node, effect, replace(vc, prepared=PreparedProof(fake.raw, (vote.raw,))))]


def _to_first_peer(sim: Simulation, node: SimNode, effect: fx.Broadcast, envelope: Envelope) -> list[fx.Effect]:
    """The message withheld from all but the lowest-index other sealer (a block may get ordered there only)."""
    assert node.replica is not None
    first = next((p for p in _peers(sim, node) if p.index < len(node.replica.sealer_ids)), None)
    return [] if first is None else [_send_to(first, envelope, effect.number, effect.view)]


def _own_block(node: SimNode, timestamp: int) -> tuple[BlockHeader, tuple[bytes, ...]] | None:
    """A proposal of this node's own on its head, from transactions in its pool (None if it has none)."""
    replica = node.replica
    assert replica is not None and replica.my_index is not None
    assert isinstance(replica.pool, TxPool)  # the simulator's; it can list what it holds without sealing it
    txs = replica.pool.pending(4)
    if not txs:
        return None
    hashes = tuple(tx.hash(replica.suite) for tx in txs)
    header = BlockHeader(parent_hash=replica.head_hash, number=replica.height, timestamp=timestamp,
                         sealer=replica.my_index, sealer_list=replica.sealer_ids,
                         transactions_root=merkle_root(replica.suite, list(hashes)))
    return header, hashes


class DropPrepared(Rewriter):
    name = "drop_prepared"
    description = "as a new view's leader, replaces the block a ViewChange proves prepared; Commits to one peer"
    types = frozenset({MsgType.COMMIT, MsgType.NEW_VIEW})

    def rewrite(self, sim: Simulation, node: SimNode, effect: fx.Broadcast, envelope: Envelope) -> list[fx.Effect]:
        if effect.type == MsgType.COMMIT:
            return _to_first_peer(sim, node, effect, envelope)
        nv = envelope.body()
        assert isinstance(nv, NewView)
        fresh = self._instead_of_prepared(node, nv)
        return [effect] if fresh is None else self.announce(node, effect, nv, fresh)

    def announce(self, node: SimNode, effect: fx.Broadcast, nv: NewView, fresh: Envelope) -> list[fx.Effect]:
        """Its fresh block travels in the NewView, in place of the re-proposal."""
        return [_resigned(node, effect, replace(nv, pre_prepare=fresh.raw))]

    @staticmethod
    def _instead_of_prepared(node: SimNode, nv: NewView) -> Envelope | None:
        """When the honest NewView re-proposes a proven block: a PrePrepare of the same transactions
        under a header of its own — another block, which the rules must refuse."""
        replica = node.replica
        assert replica is not None and replica.my_index is not None
        proven = any(isinstance(vc := decode_envelope(raw).body(), ViewChange) and vc.prepared is not None
                     for raw in nv.view_changes)
        if not proven or not nv.pre_prepare:
            return None
        old = decode_envelope(nv.pre_prepare).body()
        assert isinstance(old, PrePrepare)
        header = replace(old.header, sealer=replica.my_index, timestamp=old.header.timestamp + 1)
        return replica.sign(MsgType.PRE_PREPARE, PrePrepare(nv.view, nv.number, header, old.tx_hashes))


class EmptyNewView(DropPrepared):
    name = "empty_new_view"
    description = "as a new view's leader, announces it without the prepared block, then proposes its own"

    def announce(self, node: SimNode, effect: fx.Broadcast, nv: NewView, fresh: Envelope) -> list[fx.Effect]:
        """The view announced with nothing in it, and its proposal sent on its own, as a view's leader may."""
        return [_resigned(node, effect, replace(nv, pre_prepare=b"")),
                fx.Broadcast(fresh.raw, MsgType.PRE_PREPARE, nv.number, nv.view)]


class ThinProof(Rewriter):
    name = "thin_proof"
    description = "ViewChanges prove a block of its own with too little weight; withholds its NewViews"
    types = frozenset({MsgType.COMMIT, MsgType.NEW_VIEW, MsgType.VIEW_CHANGE})

    def __init__(self) -> None:
        self._made_up: dict[tuple[int, int], PreparedProof] = {}  # (height, view) -> the same lie each time

    def rewrite(self, sim: Simulation, node: SimNode, effect: fx.Broadcast, envelope: Envelope) -> list[fx.Effect]:
        if effect.type == MsgType.COMMIT:
            return _to_first_peer(sim, node, effect, envelope)
        if effect.type == MsgType.NEW_VIEW:
            return []  # the view it leads fails: then it has led a view it can claim a block was prepared in
        vc = envelope.body()
        replica = node.replica
        assert isinstance(vc, ViewChange) and replica is not None
        led = [w for w in range(vc.view) if replica.leader(w) == replica.my_index]
        if not led:
            return [effect]
        key = (vc.number, led[-1])
        if key not in self._made_up:
            made = _own_block(node, replica.head.header.timestamp + 1)
            if made is None:
                return [effect]
            header, hashes = made
            own = replica.sign(MsgType.PRE_PREPARE, PrePrepare(led[-1], vc.number, header, hashes))
            self._made_up[key] = PreparedProof(own.raw, ())  # its PrePrepare is its only vote: f weight
        return [_resigned(node, effect, replace(vc, prepared=self._made_up[key]))]


class FutureProof(Rewriter):
    name = "future_proof"
    description = "its ViewChanges carry a prepared proof from a view not before the one they ask for"
    types = frozenset({MsgType.VIEW_CHANGE})

    def rewrite(self, sim: Simulation, node: SimNode, effect: fx.Broadcast, envelope: Envelope) -> list[fx.Effect]:
        vc = envelope.body()
        replica = node.replica
        assert isinstance(vc, ViewChange) and replica is not None
        made = _own_block(node, replica.head.header.timestamp + 1)
        if made is None:
            return [effect]
        header, hashes = made
        n = len(replica.working)
        # The first view from the one asked for that it leads: a proof no honest sealer could have voted in.
        future = next((w for w in range(vc.view, vc.view + n) if replica.leader(w) == replica.my_index), None)
        if future is None:
            return [effect]
        own = replica.sign(MsgType.PRE_PREPARE, PrePrepare(future, vc.number, header, hashes))
        vote = replica.sign(MsgType.PREPARE, Vote(future, vc.number, header.hash(replica.suite)))
        return [_resigned(node, effect, replace(vc, prepared=PreparedProof(own.raw, (vote.raw,))))]


class NewViewNonLeader(Behaviour):
    name = "newview_non_leader"
    description = "announces views it does not lead (a quorum of ViewChanges, its own PrePrepare)"

    def __init__(self) -> None:
        self._announced: set[tuple[int, int]] = set()  # (height, view)

    def outgoing(self, sim: Simulation, node: SimNode, effects: list[fx.Effect]) -> list[fx.Effect]:
        replica = node.replica
        if replica is None or not replica.is_sealer:
            return effects
        out: list[fx.Effect] = []
        for effect in effects:
            if isinstance(effect, fx.Broadcast) and effect.type == MsgType.VIEW_CHANGE:
                # Kept from the view's leader, so the leader lacks a quorum and this node announces it first.
                leader = replica.leader(effect.view)
                out += [_send_to(p, decode_envelope(effect.raw), effect.number, effect.view)
                        for p in _peers(sim, node) if p.index != leader]
            else:
                out.append(effect)
        for view, votes in sorted(replica.view_changes.items()):
            key = (replica.height, view)
            if view <= replica.view or key in self._announced or replica.is_leader(view) or not votes.reached(replica.quorum):
                continue
            self._announced.add(key)
            proposal = self._proposal(node, view, [e.body() for e in votes.votes.values()])
            body = NewView(view, replica.height, tuple(e.raw for _, e in sorted(votes.votes.items())), proposal)
            envelope = replica.sign(MsgType.NEW_VIEW, body)
            out.append(fx.Broadcast(envelope.raw, MsgType.NEW_VIEW, replica.height, view))
        return out

    def _proposal(self, node: SimNode, view: int, view_changes: list[Any]) -> bytes:
        """What the view must propose, signed by this node: the highest proven block, or one of its own."""
        replica = node.replica
        assert replica is not None
        proofs = [_pre_prepare(vc.prepared.pre_prepare) for vc in view_changes if vc.prepared is not None]
        if proofs:
            highest = max(proofs, key=lambda pp: pp.view)
            header, hashes = highest.header, highest.tx_hashes
        else:
            made = _own_block(node, replica.head.header.timestamp + 1)
            if made is None:
                return b""
            header, hashes = made
        return replica.sign(MsgType.PRE_PREPARE, PrePrepare(view, replica.height, header, hashes)).raw


class WeakSync(Behaviour):
    name = "weak_sync"
    description = "serves made-up blocks (asked or not) signed by f weight: itself and its weak_sync colluders"

    def __init__(self) -> None:
        self._served: set[tuple[int, int]] = set()  # (peer, height): one lie per peer and height

    def incoming(self, sim: Simulation, node: SimNode, event: fx.Event) -> Incoming:
        replica = node.replica
        if not isinstance(event, fx.Deliver) or replica is None:
            return event, []
        envelope = _decoded(event.raw)
        sender = sim._index_of.get(event.peer)
        if envelope is None or sender is None:
            return event, []
        body = envelope.body()
        if isinstance(body, SyncRequest) and body.from_number == replica.height:
            targets = [sim.nodes[sender]]  # asked for the block it is deciding: answered with a lie
        elif isinstance(body, PrePrepare) and body.number == replica.height:
            targets = _peers(sim, node)  # a block is being decided: everyone is offered a made-up one
        else:
            return event, []
        extra: list[fx.Effect] = []
        for peer in targets:
            if (peer.index, replica.height) in self._served:
                continue
            block = self._made_up(sim, node, peer.index)
            if block is None:
                break
            self._served.add((peer.index, replica.height))
            response = replica.sign(MsgType.SYNC_RESPONSE, SyncResponse((block.encode(),)))
            extra.append(_send_to(peer, response, block.number, replica.view))
        return event, extra

    def _made_up(self, sim: Simulation, node: SimNode, peer: int) -> Block | None:
        """A block on its head, executed (so a receiver's re-execution agrees), signed by the colluders only."""
        replica = node.replica
        assert replica is not None
        made = _own_block(node, replica.head.header.timestamp + 1 + peer)  # a different block for each peer
        if made is None:
            return None
        header, hashes = made
        txs = tuple(tx for h in hashes if (tx := replica.pool.get(h)) is not None)  # all: _own_block just read them
        result = replica.executor.execute(Block(header, txs), replica.store, replica.store.state_root())
        block_hash = result.block.hash(replica.suite)
        signatures, weight = [], 0
        for other in sim.nodes:  # itself and the other weak_sync sealers, up to f weight: never a quorum
            if isinstance(other.behaviour, WeakSync) and other.index < len(replica.sealer_ids):
                if weight + replica.weights[other.index] > replica.f:
                    break
                weight += replica.weights[other.index]
                signatures.append((other.index, replica.suite.sign(other.key.secret, block_hash)))
        return result.block.with_signatures(signatures)


BEHAVIOURS: dict[str, type[Behaviour]] = {
    cls.name: cls for cls in (Silent, Equivocate, WrongDigest, Forge, DoubleVote, Replay, InvalidBlock, LieViewChange,
                              DropPrepared, EmptyNewView, ThinProof, FutureProof, NewViewNonLeader, WeakSync)
}


def make_behaviour(name: str) -> Behaviour:
    """A fresh behaviour by name; ScenarioError lists the known ones."""
    if name not in BEHAVIOURS:
        raise ScenarioError(f"unknown behaviour {name!r}; choose from {sorted(BEHAVIOURS)}")
    return BEHAVIOURS[name]()


def describe() -> dict[str, Any]:
    return {name: cls.description for name, cls in sorted(BEHAVIOURS.items())}
