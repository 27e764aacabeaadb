"""View change: replacing a leader that does not make progress, without losing a prepared block.

A replica whose view timer expires broadcasts ViewChange(v + 1) carrying its *prepared proof*: the
PrePrepare of the block it prepared (if any) with the quorum of Prepares that made it prepared.
The leader of v + 1 gathers a quorum of ViewChanges and broadcasts NewView with them and a
PrePrepare: if any ViewChange carries a prepared proof, the block of the proof from the highest
view must be re-proposed. Because a committed block was prepared by a quorum and every two quorums
share an honest sealer, that block always shows up in the NewView's quorum — so it is re-proposed,
never replaced. Every replica re-checks the NewView instead of trusting the new leader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from chain.consensus.pbft.messages import Envelope, MsgType, PrePrepare, PreparedProof, ViewChange, Vote
from chain.consensus.pbft.quorum import leader_index
from chain.crypto.suite import CryptoSuite
from chain.errors import ConsensusError

# Decodes a raw nested envelope and checks its signature and that its signer is a sealer.
Verifier = Callable[[bytes], Envelope]


@dataclass(frozen=True)
class ProvenProposal:
    """What a valid prepared proof establishes: block `digest` was prepared in `view`."""

    view: int
    digest: bytes
    pre_prepare: Envelope


def validate_prepared_proof(proof: PreparedProof, *, suite: CryptoSuite, number: int, before_view: int,
                            leader_period: int, weights: tuple[int, ...], needed: int,
                            verify: Verifier) -> ProvenProposal:
    """Check a prepared proof for height `number`; ConsensusError says what is wrong with it."""
    pre_prepare_env = verify(proof.pre_prepare)
    # The proof's first part must be a proposal.
    if pre_prepare_env.type != MsgType.PRE_PREPARE:
        raise ConsensusError("prepared proof: first part is not a PrePrepare")
    pp = pre_prepare_env.body()
    assert isinstance(pp, PrePrepare)
    # It must be about the height being decided.
    if pp.number != number:
        raise ConsensusError(f"prepared proof: for height {pp.number}, not {number}")
    # A proof from the view being entered (or later) cannot exist yet.
    if pp.view >= before_view:
        raise ConsensusError(f"prepared proof: view {pp.view} is not before view {before_view}")
    # Only the leader of that view could propose in it.
    if pre_prepare_env.sender != leader_index(number, pp.view, leader_period, len(weights)):
        raise ConsensusError("prepared proof: PrePrepare not signed by the leader of its view")
    digest = pp.header.hash(suite)
    signers = {pre_prepare_env.sender}
    for raw in proof.prepares:
        prepare_env = verify(raw)
        # The rest must be Prepares…
        if prepare_env.type != MsgType.PREPARE:
            raise ConsensusError("prepared proof: a vote is not a Prepare")
        vote = prepare_env.body()
        assert isinstance(vote, Vote)
        # …for this very proposal, in its view and height.
        if (vote.view, vote.number, vote.digest) != (pp.view, number, digest):
            raise ConsensusError("prepared proof: a Prepare is for another proposal")
        signers.add(prepare_env.sender)
    # Prepared means a quorum (the leader's PrePrepare counts as its Prepare).
    weight = sum(weights[i] for i in signers)
    if weight < needed:
        raise ConsensusError(f"prepared proof: votes weigh {weight}, a quorum needs {needed}")
    return ProvenProposal(pp.view, digest, pre_prepare_env)


def highest_proposal(proposals: list[ProvenProposal]) -> ProvenProposal | None:
    """The proposal prepared in the highest view: the one a NewView must re-propose."""
    if not proposals:
        return None
    return max(proposals, key=lambda p: (p.view, p.digest))


def view_change_target(requested: dict[int, int], weights: tuple[int, ...], current: int, f: int) -> int | None:
    """The view to join when sealers of more than f weight ask for views above `current`.

    `requested` maps a sealer to the highest view it asked for. More than f weight includes an
    honest sealer, so such a view change is real and joining it cannot be forced by liars alone;
    the target is the highest view that more than f weight asked for (at least).
    """
    above = sorted(((view, sender) for sender, view in requested.items() if view > current), reverse=True)
    weight = 0
    for view, sender in above:
        weight += weights[sender]
        if weight > f:
            return view
    return None


def check_view_change_matches(vc: ViewChange, number: int, head_hash: bytes) -> None:
    # A ViewChange is about the height being decided…
    if vc.number != number:
        raise ConsensusError(f"ViewChange for height {vc.number}, not {number}")
    # …on top of the same chain.
    if vc.committed_hash != head_hash:
        raise ConsensusError("ViewChange from a node whose head differs from ours at the same height")
