"""The Prepare and Commit phases: a quorum agrees on one proposal, then on its order.

A sealer that accepted the proposal of (height, view) sends Prepare(view, number, digest). A quorum
of Prepares (the leader's PrePrepare counting as its Prepare) makes the proposal *prepared* here;
the Prepares are kept as the prepared proof that a later ViewChange carries. A prepared sealer
sends Commit; a quorum of Commits orders the block, which then goes to the Checkpoint phase
(chain.consensus.pbft.checkpoint). A sealer votes for one proposal per view: a second, different
vote is double voting and refused.

``PrepareCommitPhases`` holds these handlers; it is mixed into ``Replica``, whose state they use.
"""

from __future__ import annotations

from chain.consensus.pbft.height import Step
from chain.consensus.pbft.messages import Envelope, MsgType, PreparedProof, Vote
from chain.consensus.pbft.quorum import VoteSet
from chain.consensus.pbft.view_change import MAX_VIEWS_AHEAD
from chain.errors import ConsensusError


class PrepareCommitPhases:
    """Counting Prepares and Commits (``on_prepare``, ``on_commit``) and casting this sealer's own."""

    def _votes(self, table: dict[tuple[int, bytes], VoteSet[Envelope]], view: int, digest: bytes) -> VoteSet[Envelope]:
        key = (view, digest)
        if key not in table:
            table[key] = VoteSet(self.weights)
        return table[key]

    def _vote(self, msg_type: MsgType, view: int, digest: bytes, votes: VoteSet[Envelope], evidence: bytes = b"") -> None:
        envelope = self._sign_once(msg_type, view, digest, Vote(view, self.height, digest), evidence)
        if envelope is None:
            return
        assert self.my_index is not None
        votes.add(self.my_index, envelope)
        self.current.sent.add((msg_type, view))
        self.current.voted = True
        self._broadcast(envelope, self.height, view)

    def _record_vote(self, envelope: Envelope, vote: Vote, table: dict[tuple[int, bytes], VoteSet[Envelope]]) -> bool:
        if not self._at_height(envelope, vote.number):
            return False
        # Votes of views we left are void.
        if vote.view < self.view:  # rule: vote_old_view
            raise ConsensusError(f"old view {vote.view}: this node is in view {self.view}")
        # Votes are kept for views ahead of ours, but not without bound.
        if vote.view > self.view + MAX_VIEWS_AHEAD:  # rule: vote_not_too_far
            raise ConsensusError(f"view {vote.view} is too far ahead of this node's view {self.view}")
        first = self.current.first_vote.setdefault((envelope.type, vote.view, envelope.sender), vote.digest)
        # A sealer votes for one proposal per view; a second, different vote is double voting.
        if first != vote.digest:  # rule: vote_one_per_view
            raise ConsensusError(f"sealer {envelope.sender} voted for two proposals in view {vote.view}")
        # A repeated vote adds nothing.
        if not self._votes(table, vote.view, vote.digest).add(envelope.sender, envelope):  # rule: vote_counted_once
            raise ConsensusError("duplicate vote")
        return True

    def on_prepare(self, envelope: Envelope, vote: Vote) -> None:
        if self._record_vote(envelope, vote, self.current.prepares):
            self._check_prepared(vote.view)

    def on_commit(self, envelope: Envelope, vote: Vote) -> None:
        if self._record_vote(envelope, vote, self.current.commits):
            self._check_committed(vote.view)

    def _check_prepared(self, view: int) -> None:
        proposal = self.current.proposals.get(view)
        if proposal is None or view != self.view or self.to_view > self.view:  # rule: no_prepare_while_leaving_view | replace: or self.to_view > self.view =>
            return
        prepares = self._votes(self.current.prepares, view, proposal.digest)
        if not prepares.reached(self.quorum) or (self.current.prepared is not None and self.current.prepared[0] >= view):  # rule: prepared_quorum | replace: not prepares.reached(self.quorum) => False
            return
        proof_votes = tuple(e.raw for i, e in sorted(prepares.votes.items()) if e.type == MsgType.PREPARE)
        self.current.prepared = (view, PreparedProof(proposal.envelope.raw, proof_votes))
        self.current.advance(Step.PREPARED)
        if self.is_sealer and (MsgType.COMMIT, view) not in self.current.sent:
            # The proof is kept with the Commit: after a restart it must still go into our ViewChanges.
            self._vote(MsgType.COMMIT, view, proposal.digest, self._votes(self.current.commits, view, proposal.digest),
                       evidence=self.current.prepared[1].encode())
        self._check_committed(view)

    def _check_committed(self, view: int) -> None:
        """A commit quorum orders the block: it includes more than f honest sealers who saw it prepared."""
        proposal = self.current.proposals.get(view)
        if proposal is None or self.current.committed is not None:
            return
        if not self._votes(self.current.commits, view, proposal.digest).reached(self.quorum):  # rule: ordered_quorum
            return
        self.current.committed = proposal
        self.current.advance(Step.COMMITTED)
        self._execute_and_checkpoint()
