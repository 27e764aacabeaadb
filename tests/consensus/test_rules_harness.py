"""The harness the rule tables run on: one real replica in a chosen state, fed signed messages.

Every rule a message must pass is pinned by a case: (replica state, message) → the rejection
with its reason, or acceptance (what the replica does next). The replica is the real
``chain.consensus.pbft.replica.Replica`` on a real store (``open_chain(":memory:", genesis)``),
pool and ``KVExecutor``; the messages are signed with the real keys of the other nodes
(``chain.sim.runner.derive_keys``), so a case can say anything any sealer could say — including
what a Byzantine one would — and nothing a case does goes around the replica's checks.

Layout of the cases (as in the simulator): sealers 0–3 with weight 1 (quorum 3, f = 1) and
observer 4; the replica under test is node 0; node ``(height + view) % 4`` leads a view, so at
height 1 node 1 leads view 0, node 2 view 1, node 3 view 2 and node 0 view 3.

``Harness`` builds the state and the messages; ``describe`` turns messages and effects into the
short lines the table files (tests/consensus/testdata) compare. A delivered message that is only
rejected must leave the replica exactly as it was: ``Harness.deliver`` asserts that every time.
The tests at the end of this module check the harness itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import pytest

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.messages import (
    Checkpoint, Envelope, MsgType, NewView, PreparedProof, PrePrepare, SyncRequest, SyncResponse, TxList, TxRequest,
    ViewChange, Vote, decode_envelope, make_envelope, sign_message,
)
from chain.consensus.pbft.replica import Replica, ReplicaConfig
from chain.crypto.suite import get_suite
from chain.errors import TxRejected
from chain.execution.kv import KVExecutor, encode_kv
from chain.execution.result import ExecutionResult, block_result
from chain.ledger.block import Block, BlockHeader
from chain.ledger.codec import encode
from chain.ledger.genesis import GenesisConfig, open_chain
from chain.ledger.merkle import merkle_root
from chain.ledger.system import (
    BLOCK_GAS_LIMIT, CONFIG_TABLE, FEATURE_RPBFT, LEADER_PERIOD, RPBFT_EPOCH_BLOCK_NUM, RPBFT_EPOCH_SEALER_NUM, TX_COUNT_LIMIT,
)
from chain.ledger.transaction import Transaction, new_transaction, sign_transaction
from chain.sim.runner import CHAIN_ID, GROUP_ID, derive_keys
from chain.txpool.pool import TxPool

SUITE = "standard"  # deterministic signatures: the same case gives the same bytes every run
SEED = 7
OTHER_HASH = b"\x0b" * 32  # "some other hash": a parent, root or digest that is not the right one
SETUP_TX = 100  # transactions 100 + n are those of the setup block n (already on chain)

# A leader seals only when a table says "fire seal": with sealing at once on an idle chain, a
# leader's replica would propose while it is being built, before the table could look at it.
HARNESS_CONFIG = ReplicaConfig(seal_when_idle=False)


@dataclass(frozen=True)
class Proposed:
    """A proposal's block (header without execution results, and its transactions), named in the tables."""

    header: BlockHeader
    txs: tuple[Transaction, ...]

    @property
    def tx_hashes(self) -> tuple[bytes, ...]:
        return tuple(tx.hash(get_suite(SUITE)) for tx in self.txs)


class RuleChangingExecutor(KVExecutor):
    """The kv executor, but every block also writes a row of the system config table (a governance block)."""

    def execute(self, block: Block, state: Any, parent_state_root: bytes) -> ExecutionResult:
        result = super().execute(block, state, parent_state_root)
        changes = {**result.changes, (CONFIG_TABLE, b"harness_marker"): b"1"}
        return block_result(self.suite, block, result.receipts, changes, parent_state_root)


class Harness:
    """A replica (node `me`) at a chosen height, with client transactions 0..txs-1 in its pool.

    height > 1 commits setup blocks 1..height-1 straight into the store first (each holding
    transaction 100 + n, signed by sealers 0–2), as if they had been decided earlier. The pool's
    transactions are admitted at genesis with `block_limit`, so a small one makes them stale at a
    later height. tx_limit is the chain's tx_count_limit, block_gas its block_gas_limit (every
    transaction declares the default gasLimit, 300,000,000).
    """

    def __init__(self, *, me: int = 0, sealers: int = 4, observers: int = 1, txs: int = 2, height: int = 1,
                 tx_limit: int = 1000, block_limit: int = 500, block_gas: int | None = None,
                 epoch_sealers: int = 0, epoch_blocks: int = 1000, group_id: int = GROUP_ID,
                 rules_change: int = 0) -> None:
        self.suite = get_suite(SUITE)
        self.group_id = group_id
        sealer_keys = derive_keys(SUITE, SEED, sealers, "sealer")
        self.keys = sealer_keys + derive_keys(SUITE, SEED, observers, "observer")
        self.client = derive_keys(SUITE, SEED, 1, "client")[0]
        self.sealer_ids = tuple(k.public_key for k in sealer_keys)
        genesis = GenesisConfig(
            chain_id=CHAIN_ID, group_id=group_id, suite=SUITE, sealers=tuple((node_id, 1) for node_id in self.sealer_ids),
            observers=tuple(k.public_key for k in self.keys[sealers:]),
            system_config={TX_COUNT_LIMIT: str(tx_limit), LEADER_PERIOD: "1",
                           **({} if block_gas is None else {BLOCK_GAS_LIMIT: str(block_gas)}),
                           **({} if not epoch_sealers else {FEATURE_RPBFT: "1", RPBFT_EPOCH_SEALER_NUM: str(epoch_sealers),
                                                            RPBFT_EPOCH_BLOCK_NUM: str(epoch_blocks)})},
        )
        self.store = open_chain(":memory:", genesis)
        # rules_change: every block also writes a system-config row (as a governance transaction would)
        self.executor = RuleChangingExecutor(self.suite) if rules_change else KVExecutor(self.suite)
        self.me = me
        self.txs = [self._new_tx(i, block_limit) for i in range(txs)]
        self.now = 0
        self.names: dict[bytes, str] = {}  # block hash (proposed or executed) -> the name a table gave it
        self._links: dict[bytes, int] = {}  # raw message -> the node whose link brings it, where not its sender's
        pool = self._pool()
        for number in range(1, height):
            self._commit_setup_block(number)
        self.replica = Replica(self.suite, self.keys[me].secret, self.store, pool, self.executor, HARNESS_CONFIG)
        self.replica.start(self.now)

    # --- the state ----------------------------------------------------------------------------

    def tx(self, i: int) -> Transaction:
        """Client transaction i: the pool's for i < txs, else one nobody has (100 + n: setup block n's)."""
        return self.txs[i] if i < len(self.txs) else self._new_tx(i, 500)

    def _new_tx(self, i: int, block_limit: int) -> Transaction:
        """Transaction i sets key k<i> (the same bytes every time)."""
        unsigned = new_transaction(to=b"\x10" * 20, data=encode_kv(f"k{i}".encode(), f"v{i}".encode()),
                                   block_limit=block_limit, chain_id=CHAIN_ID, group_id=self.group_id, nonce=1_000 + i)
        return sign_transaction(unsigned, self.client)

    def _pool(self) -> TxPool:
        pool = TxPool(self.suite, self.store, chain_id=CHAIN_ID, group_id=self.group_id)
        for tx in self.txs:
            try:
                pool.submit(tx)
            except TxRejected:
                pass  # on chain already, or stale: a restarted node's client would see the same
        return pool

    def _commit_setup_block(self, number: int) -> None:
        proposed = self.block(sealer=number % len(self.sealer_ids), txs=[SETUP_TX + number], timestamp=1000 * number)
        result = self._execute(proposed)
        self.store.commit_block(self.signed(proposed, signers=(0, 1, 2)), result.receipts, result.changes)

    def restart(self) -> None:
        """The node crashes and starts again: a new replica and pool on the same store (its disk)."""
        self.replica = Replica(self.suite, self.keys[self.me].secret, self.store, self._pool(), self.executor,
                               HARNESS_CONFIG)
        self.replica.start(self.now)

    # --- blocks ---------------------------------------------------------------------------------

    def block(self, sealer: int, txs: Sequence[int] = (0, 1), *, number: int | None = None, parent: Any = None,
              timestamp: int | None = None, sealer_list: Any = None, tx_root: Any = None,
              state_root: Any = None, on: Proposed | None = None) -> Proposed:
        """A proposal's block on our head (`on`: on that block as executed, not stored yet: the pipeline's
        next height); each other keyword spoils one header field (`"other"`: a wrong value)."""
        head = self.store.head() if on is None else self.executed(on)
        assert head is not None
        chosen = tuple(self.tx(i) for i in txs)
        hashes = [tx.hash(self.suite) for tx in chosen]
        header = BlockHeader(
            parent_hash=OTHER_HASH if parent == "other" else head.hash(self.suite),
            number=head.number + 1 if number is None else number,
            timestamp=head.header.timestamp + 500 if timestamp is None else timestamp,
            sealer=sealer,
            sealer_list=self.sealer_ids[:-1] if sealer_list == "short" else self.sealer_ids,
            transactions_root=OTHER_HASH if tx_root == "other" else merkle_root(self.suite, hashes),
        )
        if state_root == "other":
            header = replace(header, state_root=OTHER_HASH)
        return Proposed(header, chosen)

    def digest(self, proposed: Proposed) -> bytes:
        return proposed.header.hash(self.suite)

    def _execute(self, proposed: Proposed) -> ExecutionResult:
        return self.executor.execute(Block(proposed.header, proposed.txs), self.store, self.store.state_root())

    def executed(self, proposed: Proposed) -> Block:
        """The block as executing it on our head gives it (receipts root, state root and gas filled in)."""
        return self._execute(proposed).block

    def signed(self, proposed: Proposed, signers: Sequence[int] = (0, 1, 2), *, bad: Sequence[int] = (),
               state_root: Any = None) -> Block:
        """The executed block with the signature list of `signers` (those in `bad` flipped, indexes
        outside the node list signed with key 0); state_root="other" spoils the executed header first."""
        block = self.executed(proposed)
        if state_root == "other":
            block = replace(block, header=replace(block.header, state_root=OTHER_HASH))
        block_hash = block.hash(self.suite)
        signatures = []
        for index in signers:
            key = self.keys[index] if index < len(self.keys) else self.keys[0]
            signature = self.suite.sign(key.secret, block_hash)
            if index in bad:
                signature = bytes([signature[0] ^ 1]) + signature[1:]
            signatures.append((index, signature))
        return block.with_signatures(signatures)

    def name(self, label: str, proposed: Proposed) -> None:
        """Give a block a name in the descriptions: its proposal digest and its executed hash."""
        self.names[self.digest(proposed)] = label
        self.names[self.executed(proposed).hash(self.suite)] = f"{label} executed"

    # --- messages -------------------------------------------------------------------------------

    def sign(self, sender: int, msg_type: MsgType, body: Any, domain: bytes | None = None) -> Envelope:
        """Signed by sender in this replica's group (or in the group of ``domain``)."""
        return sign_message(self.suite, self.keys[sender].secret, msg_type, sender, body,
                            self.replica.domain if domain is None else domain)

    def pre_prepare(self, sender: int, view: int = 0, block: Proposed | None = None,
                    number: int | None = None) -> Envelope:
        proposed = block if block is not None else self.block(sender)
        number = proposed.header.number if number is None else number
        return self.sign(sender, MsgType.PRE_PREPARE, PrePrepare(view, number, proposed.header, proposed.tx_hashes))

    def vote(self, msg_type: MsgType, sender: int, view: int = 0, block: Proposed | None = None,
             number: int | None = None, digest: Any = None, signed: int = 0) -> Envelope:
        """A Prepare or Commit; a Commit goes unsigned as sealers send it, unless `signed` (a forger's)."""
        if digest == "other":
            digest = OTHER_HASH
        elif digest is None:
            assert block is not None, "a vote needs a block or a digest"
            digest = self.digest(block)
        body = Vote(view, self.replica.height if number is None else number, digest)
        if msg_type == MsgType.COMMIT and not signed:  # as sealers send it: vouched for by its sender's link
            return make_envelope(msg_type, sender, encode(body.to_rlp()), b"", body=body)
        return self.sign(sender, msg_type, body)

    def checkpoint(self, sender: int, block: Proposed | None = None, number: int | None = None,
                   hash: Any = None) -> Envelope:
        block_hash = OTHER_HASH if hash == "other" else self.executed(block).hash(self.suite)  # type: ignore[arg-type]
        return self.sign(sender, MsgType.CHECKPOINT, Checkpoint(self.replica.height if number is None else number, block_hash))

    def proof(self, pre_prepare: Envelope, prepares: Sequence[int | Envelope] = ()) -> PreparedProof:
        """A prepared proof: the first message, and Prepares for its block in its view by the sealers
        listed (messages in the list go in as they are)."""
        pp = pre_prepare.body()
        votes = []
        for item in prepares:
            if isinstance(item, Envelope):
                votes.append(item)
            else:
                assert isinstance(pp, PrePrepare), "Prepares by sender need a PrePrepare first"
                votes.append(self.sign(item, MsgType.PREPARE, Vote(pp.view, pp.number, pp.header.hash(self.suite))))
        return PreparedProof(pre_prepare.raw, tuple(v.raw for v in votes))

    def view_change(self, sender: int, view: int, proof: PreparedProof | None = None, number: int | None = None,
                    head: Any = None) -> Envelope:
        head_hash = OTHER_HASH if head == "other" else self.replica.head_hash
        return self.sign(sender, MsgType.VIEW_CHANGE,
                         ViewChange(view, self.replica.height if number is None else number, head_hash, proof))

    def new_view(self, sender: int, view: int, vcs: Sequence[int | Envelope] = (), proposal: Envelope | None = None,
                 number: int | None = None) -> Envelope:
        """NewView with ViewChanges for `view` (an int: that sealer's, without proof) and an optional PrePrepare."""
        envelopes = [v if isinstance(v, Envelope) else self.view_change(v, view) for v in vcs]
        body = NewView(view, self.replica.height if number is None else number, tuple(e.raw for e in envelopes),
                       b"" if proposal is None else proposal.raw)
        return self.sign(sender, MsgType.NEW_VIEW, body)

    def sync_response(self, sender: int, blocks: Sequence[Block]) -> Envelope:
        return self.sign(sender, MsgType.SYNC_RESPONSE, SyncResponse(tuple(b.encode() for b in blocks)))

    def sync_request(self, sender: int, start: int, end: int) -> Envelope:
        return self.sign(sender, MsgType.SYNC_REQUEST, SyncRequest(start, end))

    def tx_gossip(self, sender: int, txs: Sequence[int] = (0,)) -> Envelope:
        """Transactions as a node gossips them: unsigned, for the receiver's link to vouch for."""
        body = TxList(tuple(self.tx(i).encode() for i in txs))
        return make_envelope(MsgType.TX_GOSSIP, sender, encode(body.to_rlp()), b"", body=body)

    def forged(self, envelope: Envelope, sender: int) -> Envelope:
        """The same payload and signature, claiming another sender (it comes on the real signer's link)."""
        fake = make_envelope(envelope.type, sender, envelope.payload, envelope.signature)
        return self.via(fake, envelope.sender)

    def via(self, envelope: Envelope, peer: int) -> Envelope:
        """The message arrives on node `peer`'s link (by default a message comes on its sender's own)."""
        self._links[envelope.raw] = peer
        return envelope

    @staticmethod
    def bad_signature(envelope: Envelope) -> Envelope:
        flipped = bytes([envelope.signature[0] ^ 1]) + envelope.signature[1:]
        return make_envelope(envelope.type, envelope.sender, envelope.payload, flipped)

    # --- driving the replica ------------------------------------------------------------------

    def deliver(self, envelope: Envelope) -> list[fx.Effect]:
        """Hand the replica a message; a message it only rejects must leave it exactly as it was."""
        before = snapshot(self.replica)
        peer_index = self._links.get(envelope.raw, envelope.sender)
        peer_index = peer_index if peer_index < len(self.keys) else 1
        effects = self.replica.handle(fx.Deliver(self.keys[peer_index].public_key, envelope.raw), self.now)
        visible = [e for e in effects if not isinstance(e, (fx.SetTimer, fx.CancelTimer, fx.TxsAccepted))]
        # Only a refusal of this very message counts (not, say, the replica refusing to sign a vote).
        if visible and all(isinstance(e, fx.Rejected) and e.type in (envelope.type.name, "?") for e in visible):
            assert snapshot(self.replica) == before, f"a rejected message changed the replica: {visible}"
        return effects

    def fire(self, timer: str) -> list[fx.Effect]:
        """Let time run to the timer's deadline and fire it."""
        deadline = self.replica.timer_deadline(timer)
        assert deadline is not None, f"timer {timer!r} is not running"
        self.now = max(self.now, deadline)
        return self.replica.handle(fx.TimerFired(timer), self.now)

    # --- descriptions -------------------------------------------------------------------------

    def block_name(self, block_hash: bytes) -> str:
        return self.names.get(block_hash, "an unnamed block")

    def describe_message(self, envelope: Envelope) -> str:
        """One line saying what a message says (blocks by the names the table gave them)."""
        body = envelope.body()
        head = f"{envelope.type.name} from {envelope.sender}"
        if isinstance(body, PrePrepare):
            return f"{head}: view {body.view}, height {body.number}, block {self.block_name(body.header.hash(self.suite))}"
        if isinstance(body, Vote):
            return f"{head}: view {body.view}, height {body.number}, for {self.block_name(body.digest)}"
        if isinstance(body, Checkpoint):
            return f"{head}: height {body.number}, for {self.block_name(body.block_hash)}"
        if isinstance(body, ViewChange):
            return f"{head}: to view {body.view}, height {body.number}, {self._describe_proof(body.prepared)}"
        if isinstance(body, NewView):
            senders = sorted(decode_envelope(raw).sender for raw in body.view_changes)
            proposal = "no proposal" if not body.pre_prepare else self._describe_proposal(body.pre_prepare)
            return f"{head}: view {body.view}, height {body.number}, ViewChanges of {senders}, {proposal}"
        if isinstance(body, SyncRequest):
            return f"{head}: blocks {body.from_number}..{body.to_number}"
        if isinstance(body, SyncResponse):
            return f"{head}: {len(body.blocks)} block(s)"
        if isinstance(body, TxRequest):
            return f"{head}: {len(body.hashes)} tx(s) of height {body.number}"
        assert isinstance(body, TxList)
        return f"{head}: {len(body.txs)} tx(s)"

    def _describe_proposal(self, raw: bytes) -> str:
        envelope = decode_envelope(raw)
        pp = envelope.body()
        assert isinstance(pp, PrePrepare)
        return f"proposal {self.block_name(pp.header.hash(self.suite))} by {envelope.sender} in view {pp.view}"

    def _describe_proof(self, proof: PreparedProof | None) -> str:
        if proof is None:
            return "no proof"
        pp = decode_envelope(proof.pre_prepare).body()
        assert isinstance(pp, PrePrepare)
        voters = sorted(decode_envelope(raw).sender for raw in proof.prepares)
        return f"proof: {self.block_name(pp.header.hash(self.suite))} in view {pp.view} (Prepares of {voters})"

    def _index_of(self, node_id: bytes) -> int:
        return next(i for i, k in enumerate(self.keys) if k.public_key == node_id)

    def describe(self, effect: fx.Effect) -> str | None:
        """One line per effect a table shows (timers and pool bookkeeping are left out)."""
        if isinstance(effect, fx.Broadcast):
            # rPBFT sends what only working sealers use to them alone (chain.consensus.pbft.rpbft)
            to = "" if effect.to is None else f" to {sorted(self._index_of(node_id) for node_id in effect.to)}"
            return f"broadcast{to} {self.describe_message(decode_envelope(effect.raw))}"
        if isinstance(effect, fx.Send):
            to = next(i for i, k in enumerate(self.keys) if k.public_key == effect.to)
            return f"send to {to}: {self.describe_message(decode_envelope(effect.raw))}"
        if isinstance(effect, fx.Rejected):
            return f"reject {effect.type} from {'?' if effect.sender is None else effect.sender}: {effect.reason}"
        if isinstance(effect, fx.BlockCommitted):
            return f"committed block {effect.number} ({self.block_name(effect.block_hash)}) via {effect.via}"
        if isinstance(effect, fx.ViewChanged):
            return f"entered view {effect.view}"
        if isinstance(effect, fx.ViewChangeStarted):
            return f"asks for view {effect.to_view}"
        return None

    def status(self) -> str:
        """The replica's state in one line."""
        r = self.replica
        proposals = ", ".join(f"{self.block_name(p.digest)} in view {v}" for v, p in sorted(r.proposals.items())) or "-"
        prepared = "-"
        if r.prepared is not None:
            pp = decode_envelope(r.prepared[1].pre_prepare).body()
            assert isinstance(pp, PrePrepare)
            prepared = f"{self.block_name(pp.header.hash(self.suite))} in view {r.prepared[0]}"
        ordered = "-" if r.committed is None else self.block_name(r.committed.digest)
        asked = f", asks for view {r.to_view}" if r.to_view > r.view else ""
        epoch = "" if r.epoch is None else f"; {r.role}, working: {list(r.working)}, leader {r.leader()}"
        return (f"node {self.me} at height {r.height}, view {r.view}{asked}; proposals: {proposals}; "
                f"prepared: {prepared}; ordered: {ordered}{epoch}")


def snapshot(replica: Replica) -> Any:
    """Everything a message could change in a replica (its protocol state and its store's head)."""
    return (
        replica.height, replica.view, replica.to_view, replica.head_hash, sorted(replica.proposals),
        {k: sorted(v.votes) for k, v in replica.prepares.items()}, {k: sorted(v.votes) for k, v in replica.commits.items()},
        {k: sorted(v.votes) for k, v in replica.checkpoints.items()},
        {k: sorted(v.votes) for k, v in replica.view_changes.items()}, dict(replica.current.requested_views),
        replica.prepared, replica.committed is not None, replica.executed is not None, dict(replica.current.signed),
        replica.current.joined_view, dict(replica.current.views_seen), len(replica._future), len(replica.current.waiting),
        replica.store.head_number(),
    )


def lines(harness: Harness, effects: list[fx.Effect]) -> list[str]:
    return [line for line in (harness.describe(e) for e in effects) if line is not None]


# --- the harness itself -----------------------------------------------------------------------------

def test_the_replica_starts_where_the_case_says() -> None:
    h = Harness(height=3, txs=2)
    assert h.replica.height == 3 and h.replica.view == 0 and len(h.replica.pool) == 2
    assert h.replica.leader() == (3 + 0) % 4
    assert h.store.block_by_number(2) is not None and h.store.has_transaction(h.tx(SETUP_TX + 2).hash(h.suite))


def test_a_valid_proposal_is_accepted_and_voted_for() -> None:
    h = Harness()
    x = h.block(sealer=1)
    h.name("x", x)
    assert lines(h, h.deliver(h.pre_prepare(1, block=x))) == ["broadcast PREPARE from 0: view 0, height 1, for x"]


def test_a_rejected_message_that_changed_the_replica_would_be_caught() -> None:
    """The harness's own check must be able to fail: a state change hidden behind a rejection."""
    h = Harness()
    h.replica.view_changes.clear()
    original = h.replica.handle

    def leaky(event: fx.Event, now: int) -> list[fx.Effect]:
        h.replica.to_view += 1
        return [fx.Rejected("made up", "PREPARE", 1)]

    h.replica.handle = leaky  # type: ignore[method-assign]
    with pytest.raises(AssertionError, match="changed the replica"):
        h.deliver(h.vote(MsgType.PREPARE, 1, digest="other"))
    h.replica.handle = original  # type: ignore[method-assign]


def test_forged_and_badly_signed_messages_are_what_they_claim() -> None:
    h = Harness()
    genuine = h.vote(MsgType.PREPARE, 2, digest="other")
    assert h.forged(genuine, 3).sender == 3 and h.forged(genuine, 3).signature == genuine.signature
    assert h.bad_signature(genuine).signature != genuine.signature
