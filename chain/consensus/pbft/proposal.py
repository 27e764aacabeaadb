"""The PrePrepare phase: the leader seals waiting transactions into a proposal; the others check it.

A proposal is a block header whose execution fields are still empty, plus the hashes of its
transactions. The leader of (height, view) makes one when ``tx_count_limit`` transactions wait or
``min_seal_time_ms`` after the first one arrived (FISCO BCOS seals no empty blocks), taking the
oldest waiting transactions up to ``tx_count_limit`` and up to ``block_gas_limit`` gas claimed. A replica
accepts it only if every header rule and every transaction holds; a replica lacking some of the
transactions asks the proposer for them (TxRequest) and takes the proposal up again when they come.
Accepting it is the replica's Prepare (chain.consensus.pbft.prepare_commit).

Two clocks (DESIGN principle 8). The replica's ``now`` is a monotonic clock for its timers; what
goes into a block is wall-clock Unix epoch milliseconds, as FISCO writes it, read from
``wall_clock`` — a callable the driver sets (a node: ``time.time()``; the simulator: a fixed
genesis epoch plus virtual time, so runs stay deterministic). Without one, ``now`` stands in.
A proposal's time must not be before its parent's, nor more than ``MAX_FUTURE_MS`` ahead of the
receiver's wall clock.

Here: sealing a proposal as leader (``propose``), and checking one from the leader
(``on_pre_prepare``).
Each function takes the replica ``r`` whose state it reads and changes; ``Replica`` calls the
``on_*`` ones from its dispatch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chain.consensus.pbft import prepare_commit
from chain.consensus.pbft import rpbft
from chain.consensus.pbft import view_change
from chain.consensus.pbft import vrf_rotation
from chain.consensus.pbft.effects import SEAL_TIMER
from chain.consensus.pbft.height import Proposal, Step
from chain.consensus.pbft.ids import NodeIndex, View
from chain.consensus.pbft.messages import Envelope, MsgType, PrePrepare, TxRequest
from chain.errors import ChainError, ConsensusError, LedgerError, TxRejected
from chain.ledger import codec
from chain.ledger.block import EMPTY_ROOT, Block, BlockHeader
from chain.ledger.merkle import merkle_root
from chain.ledger.system import block_gas, over_block_gas_limit
from chain.ledger.eth_transaction import EthTransaction
from chain.ledger.transaction import Transaction

if TYPE_CHECKING:
    from chain.consensus.pbft.replica import Replica

# How far a proposal's timestamp may run ahead of the receiver's wall clock. Honest sealers with
# NTP agree within milliseconds, so a minute leaves room for a badly set clock plus message delay
# without view-changing an honest leader away. It is also the most a Byzantine leader can push block
# time into the future: since time may not run backwards along the chain, every later block would
# have to carry at least that time, so the bound caps how long block time can be frozen ahead of
# the truth. (FISCO itself stamps utcTime() when sealing; its sources we read check no bound.)
MAX_FUTURE_MS = 60_000
# An idle leader gathering up to the last block's size seals once no transaction came for this long
# (``gather``): longer than the spread of clients sending again together, about one block on real nodes.
GATHER_GAP_MS = 20


# --- sealing, as leader -------------------------------------------------------------------


def new_proposal(r: Replica, view: View) -> PrePrepare | None:
    txs = r.pool.select(r.tx_count_limit, r.block_gas_limit)
    if not txs:
        return None
    assert r.my_index is not None
    tx_hashes = tuple(tx.hash(r.suite) for tx in txs)
    header = BlockHeader(
        parent_hash=r.head_hash, number=r.height, timestamp=max(r.wall_now(), r.head.header.timestamp),
        sealer=r.my_index, sealer_list=r.sealer_ids, transactions_root=merkle_root(r.suite, list(tx_hashes)),
        extra_data=vrf_rotation.proposal_extra(r),  # rPBFT: the VRF proof that seeds the next epoch, when due
    )
    return PrePrepare(view, r.height, header, tx_hashes)


def propose(r: Replica) -> None:
    """As leader, seal the waiting transactions into a block and send the PrePrepare."""
    if not _may_propose(r):
        return
    pp = new_proposal(r, r.view)
    if pp is None:
        return
    envelope = r.sign_once(MsgType.PRE_PREPARE, pp.view, pp.header.hash(r.suite), pp,
                           transactions_evidence(r, pp.tx_hashes))
    if envelope is None:
        r.pool.release(pp.tx_hashes)
        return
    r.broadcast(envelope, pp.number, pp.view)
    accept_pre_prepare(r, envelope, pp, reproposal=False)


def known_transaction(r: Replica, tx_hash: bytes) -> Transaction | None:
    """A transaction from our pool, or one of a proposal seen at this height (kept durably with our vote)."""
    return r.pool.get(tx_hash) or r.current.kept_txs.get(tx_hash)


def transactions_evidence(r: Replica, tx_hashes: tuple[bytes, ...]) -> bytes:
    """The proposal's transactions, to be stored with the vote on it.

    The pool lives in memory. If every sealer restarted while a block was prepared, the block
    must still be re-proposed, so its transactions must outlive the crash: each sealer that
    proposes or accepts a proposal keeps them in its store with that vote, and after a restart
    takes them back (``_restore_signed``) and serves them to whoever asks (``on_tx_request``).
    A prepared block was accepted by a quorum, so at least f + 1 honest sealers hold them.
    """
    return _encode_transactions([tx for tx in (known_transaction(r, h) for h in tx_hashes) if tx is not None])


def _may_propose(r: Replica) -> bool:
    """Leader of the view we are in, not leaving it, and not proposed in it yet (before a restart included)."""
    return (r.is_leader() and r.to_view == r.view and r.view not in r.current.proposals
            and (int(MsgType.PRE_PREPARE), r.view) not in r.current.signed)


def maybe_seal(r: Replica) -> None:
    """Seal now if a block is full or the chain is idle; otherwise gather transactions for a while.

    Waiting only pays while a block is in flight: the transactions that arrive meanwhile could
    not be decided before it anyway, so they go into the next block together. When nothing is in
    flight — and a replica deciding one height at a time has nothing in flight once it may
    propose — waiting only adds ``min_seal_time_ms`` to every commit: one client waiting for
    each commit got 7.5 tx/s at 131 ms p50 with a 100 ms seal time (issue 18). Under load the
    batching comes by itself: what arrives while a block is being decided is sealed together
    when it is done. ``seal_when_idle = False`` brings the wait back for a lesson.

    One exception, also from issue 18: fewer transactions than the block before carried, while
    more keep coming (``gather``).
    """
    if not _may_propose(r) or r.pool.ready == 0:
        return
    # A full block waits for nothing; an idle chain neither (nothing in flight to batch behind).
    if r.pool.ready >= r.tx_count_limit:
        propose(r)
    elif r.config.seal_when_idle:
        gather(r)  # at once if as many wait as the last block held
    elif SEAL_TIMER not in r._timers:
        r.set_timer(SEAL_TIMER, r.config.min_seal_time_ms)


def expected_block_size(r: Replica) -> int:
    """As many transactions as the block before carried (below that, an idle leader may gather)."""
    return min(len(r.head.transactions), r.tx_count_limit)


def gather(r: Replica) -> None:
    """Fewer transactions wait than the last block held: wait while more keep coming, then seal.

    Clients that each wait for their commit send again together once their block is stored:
    sixteen of them come back within a few milliseconds. Sealing the first to arrive split them
    over two blocks in flight (7 transactions each) and every block costs each node a fixed
    ~10 ms of CPU whatever its size: on 2 cores the chain did 192–214 tx/s, and with this rule,
    in blocks of ~16, 254–341 (docs/consensus.md, "Where a block's time goes"). Waiting for as many as
    the last block held, but only while they keep coming (none for ``GATHER_GAP_MS``: sealed) and
    at most ``min_seal_time_ms``, puts them back in one block. A lone client never waits (its last
    block held one), nor does a trickle of transactions further apart than the gap.
    """
    if r.pool.ready >= expected_block_size(r):
        propose(r)
        return
    height = r.current
    if height.gather_since is None:
        height.gather_since = r.now
    if r.pool.ready > height.gather_seen:
        height.gather_seen, height.gather_last = r.pool.ready, r.now
    deadline = min(height.gather_since + r.config.min_seal_time_ms, height.gather_last + GATHER_GAP_MS)
    if r.now >= deadline:
        propose(r)
    elif r._timers.get(SEAL_TIMER) != deadline:
        r.set_timer(SEAL_TIMER, deadline - r.now)


def release_own_proposals(r: Replica) -> None:
    """Transactions of our proposals that were not decided go back to the pool's ready queue."""
    for proposal in r.current.proposals.values():
        if proposal.envelope.sender == r.my_index:
            r.pool.release(proposal.pre_prepare.tx_hashes)


# --- receiving a proposal -----------------------------------------------------------------


def on_pre_prepare(r: Replica, envelope: Envelope, pp: PrePrepare) -> None:
    if not r.at_height(envelope, pp.number):
        return
    rpbft.forward_proposal(r, envelope, pp)  # tree broadcast: on to this node's children first, as FISCO 2.x
    accept_pre_prepare(r, envelope, pp, reproposal=False)


def accept_pre_prepare(r: Replica, envelope: Envelope, pp: PrePrepare, reproposal: bool) -> None:
    # Proposals of views we left are void.
    if pp.view < r.view:  # rule: pp_old_view
        raise ConsensusError(f"old view {pp.view}: this node is in view {r.view}")
    # A higher view is entered through a NewView — unless this replica has not voted at this
    # height at all, in which case it has promised nothing and may simply join (after a restart
    # or a sync): no quorum can be built from such replicas alone.
    if pp.view > r.view and not reproposal and (r.current.voted or r.to_view > pp.view):  # rule: pp_higher_view_needs_new_view
        raise ConsensusError(f"view {pp.view} has not been entered here (no NewView); this node is in view {r.view}")
    # A view joined on the others' word (not through its NewView) takes proposals only via a NewView.
    if pp.view == r.current.joined_view and not reproposal:  # rule: pp_not_in_joined_view
        raise ConsensusError(f"view {pp.view} was joined without its NewView: its proposal at this height is not known")
    # Only the leader of (height, view) proposes.
    if envelope.sender != r.leader(pp.view):  # rule: pp_from_leader
        raise ConsensusError(f"sender {envelope.sender} is not the leader of view {pp.view}")
    digest = pp.header.hash(r.suite)
    known = r.current.proposals.get(pp.view)
    if known is not None:
        # One view, one proposal: a second, different one is equivocation.
        if known.digest != digest:  # rule: pp_one_per_view
            raise ConsensusError(f"conflicting PrePrepare in view {pp.view} (equivocating leader)")
        raise ConsensusError("duplicate PrePrepare")
    _check_proposal_header(r, pp, envelope.sender, reproposal)
    txs = _collect_transactions(r, pp, envelope, reproposal)
    if txs is None:
        r.current.waiting.append((envelope, reproposal))
        return
    # Together they may claim no more gas than the block gas limit: it bounds how long the
    # block can take to execute on every node (a block of one transaction is bounded by tx_gas_limit).
    if over_block_gas_limit([tx.gas_limit for tx in txs], r.tx_gas_cap, r.block_gas_limit):  # rule: pp_block_gas_limit
        raise ConsensusError(f"proposal's transactions claim {block_gas([tx.gas_limit for tx in txs], r.tx_gas_cap)} "
                             f"gas, the block gas limit is {r.block_gas_limit}")
    # Ordered early, on a parent not yet stored: none of the parent's transactions, nor their nonces, again.
    if r.pipelined:
        _check_not_in_parent(r, txs)  # rule: pp_not_in_unstored_parent | delete
    # Every transaction must be admissible at this height (signature, chain, replay window).
    try:
        r.pool.verify_proposal(txs, pp.number)  # rule: pp_txs_admissible | delete
    except (TxRejected, LedgerError) as exc:
        raise ConsensusError(f"proposal holds an invalid transaction: {exc}") from exc
    proposal = Proposal(envelope, pp, digest, Block(pp.header, tuple(txs)))
    if pp.view > r.view:
        view_change.enter_view(r, pp.view)
    r.current.proposals[pp.view] = proposal
    r.current.advance(Step.PRE_PREPARED)
    for tx_hash, tx in zip(pp.tx_hashes, txs):
        r.current.kept_txs[tx_hash] = tx
    if envelope.sender == r.my_index:
        r.current.voted = True  # its own proposal binds it like a vote
    r.cancel_timer(SEAL_TIMER)
    prepares = prepare_commit.vote_set(r, r.current.prepares, pp.view, digest)
    prepares.add(envelope.sender, envelope)  # the PrePrepare is the leader's Prepare
    if r.is_sealer and envelope.sender != r.my_index and (MsgType.PREPARE, pp.view) not in r.current.sent:
        prepare_commit.cast_vote(r, MsgType.PREPARE, pp.view, digest, prepares, evidence=_encode_transactions(txs))
    prepare_commit.check_prepared(r, pp.view)
    prepare_commit.check_committed(r, pp.view)


def _check_not_in_parent(r: Replica, txs: list[Transaction]) -> None:
    """The store does not know the parent's transactions yet (chain.consensus.pbft.pipeline): check them here."""
    parent = r.head.transactions
    hashes = {tx.hash(r.suite) for tx in parent}
    # FISCO nonces are unique on chain; an Ethereum nonce is per sender and ordered by execution.
    nonces = {tx.nonce for tx in parent if not isinstance(tx, EthTransaction)}
    for tx in txs:
        if tx.hash(r.suite) in hashes or (not isinstance(tx, EthTransaction) and tx.nonce in nonces):
            raise ConsensusError("proposal repeats a transaction (or a nonce) of its parent block, not yet stored")


def _check_proposal_header(r: Replica, pp: PrePrepare, sender: NodeIndex, reproposal: bool) -> None:
    header = pp.header
    # The header must be for the height the message names.
    if header.number != pp.number:  # rule: header_number
        raise ConsensusError(f"header number {header.number} differs from the message's {pp.number}")
    # It must extend our chain.
    if header.parent_hash != r.head_hash:  # rule: header_parent
        raise ConsensusError("proposal does not extend this node's head (wrong parent hash)")
    # The header names its proposer (for a re-proposal, the leader of the view it was prepared in).
    if not reproposal and header.sealer != sender:  # rule: header_sealer
        raise ConsensusError(f"header names sealer {header.sealer}, but sender is {sender}")
    # And the sealer list in force, so the block says who may sign it.
    if header.sealer_list != r.sealer_ids:  # rule: header_sealer_list
        raise ConsensusError("proposal's sealer list is not the one in force")
    # Time does not run backwards along the chain.
    if header.timestamp < r.head.header.timestamp:  # rule: header_timestamp
        raise ConsensusError("proposal timestamp is before its parent's")
    # Nor runs far ahead of ours: block time must stay near wall-clock time.
    if header.timestamp > r.wall_now() + MAX_FUTURE_MS:  # rule: header_timestamp_not_future
        raise ConsensusError(f"proposal timestamp {header.timestamp} is more than {MAX_FUTURE_MS} ms "
                             f"ahead of this node's clock ({r.wall_now()})")
    # A proposal carries no execution result yet: that is what the Checkpoint phase agrees on.
    if (header.receipts_root, header.state_root, header.gas_used) != (EMPTY_ROOT, EMPTY_ROOT, 0):  # rule: header_no_result
        raise ConsensusError("proposal already carries execution results")
    # No empty blocks (FISCO BCOS seals only when transactions wait).
    if not pp.tx_hashes:  # rule: header_not_empty
        raise ConsensusError("empty proposal")
    # At most tx_count_limit transactions per block.
    if len(pp.tx_hashes) > r.tx_count_limit:  # rule: header_tx_limit
        raise ConsensusError(f"proposal has {len(pp.tx_hashes)} transactions, the limit is {r.tx_count_limit}")
    # A transaction appears once.
    if len(set(pp.tx_hashes)) != len(pp.tx_hashes):  # rule: header_tx_once
        raise ConsensusError("proposal lists a transaction twice")
    # The header commits to exactly these transactions.
    if merkle_root(r.suite, list(pp.tx_hashes)) != header.transactions_root:  # rule: header_tx_root
        raise ConsensusError("transactions root does not match the listed transactions")
    # rPBFT: the block before an epoch carries its sealer's VRF proof; no other block carries extra data.
    vrf_rotation.check_extra_data(r.suite, r.store, header)


def _collect_transactions(r: Replica, pp: PrePrepare, envelope: Envelope, reproposal: bool) -> list[Transaction] | None:
    """The proposal's transactions, or None after asking for the missing ones.

    A fresh proposal's transactions are asked from its proposer. A re-proposal's proposer may
    never have had them (it re-proposes a block prepared in an earlier view, perhaps before
    every sealer restarted), so everyone is asked: the sealers that accepted it kept them.
    """
    txs: list[Transaction] = []
    missing: list[bytes] = []
    for tx_hash in pp.tx_hashes:
        tx = known_transaction(r, tx_hash)
        if tx is None:
            # A transaction already on chain cannot be included again.
            if r.store.has_transaction(tx_hash):  # rule: tx_not_on_chain
                raise ConsensusError("proposal includes a transaction already on chain")
            missing.append(tx_hash)
        else:
            txs.append(tx)
    if not missing:
        return txs
    unasked = tuple(h for h in missing if h not in r.current.tx_request_sent)
    if unasked and r.my_index is not None:
        r.current.tx_request_sent.update(unasked)
        request = r.sign(MsgType.TX_REQUEST, TxRequest(pp.number, unasked))
        if reproposal or envelope.sender == r.my_index:
            r.broadcast(request, pp.number, pp.view)
        else:
            r.send(r.node_ids[envelope.sender], request, pp.number, pp.view)
    return None


def retry_waiting(r: Replica) -> None:
    waiting, r.current.waiting = r.current.waiting, []
    for envelope, reproposal in waiting:
        pp = envelope.body()
        assert isinstance(pp, PrePrepare)
        if pp.number != r.height or pp.view in r.current.proposals:
            continue
        try:
            accept_pre_prepare(r, envelope, pp, reproposal)
        except ChainError as exc:
            r.reject(str(exc), envelope.type.name, envelope.sender)


def _encode_transactions(txs: list[Transaction]) -> bytes:
    """Transactions as kept with a vote (``Replica._restore_transactions`` reads them back)."""
    return codec.encode([tx.encode() for tx in txs])
