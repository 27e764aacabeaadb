"""What a replica knows about the one height it is deciding, and how far it got: ``HeightState`` and ``Step``.

Everything here is scoped to one block number. The replica makes a fresh ``HeightState`` when it
starts on a height and drops the old one when the block is decided — nothing is reset field by
field, so nothing learnt at height n can leak into n + 1 by a forgotten reset. (A pipelined
replica will keep several of these alive at once, one per height in flight.) What outlives a
height — the view, the view it asks for, the node list, timers — stays on the replica.

``Step`` is how far the height got in the view the replica is in. It only moves forward
(``advance``), except that entering a later view goes back to ``NEW``: a proposal or prepared
certificate of an earlier view is not one of the new view. Once the block is ordered
(``COMMITTED``) no view change can take that back, so the step stays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from chain.consensus.pbft.ids import Digest, Height, NodeIndex, View
from chain.consensus.pbft.messages import Envelope, MsgType, PrePrepare, PreparedProof
from chain.consensus.pbft.quorum import VoteSet
from chain.errors import ConsensusError
from chain.execution.result import ExecutionResult
from chain.ledger.block import Block
from chain.ledger.transaction import Transaction


class Step(IntEnum):
    """How far the height being decided got in the current view (ordered: a step only moves forward)."""

    NEW = 0  # no proposal accepted in this view yet
    PRE_PREPARED = 1  # the leader's proposal for this view is accepted (our Prepare is out)
    PREPARED = 2  # a quorum of Prepares for it: our Commit is out
    COMMITTED = 3  # a quorum of Commits ordered the block (in this view or an earlier one)
    EXECUTED = 4  # executed here; our Checkpoint is out, waiting for a quorum of them


@dataclass
class Proposal:
    """A PrePrepare this replica accepted in one view, with its transactions."""

    envelope: Envelope
    pre_prepare: PrePrepare
    digest: Digest
    block: Block


# The names status() reports (the dashboard and the simulator's node_status() show them).
STEP_NAMES: dict[Step, str] = {
    Step.PRE_PREPARED: "pre-prepared", Step.PREPARED: "prepared", Step.COMMITTED: "committed",
    Step.EXECUTED: "checkpointing",
}


@dataclass
class HeightState:
    """The proposals, votes and outcome of deciding block ``number``; dropped once it is decided."""

    number: Height
    since: int  # when this height began to be decided (ms; re-sending waits resend_ms from here)
    step: Step = Step.NEW
    proposals: dict[View, Proposal] = field(default_factory=dict)  # view -> accepted proposal
    prepares: dict[tuple[View, Digest], VoteSet[Envelope]] = field(default_factory=dict)
    commits: dict[tuple[View, Digest], VoteSet[Envelope]] = field(default_factory=dict)
    first_vote: dict[tuple[MsgType, View, NodeIndex], Digest] = field(default_factory=dict)  # (type, view, sender) -> digest
    prepared: tuple[View, PreparedProof] | None = None  # (view, proof), highest view
    sent: set[tuple[MsgType, View]] = field(default_factory=set)  # (type, view) this replica already voted
    committed: Proposal | None = None  # the proposal a commit quorum ordered
    executed: ExecutionResult | None = None
    checkpoints: dict[Digest, VoteSet[bytes]] = field(default_factory=dict)  # executed hash -> sealer signatures
    checkpoint_of: dict[NodeIndex, Digest] = field(default_factory=dict)  # sender -> hash it signed
    view_changes: dict[View, VoteSet[Envelope]] = field(default_factory=dict)  # to view -> signed ViewChanges
    requested_views: dict[NodeIndex, View] = field(default_factory=dict)  # sender -> highest view asked for
    new_view_sent: set[View] = field(default_factory=set)
    waiting: list[tuple[Envelope, bool]] = field(default_factory=list)  # PrePrepares waiting for transactions
    tx_request_sent: set[Digest] = field(default_factory=set)
    voted: bool = False  # this replica voted (or proposed, or asked for a view) at this height
    signed: dict[tuple[int, View], Digest] = field(default_factory=dict)  # (phase, view) -> what this node signed (durable)
    sent_raw: dict[tuple[int, View], bytes] = field(default_factory=dict)  # (phase, view) -> the envelope it sent (to re-send)
    # Transactions of proposals seen here (kept durably with our vote on them).
    kept_txs: dict[Digest, Transaction] = field(default_factory=dict)
    views_seen: dict[NodeIndex, View] = field(default_factory=dict)  # sealer -> highest view it acts in at this height
    joined_view: View | None = None  # a view joined on others' word, not through a NewView
    # An idle leader gathering transactions (proposal.gather): since when, how many it saw, and when the last came.
    gather_since: int | None = None
    gather_seen: int = 0
    gather_last: int = 0

    def advance(self, step: Step) -> None:
        """Move forward to `step`; a step already reached (or passed) stays, a step is never undone here."""
        if step < Step.PRE_PREPARED:
            raise ConsensusError(f"step {step.name} is not reached by advancing")
        if step > self.step:
            self.step = step

    def enter_view(self) -> None:
        """A later view begins: what was proposed or prepared in the earlier one is not this view's.

        An ordered block stays ordered: from ``COMMITTED`` on, the step is kept.
        """
        if self.step < Step.COMMITTED:
            self.step = Step.NEW
