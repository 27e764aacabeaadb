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
them (chain.sync.block_sync), and asks again on every ``Tick`` while peers claim to be ahead.
Observers run the same code but never vote.

What a sealer signs in the phases above (its proposal, Prepare, Commit, Checkpoint, ViewChange,
NewView) is written to its store *before* the message leaves (``Store.record_vote``) and read back
on restart: a crash never turns an honest sealer into one that signs two conflicting things.

Every rule a message must pass is one check in the handler of that message, with its reason; a
message that breaks one is answered by a ``Rejected`` effect and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Protocol, Sequence

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.checkpoint import verify_block_signatures
from chain.consensus.pbft.messages import (
    SEALER_ONLY, Body, Checkpoint, Envelope, MsgType, NewView, PreparedProof, PrePrepare, SyncRequest,
    SyncResponse, TxList, TxRequest, ViewChange, Vote, decode_envelope, sign_message,
)
from chain.consensus.pbft.quorum import VoteSet, leader_index, max_faulty, next_timeout_ms, quorum
from chain.consensus.pbft.view_change import (
    ProvenProposal, check_view_change_matches, highest_proposal, validate_prepared_proof, view_change_target,
)
from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError, ConsensusError, CryptoError, LedgerError, TxRejected
from chain.execution.result import BlockExecutor, ExecutionResult
from chain.ledger.block import EMPTY_ROOT, Block, BlockHeader
from chain.ledger.merkle import merkle_root
from chain.ledger.receipt import Receipt
from chain.ledger.state import Changes
from chain.ledger.status import Status
from chain.ledger.system import LEADER_PERIOD, TX_COUNT_LIMIT, consensus_nodes, get_config_int
from chain.ledger.transaction import Transaction
from chain.sync import block_sync

# The handler of each message type (one method per message, named after it).
_HANDLERS: dict[MsgType, str] = {
    MsgType.PRE_PREPARE: "on_pre_prepare", MsgType.PREPARE: "on_prepare", MsgType.COMMIT: "on_commit",
    MsgType.CHECKPOINT: "on_checkpoint", MsgType.VIEW_CHANGE: "on_view_change", MsgType.NEW_VIEW: "on_new_view",
    MsgType.TX_GOSSIP: "on_tx_gossip", MsgType.TX_REQUEST: "on_tx_request", MsgType.TX_RESPONSE: "on_tx_response",
    MsgType.SYNC_REQUEST: "on_sync_request", MsgType.SYNC_RESPONSE: "on_sync_response",
}
VIEW_TIMER = "view"
MAX_VIEWS_AHEAD = 1000  # votes for views further ahead are refused: a liar could otherwise fill memory
SEAL_TIMER = "seal"


class ChainStore(Protocol):
    """What the replica needs from chain.ledger.store.Store."""

    suite: CryptoSuite

    def get(self, table: str, key: bytes) -> bytes | None: ...
    def head_number(self) -> int: ...
    def head(self) -> Block | None: ...
    def block_by_number(self, number: int) -> Block | None: ...
    def has_transaction(self, tx_hash: bytes) -> bool: ...
    def transaction(self, tx_hash: bytes) -> tuple[Transaction, int, int] | None: ...
    def state_root(self) -> bytes: ...
    def commit_block(self, block: Block, receipts: Sequence[Receipt], changes: Changes) -> None: ...
    def record_vote(self, number: int, phase: int, view: int, digest: bytes, evidence: bytes = b"") -> None: ...
    def signed_votes(self) -> list[tuple[int, int, int, bytes, bytes]]: ...


class Pool(Protocol):
    """What the replica needs from chain.txpool.pool.TxPool."""

    def submit(self, tx: Transaction) -> bytes: ...
    def get(self, tx_hash: bytes) -> Transaction | None: ...
    def __len__(self) -> int: ...
    @property
    def ready(self) -> int: ...
    def select(self, limit: int) -> list[Transaction]: ...
    def release(self, tx_hashes: Iterable[bytes]) -> None: ...
    def verify_proposal(self, txs: Sequence[Transaction], number: int) -> None: ...
    def remove_committed(self, block: Block) -> None: ...


@dataclass(frozen=True)
class ReplicaConfig:
    timeout_ms: int = 3000  # view timer base (FISCO BCOS default)
    max_timeout_exponent: int = 6  # the timer grows ×1.5 per consecutive view change, at most 1.5^6
    min_seal_time_ms: int = 500  # a leader waits this long for more transactions before sealing
    sync_batch: int = 16  # blocks per sync response
    sync_retry_ms: int = 1000  # an unanswered sync request is retried after this long
    start_probe_ms: int = 10_000  # after start, ask everyone for blocks on each Tick until a peer is heard
    max_future_messages: int = 4096  # messages for heights above ours, kept until we get there
    verified_cache: int = 20_000  # raw envelopes whose signature this replica already checked


@dataclass
class _Proposal:
    """A PrePrepare this replica accepted in one view, with its transactions."""

    envelope: Envelope
    pre_prepare: PrePrepare
    digest: bytes
    block: Block


class Replica:
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
        self._future: list[Envelope] = []
        self._timers: dict[str, int] = {}  # name -> deadline (ms)
        self._sync_in_flight_until = -1
        self._sync_turn = 0  # rotates sync requests over the peers that are ahead
        self._peer_heads: dict[bytes, int] = {}  # node id -> the head its messages claim it has
        self._heard_from_peer = False
        self._started_at = 0
        self._height_advanced = False
        self._load_chain_config()
        self._reset_height()
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
        self.weights: tuple[int, ...] = nodes.weights
        self.node_ids: tuple[bytes, ...] = nodes.sealer_ids + tuple(n.node_id for n in nodes.observers)
        self.total_weight = sum(self.weights)
        self.quorum = quorum(self.total_weight)
        self.f = max_faulty(self.total_weight)
        self.my_index: int | None = self.node_ids.index(self.node_id) if self.node_id in self.node_ids else None
        self.is_sealer = self.my_index is not None and self.my_index < len(self.sealer_ids)
        self.leader_period = get_config_int(self.store, LEADER_PERIOD, self.height)
        self.tx_count_limit = get_config_int(self.store, TX_COUNT_LIMIT, self.height)

    def _reset_height(self) -> None:
        """Forget everything about the height just decided; start on the next one."""
        self.proposals: dict[int, _Proposal] = {}  # view -> accepted proposal
        self.prepares: dict[tuple[int, bytes], VoteSet[Envelope]] = {}
        self.commits: dict[tuple[int, bytes], VoteSet[Envelope]] = {}
        self._first_vote: dict[tuple[MsgType, int, int], bytes] = {}  # (type, view, sender) -> digest
        self.prepared: tuple[int, PreparedProof] | None = None  # (view, proof), highest view
        self._sent: set[tuple[MsgType, int]] = set()  # (type, view) this replica already voted
        self.committed: _Proposal | None = None  # the proposal a commit quorum ordered
        self.executed: ExecutionResult | None = None
        self.checkpoints: dict[bytes, VoteSet[bytes]] = {}  # executed hash -> sealer signatures
        self._checkpoint_of: dict[int, bytes] = {}  # sender -> hash it signed
        self.view_changes: dict[int, VoteSet[Envelope]] = {}  # to view -> signed ViewChanges
        self._requested_views: dict[int, int] = {}  # sender -> highest view asked for
        self._new_view_sent: set[int] = set()
        self._waiting: list[tuple[Envelope, bool]] = []  # PrePrepares waiting for transactions
        self._tx_request_sent: set[bytes] = set()
        self._voted_at_height = False
        self._signed: dict[tuple[int, int], bytes] = {}  # (phase, view) -> what this node signed (durable)
        self._views_seen: dict[int, int] = {}  # sealer -> highest view it acts in at this height
        self._joined_view: int | None = None  # a view joined on others' word, not through a NewView

    # --- identity and signing ---------------------------------------------------------------

    @property
    def role(self) -> str:
        return "sealer" if self.is_sealer else "observer" if self.my_index is not None else "outsider"

    def leader(self, view: int | None = None) -> int:
        return leader_index(self.height, self.view if view is None else view, self.leader_period, len(self.sealer_ids))

    def is_leader(self, view: int | None = None) -> bool:
        return self.is_sealer and self.leader(view) == self.my_index

    def sign(self, msg_type: MsgType, body: Body) -> Envelope:
        """A message signed by this replica (Byzantine behaviours use it to forge their own lies)."""
        if self.my_index is None:
            raise ConsensusError("a node outside the node list cannot sign messages")
        envelope = sign_message(self.suite, self._secret, msg_type, self.my_index, body)
        self._verified[envelope.raw] = self.node_id
        return envelope

    def _sign_once(self, msg_type: MsgType, view: int, digest: bytes, body: Body, evidence: bytes = b"") -> Envelope | None:
        """Sign a consensus message unless this node already signed something else in its slot.

        A slot is (height, phase, view) — (height, Checkpoint) for the execution result. What is
        signed is recorded in the store before the envelope exists, so the rule holds across
        crashes: after a restart the replica reads it back (``_restore_signed``).
        """
        slot = (int(msg_type), view)
        earlier = self._signed.get(slot)
        # One proposal, vote or result per slot, ever: a second, different one is equivocation.
        if earlier is not None and earlier != digest:
            self._reject(f"not signing a second {msg_type.name} at height {self.height}, view {view}: this node "
                         "signed a different one before", msg_type.name, self.my_index)
            return None
        if earlier is None:
            self.store.record_vote(self.height, int(msg_type), view, digest, evidence)
            self._signed[slot] = digest
        return self.sign(msg_type, body)

    def _restore_signed(self) -> None:
        """After a (re)start, take back up what this node signed before, from its store.

        Views never go down (they survive heights), so the highest view it acted in is a floor;
        at the height being decided, the slots it filled stay filled, a ViewChange it sent still
        binds it (to_view), and the prepared proof it kept with its Commit goes into its next
        ViewChange — so a block it helped prepare can never be replaced.
        """
        rows = self.store.signed_votes()
        acted = [view for _, phase, view, _, _ in rows if phase not in (MsgType.VIEW_CHANGE, MsgType.CHECKPOINT)]
        self.view = max([self.view, *acted])
        for number, phase, view, digest, evidence in rows:
            if number != self.height:
                continue
            self._signed[(phase, view)] = digest
            self._voted_at_height = True
            if phase == MsgType.VIEW_CHANGE:
                self.to_view = max(self.to_view, view)
            elif phase == MsgType.COMMIT and evidence and (self.prepared is None or self.prepared[0] < view):
                self.prepared = (view, PreparedProof.decode(evidence))
        self.to_view = max(self.to_view, self.view)

    def status(self) -> dict[str, Any]:
        """A snapshot for dashboards and the simulator's node_status()."""
        return {
            "role": self.role, "index": self.my_index, "view": self.view, "to_view": self.to_view,
            "height": self.height - 1, "head_hash": self.head_hash.hex(),
            "state": self._state_name(), "pending_txs": len(self.pool), "sealers": len(self.sealer_ids),
        }

    def _state_name(self) -> str:
        if self.to_view > self.view:
            return "view-changing"
        if self.executed is not None:
            return "checkpointing"
        if self.committed is not None:
            return "committed"
        if self.prepared is not None and self.prepared[0] == self.view:
            return "prepared"
        if self.view in self.proposals:
            return "pre-prepared"
        return "idle" if len(self.pool) == 0 else "waiting"

    # --- the one entry point ----------------------------------------------------------------

    def start(self, now_ms: int) -> list[fx.Effect]:
        """After (re)start: ask the peers whether they have blocks we lack."""
        self.now = now_ms
        self._out = []
        self._started_at = now_ms
        self._request_sync(None, self.height + self.config.sync_batch - 1)
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
                self._on_submit(event.txs)
            elif isinstance(event, fx.Tick):
                self._on_tick()
            self._replay_future()
            self._update_timers()
        except ChainError as exc:
            self._reject(str(exc), "?", None)
        except Exception as exc:  # a bug must not take the node down; it is reported, loudly
            self._reject(f"internal error: {type(exc).__name__}: {exc}", "?", None)
        return self._out

    # --- effects helpers --------------------------------------------------------------------

    def _reject(self, reason: str, msg_type: str, sender: int | None) -> None:
        self._out.append(fx.Rejected(reason, msg_type, sender))

    def _broadcast(self, envelope: Envelope, number: int, view: int) -> None:
        self._out.append(fx.Broadcast(envelope.raw, envelope.type, number, view))

    def _send(self, to: bytes, envelope: Envelope, number: int, view: int) -> None:
        self._out.append(fx.Send(to, envelope.raw, envelope.type, number, view))

    def _set_timer(self, name: str, delay_ms: int) -> None:
        self._timers[name] = self.now + delay_ms
        self._out.append(fx.SetTimer(name, delay_ms))

    def _cancel_timer(self, name: str) -> None:
        if self._timers.pop(name, None) is not None:
            self._out.append(fx.CancelTimer(name))

    # --- receiving --------------------------------------------------------------------------

    def _verify(self, raw: bytes) -> Envelope:
        """Decode an envelope and check who signed it; each raw message is verified once."""
        envelope = decode_envelope(raw)
        self._check_sender(envelope)
        self._check_signature(envelope)
        return envelope

    def _check_sender(self, envelope: Envelope) -> None:
        # The sender index must name a node of the list in force.
        if envelope.sender >= len(self.node_ids):
            raise ConsensusError(f"unknown sender index {envelope.sender}")
        # Only sealers take part in ordering and view changes.
        if envelope.type in SEALER_ONLY and envelope.sender >= len(self.sealer_ids):
            raise ConsensusError(f"node {envelope.sender} is not a sealer and may not send {envelope.type.name}")

    def _check_signature(self, envelope: Envelope) -> None:
        signer = self.node_ids[envelope.sender]
        if self._verified.get(envelope.raw) == signer:
            return
        # The signature must be the claimed sender's, over this exact message.
        try:
            valid = self.suite.verify(signer, envelope.signed_hash(self.suite), envelope.signature)
        except (CryptoError, ConsensusError) as exc:
            raise ConsensusError(f"malformed signature: {exc}") from exc
        if not valid:
            raise ConsensusError(f"signature does not verify for sender {envelope.sender}")
        if len(self._verified) >= self.config.verified_cache:
            self._verified.clear()
        self._verified[envelope.raw] = signer

    def _on_deliver(self, peer: bytes, raw: bytes) -> None:
        try:
            envelope = decode_envelope(raw)
        except ChainError as exc:
            self._reject(str(exc), "?", None)
            return
        try:
            self._check_sender(envelope)
            # Cheap checks first: the signature is checked only if the message can still be used.
            if self._of_no_use(envelope):
                return
            self._check_signature(envelope)
        except ChainError as exc:
            self._reject(str(exc), envelope.type.name, None)  # the sender is not proven: not named
            return
        # A node never needs its own messages back; a copy is a replay.
        if envelope.sender == self.my_index:
            self._reject("a copy of this node's own message", envelope.type.name, envelope.sender)
            return
        self._dispatch(envelope, peer)

    def _of_no_use(self, envelope: Envelope) -> bool:
        """A proposal or vote this replica can no longer use is dropped before its signature is checked.

        Checking a signature is the one costly step of receiving (most of a run's time in the sm
        suite), and a third of the votes a sealer receives arrive after it has used enough of them.
        Like FISCO BCOS (PBFTEngine checks a request's height and view before its signature), this
        replica looks at what it would do with the message first: a vote for a height it has
        decided is refused as before (``old height``); a Prepare once it is prepared, or a Prepare
        or Commit once its block is ordered, is simply not needed. Nothing unverified changes state.
        """
        if envelope.type not in (MsgType.PRE_PREPARE, MsgType.PREPARE, MsgType.COMMIT, MsgType.CHECKPOINT):
            return False
        body = envelope.body()
        number: int = body.number  # type: ignore[union-attr]
        # Proposals and votes for a height this node has decided change nothing.
        if number < self.height:
            raise ConsensusError(f"old height {number}: this node is at {self.height}")
        if number > self.height or envelope.type not in (MsgType.PREPARE, MsgType.COMMIT):
            return False
        if self.committed is not None:
            return True  # the block is ordered: more Prepares and Commits add nothing
        view: int = body.view  # type: ignore[union-attr]
        return envelope.type == MsgType.PREPARE and self.prepared is not None and view <= self.prepared[0]

    def _note_peer(self, envelope: Envelope) -> None:
        """Learn from a message its handler took how far its sender is: its head, and its view at our height."""
        self._heard_from_peer = True
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
        if head > self._peer_heads.get(node_id, -1):
            self._peer_heads[node_id] = head
        if isinstance(body, (PrePrepare, Vote, NewView)) and body.number == self.height and envelope.sender < len(self.sealer_ids):
            if body.view > self._views_seen.get(envelope.sender, -1):
                self._views_seen[envelope.sender] = body.view
                self._maybe_join_view()

    def _maybe_join_view(self) -> None:
        """Join the view that sealers of more than f weight act in at our height, if it is above ours.

        Proposals and votes are only made in a view one has entered, so among more than f weight
        at least one honest sealer entered that view through a valid NewView: the view change
        really happened, and a replica that missed it (restarted, or cut off) follows. Having not
        seen that NewView, it does not know which block the view must re-propose, so it takes no
        PrePrepare of that view at this height; it votes again from the next height or NewView.
        A view below one it asked for is never joined (its ViewChange promised not to act there).
        """
        target = view_change_target(self._views_seen, self.weights, max(self.view, self.to_view - 1), self.f)
        if target is None:
            return
        self._enter_view(target)
        self._joined_view = target
        self._out.append(fx.ViewChanged(self.height, target))
        self._set_timer(VIEW_TIMER, self._timeout()) if self.pool_has_work() else self._cancel_timer(VIEW_TIMER)

    def _dispatch(self, envelope: Envelope, peer: bytes) -> None:
        try:
            getattr(self, _HANDLERS[envelope.type])(envelope, envelope.body())
        except ChainError as exc:
            self._reject(str(exc), envelope.type.name, envelope.sender)
            return
        self._note_peer(envelope)

    def _at_height(self, envelope: Envelope, number: int) -> bool:
        """True if the message is for the height being decided; otherwise file it or refuse it."""
        if number == self.height:
            return True
        if number < self.height:
            raise ConsensusError(f"old height {number}: this node is at {self.height}")
        # A message from above means blocks we lack exist: keep it for later, fetch the blocks.
        if len(self._future) >= self.config.max_future_messages:
            self._future.pop(0)
        self._future.append(envelope)
        self._request_sync(self.node_ids[envelope.sender], number - 1)
        return False

    def _replay_future(self) -> None:
        """Hand messages kept for a higher height to their handlers once we reach that height."""
        while self._height_advanced:
            self._height_advanced = False
            ready = [e for e in self._future if _number_of(e) <= self.height]
            self._future = [e for e in self._future if _number_of(e) > self.height]
            for envelope in ready:
                if _number_of(envelope) < self.height:
                    continue
                try:
                    # The node list may have changed at this height: check the signer again.
                    checked = self._verify(envelope.raw)
                except ChainError as exc:
                    self._reject(str(exc), envelope.type.name, envelope.sender)
                    continue
                self._dispatch(checked, self.node_ids[checked.sender])

    # --- PrePrepare ---------------------------------------------------------------------------

    def on_pre_prepare(self, envelope: Envelope, pp: PrePrepare) -> None:
        if not self._at_height(envelope, pp.number):
            return
        self._accept_pre_prepare(envelope, pp, reproposal=False)

    def _accept_pre_prepare(self, envelope: Envelope, pp: PrePrepare, reproposal: bool) -> None:
        # Proposals of views we left are void.
        if pp.view < self.view:
            raise ConsensusError(f"old view {pp.view}: this node is in view {self.view}")
        # A higher view is entered through a NewView — unless this replica has not voted at this
        # height at all, in which case it has promised nothing and may simply join (after a restart
        # or a sync): no quorum can be built from such replicas alone.
        if pp.view > self.view and not reproposal and (self._voted_at_height or self.to_view > pp.view):
            raise ConsensusError(f"view {pp.view} has not been entered here (no NewView); this node is in view {self.view}")
        # A view joined on the others' word (not through its NewView) takes proposals only via a NewView.
        if pp.view == self._joined_view and not reproposal:
            raise ConsensusError(f"view {pp.view} was joined without its NewView: its proposal at this height is not known")
        # Only the leader of (height, view) proposes.
        if envelope.sender != self.leader(pp.view):
            raise ConsensusError(f"sender {envelope.sender} is not the leader of view {pp.view}")
        digest = pp.header.hash(self.suite)
        known = self.proposals.get(pp.view)
        if known is not None:
            # One view, one proposal: a second, different one is equivocation.
            if known.digest != digest:
                raise ConsensusError(f"conflicting PrePrepare in view {pp.view} (equivocating leader)")
            raise ConsensusError("duplicate PrePrepare")
        self._check_proposal_header(pp, envelope.sender, reproposal)
        txs = self._collect_transactions(pp, envelope)
        if txs is None:
            self._waiting.append((envelope, reproposal))
            return
        # Every transaction must be admissible at this height (signature, chain, replay window).
        try:
            self.pool.verify_proposal(txs, pp.number)
        except (TxRejected, LedgerError) as exc:
            raise ConsensusError(f"proposal holds an invalid transaction: {exc}") from exc
        proposal = _Proposal(envelope, pp, digest, Block(pp.header, tuple(txs)))
        if pp.view > self.view:
            self._enter_view(pp.view)
        self.proposals[pp.view] = proposal
        self._cancel_timer(SEAL_TIMER)
        prepares = self._votes(self.prepares, pp.view, digest)
        prepares.add(envelope.sender, envelope)  # the PrePrepare is the leader's Prepare
        if self.is_sealer and envelope.sender != self.my_index and (MsgType.PREPARE, pp.view) not in self._sent:
            self._vote(MsgType.PREPARE, pp.view, digest, prepares)
        self._check_prepared(pp.view)
        self._check_committed(pp.view)

    def _check_proposal_header(self, pp: PrePrepare, sender: int, reproposal: bool) -> None:
        header = pp.header
        # The header must be for the height the message names.
        if header.number != pp.number:
            raise ConsensusError(f"header number {header.number} differs from the message's {pp.number}")
        # It must extend our chain.
        if header.parent_hash != self.head_hash:
            raise ConsensusError("proposal does not extend this node's head (wrong parent hash)")
        # The header names its proposer (for a re-proposal, the leader of the view it was prepared in).
        if not reproposal and header.sealer != sender:
            raise ConsensusError(f"header names sealer {header.sealer}, but sender is {sender}")
        # And the sealer list in force, so the block says who may sign it.
        if header.sealer_list != self.sealer_ids:
            raise ConsensusError("proposal's sealer list is not the one in force")
        # Time does not run backwards along the chain.
        if header.timestamp < self.head.header.timestamp:
            raise ConsensusError("proposal timestamp is before its parent's")
        # A proposal carries no execution result yet: that is what the Checkpoint phase agrees on.
        if (header.receipts_root, header.state_root, header.gas_used) != (EMPTY_ROOT, EMPTY_ROOT, 0):
            raise ConsensusError("proposal already carries execution results")
        # No empty blocks (FISCO BCOS seals only when transactions wait).
        if not pp.tx_hashes:
            raise ConsensusError("empty proposal")
        # At most tx_count_limit transactions per block.
        if len(pp.tx_hashes) > self.tx_count_limit:
            raise ConsensusError(f"proposal has {len(pp.tx_hashes)} transactions, the limit is {self.tx_count_limit}")
        # A transaction appears once.
        if len(set(pp.tx_hashes)) != len(pp.tx_hashes):
            raise ConsensusError("proposal lists a transaction twice")
        # The header commits to exactly these transactions.
        if merkle_root(self.suite, list(pp.tx_hashes)) != header.transactions_root:
            raise ConsensusError("transactions root does not match the listed transactions")

    def _collect_transactions(self, pp: PrePrepare, envelope: Envelope) -> list[Transaction] | None:
        """The proposal's transactions from our pool, or None after asking the proposer for the rest."""
        txs: list[Transaction] = []
        missing: list[bytes] = []
        for tx_hash in pp.tx_hashes:
            tx = self.pool.get(tx_hash)
            if tx is None:
                # A transaction already on chain cannot be included again.
                if self.store.has_transaction(tx_hash):
                    raise ConsensusError("proposal includes a transaction already on chain")
                missing.append(tx_hash)
            else:
                txs.append(tx)
        if not missing:
            return txs
        unasked = tuple(h for h in missing if h not in self._tx_request_sent)
        if unasked and self.my_index is not None:
            self._tx_request_sent.update(unasked)
            request = self.sign(MsgType.TX_REQUEST, TxRequest(pp.number, unasked))
            self._send(self.node_ids[envelope.sender], request, pp.number, pp.view)
        return None

    def _retry_waiting(self) -> None:
        waiting, self._waiting = self._waiting, []
        for envelope, reproposal in waiting:
            pp = envelope.body()
            assert isinstance(pp, PrePrepare)
            if pp.number != self.height or pp.view in self.proposals:
                continue
            try:
                self._accept_pre_prepare(envelope, pp, reproposal)
            except ChainError as exc:
                self._reject(str(exc), envelope.type.name, envelope.sender)

    # --- Prepare and Commit -------------------------------------------------------------------

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
        self._sent.add((msg_type, view))
        self._voted_at_height = True
        self._broadcast(envelope, self.height, view)

    def _record_vote(self, envelope: Envelope, vote: Vote, table: dict[tuple[int, bytes], VoteSet[Envelope]]) -> bool:
        if not self._at_height(envelope, vote.number):
            return False
        # Votes of views we left are void.
        if vote.view < self.view:
            raise ConsensusError(f"old view {vote.view}: this node is in view {self.view}")
        # Votes are kept for views ahead of ours, but not without bound.
        if vote.view > self.view + MAX_VIEWS_AHEAD:
            raise ConsensusError(f"view {vote.view} is too far ahead of this node's view {self.view}")
        first = self._first_vote.setdefault((envelope.type, vote.view, envelope.sender), vote.digest)
        # A sealer votes for one proposal per view; a second, different vote is double voting.
        if first != vote.digest:
            raise ConsensusError(f"sealer {envelope.sender} voted for two proposals in view {vote.view}")
        # A repeated vote adds nothing.
        if not self._votes(table, vote.view, vote.digest).add(envelope.sender, envelope):
            raise ConsensusError("duplicate vote")
        return True

    def on_prepare(self, envelope: Envelope, vote: Vote) -> None:
        if self._record_vote(envelope, vote, self.prepares):
            self._check_prepared(vote.view)

    def on_commit(self, envelope: Envelope, vote: Vote) -> None:
        if self._record_vote(envelope, vote, self.commits):
            self._check_committed(vote.view)

    def _check_prepared(self, view: int) -> None:
        proposal = self.proposals.get(view)
        if proposal is None or view != self.view or self.to_view > self.view:
            return
        prepares = self._votes(self.prepares, view, proposal.digest)
        if not prepares.reached(self.quorum) or (self.prepared is not None and self.prepared[0] >= view):
            return
        proof_votes = tuple(e.raw for i, e in sorted(prepares.votes.items()) if e.type == MsgType.PREPARE)
        self.prepared = (view, PreparedProof(proposal.envelope.raw, proof_votes))
        if self.is_sealer and (MsgType.COMMIT, view) not in self._sent:
            # The proof is kept with the Commit: after a restart it must still go into our ViewChanges.
            self._vote(MsgType.COMMIT, view, proposal.digest, self._votes(self.commits, view, proposal.digest),
                       evidence=self.prepared[1].encode())
        self._check_committed(view)

    def _check_committed(self, view: int) -> None:
        """A commit quorum orders the block: it includes more than f honest sealers who saw it prepared."""
        proposal = self.proposals.get(view)
        if proposal is None or self.committed is not None:
            return
        if not self._votes(self.commits, view, proposal.digest).reached(self.quorum):
            return
        self.committed = proposal
        self._execute_and_checkpoint()

    # --- Checkpoint ---------------------------------------------------------------------------

    def _execute_and_checkpoint(self) -> None:
        assert self.committed is not None
        result = self.executor.execute(self.committed.block, self.store, self.store.state_root())
        self.executed = result
        block_hash = result.block.hash(self.suite)
        envelope = self._sign_once(MsgType.CHECKPOINT, 0, block_hash, Checkpoint(self.height, block_hash)) if self.is_sealer else None
        if envelope is not None:
            assert self.my_index is not None
            self._checkpoint_votes(block_hash).add(self.my_index, envelope.signature)
            self._broadcast(envelope, self.height, self.view)
        self._check_checkpoint()

    def _checkpoint_votes(self, block_hash: bytes) -> VoteSet[bytes]:
        if block_hash not in self.checkpoints:
            self.checkpoints[block_hash] = VoteSet(self.weights)
        return self.checkpoints[block_hash]

    def on_checkpoint(self, envelope: Envelope, checkpoint: Checkpoint) -> None:
        if not self._at_height(envelope, checkpoint.number):
            return
        first = self._checkpoint_of.setdefault(envelope.sender, checkpoint.block_hash)
        # A sealer vouches for one execution result per height.
        if first != checkpoint.block_hash:
            raise ConsensusError(f"sealer {envelope.sender} signed two execution results at height {checkpoint.number}")
        # A repeated signature adds nothing.
        if not self._checkpoint_votes(checkpoint.block_hash).add(envelope.sender, envelope.signature):
            raise ConsensusError("duplicate Checkpoint")
        self._check_checkpoint()

    def _check_checkpoint(self) -> None:
        if self.executed is None:
            return
        block_hash = self.executed.block.hash(self.suite)
        votes = self._checkpoint_votes(block_hash)
        if not votes.reached(self.quorum):
            for other, other_votes in self.checkpoints.items():
                if other != block_hash and other_votes.reached(self.quorum):
                    self._reject("a quorum signed an execution result that differs from ours", "CHECKPOINT", None)
            return
        block = self.executed.block.with_signatures(votes.votes.items())
        view = self.view
        self._commit(block, self.executed, "consensus", view)

    def _commit(self, block: Block, result: ExecutionResult, via: str, view: int) -> None:
        self.store.commit_block(block, result.receipts, result.changes)
        self.pool.remove_committed(block)
        self._release_own_proposals()
        self._out.append(fx.BlockCommitted(block.number, block.hash(self.suite), len(block.transactions), view, via))
        self._load_chain_config()
        self._reset_height()
        self.to_view = self.view  # a view change asked for at the decided height is moot
        self.consecutive_view_changes = 0
        self._cancel_timer(VIEW_TIMER)
        self._cancel_timer(SEAL_TIMER)
        self._height_advanced = True
        if self.pool_has_work():
            self._set_timer(VIEW_TIMER, self._timeout())

    # --- view change --------------------------------------------------------------------------

    def _timeout(self) -> int:
        return next_timeout_ms(self.config.timeout_ms, self.consecutive_view_changes, self.config.max_timeout_exponent)

    def _start_view_change(self, to_view: int) -> None:
        if not self.is_sealer or to_view <= self.to_view:
            return
        proof = self.prepared[1] if self.prepared is not None else None
        digest = b"" if proof is None else self.suite.hash(proof.pre_prepare)
        envelope = self._sign_once(MsgType.VIEW_CHANGE, to_view, digest, ViewChange(to_view, self.height, self.head_hash, proof))
        if envelope is None:
            return
        self.to_view = to_view
        self.consecutive_view_changes += 1
        self._cancel_timer(SEAL_TIMER)
        assert self.my_index is not None
        self._view_change_votes(to_view).add(self.my_index, envelope)
        self._requested_views[self.my_index] = to_view
        self._voted_at_height = True
        self._out.append(fx.ViewChangeStarted(self.height, to_view))
        self._broadcast(envelope, self.height, to_view)
        self._set_timer(VIEW_TIMER, self._timeout())
        self._check_new_view(to_view)

    def _view_change_votes(self, view: int) -> VoteSet[Envelope]:
        if view not in self.view_changes:
            self.view_changes[view] = VoteSet(self.weights)
        return self.view_changes[view]

    def _validate_proof(self, proof: PreparedProof, before_view: int) -> ProvenProposal:
        return validate_prepared_proof(
            proof, suite=self.suite, number=self.height, before_view=before_view, leader_period=self.leader_period,
            weights=self.weights, needed=self.quorum, verify=self._verify_sealer_message,
        )

    def _verify_sealer_message(self, raw: bytes) -> Envelope:
        envelope = self._verify(raw)
        # Embedded votes must come from sealers too.
        if envelope.sender >= len(self.sealer_ids):
            raise ConsensusError("embedded message from a non-sealer")
        return envelope

    def on_view_change(self, envelope: Envelope, vc: ViewChange) -> None:
        if vc.number < self.height:
            self._help_lagging(envelope.sender, vc.number)
        if not self._at_height(envelope, vc.number):
            return
        check_view_change_matches(vc, self.height, self.head_hash)
        # Asking for a view we are already in (or past) changes nothing.
        if vc.view <= self.view:
            raise ConsensusError(f"old view {vc.view}: this node is in view {self.view}")
        # ViewChanges are kept for views ahead of ours, but not without bound.
        if vc.view > self.view + MAX_VIEWS_AHEAD:
            raise ConsensusError(f"view {vc.view} is too far ahead of this node's view {self.view}")
        # A carried proof must hold up, or the NewView built on it would be wrong.
        if vc.prepared is not None:
            self._validate_proof(vc.prepared, vc.view)
        # A repeated ViewChange adds nothing.
        if not self._view_change_votes(vc.view).add(envelope.sender, envelope):
            raise ConsensusError("duplicate ViewChange")
        self._requested_views[envelope.sender] = max(vc.view, self._requested_views.get(envelope.sender, 0))
        # More than f weight wants a higher view: at least one honest sealer does, so join it.
        target = view_change_target(self._requested_views, self.weights, self.to_view, self.f)
        if target is not None:
            self._start_view_change(target)
        self._check_new_view(vc.view)

    def _check_new_view(self, view: int) -> None:
        """As leader of `view`, announce it once a quorum asked for it."""
        if not self.is_leader(view) or view in self._new_view_sent or view <= self.view:
            return
        votes = self._view_change_votes(view)
        if not votes.reached(self.quorum):
            return
        proven = []
        for vc_envelope in votes.votes.values():
            vc = vc_envelope.body()
            assert isinstance(vc, ViewChange)
            if vc.prepared is not None:
                proven.append(self._validate_proof(vc.prepared, view))
        chosen = highest_proposal(proven)
        pre_prepare = b""
        proposal_body: PrePrepare | None = None
        if chosen is not None:
            old = chosen.pre_prepare.body()
            assert isinstance(old, PrePrepare)
            proposal_body = PrePrepare(view, self.height, old.header, old.tx_hashes)
        elif self.pool.ready > 0:
            proposal_body = self._new_proposal(view)
        if proposal_body is not None:
            signed = self._sign_once(MsgType.PRE_PREPARE, view, proposal_body.header.hash(self.suite), proposal_body)
            if signed is None:
                return  # it proposed something else in this view before a restart; the next view change moves on
            pre_prepare = signed.raw
        view_changes = tuple(e.raw for _, e in sorted(votes.votes.items()))
        envelope = self._sign_once(MsgType.NEW_VIEW, view, b"", NewView(view, self.height, view_changes, pre_prepare))
        if envelope is None:
            return
        self._new_view_sent.add(view)
        self._broadcast(envelope, self.height, view)
        self._install_new_view(view, pre_prepare)

    def on_new_view(self, envelope: Envelope, nv: NewView) -> None:
        if not self._at_height(envelope, nv.number):
            return
        # Entering a view we are in (or past) again changes nothing.
        if nv.view <= self.view:
            raise ConsensusError(f"old view {nv.view}: this node is in view {self.view}")
        # Having asked for a higher view, we do not go back (our ViewChange promised that).
        if nv.view < self.to_view:
            raise ConsensusError(f"NewView for view {nv.view}, but this node asked for view {self.to_view}")
        # Only the leader of the new view announces it.
        if envelope.sender != self.leader(nv.view):
            raise ConsensusError(f"sender {envelope.sender} is not the leader of view {nv.view}")
        votes: VoteSet[Envelope] = VoteSet(self.weights)
        proven = []
        for raw in nv.view_changes:
            vc_envelope = self._verify_sealer_message(raw)
            # A NewView is justified by ViewChanges only.
            if vc_envelope.type != MsgType.VIEW_CHANGE:
                raise ConsensusError("NewView holds a message that is not a ViewChange")
            vc = vc_envelope.body()
            assert isinstance(vc, ViewChange)
            # Each asks for this view at this height on our chain.
            if vc.view != nv.view:
                raise ConsensusError(f"NewView holds a ViewChange for view {vc.view}, not {nv.view}")
            check_view_change_matches(vc, self.height, self.head_hash)
            # Each sealer counts once.
            if not votes.add(vc_envelope.sender, vc_envelope):
                raise ConsensusError("NewView holds two ViewChanges of one sealer")
            if vc.prepared is not None:
                proven.append(self._validate_proof(vc.prepared, nv.view))
        # A quorum must have asked for the view.
        if not votes.reached(self.quorum):
            raise ConsensusError(f"NewView's ViewChanges weigh {votes.weight}, a quorum needs {self.quorum}")
        chosen = highest_proposal(proven)
        pp_envelope: Envelope | None = None
        if nv.pre_prepare:
            pp_envelope = self._verify_sealer_message(nv.pre_prepare)
            pp = pp_envelope.body()
            # The proposal must be a PrePrepare of the new leader for this view and height.
            if pp_envelope.type != MsgType.PRE_PREPARE or pp_envelope.sender != envelope.sender:
                raise ConsensusError("NewView's proposal is not a PrePrepare of the new leader")
            assert isinstance(pp, PrePrepare)
            if (pp.view, pp.number) != (nv.view, self.height):
                raise ConsensusError("NewView's PrePrepare is for another view or height")
        # A block prepared in an earlier view must be re-proposed, never replaced.
        if chosen is not None:
            if pp_envelope is None:
                raise ConsensusError("NewView drops a prepared block")
            pp = pp_envelope.body()
            assert isinstance(pp, PrePrepare)
            if pp.header.hash(self.suite) != chosen.digest:
                raise ConsensusError("NewView replaces a prepared block with another one")
        self._install_new_view(nv.view, nv.pre_prepare if pp_envelope is not None else b"", chosen is not None)

    def _install_new_view(self, view: int, pre_prepare: bytes, reproposal: bool = True) -> None:
        self._enter_view(view)
        self._out.append(fx.ViewChanged(self.height, view))
        self._set_timer(VIEW_TIMER, self._timeout()) if self.pool_has_work() else self._cancel_timer(VIEW_TIMER)
        if pre_prepare:
            envelope = self._verify(pre_prepare)
            pp = envelope.body()
            assert isinstance(pp, PrePrepare)
            if envelope.sender == self.my_index:
                self._propose_envelope(envelope, pp, broadcast=False)  # it travels inside the NewView
            else:
                try:
                    self._accept_pre_prepare(envelope, pp, reproposal=reproposal)
                except ChainError as exc:
                    self._reject(str(exc), envelope.type.name, envelope.sender)
        self._check_prepared(view)
        self._check_committed(view)

    def _enter_view(self, view: int) -> None:
        self._release_own_proposals()
        self.view = view
        self.to_view = max(self.to_view, view)
        self.consecutive_view_changes = 0

    def _release_own_proposals(self) -> None:
        """Transactions of our proposals that were not decided go back to the pool's ready queue."""
        for proposal in self.proposals.values():
            if proposal.envelope.sender == self.my_index:
                self.pool.release(proposal.pre_prepare.tx_hashes)

    # --- proposing ----------------------------------------------------------------------------

    def pool_has_work(self) -> bool:
        """Transactions wait, or a block is in flight at this height (also one prepared before a restart)."""
        return len(self.pool) > 0 or bool(self.proposals) or self.committed is not None or self.prepared is not None

    def _new_proposal(self, view: int) -> PrePrepare | None:
        txs = self.pool.select(self.tx_count_limit)
        if not txs:
            return None
        assert self.my_index is not None
        tx_hashes = tuple(tx.hash(self.suite) for tx in txs)
        header = BlockHeader(
            parent_hash=self.head_hash, number=self.height, timestamp=max(self.now, self.head.header.timestamp),
            sealer=self.my_index, sealer_list=self.sealer_ids, transactions_root=merkle_root(self.suite, list(tx_hashes)),
        )
        return PrePrepare(view, self.height, header, tx_hashes)

    def propose(self) -> None:
        """As leader, seal the waiting transactions into a block and send the PrePrepare."""
        if not self._may_propose():
            return
        pp = self._new_proposal(self.view)
        if pp is None:
            return
        envelope = self._sign_once(MsgType.PRE_PREPARE, pp.view, pp.header.hash(self.suite), pp)
        if envelope is None:
            self.pool.release(pp.tx_hashes)
            return
        self._propose_envelope(envelope, pp)

    def _propose_envelope(self, envelope: Envelope, pp: PrePrepare, broadcast: bool = True) -> None:
        digest = pp.header.hash(self.suite)
        known = {tx.hash(self.suite): tx for p in self.proposals.values() for tx in p.block.transactions}
        txs = [self.pool.get(h) or known.get(h) for h in pp.tx_hashes]
        if any(tx is None for tx in txs):
            self._reject("cannot propose: a transaction left the pool", "PRE_PREPARE", self.my_index)
            return
        self.proposals[pp.view] = _Proposal(envelope, pp, digest, Block(pp.header, tuple(txs)))  # type: ignore[arg-type]
        self._votes(self.prepares, pp.view, digest).add(envelope.sender, envelope)
        self._voted_at_height = True
        self._cancel_timer(SEAL_TIMER)
        if broadcast:
            self._broadcast(envelope, pp.number, pp.view)
        self._check_prepared(pp.view)

    def _may_propose(self) -> bool:
        """Leader of the view we are in, not leaving it, and not proposed in it yet (before a restart included)."""
        return (self.is_leader() and self.to_view == self.view and self.view not in self.proposals
                and (int(MsgType.PRE_PREPARE), self.view) not in self._signed)

    def _maybe_seal(self) -> None:
        if not self._may_propose() or self.pool.ready == 0:
            return
        if self.pool.ready >= self.tx_count_limit:
            self.propose()
        elif SEAL_TIMER not in self._timers:
            self._set_timer(SEAL_TIMER, self.config.min_seal_time_ms)

    # --- timers and ticks ---------------------------------------------------------------------

    def _on_timer(self, name: str) -> None:
        deadline = self._timers.get(name)
        # A timer that was cancelled or restarted since is stale.
        if deadline is None or self.now < deadline:
            return
        del self._timers[name]
        if name == SEAL_TIMER:
            self.propose()
        elif name == VIEW_TIMER:
            if self.is_sealer and self.pool_has_work():
                self._start_view_change(max(self.view, self.to_view) + 1)

    def _update_timers(self) -> None:
        """The view timer runs only while there is work; the leader seals when transactions wait."""
        if self.is_sealer:
            if self.pool_has_work() and VIEW_TIMER not in self._timers:
                self._set_timer(VIEW_TIMER, self._timeout())
            elif not self.pool_has_work() and VIEW_TIMER in self._timers and self.to_view == self.view:
                self._cancel_timer(VIEW_TIMER)
            self._maybe_seal()

    def _on_tick(self) -> None:
        if self._waiting:
            self._tx_request_sent.clear()  # ask again: the first request or its answer may be lost
            self._retry_waiting()
        self._retry_sync()

    # --- transactions -------------------------------------------------------------------------

    def _admit(self, txs: Sequence[Transaction | bytes]) -> list[Transaction]:
        accepted: list[Transaction] = []
        for item in txs:
            try:
                tx = Transaction.decode(item) if isinstance(item, (bytes, bytearray)) else item
                self.pool.submit(tx)
                accepted.append(tx)
            except TxRejected as exc:
                if exc.status not in (Status.ALREADY_KNOWN, Status.ALREADY_IN_CHAIN):
                    self._reject(f"transaction refused: {exc}", "TX", None)
            except LedgerError as exc:
                self._reject(f"transaction refused: {exc}", "TX", None)
        return accepted

    def _on_submit(self, txs: Sequence[Transaction | bytes]) -> None:
        accepted = self._admit(txs)
        self._out.append(fx.TxsAccepted(tuple(tx.hash(self.suite) for tx in accepted), len(txs) - len(accepted)))
        if accepted and self.my_index is not None:
            gossip = self.sign(MsgType.TX_GOSSIP, TxList(tuple(tx.encode() for tx in accepted)))
            self._broadcast(gossip, self.height, self.view)

    def on_tx_gossip(self, envelope: Envelope, body: TxList) -> None:
        accepted = self._admit(body.txs)
        if accepted:
            self._out.append(fx.TxsAccepted(tuple(tx.hash(self.suite) for tx in accepted), len(body.txs) - len(accepted)))

    def on_tx_request(self, envelope: Envelope, request: TxRequest) -> None:
        found = []
        for tx_hash in request.hashes:
            tx = self.pool.get(tx_hash)
            if tx is not None:
                found.append(tx.encode())
        if found and self.my_index is not None:
            response = self.sign(MsgType.TX_RESPONSE, TxList(tuple(found)))
            self._send(self.node_ids[envelope.sender], response, request.number, self.view)

    def on_tx_response(self, envelope: Envelope, body: TxList) -> None:
        self._admit(body.txs)
        self._retry_waiting()

    # --- block sync ---------------------------------------------------------------------------

    def _retry_sync(self) -> None:
        """On each Tick: while peers claim blocks we lack, ask one of them (in turn) for the next ones.

        Requests are at most one per sync_retry_ms, and go to each peer that is ahead in turn, so a
        lost request, a lost answer or a peer that lies about its head only delays us. Right after
        start, before any peer has been heard (the driver may not have linked any yet), everyone is
        asked instead, for start_probe_ms at most.
        """
        ahead = sorted(node_id for node_id, head in self._peer_heads.items() if head >= self.height)
        if ahead:
            peer = ahead[self._sync_turn % len(ahead)]
            if self._request_sync(peer, self._peer_heads[peer]):
                self._sync_turn += 1
        elif not self._heard_from_peer and self.now - self._started_at < self.config.start_probe_ms:
            self._request_sync(None, self.height + self.config.sync_batch - 1)

    def _request_sync(self, peer: bytes | None, to_number: int) -> bool:
        """Ask a peer (or everyone) for the blocks from our height up to to_number; False if too soon."""
        if self.now < self._sync_in_flight_until or self.my_index is None:
            return False
        self._sync_in_flight_until = self.now + self.config.sync_retry_ms
        to_number = min(to_number, self.height + self.config.sync_batch - 1)
        request = self.sign(MsgType.SYNC_REQUEST, SyncRequest(self.height, max(to_number, self.height)))
        if peer is None:
            self._broadcast(request, self.height, self.view)
        else:
            self._send(peer, request, self.height, self.view)
        return True

    def _help_lagging(self, sender: int, number: int) -> None:
        """A peer still works on a height we have passed: send it what it lacks, unasked."""
        blocks = block_sync.blocks_for(self.store, number, self.height - 1, self.config.sync_batch)
        if blocks and self.my_index is not None:
            response = self.sign(MsgType.SYNC_RESPONSE, SyncResponse(blocks))
            self._send(self.node_ids[sender], response, number, self.view)

    def on_sync_request(self, envelope: Envelope, request: SyncRequest) -> None:
        # A range must run forwards.
        if request.to_number < request.from_number:
            raise ConsensusError("sync request range runs backwards")
        blocks = block_sync.blocks_for(self.store, request.from_number, request.to_number, self.config.sync_batch)
        if blocks and self.my_index is not None:
            response = self.sign(MsgType.SYNC_RESPONSE, SyncResponse(blocks))
            self._send(self.node_ids[envelope.sender], response, request.from_number, self.view)

    def on_sync_response(self, envelope: Envelope, response: SyncResponse) -> None:
        applied = 0
        for raw in response.blocks:
            block = block_sync.decode_block(raw)
            if block.number < self.height:
                continue  # already have it
            # Blocks are applied in order; a gap means the rest must wait for another response.
            if block.number > self.height:
                break
            verify_block_signatures(self.suite, block, self.sealer_ids, self.weights)
            result = block_sync.re_execute(self.suite, self.executor, self.store, block)
            self._commit(result.block.with_signatures(block.signatures), result, "sync", self.view)
            applied += 1
        if applied:
            self._sync_in_flight_until = -1
            last = block_sync.decode_block(response.blocks[-1]).number
            if last >= self.height:
                self._request_sync(self.node_ids[envelope.sender], last)


def _number_of(envelope: Envelope) -> int:
    body = envelope.body()
    return int(getattr(body, "number", 0))
