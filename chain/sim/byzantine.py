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
=================  ===============================================================================
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.messages import (
    Checkpoint, Envelope, MsgType, PreparedProof, PrePrepare, ViewChange, Vote, decode_envelope, make_envelope,
)
from chain.errors import ChainError, ScenarioError

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


def _is_network(effect: fx.Effect) -> bool:
    return isinstance(effect, (fx.Send, fx.Broadcast))


def _peers(sim: Simulation, node: SimNode) -> list[SimNode]:
    return [other for other in sim.nodes if other.index != node.index]


def _send_to(other: SimNode, envelope: Envelope, number: int, view: int) -> fx.Send:
    return fx.Send(other.node_id, envelope.raw, envelope.type, number, view)


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
        return ([_send_to(p, envelope, pp.number, pp.view) for p in peers[:half]]
                + [_send_to(p, other, pp.number, pp.view) for p in peers[half:]])

    def incoming(self, sim: Simulation, node: SimNode, event: fx.Event) -> Incoming:
        extra: list[fx.Effect] = []
        if isinstance(event, fx.Deliver) and node.replica is not None and node.replica.is_sealer:
            envelope = _decoded(event.raw)
            sender = sim._index_of.get(event.peer)
            if envelope is not None and sender is not None and envelope.type in (MsgType.PREPARE, MsgType.COMMIT, MsgType.CHECKPOINT):
                body = envelope.body()
                digest = body.block_hash if isinstance(body, Checkpoint) else body.digest  # type: ignore[union-attr]
                view = getattr(body, "view", 0)
                key = (sender, int(envelope.type), view, digest)
                if key not in self._echoed and getattr(body, "number", -1) == node.replica.height:
                    self._echoed.add(key)
                    echo = node.replica.sign(envelope.type, body)
                    extra.append(_send_to(sim.nodes[sender], echo, body.number, view))  # type: ignore[union-attr]
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
            envelope = _decoded(effect.raw)  # type: ignore[union-attr]
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
            out.append(replace(effect, raw=forged.raw))  # type: ignore[type-var]
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
                              timestamp=replica.now, transactions_root=_random_hash(sim))
        fake = replica.sign(MsgType.PRE_PREPARE, PrePrepare(max(0, vc.view - 1), vc.number, fake_header, ()))
        vote = replica.sign(MsgType.PREPARE, Vote(max(0, vc.view - 1), vc.number, fake_header.hash(replica.suite)))
        return [_resigned(node, effect, replace(vc, prepared=PreparedProof(fake.raw, (vote.raw,))))]


BEHAVIOURS: dict[str, type[Behaviour]] = {
    cls.name: cls for cls in (Silent, Equivocate, WrongDigest, Forge, DoubleVote, Replay, InvalidBlock, LieViewChange)
}


def make_behaviour(name: str) -> Behaviour:
    """A fresh behaviour by name; ScenarioError lists the known ones."""
    if name not in BEHAVIOURS:
        raise ScenarioError(f"unknown behaviour {name!r}; choose from {sorted(BEHAVIOURS)}")
    return BEHAVIOURS[name]()


def describe() -> dict[str, Any]:
    return {name: cls.description for name, cls in sorted(BEHAVIOURS.items())}
