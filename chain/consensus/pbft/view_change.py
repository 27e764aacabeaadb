"""View change: replacing a leader that does not make progress, without losing a prepared block.

A replica whose view timer expires broadcasts ViewChange(v + 1) carrying its *prepared proof*: the
PrePrepare of the block it prepared (if any) with the quorum of Prepares that made it prepared.
The leader of v + 1 gathers a quorum of ViewChanges and broadcasts NewView with them and a
PrePrepare: if any ViewChange carries a prepared proof, the block of the proof from the highest
view must be re-proposed. Because a committed block was prepared by a quorum and every two quorums
share an honest sealer, that block always shows up in the NewView's quorum — so it is re-proposed,
never replaced. Every replica re-checks the NewView instead of trusting the new leader.

The rules are free functions of their inputs. Then the replica's part: asking for a new view,
announcing it as its leader, and entering it (also one missed) — ``on_view_change``, ``on_new_view``.
Each function takes the replica ``r`` whose state it reads and changes; ``Replica`` calls the
``on_*`` ones from its dispatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from chain.consensus.pbft import block_sync
from chain.consensus.pbft import effects as fx
from chain.consensus.pbft import prepare_commit
from chain.consensus.pbft import proposal as proposing
from chain.consensus.pbft.effects import SEAL_TIMER, VIEW_TIMER
from chain.consensus.pbft.ids import Height, View
from chain.consensus.pbft.messages import Envelope, MsgType, NewView, PrePrepare, PreparedProof, ViewChange, Vote
from chain.consensus.pbft.quorum import VoteSet, leader_index, next_timeout_ms
from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError, ConsensusError

if TYPE_CHECKING:
    from chain.consensus.pbft.replica import Replica

# Decodes a raw nested envelope and checks its signature and that its signer is a sealer.
Verifier = Callable[[bytes], Envelope]

MAX_VIEWS_AHEAD = 1000  # votes for views further ahead are refused: a liar could otherwise fill memory


@dataclass(frozen=True)
class ProvenProposal:
    """What a valid prepared proof establishes: block `digest` was prepared in `view`."""

    view: int
    digest: bytes
    pre_prepare: Envelope


def validate_prepared_proof(proof: PreparedProof, *, suite: CryptoSuite, number: Height, before_view: View,
                            leader_period: int, weights: tuple[int, ...], needed: int,
                            verify: Verifier, working: tuple[int, ...] | None = None) -> ProvenProposal:
    """Check a prepared proof for height `number`; ConsensusError says what is wrong with it.

    `working`: the sealers that take turns to lead (rPBFT's working set; None: all of them).
    """
    leaders = working if working is not None else tuple(range(len(weights)))
    pre_prepare_env = verify(proof.pre_prepare)
    # The proof's first part must be a proposal.
    if pre_prepare_env.type != MsgType.PRE_PREPARE:  # rule: proof_first_is_pre_prepare
        raise ConsensusError("prepared proof: first part is not a PrePrepare")
    pp = pre_prepare_env.body()
    assert isinstance(pp, PrePrepare)
    # It must be about the height being decided.
    if pp.number != number:  # rule: proof_same_height
        raise ConsensusError(f"prepared proof: for height {pp.number}, not {number}")
    # A proof from the view being entered (or later) cannot exist yet.
    if pp.view >= before_view:  # rule: proof_from_earlier_view
        raise ConsensusError(f"prepared proof: view {pp.view} is not before view {before_view}")
    # Only the leader of that view could propose in it.
    if pre_prepare_env.sender != leaders[leader_index(number, pp.view, leader_period, len(leaders))]:  # rule: proof_from_leader
        raise ConsensusError("prepared proof: PrePrepare not signed by the leader of its view")
    digest = pp.header.hash(suite)
    signers = {pre_prepare_env.sender}
    for raw in proof.prepares:
        prepare_env = verify(raw)
        # The rest must be Prepares…
        if prepare_env.type != MsgType.PREPARE:  # rule: proof_votes_are_prepares
            raise ConsensusError("prepared proof: a vote is not a Prepare")
        vote = prepare_env.body()
        assert isinstance(vote, Vote)
        # …for this very proposal, in its view and height.
        if (vote.view, vote.number, vote.digest) != (pp.view, number, digest):  # rule: proof_votes_match
            raise ConsensusError("prepared proof: a Prepare is for another proposal")
        signers.add(prepare_env.sender)
    # Prepared means a quorum (the leader's PrePrepare counts as its Prepare).
    weight = sum(weights[i] for i in signers)
    if weight < needed:  # rule: proof_quorum
        raise ConsensusError(f"prepared proof: votes weigh {weight}, a quorum needs {needed}")
    return ProvenProposal(pp.view, digest, pre_prepare_env)


def highest_proposal(proposals: list[ProvenProposal]) -> ProvenProposal | None:
    """The proposal prepared in the highest view: the one a NewView must re-propose."""
    if not proposals:
        return None
    return max(proposals, key=lambda p: (p.view, p.digest))  # rule: highest_prepared_view | replace: max( => min(


def view_change_target(requested: dict[int, int], weights: tuple[int, ...], current: View, f: int) -> int | None:
    """The view to join when sealers of more than f weight ask for views above `current`.

    `requested` maps a sealer to the highest view it asked for. More than f weight includes an
    honest sealer, so such a view change is real and joining it cannot be forced by liars alone;
    the target is the highest view that more than f weight asked for (at least).
    """
    above = sorted(((view, sender) for sender, view in requested.items() if view > current), reverse=True)
    weight = 0
    for view, sender in above:
        weight += weights[sender]
        if weight > f:  # rule: join_needs_more_than_f | replace: weight > f => weight > 0
            return view
    return None


def check_view_change_matches(vc: ViewChange, number: Height, head_hash: bytes) -> None:
    # A ViewChange is about the height being decided…
    if vc.number != number:  # rule: vc_same_height
        raise ConsensusError(f"ViewChange for height {vc.number}, not {number}")
    # …on top of the same chain.
    if vc.committed_hash != head_hash:  # rule: vc_same_head
        raise ConsensusError("ViewChange from a node whose head differs from ours at the same height")


# --- the replica's part ------------------------------------------------------------------------


def on_view_timeout(r: Replica) -> None:
    """The view timer expired: ask for the next view — unless no quorum wants the one we asked for yet.

    A sealer cut off from the others would otherwise climb a view per timeout on its own; after
    the partition heals it would sit views above the rest, refusing (as its ViewChange promised)
    every view they can form, and with one more sealer down no view would ever gather a quorum.
    As in Castro and Liskov's PBFT, a sealer moves past view v only once sealers of quorum
    weight asked for v or higher; until then each timeout sends its ViewChange(v) again.
    """
    if r.to_view > r.view and not _quorum_asked(r, r.to_view):
        if r.resend(int(MsgType.VIEW_CHANGE), r.to_view):
            r.set_timer(VIEW_TIMER, r.timeout())
            return
    _start_view_change(r, max(r.view, r.to_view) + 1)


def _quorum_asked(r: Replica, view: View) -> bool:
    weight = sum(r.weights[s] for s, asked in r.current.requested_views.items() if asked >= view)
    return weight >= r.quorum


def _start_view_change(r: Replica, to_view: View) -> None:
    if not r.is_sealer or to_view <= r.to_view:
        return
    proof = r.current.prepared[1] if r.current.prepared is not None else None
    digest = b"" if proof is None else r.suite.hash(proof.pre_prepare)
    envelope = r.sign_once(MsgType.VIEW_CHANGE, to_view, digest, ViewChange(to_view, r.height, r.head_hash, proof))
    if envelope is None:
        return
    r.to_view = to_view
    r.consecutive_view_changes += 1
    r.cancel_timer(SEAL_TIMER)
    assert r.my_index is not None
    _view_change_votes(r, to_view).add(r.my_index, envelope)
    r.current.requested_views[r.my_index] = to_view
    r.current.voted = True
    r.emit(fx.ViewChangeStarted(r.height, to_view))
    r.broadcast(envelope, r.height, to_view)
    r.set_timer(VIEW_TIMER, r.timeout())
    _check_new_view(r, to_view)


def _view_change_votes(r: Replica, view: View) -> VoteSet[Envelope]:
    if view not in r.current.view_changes:
        r.current.view_changes[view] = VoteSet(r.weights)
    return r.current.view_changes[view]


def _validate_proof(r: Replica, proof: PreparedProof, before_view: View) -> ProvenProposal:
    return validate_prepared_proof(
        proof, suite=r.suite, number=r.height, before_view=before_view, leader_period=r.leader_period,
        weights=r.weights, needed=r.quorum, verify=r.verify_sealer_message, working=r.working,
    )


def on_view_change(r: Replica, envelope: Envelope, vc: ViewChange) -> None:
    if vc.number < r.height:
        block_sync.help_lagging(r, envelope.sender, vc.number)
    if not r.at_height(envelope, vc.number):
        return
    check_view_change_matches(vc, r.height, r.head_hash)
    # Asking for a view we are already in (or past) changes nothing.
    if vc.view <= r.view:  # rule: vc_old_view
        raise ConsensusError(f"old view {vc.view}: this node is in view {r.view}")
    # ViewChanges are kept for views ahead of ours, but not without bound.
    if vc.view > r.view + MAX_VIEWS_AHEAD:  # rule: vc_not_too_far
        raise ConsensusError(f"view {vc.view} is too far ahead of this node's view {r.view}")
    # A carried proof must hold up, or the NewView built on it would be wrong.
    if vc.prepared is not None:  # rule: vc_proof_checked
        _validate_proof(r, vc.prepared, vc.view)
    # A repeated ViewChange adds nothing.
    if not _view_change_votes(r, vc.view).add(envelope.sender, envelope):  # rule: vc_counted_once
        raise ConsensusError("duplicate ViewChange")
    r.current.requested_views[envelope.sender] = max(vc.view, r.current.requested_views.get(envelope.sender, 0))
    # More than f weight wants a higher view: at least one honest sealer does, so join it.
    target = view_change_target(r.current.requested_views, r.weights, r.to_view, r.f)
    if target is not None:
        _start_view_change(r, target)
    _check_new_view(r, vc.view)


def _check_new_view(r: Replica, view: View) -> None:
    """As leader of `view`, announce it once a quorum asked for it."""
    if not r.is_leader(view) or view in r.current.new_view_sent or view <= r.view:
        return
    votes = _view_change_votes(r, view)
    if not votes.reached(r.quorum):  # rule: leader_waits_for_quorum
        return
    proven = []
    for vc_envelope in votes.votes.values():
        vc = vc_envelope.body()
        assert isinstance(vc, ViewChange)
        if vc.prepared is not None:  # rule: leader_reads_proofs
            proven.append(_validate_proof(r, vc.prepared, view))
    chosen = highest_proposal(proven)
    pre_prepare = b""
    proposal_body: PrePrepare | None = None
    if chosen is not None:  # rule: leader_reproposes_prepared
        old = chosen.pre_prepare.body()
        assert isinstance(old, PrePrepare)
        proposal_body = PrePrepare(view, r.height, old.header, old.tx_hashes)
    elif r.pool.ready > 0:
        proposal_body = proposing.new_proposal(r, view)
    if proposal_body is not None:
        signed = r.sign_once(MsgType.PRE_PREPARE, view, proposal_body.header.hash(r.suite), proposal_body,
                             proposing.transactions_evidence(r, proposal_body.tx_hashes))
        if signed is None:
            return  # it proposed something else in this view before a restart; the next view change moves on
        pre_prepare = signed.raw
    view_changes = tuple(e.raw for _, e in sorted(votes.votes.items()))
    envelope = r.sign_once(MsgType.NEW_VIEW, view, b"", NewView(view, r.height, view_changes, pre_prepare))
    if envelope is None:
        return
    r.current.new_view_sent.add(view)
    r.broadcast(envelope, r.height, view)
    _install_new_view(r, view, pre_prepare, chosen is not None)


def on_new_view(r: Replica, envelope: Envelope, nv: NewView) -> None:
    if not r.at_height(envelope, nv.number):
        return
    # Entering a view we are in (or past) again changes nothing — unless we joined it on the
    # others' word and lack exactly this: the NewView that says what the view proposes.
    if nv.view < r.view or (nv.view == r.view and r.current.joined_view != nv.view):  # rule: nv_old_view
        raise ConsensusError(f"old view {nv.view}: this node is in view {r.view}")
    # Having asked for a higher view, we do not go back (our ViewChange promised that).
    if nv.view < r.to_view:  # rule: nv_not_below_asked
        raise ConsensusError(f"NewView for view {nv.view}, but this node asked for view {r.to_view}")
    # Only the leader of the new view announces it.
    if envelope.sender != r.leader(nv.view):  # rule: nv_from_leader
        raise ConsensusError(f"sender {envelope.sender} is not the leader of view {nv.view}")
    votes: VoteSet[Envelope] = VoteSet(r.weights)
    proven = []
    for raw in nv.view_changes:
        vc_envelope = r.verify_sealer_message(raw)
        # A NewView is justified by ViewChanges only.
        if vc_envelope.type != MsgType.VIEW_CHANGE:  # rule: nv_holds_view_changes
            raise ConsensusError("NewView holds a message that is not a ViewChange")
        vc = vc_envelope.body()
        assert isinstance(vc, ViewChange)
        # Each asks for this view at this height on our chain.
        if vc.view != nv.view:  # rule: nv_view_changes_for_its_view
            raise ConsensusError(f"NewView holds a ViewChange for view {vc.view}, not {nv.view}")
        check_view_change_matches(vc, r.height, r.head_hash)
        # Each sealer counts once.
        if not votes.add(vc_envelope.sender, vc_envelope):  # rule: nv_one_view_change_per_sealer
            raise ConsensusError("NewView holds two ViewChanges of one sealer")
        if vc.prepared is not None:  # rule: nv_reads_proofs
            proven.append(_validate_proof(r, vc.prepared, nv.view))
    # A quorum must have asked for the view.
    if not votes.reached(r.quorum):  # rule: nv_quorum
        raise ConsensusError(f"NewView's ViewChanges weigh {votes.weight}, a quorum needs {r.quorum}")
    chosen = highest_proposal(proven)
    pp: PrePrepare | None = None
    if nv.pre_prepare:
        pp_envelope = r.verify_sealer_message(nv.pre_prepare)
        body = pp_envelope.body()
        # The proposal must be a PrePrepare of the new leader for this view and height.
        if pp_envelope.type != MsgType.PRE_PREPARE or pp_envelope.sender != envelope.sender:  # rule: nv_proposal_of_leader
            raise ConsensusError("NewView's proposal is not a PrePrepare of the new leader")
        assert isinstance(body, PrePrepare)
        pp = body
        if (pp.view, pp.number) != (nv.view, r.height):  # rule: nv_proposal_view_height
            raise ConsensusError("NewView's PrePrepare is for another view or height")
    # A block prepared in an earlier view must be re-proposed, never replaced.
    if chosen is not None:
        if pp is None:  # rule: nv_keeps_prepared
            raise ConsensusError("NewView drops a prepared block")
        if pp.header.hash(r.suite) != chosen.digest:  # rule: nv_reproposes_prepared
            raise ConsensusError("NewView replaces a prepared block with another one")
    _install_new_view(r, nv.view, nv.pre_prepare, chosen is not None)


def _install_new_view(r: Replica, view: View, pre_prepare: bytes, reproposal: bool) -> None:
    if view == r.current.joined_view:
        r.current.joined_view = None  # now it knows what the view proposes
    else:
        _change_view(r, view)
    if pre_prepare:
        envelope = r.verify(pre_prepare)
        pp = envelope.body()
        assert isinstance(pp, PrePrepare)
        # Also the new leader's own: it travels inside the NewView, and a re-proposed block's
        # transactions may have to be fetched first (from the sealers that accepted it).
        try:
            proposing.accept_pre_prepare(r, envelope, pp, reproposal=reproposal)
        except ChainError as exc:
            r.reject(str(exc), envelope.type.name, envelope.sender)
    prepare_commit.check_prepared(r, view)
    prepare_commit.check_committed(r, view)


def enter_view(r: Replica, view: View) -> None:
    proposing.release_own_proposals(r)
    r.view = view
    r.current.enter_view()
    r.to_view = max(r.to_view, view)
    r.consecutive_view_changes = 0


def _change_view(r: Replica, view: View) -> None:
    """Enter `view` as the outcome of a view change: say so, and restart the view timer if work waits."""
    enter_view(r, view)
    r.emit(fx.ViewChanged(r.height, view))
    if r.pool_has_work():
        r.set_timer(VIEW_TIMER, r.timeout())
    else:
        r.cancel_timer(VIEW_TIMER)


def maybe_join_view(r: Replica) -> None:
    """Join the view that sealers of more than f weight act in at our height, if it is above ours.

    Proposals and votes are only made in a view one has entered, so among more than f weight
    at least one honest sealer entered that view through a valid NewView: the view change
    really happened, and a replica that missed it (restarted, or cut off) follows. Having not
    seen that NewView, it does not know which block the view must re-propose, so it takes no
    PrePrepare of that view at this height; it votes again from the next height or NewView.
    A view below one it asked for is never joined (its ViewChange promised not to act there).
    """
    target = view_change_target(r.current.views_seen, r.weights, max(r.view, r.to_view - 1), r.f)
    if target is None:
        return
    _change_view(r, target)
    r.current.joined_view = target
