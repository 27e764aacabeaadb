"""The PBFT replica: one node's side of the protocol, as a sans-IO state machine.

    effects = replica.handle(event, now_ms)

One block height is decided at a time (``height`` = head + 1), in four phases (FISCO BCOS 3.x):

1. **PrePrepare** — the leader of (height, view) proposes a block (header + transaction hashes).
2. **Prepare** — a sealer that finds the proposal valid says so to all. A quorum of Prepares (the
   PrePrepare counting as the leader's) makes the proposal *prepared* at that sealer.
3. **Commit** — a prepared sealer says so to all; a quorum of Commits orders the block.
4. **Checkpoint** — each sealer executes the block and signs the executed header hash; a quorum of
   those signatures is the block's signature list, and the block is written to the store.

If the view timer (running only while transactions wait) expires, the replica asks for a view
change (chain.consensus.pbft.view_change). A replica that learns of blocks above its head fetches
them (chain.consensus.pbft.block_sync), and asks again on every ``Tick`` while peers claim to be ahead.
Observers run the same code but never vote.

What a sealer signs in the phases above (its proposal, Prepare, Commit, Checkpoint, ViewChange,
NewView) is written to its store *before* the message leaves (``Store.record_vote``) and read back
on restart: a crash never turns an honest sealer into one that signs two conflicting things.

Every rule a message must pass is one check in the handler of that message, with its reason; a
message that breaks one is answered by a ``Rejected`` effect and changes nothing.

This module holds the replica's state and what every phase shares: signing (once per slot),
receiving (decode, cheap checks, signature, then one ``match`` on the message type that calls its
``on_<message>`` handler), messages kept for a later height, committing a decided block, and timers.
What belongs to the height being decided lives in ``self.current``, a
``chain.consensus.pbft.height.HeightState`` made fresh for each height and dropped once the block
is decided, with its explicit ``Step``; what outlives a height (view, node list, timers) is here.

The handlers of each protocol concept are functions over the replica (``f(r, ...)``) in the module
named after it; ``_dispatch`` names the one each message type goes to:

===============================================  ==============================================
chain.consensus.pbft.proposal                    sealing as leader; ``on_pre_prepare``
chain.consensus.pbft.prepare_commit              ``on_prepare``, ``on_commit``; prepared, ordered
chain.consensus.pbft.checkpoint                  executing, ``on_checkpoint``; the signature list
chain.consensus.pbft.view_change                 ``on_view_change``, ``on_new_view``; joining a view
chain.consensus.pbft.tx_relay                    ``on_tx_gossip``, ``on_tx_request``, ``on_tx_response``
chain.consensus.pbft.block_sync                  ``on_sync_request``, ``on_sync_response``
===============================================  ==============================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol, Sequence

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.effects import SEAL_TIMER, VIEW_TIMER
from chain.consensus.pbft.height import STEP_NAMES, HeightState, Proposal, Step
from chain.consensus.pbft.ids import Digest, Height, NodeId, NodeIndex, View
from chain.consensus.pbft.messages import (
    SEALER_ONLY, Body, Checkpoint, Envelope, MsgType, NewView, PreparedProof, PrePrepare, SyncRequest, SyncResponse,
    TxList, TxRequest, ViewChange, Vote, decode_envelope, make_envelope, sign_message, signing_domain,
)
from chain.consensus.pbft.quorum import VoteSet, leader_index, max_faulty, next_timeout_ms, quorum
from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError, ConsensusError, CryptoError, LedgerError
from chain.ledger import codec
from chain.execution.result import BlockExecutor, ExecutionResult
from chain.ledger.block import Block
from chain.ledger.receipt import Receipt
from chain.ledger.state import Changes
from chain.ledger.store import SignedVote
from chain.ledger.system import (
    BLOCK_GAS_LIMIT, LEADER_PERIOD, TX_COUNT_LIMIT, consensus_nodes, get_config_int, tx_gas_limit,
)
from chain.ledger.transaction import Transaction
from chain.consensus.pbft import block_sync
from chain.consensus.pbft import pipeline
from chain.consensus.pbft import checkpoint as checkpointing
from chain.consensus.pbft import prepare_commit
from chain.consensus.pbft import proposal as proposing
from chain.consensus.pbft import rpbft
from chain.consensus.pbft import tx_relay
from chain.consensus.pbft import view_change

# Sent unsigned, and taken on the word of the sender's own link (Replica._vouched_by_link says why).
LINK_AUTHENTICATED = frozenset({MsgType.COMMIT, MsgType.TX_GOSSIP, MsgType.TX_RESPONSE})


class ChainStore(Protocol):
    """What the replica needs from chain.ledger.store.Store."""

    suite: CryptoSuite

    def get(self, table: str, key: bytes) -> bytes | None: ...
    def head_number(self) -> int: ...
    def head(self) -> Block | None: ...
    def block_by_number(self, number: Height) -> Block | None: ...
    def block_hash(self, number: Height) -> bytes | None: ...
    def has_transaction(self, tx_hash: bytes) -> bool: ...
    def transaction(self, tx_hash: bytes) -> tuple[Transaction, int, int] | None: ...
    def state_root(self) -> bytes: ...
    def commit_block(self, block: Block, receipts: Sequence[Receipt], changes: Changes) -> None: ...
    def record_vote(self, number: Height, phase: int, view: View, digest: Digest, evidence: bytes = b"") -> None: ...
    def signed_votes(self) -> list[SignedVote]: ...


class Pool(Protocol):
    """What the replica needs from chain.txpool.pool.TxPool."""

    def submit(self, tx: Transaction) -> bytes: ...
    def get(self, tx_hash: bytes) -> Transaction | None: ...
    def holds_encoded(self, raw: bytes) -> bool: ...
    def __len__(self) -> int: ...
    @property
    def ready(self) -> int: ...
    def select(self, limit: int, gas_limit: int | None = None) -> list[Transaction]: ...
    def release(self, tx_hashes: Iterable[bytes]) -> None: ...
    def hold(self, tx_hashes: Iterable[bytes]) -> None: ...
    def verify_proposal(self, txs: Sequence[Transaction], number: Height) -> None: ...
    def remove_committed(self, block: Block) -> None: ...


@dataclass(frozen=True)
class ReplicaConfig:
    timeout_ms: int = 3000  # view timer base (FISCO BCOS default)
    max_timeout_exponent: int = 6  # the timer grows ×1.5 per consecutive view change, at most 1.5^6
    min_seal_time_ms: int = 500  # a leader waits at most this long for more transactions (proposal.maybe_seal)
    seal_when_idle: bool = True  # False: always wait min_seal_time (a lesson that shows the leader gathering)
    sync_batch: int = 16  # blocks per sync response
    sync_retry_ms: int = 1000  # an unanswered sync request is retried after this long
    start_probe_ms: int = 10_000  # after start, ask everyone for blocks on each Tick until a peer is heard
    idle_probe_ms: int = 5000  # with no new block this long, ask everyone once for blocks above our head
    max_future_messages: int = 4096  # messages for heights above ours, kept until we get there
    verified_cache: int = 20_000  # raw envelopes whose signature this replica already checked
    resend_ms: int = 1000  # with work waiting and nothing moving this long, re-send what it signed (on Tick)
    # FISCO 2.x broadcast_prepare_by_tree: >= 2 sends a proposal down a tree of this width, and rPBFT's
    # decided blocks down one over the followers (chain.consensus.pbft.rpbft); 0: straight to everyone.
    tree_width: int = 0
    # chain.consensus.pbft.pipeline: order the next height while this one is checkpointed and stored.
    pipeline: bool = True


class Replica:
    """One node's PBFT state; each phase's handlers are functions over it in the module of that phase (see above)."""

    def __init__(self, suite: CryptoSuite, secret: int, store: ChainStore, pool: Pool, executor: BlockExecutor,
                 config: ReplicaConfig | None = None) -> None:
        self.suite = suite
        self._secret = secret
        self.node_id = suite.public_key(secret)
        self.store = store
        self.pool = pool
        self.executor = executor
        self.config = config or ReplicaConfig()
        self.now = 0
        self.view = 0
        self.to_view = 0  # > view while this replica is asking for a view change
        self.consecutive_view_changes = 0
        self._out: list[fx.Effect] = []
        self._verified: dict[bytes, bytes] = {}  # raw envelope -> signer node id
        self._future: list[tuple[Envelope, bytes]] = []  # with the link each came on
        self._link: bytes = b""  # the link the message being handled came on (for at_height to file it with)
        # The pipeline (chain.consensus.pbft.pipeline): the next height, ordered while this one is checkpointed.
        self.next: HeightState | None = None
        self.next_parent: Block | None = None  # the executed, not yet stored, block it is ordered on
        self.next_view: View = 0  # the view it was opened in (a view change drops it)
        self.pipelined = False  # True while the handlers run for the next height (pipeline.context)
        self.signed_ahead: Height | None = None  # a height the pipeline voted at, then let go (pipeline.drop)
        self._timers: dict[str, int] = {}  # name -> deadline (ms)
        self.sync = block_sync.SyncState()  # who is ahead of us, and when we last asked
        self._height_advanced = False
        self._client_txs: dict[bytes, int] = {}  # our clients' transactions until committed -> when last gossiped
        self._resent_at = 0
        # Unix epoch ms for block timestamps, set by the driver (chain.consensus.pbft.proposal says why).
        self.wall_clock: Callable[[], int] | None = None
        genesis = store.block_by_number(0)
        if genesis is None:
            raise ConsensusError("the store holds no genesis block")
        self.domain = signing_domain(genesis, suite)  # this group's: its signatures are worthless in another
        self._load_chain_config()
        self._new_height()
        self._restore_signed()

    # --- node list and config in force at `height` ------------------------------------------

    def _load_chain_config(self) -> None:
        head = self.store.head()
        if head is None:
            raise ConsensusError("the store holds no genesis block")
        self.head = head
        self.head_hash = head.hash(self.suite)
        self.height = head.number + 1
        nodes = consensus_nodes(self.store, self.height)
        self.sealer_ids: tuple[bytes, ...] = nodes.sealer_ids
        # rPBFT: only the epoch's working sealers vote, lead and weigh (chain.consensus.pbft.rpbft).
        self.epoch = rpbft.epoch_at(self.suite, self.store, self.height, nodes)
        self.working: tuple[NodeIndex, ...] = tuple(range(len(nodes.sealers))) if self.epoch is None else self.epoch.working
        self.voters = frozenset(self.working)
        self.weights: tuple[int, ...] = nodes.weights if self.epoch is None else rpbft.working_weights(nodes.weights, self.working)
        self.node_ids: tuple[bytes, ...] = nodes.sealer_ids + tuple(n.node_id for n in nodes.observers)
        self.total_weight = sum(self.weights)
        self.quorum = quorum(self.total_weight)
        self.f = max_faulty(self.total_weight)
        self.my_index: NodeIndex | None = self.node_ids.index(self.node_id) if self.node_id in self.node_ids else None
        self.is_sealer = self.my_index is not None and self.my_index in self.voters
        self.is_resting = self.my_index is not None and not self.is_sealer and self.my_index < len(self.sealer_ids)
        self.leader_period = get_config_int(self.store, LEADER_PERIOD, self.height)
        self.tx_count_limit = get_config_int(self.store, TX_COUNT_LIMIT, self.height)
        self.tx_gas_cap = tx_gas_limit(self.store, self.height)
        self.block_gas_limit = get_config_int(self.store, BLOCK_GAS_LIMIT, self.height)

    def _new_height(self, ordered_early: HeightState | None = None) -> None:
        """Start on the height after the head; the old HeightState, decided, is dropped.

        The new height's state is the one the pipeline ordered it in while the head was being
        checkpointed, if any; otherwise a fresh one, holding what this node signed at this height
        before if the pipeline had opened it and let it go (a view change, or a crash before the
        head was stored: ``_restore_signed`` notes that): it is on disk.
        """
        if ordered_early is not None:
            self.current = ordered_early
            return
        self.current = HeightState(self.height, since=self.now)
        if self.signed_ahead == self.height:
            self._take_back_votes([vote for vote in self.store.signed_votes() if vote.number == self.height])

    # --- the height being decided, for readers outside the package (dashboard, simulator, tests) ---

    @property
    def proposals(self) -> dict[View, Proposal]:
        return self.current.proposals

    @property
    def prepares(self) -> dict[tuple[View, Digest], VoteSet[Envelope]]:
        return self.current.prepares

    @property
    def commits(self) -> dict[tuple[View, Digest], VoteSet[Envelope]]:
        return self.current.commits

    @property
    def prepared(self) -> tuple[View, PreparedProof] | None:
        return self.current.prepared

    @property
    def committed(self) -> Proposal | None:
        return self.current.committed

    @property
    def executed(self) -> ExecutionResult | None:
        return self.current.executed

    @property
    def checkpoints(self) -> dict[Digest, VoteSet[bytes]]:
        return self.current.checkpoints

    @property
    def view_changes(self) -> dict[View, VoteSet[Envelope]]:
        return self.current.view_changes

    # --- identity and signing ---------------------------------------------------------------

    @property
    def role(self) -> str:
        if self.is_resting:
            return "resting"  # an rPBFT sealer outside this epoch's working set: it follows like an observer
        return "sealer" if self.is_sealer else "observer" if self.my_index is not None else "outsider"

    def leader(self, view: View | None = None) -> NodeIndex:
        """The node index of the leader of (height, view): the working sealers take turns (all sealers in PBFT)."""
        return self.working[leader_index(self.height, self.view if view is None else view, self.leader_period,
                                         len(self.working))]

    def is_leader(self, view: View | None = None) -> bool:
        return self.is_sealer and self.leader(view) == self.my_index

    def sign(self, msg_type: MsgType, body: Body) -> Envelope:
        """A message signed by this replica (Byzantine behaviours use it to forge their own lies)."""
        if self.my_index is None:
            raise ConsensusError("a node outside the node list cannot sign messages")
        envelope = sign_message(self.suite, self._secret, msg_type, self.my_index, body, self.domain)
        self._verified[envelope.raw] = self.node_id
        return envelope

    def unsigned(self, msg_type: MsgType, body: Body) -> Envelope:
        """A message for the peers' own links only, with no signature (LINK_AUTHENTICATED says which)."""
        if self.my_index is None:
            raise ConsensusError("a node outside the node list cannot send messages")
        return make_envelope(msg_type, self.my_index, codec.encode(body.to_rlp()), b"", body=body)

    def sign_once(self, msg_type: MsgType, view: View, digest: Digest, body: Body, evidence: bytes = b"") -> Envelope | None:
        """Sign a consensus message unless this node already signed something else in its slot.

        A slot is (height, phase, view) — (height, Checkpoint) for the execution result. What is
        signed is recorded in the store before the envelope exists, so the rule holds across
        crashes: after a restart the replica reads it back (``_restore_signed``).

        A Checkpoint is not recorded (one fsync less per block; docs/consensus.md, "What is
        written to disk, and why"): it signs the result of executing the block ordered at this
        height, and both are fixed — PBFT orders one block per height, whose Prepare and Commit
        *are* recorded, and execution is deterministic — so whatever this node signs there after
        a restart is the very same hash. The in-memory rule still refuses a second, different one.
        """
        slot = (int(msg_type), view)
        earlier = self.current.signed.get(slot)
        # One proposal, vote or result per slot, ever: a second, different one is equivocation.
        if earlier is not None and earlier != digest:  # rule: sign_once_per_slot
            self.reject(f"not signing a second {msg_type.name} at height {self.height}, view {view}: this node "
                        "signed a different one before", msg_type.name, self.my_index)
            return None
        if earlier is None:
            if msg_type != MsgType.CHECKPOINT:
                self.store.record_vote(self.height, int(msg_type), view, digest, evidence)
            self.current.signed[slot] = digest
        # A Commit goes unsigned: only its sender's link ever vouches for it (_vouched_by_link).
        envelope = self.unsigned(msg_type, body) if msg_type in LINK_AUTHENTICATED else self.sign(msg_type, body)
        self.current.sent_raw[slot] = envelope.raw
        return envelope

    def _restore_signed(self) -> None:
        """After a (re)start, take back up what this node signed before, from its store.

        Views never go down (they survive heights; in rPBFT, the heights of an epoch, which begins
        in view 0), so the highest view it acted in is a floor;
        at the height being decided, the slots it filled stay filled, a ViewChange it sent still
        binds it (to_view), and the prepared proof it kept with its Commit goes into its next
        ViewChange — so a block it helped prepare can never be replaced. The transactions it kept
        with its PrePrepare or Prepare come back too (into the pool, and kept for re-proposals and
        for peers that ask): a block prepared before every sealer crashed can still be decided.
        """
        votes = self.store.signed_votes()
        since = self.epoch.start if self.epoch is not None else 0
        acted = [vote.view for vote in votes
                 if vote.phase not in (MsgType.VIEW_CHANGE, MsgType.CHECKPOINT) and vote.number >= since]
        self.view = max([self.view, *acted])
        self._take_back_votes([vote for vote in votes if vote.number == self.height])
        if any(vote.number == self.height + 1 for vote in votes):
            self.signed_ahead = self.height + 1  # the pipeline voted there before the crash: taken back there
        self.to_view = max(self.to_view, self.view)
        if self.current.prepared is not None and self.current.prepared[0] == self.view:
            self.current.advance(Step.PREPARED)  # prepared in the view it is in, before the restart

    def _take_back_votes(self, votes: list[SignedVote]) -> None:
        """Fill the height being decided with what this node signed there before (votes of this height)."""
        height = self.current
        for vote in votes:
            height.signed[(vote.phase, vote.view)] = vote.digest
            height.voted = True
            if vote.phase == MsgType.VIEW_CHANGE:
                self.to_view = max(self.to_view, vote.view)
            elif vote.phase == MsgType.COMMIT and vote.evidence and (height.prepared is None or height.prepared[0] < vote.view):
                height.prepared = (vote.view, PreparedProof.decode(vote.evidence))
            elif vote.phase in (MsgType.PRE_PREPARE, MsgType.PREPARE) and vote.evidence:
                self._restore_transactions(vote.evidence)

    def _restore_transactions(self, evidence: bytes) -> None:
        """Take back the transactions kept with a vote; ones the pool refuses now are still kept for proposals."""
        try:
            raws = codec.decode_list(evidence, "kept transactions")
            txs = [Transaction.decode(codec.as_bytes(raw, "kept transaction")) for raw in raws]
        except (LedgerError, ChainError):
            return  # a store this node wrote itself; unreadable rows only cost the chance to re-propose
        for tx in txs:
            self.current.kept_txs[tx.hash(self.suite)] = tx
            try:
                self.pool.submit(tx)
            except ChainError:
                pass  # already pooled, already on chain, expired: the kept copy serves proposals

    def status(self) -> dict[str, Any]:
        """A snapshot for dashboards and the simulator's node_status()."""
        return {
            "role": self.role, "index": self.my_index, "view": self.view, "to_view": self.to_view,
            "height": self.height - 1, "head_hash": self.head_hash.hex(),
            "state": self._state_name(), "pending_txs": len(self.pool), "sealers": len(self.sealer_ids),
        } | ({} if self.epoch is None else {"epoch": self.epoch.start, "working": list(self.working)})

    def _state_name(self) -> str:
        """The step of the height being decided; asking for a view change overrides it, and NEW says whether work waits."""
        if self.to_view > self.view:
            return "view-changing"
        if self.current.step == Step.NEW:
            return "idle" if len(self.pool) == 0 else "waiting"
        return STEP_NAMES[self.current.step]

    # --- the one entry point ----------------------------------------------------------------

    def start(self, now_ms: int) -> list[fx.Effect]:
        """After (re)start: ask the peers whether they have blocks we lack."""
        self.now = now_ms
        self._out = []
        self.sync.started_at = now_ms
        block_sync.request_sync(self, None, self.height + self.config.sync_batch - 1)
        self._update_timers()
        return self._out

    def handle(self, event: fx.Event, now_ms: int) -> list[fx.Effect]:
        """Apply one event; return what the driver must do. No exception escapes."""
        self.now = now_ms
        self._out = []
        try:
            if isinstance(event, fx.Deliver):
                self._on_deliver(event.peer, event.raw)
            elif isinstance(event, fx.TimerFired):
                self._on_timer(event.name)
            elif isinstance(event, fx.SubmitTransactions):
                tx_relay.on_submit(self, event.txs)
            elif isinstance(event, fx.Tick):
                self._on_tick()
            self._replay_future()
            self._update_timers()
        except ChainError as exc:
            self.reject(str(exc), "?", None)
        except Exception as exc:  # a bug must not take the node down; it is reported, loudly
            self.reject(f"internal error: {type(exc).__name__}: {exc}", "?", None)
        return self._out

    # --- effects helpers --------------------------------------------------------------------

    def emit(self, effect: fx.Effect) -> None:
        """Add an effect to what the event being handled returns to the driver."""
        self._out.append(effect)

    def reject(self, reason: str, msg_type: str, sender: NodeIndex | None) -> None:
        self._out.append(fx.Rejected(reason, msg_type, sender))

    def broadcast(self, envelope: Envelope, number: Height, view: View) -> None:
        if envelope.type == MsgType.PRE_PREPARE and self.config.tree_width >= 2 and self.my_index is not None:
            # Down the tree: to this node's children only, who forward it (re-sends go to everyone).
            children = rpbft.proposal_children(self, self.my_index)
            self._out.append(fx.Broadcast(envelope.raw, envelope.type, number, view, children))
            return
        self._broadcast_raw(envelope.raw, envelope.type, number, view)

    def _broadcast_raw(self, raw: bytes, msg_type: MsgType, number: Height, view: View) -> None:
        """To every node; in rPBFT, what only the working sealers use goes to them alone."""
        to = None
        if self.epoch is not None and msg_type in rpbft.WORKING_SET_ONLY:
            to = tuple(self.node_ids[i] for i in self.working if i != self.my_index)
        self._out.append(fx.Broadcast(raw, msg_type, number, view, to))

    def send(self, to: NodeId, envelope: Envelope, number: Height, view: View) -> None:
        self._out.append(fx.Send(to, envelope.raw, envelope.type, number, view))

    def set_timer(self, name: str, delay_ms: int) -> None:
        self._timers[name] = self.now + delay_ms
        self._out.append(fx.SetTimer(name, delay_ms))

    def cancel_timer(self, name: str) -> None:
        if self._timers.pop(name, None) is not None:
            self._out.append(fx.CancelTimer(name))

    def timer_deadline(self, name: str) -> int | None:
        """When the named timer fires (ms on this replica's clock), or None if it is not set: for observers."""
        return self._timers.get(name)

    # --- receiving --------------------------------------------------------------------------

    def verify(self, raw: bytes) -> Envelope:
        """Decode an envelope and check who signed it; each raw message is verified once."""
        envelope = decode_envelope(raw)
        self._check_sender(envelope)
        self._check_signature(envelope)
        return envelope

    def verify_sealer_message(self, raw: bytes) -> Envelope:
        """Decode and check a message embedded in another (a proof's votes, a NewView's ViewChanges)."""
        envelope = self.verify(raw)
        # Embedded votes must come from sealers too (the epoch's working sealers in rPBFT).
        if envelope.sender not in self.voters:
            raise ConsensusError("embedded message from a non-sealer")
        return envelope

    def _check_sender(self, envelope: Envelope) -> None:
        # The sender index must name a node of the list in force.
        if envelope.sender >= len(self.node_ids):  # rule: sender_known
            raise ConsensusError(f"unknown sender index {envelope.sender}")
        # Only sealers take part in ordering and view changes.
        if envelope.type in SEALER_ONLY and envelope.sender not in self.voters:  # rule: sealer_only_types
            what = "a resting sealer this epoch" if envelope.sender < len(self.sealer_ids) else "not a sealer"
            raise ConsensusError(f"node {envelope.sender} is {what} and may not send {envelope.type.name}")

    def _check_signature(self, envelope: Envelope) -> None:
        signer = self.node_ids[envelope.sender]
        if self._verified.get(envelope.raw) == signer:
            return
        # The signature must be the claimed sender's, over this exact message.
        try:
            valid = self.suite.verify(signer, envelope.signed_hash(self.suite, self.domain), envelope.signature)
        except (CryptoError, ConsensusError) as exc:
            raise ConsensusError(f"malformed signature: {exc}") from exc
        if not valid:  # rule: signature_valid
            raise ConsensusError(f"signature does not verify for sender {envelope.sender}")
        if len(self._verified) >= self.config.verified_cache:
            self._verified.clear()
        self._verified[envelope.raw] = signer

    def _on_deliver(self, peer: bytes, raw: bytes) -> None:
        try:
            envelope = decode_envelope(raw)
        except ChainError as exc:
            self.reject(str(exc), "?", None)
            return
        if pipeline.routes(self, envelope):
            with pipeline.context(self):  # a vote or proposal of the next height, ordered early
                self.receive(envelope, peer)
        else:
            self.receive(envelope, peer)

    def receive(self, envelope: Envelope, peer: bytes) -> None:
        """The checks every decoded message passes, in order, then its handler."""
        try:
            self._check_sender(envelope)
            # Cheap checks first: the signature is checked only if the message can still be used.
            if self._of_no_use(envelope):
                return
            self._check_origin(envelope, peer)
        except ChainError as exc:
            self.reject(str(exc), envelope.type.name, None)  # the sender is not proven: not named
            return
        # A node never needs its own messages back; a copy is a replay.
        if envelope.sender == self.my_index:  # rule: not_own_copy
            self.reject("a copy of this node's own message", envelope.type.name, envelope.sender)
            return
        self._dispatch(envelope, peer)

    def _check_origin(self, envelope: Envelope, peer: bytes) -> None:
        """The sender's signature, unless the link it came on vouches for it; ConsensusError if neither."""
        if not self._vouched_by_link(envelope, peer):
            self._check_signature(envelope)

    def _vouched_by_link(self, envelope: Envelope, peer: bytes) -> bool:
        """True for a message its sender's own link brought that no third node will ever check again.

        A peer is who its link says it is: TLS with the chain CA's certificate, and a hello signed
        with the node key over both certificates of the link (chain.network.hello); the simulator
        delivers each message from the node that sent it. For most messages that is not enough,
        because their signature travels on: a PrePrepare and Prepares become a prepared proof in a
        ViewChange, ViewChanges go into a NewView, Checkpoints into the block's signature list —
        each checked by nodes that never saw the link. A Commit, a TxGossip and a TxResponse never
        travel on, so the link alone authenticates them, as MACs do in Castro and Liskov's PBFT
        and as FISCO BCOS's transaction sync relies on its P2P session. This saves a signature
        check (~0.5 ms in the sm suite) per Commit and per gossip at every node, and the signing
        at the sender: these three go unsigned (a signature nobody checks is wasted work; the
        transactions in a gossip carry their clients' signatures, and what a sealer committed to
        is in its store, ``sign_once``). One that comes on another node's link has no valid
        signature to show, and is refused like any message whose signature does not verify.
        """
        if envelope.type not in LINK_AUTHENTICATED:  # rule: link_only_for_listed_types
            return False
        return peer == self.node_ids[envelope.sender]  # rule: link_is_sender | replace: peer == self.node_ids[envelope.sender] => True

    def _of_no_use(self, envelope: Envelope) -> bool:
        """A proposal or vote this replica can no longer use is dropped before its signature is checked.

        Checking a signature is the one costly step of receiving (most of a run's time in the sm
        suite), and a third of the votes a sealer receives arrive after it has used enough of them.
        Like FISCO BCOS (PBFTEngine checks a request's height and view before its signature), this
        replica looks at what it would do with the message first: a vote for a height it has
        decided is refused as before (``old height``); a Prepare of a view it is prepared in (or
        earlier), or a Prepare or Commit of the view its block was ordered in (or earlier), is simply
        not needed. Votes of a *later* view are: if the others did not order the block, a view
        change re-proposes it, and this replica must be prepared there and send its Commit again,
        or they can never order it (a permanent halt, issue 11). Nothing unverified changes state.
        """
        if envelope.type not in (MsgType.PRE_PREPARE, MsgType.PREPARE, MsgType.COMMIT, MsgType.CHECKPOINT):
            return False
        body = envelope.body()
        assert isinstance(body, (PrePrepare, Vote, Checkpoint))  # what those four types decode to
        number = body.number
        # Proposals and votes for a height this node has decided change nothing.
        if number < self.height:  # rule: old_height_before_signature
            raise ConsensusError(f"old height {number}: this node is at {self.height}")
        if number > self.height or envelope.type not in (MsgType.PREPARE, MsgType.COMMIT):
            return False
        assert isinstance(body, Vote)  # a Prepare or a Commit
        view = body.view
        if self.current.committed is not None and view <= self.current.committed.pre_prepare.view:
            return True  # the block is ordered in that view: more of its Prepares and Commits add nothing
        return envelope.type == MsgType.PREPARE and self.current.prepared is not None and view <= self.current.prepared[0]

    def _note_peer(self, envelope: Envelope) -> None:
        """Learn from a message its handler took how far its sender is: its head, and its view at our height."""
        self.sync.heard_from_peer = True
        try:
            body = envelope.body()
        except ChainError:
            return  # the handler says what is wrong with it
        if isinstance(body, SyncRequest):
            head = body.from_number - 1
        elif isinstance(body, (PrePrepare, Vote, Checkpoint, ViewChange, NewView, TxRequest)):
            head = body.number - 1  # one works on (or asks about) height n once it holds n − 1
        else:
            return
        node_id = self.node_ids[envelope.sender]
        if head > self.sync.peer_heads.get(node_id, -1):
            self.sync.peer_heads[node_id] = head
        if self.pipelined:
            return  # views are joined on the current height's word only
        if isinstance(body, (PrePrepare, Vote, NewView)) and body.number == self.height and envelope.sender < len(self.sealer_ids):
            if body.view > self.current.views_seen.get(envelope.sender, -1):
                self.current.views_seen[envelope.sender] = body.view
                view_change.maybe_join_view(self)


    def _dispatch(self, envelope: Envelope, peer: bytes) -> None:
        """Hand a checked message to the handler of its type (one handler per message type, named after it)."""
        self._link = peer
        try:
            match envelope.type, envelope.body():
                case MsgType.PRE_PREPARE, PrePrepare() as pp:
                    proposing.on_pre_prepare(self, envelope, pp)
                case MsgType.PREPARE, Vote() as vote:
                    prepare_commit.on_prepare(self, envelope, vote)
                case MsgType.COMMIT, Vote() as vote:
                    prepare_commit.on_commit(self, envelope, vote)
                case MsgType.CHECKPOINT, Checkpoint() as checkpoint:
                    checkpointing.on_checkpoint(self, envelope, checkpoint)
                case MsgType.VIEW_CHANGE, ViewChange() as vc:
                    view_change.on_view_change(self, envelope, vc)
                case MsgType.NEW_VIEW, NewView() as nv:
                    view_change.on_new_view(self, envelope, nv)
                case MsgType.TX_GOSSIP, TxList() as txs:
                    tx_relay.on_tx_gossip(self, envelope, txs)
                case MsgType.TX_REQUEST, TxRequest() as request:
                    tx_relay.on_tx_request(self, envelope, request)
                case MsgType.TX_RESPONSE, TxList() as txs:
                    tx_relay.on_tx_response(self, envelope, txs)
                case MsgType.SYNC_REQUEST, SyncRequest() as sync_request:
                    block_sync.on_sync_request(self, envelope, sync_request)
                case MsgType.SYNC_RESPONSE, SyncResponse() as sync_response:
                    block_sync.on_sync_response(self, envelope, sync_response)
                case msg_type, body:  # the codec pairs each type with its body: this is a bug, not a peer's fault
                    raise AssertionError(f"no handler for {msg_type.name} with a {type(body).__name__} body")
        except ChainError as exc:
            self.reject(str(exc), envelope.type.name, envelope.sender)
            return
        self._note_peer(envelope)

    def at_height(self, envelope: Envelope, number: Height) -> bool:
        """True if the message is for the height being decided; otherwise file it or refuse it."""
        if number == self.height:
            return True
        if number < self.height:  # rule: old_height
            raise ConsensusError(f"old height {number}: this node is at {self.height}")
        # A message from above means blocks we lack exist: keep it for later, fetch the blocks.
        if len(self._future) >= self.config.max_future_messages:
            self._future.pop(0)
        self._future.append((envelope, self._link))
        block_sync.request_sync(self, self.node_ids[envelope.sender], number - 1)
        return False

    def _replay_future(self) -> None:
        """Hand messages kept for a higher height to their handlers once we reach that height."""
        while self._height_advanced:
            self._height_advanced = False
            ready = [(e, link) for e, link in self._future if _number_of(e) <= self.height]
            self._future = [(e, link) for e, link in self._future if _number_of(e) > self.height]
            for envelope, link in ready:
                if _number_of(envelope) < self.height:
                    continue
                try:
                    # The node list may have changed at this height: check the sender and its signature
                    # (or its link) again.
                    self._check_sender(envelope)
                    self._check_origin(envelope, link)
                except ChainError as exc:
                    self.reject(str(exc), envelope.type.name, envelope.sender)
                    continue
                self._dispatch(envelope, link)

    # --- a decided block ----------------------------------------------------------------------

    def commit_block(self, block: Block, result: ExecutionResult, via: str, view: View) -> None:
        self.store.commit_block(block, result.receipts, result.changes)
        rpbft.push_to_followers(self, block)  # rPBFT: the followers this working sealer serves get the block
        self.pool.remove_committed(block)
        proposing.release_own_proposals(self)
        self._out.append(fx.BlockCommitted(block.number, block.hash(self.suite), len(block.transactions), view, via))
        before = self.epoch
        self._load_chain_config()
        if self.epoch is not None and (before is None or before.working != self.epoch.working):
            tx_relay.regossip_client_transactions(self, force=True)  # rPBFT: the new working set must hear of them
        if self.epoch is not None and self.epoch.start == self.height:
            # rPBFT: every epoch begins in view 0. A sealer that rested missed the view changes of
            # the working set, and back at work it named another leader than they did: nobody
            # proposed the epoch's first block until a view timer ran out.
            self.view = 0
        ordered_early = pipeline.adopt(self, block)
        self._new_height(ordered_early)
        self.to_view = self.view  # a view change asked for at the decided height is moot
        self.consecutive_view_changes = 0
        self.cancel_timer(VIEW_TIMER)
        if ordered_early is None:
            self.cancel_timer(SEAL_TIMER)  # (else it may be the new height's leader gathering transactions)
        self._height_advanced = True
        if self.pool_has_work():
            self.set_timer(VIEW_TIMER, self.timeout())
        if ordered_early is not None and ordered_early.committed is not None:
            checkpointing.execute_and_checkpoint(self)  # ordered while its parent was checkpointed: run it now

    # --- clocks, timers and ticks ------------------------------------------------------------

    def wall_now(self) -> int:
        """Wall-clock epoch ms for block timestamps (``now`` when the driver gave no wall clock)."""
        return self.wall_clock() if self.wall_clock is not None else self.now

    def timeout(self) -> int:
        """The view timer now: the base, grown by each consecutive view change (bounded)."""
        return next_timeout_ms(self.config.timeout_ms, self.consecutive_view_changes, self.config.max_timeout_exponent)

    def pool_has_work(self) -> bool:
        """Transactions wait, or a block is in flight at this height (also one prepared before a restart)."""
        height = self.current
        return len(self.pool) > 0 or bool(height.proposals) or height.committed is not None or height.prepared is not None

    def _on_timer(self, name: str) -> None:
        deadline = self._timers.get(name)
        # A timer that was cancelled or restarted since is stale.
        if deadline is None or self.now < deadline:
            return
        del self._timers[name]
        if name == SEAL_TIMER and self.next is not None:
            with pipeline.context(self):  # only the next height can be waiting to be sealed
                proposing.propose(self)
        elif name == SEAL_TIMER:
            proposing.propose(self)
        elif name == VIEW_TIMER:
            if self.is_sealer and self.pool_has_work():
                view_change.on_view_timeout(self)

    def _update_timers(self) -> None:
        """The view timer runs only while there is work; the leader seals when transactions wait."""
        if self.is_sealer:
            if self.pool_has_work() and VIEW_TIMER not in self._timers:
                self.set_timer(VIEW_TIMER, self.timeout())
            elif not self.pool_has_work() and VIEW_TIMER in self._timers and self.to_view == self.view:
                self.cancel_timer(VIEW_TIMER)
            proposing.maybe_seal(self)
        self._update_next()

    def _update_next(self) -> None:
        """The next height, if open: dropped by a view change, else its waiting proposals and sealing move on."""
        if self.next is None:
            return
        if self.next_view != self.view or self.to_view > self.view:
            pipeline.drop(self)
            return
        with pipeline.context(self):
            if self.current.waiting:
                proposing.retry_waiting(self)
            self.seal_if_due()

    def seal_if_due(self) -> None:
        """The leader seals if it should now (chain.consensus.pbft.proposal.maybe_seal).

        For the pipeline's next height, only a block at least as large as the one in flight (the
        head there) is sealed early; a smaller one waits until that block is stored, gathering
        meanwhile. Two small blocks in flight cost twice the fixed work of one: on 4 nodes sharing
        2 cores, with 16 closed-loop clients, sealing every early block cut the blocks from 7.9 to
        6.6 transactions and the rate from 106.7–116.2 to 96.3–100.8 tx/s; with this rule it is
        113.1–124.9 against 119.2–128.8 with the pipeline off (issue 18 note).
        """
        if not self.is_sealer:
            return
        if self.pipelined and self.pool.ready < proposing.expected_block_size(self):
            return
        proposing.maybe_seal(self)

    def filed_for(self, number: Height) -> list[tuple[Envelope, bytes]]:
        """Take out the ordering messages kept for height `number` (pipeline.open_next takes them up)."""
        taken: list[tuple[Envelope, bytes]] = []
        kept: list[tuple[Envelope, bytes]] = []
        for filed in self._future:
            envelope = filed[0]
            (taken if envelope.type in pipeline.ORDERING and _number_of(envelope) == number else kept).append(filed)
        self._future = kept
        return taken

    def _on_tick(self) -> None:
        if self.current.waiting:
            self.current.tx_request_sent.clear()  # ask again: the first request or its answer may be lost
            proposing.retry_waiting(self)
        block_sync.retry_sync(self)
        self._resend_if_stuck()

    # --- re-sending -----------------------------------------------------------------------------

    def _resend_if_stuck(self) -> None:
        """Re-send this sealer's messages of the height being decided once it took resend_ms without a block.

        The network may lose any message, links drop, peers restart: a Prepare, Commit, Checkpoint,
        ViewChange or NewView that progress depends on must be sent again until it is no longer
        needed (the height is decided here, which ends this). Only what is still of use is sent:
        in a view change, the ViewChange; in a view, its NewView (or PrePrepare) and our votes in
        it; and our Checkpoint. The same bytes go out again, so a receiver that has them already
        counts nothing twice. A healthy chain decides a height in a few hundred ms and pays nothing.
        Only a new block counts as moving on: view changes do not, for a view change re-proposes
        the block but never repeats a Checkpoint lost before it — with a 1 s view timer, views
        changed every second for ever while the Checkpoints lost in a healed partition were never
        sent again (sweep seed 105147).
        """
        if self.my_index is None or not self.pool_has_work():
            return
        if self.now - self.current.since < self.config.resend_ms or self.now - self._resent_at < self.config.resend_ms:
            return
        self._resent_at = self.now
        # Transactions were gossiped once; if that was lost, the sealers that must propose them never heard of them.
        tx_relay.regossip_client_transactions(self)
        if not self.is_sealer:
            return
        slots: list[tuple[int, int]] = []
        if self.to_view > self.view:
            slots.append((int(MsgType.VIEW_CHANGE), self.to_view))
        else:
            proposal = MsgType.NEW_VIEW if (int(MsgType.NEW_VIEW), self.view) in self.current.sent_raw else MsgType.PRE_PREPARE
            slots += [(int(proposal), self.view), (int(MsgType.PREPARE), self.view), (int(MsgType.COMMIT), self.view)]
        slots.append((int(MsgType.CHECKPOINT), 0))
        for phase, view in slots:
            self.resend(phase, view)

    def resend(self, phase: int, view: View) -> bool:
        """Broadcast again the envelope this replica sent in slot (phase, view) at this height, if it has it."""
        raw = self.current.sent_raw.get((phase, view))
        if raw is not None:
            self._broadcast_raw(raw, MsgType(phase), self.height, view)
        return raw is not None


def _number_of(envelope: Envelope) -> int:
    body = envelope.body()
    return int(getattr(body, "number", 0))
