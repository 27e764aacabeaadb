"""The Prepare and Commit phases: a quorum agrees on one proposal, then on its order.

A sealer that accepted the proposal of (height, view) sends Prepare(view, number, digest). A quorum
of Prepares (the leader's PrePrepare counting as its Prepare) makes the proposal *prepared* here;
the Prepares are kept as the prepared proof that a later ViewChange carries. A prepared sealer
sends Commit; a quorum of Commits orders the block, which then goes to the Checkpoint phase
(chain.consensus.pbft.checkpoint). A sealer votes for one proposal per view: a second, different
vote is double voting and refused.

Here: counting Prepares and Commits (``on_prepare``, ``on_commit``) and casting this sealer's own.
Each function takes the replica ``r`` whose state it reads and changes; ``Replica`` calls the
``on_*`` ones from its dispatch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chain.consensus.pbft import checkpoint as checkpointing
from chain.consensus.pbft import view_change
from chain.consensus.pbft.height import Step
from chain.consensus.pbft.ids import Digest, View
from chain.consensus.pbft.messages import Envelope, MsgType, PreparedProof, Vote
from chain.consensus.pbft.quorum import VoteSet
from chain.errors import ConsensusError

if TYPE_CHECKING:
    from chain.consensus.pbft.replica import Replica


def vote_set(r: Replica, table: dict[tuple[int, bytes], VoteSet[Envelope]], view: View, digest: Digest) -> VoteSet[Envelope]:
    key = (view, digest)
    if key not in table:
        table[key] = VoteSet(r.weights)
    return table[key]


def cast_vote(r: Replica, msg_type: MsgType, view: View, digest: Digest, votes: VoteSet[Envelope], evidence: bytes = b"") -> None:
    envelope = r.sign_once(msg_type, view, digest, Vote(view, r.height, digest), evidence)
    if envelope is None:
        return
    assert r.my_index is not None
    votes.add(r.my_index, envelope)
    r.current.sent.add((msg_type, view))
    r.current.voted = True
    r.broadcast(envelope, r.height, view)


def _record_vote(r: Replica, envelope: Envelope, vote: Vote, table: dict[tuple[int, bytes], VoteSet[Envelope]]) -> bool:
    if not r.at_height(envelope, vote.number):
        return False
    # Votes of views we left are void.
    if vote.view < r.view:  # rule: vote_old_view
        raise ConsensusError(f"old view {vote.view}: this node is in view {r.view}")
    # Votes are kept for views ahead of ours, but not without bound.
    if vote.view > r.view + view_change.MAX_VIEWS_AHEAD:  # rule: vote_not_too_far
        raise ConsensusError(f"view {vote.view} is too far ahead of this node's view {r.view}")
    first = r.current.first_vote.setdefault((envelope.type, vote.view, envelope.sender), vote.digest)
    # A sealer votes for one proposal per view; a second, different vote is double voting.
    if first != vote.digest:  # rule: vote_one_per_view
        raise ConsensusError(f"sealer {envelope.sender} voted for two proposals in view {vote.view}")
    # A repeated vote adds nothing.
    if not vote_set(r, table, vote.view, vote.digest).add(envelope.sender, envelope):  # rule: vote_counted_once
        raise ConsensusError("duplicate vote")
    return True


def on_prepare(r: Replica, envelope: Envelope, vote: Vote) -> None:
    if _record_vote(r, envelope, vote, r.current.prepares):
        check_prepared(r, vote.view)


def on_commit(r: Replica, envelope: Envelope, vote: Vote) -> None:
    if _record_vote(r, envelope, vote, r.current.commits):
        check_committed(r, vote.view)


def check_prepared(r: Replica, view: View) -> None:
    proposal = r.current.proposals.get(view)
    if proposal is None or view != r.view or r.to_view > r.view:  # rule: no_prepare_while_leaving_view | replace: or r.to_view > r.view =>
        return
    prepares = vote_set(r, r.current.prepares, view, proposal.digest)
    if not prepares.reached(r.quorum) or (r.current.prepared is not None and r.current.prepared[0] >= view):  # rule: prepared_quorum | replace: not prepares.reached(r.quorum) => False
        return
    proof_votes = tuple(e.raw for i, e in sorted(prepares.votes.items()) if e.type == MsgType.PREPARE)
    r.current.prepared = (view, PreparedProof(proposal.envelope.raw, proof_votes))
    r.current.advance(Step.PREPARED)
    if r.is_sealer and (MsgType.COMMIT, view) not in r.current.sent:
        # The proof is kept with the Commit: after a restart it must still go into our ViewChanges.
        cast_vote(r, MsgType.COMMIT, view, proposal.digest, vote_set(r, r.current.commits, view, proposal.digest),
                  evidence=r.current.prepared[1].encode())
    check_committed(r, view)


def check_committed(r: Replica, view: View) -> None:
    """A commit quorum orders the block: it includes more than f honest sealers who saw it prepared."""
    proposal = r.current.proposals.get(view)
    if proposal is None or r.current.committed is not None:
        return
    if not vote_set(r, r.current.commits, view, proposal.digest).reached(r.quorum):  # rule: ordered_quorum
        return
    r.current.committed = proposal
    r.current.advance(Step.COMMITTED)
    if not r.pipelined:  # ordered early (chain.consensus.pbft.pipeline): executed once its parent is stored
        checkpointing.execute_and_checkpoint(r)
