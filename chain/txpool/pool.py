"""The tx pool: admits transactions, hands the oldest to the sealer, forgets them once committed.

A sans-IO object: no clock, no threads, no sockets. The driver calls ``submit`` for each incoming
transaction (RPC or gossip), the consensus engine calls ``select`` to fill a proposal, ``release``
when that proposal fails, ``verify_proposal`` on another sealer's proposal, and
``remove_committed`` after each block is stored. Ordering is by arrival (a sequence number), so the
same submissions give the same proposals on every run.

Life of a transaction in the pool::

    submit ──► ready ──select──► in flight ──remove_committed──► gone
                 ▲                   │
                 └─────release───────┘        (and: blockLimit <= head ──► gone)

Two bounds keep one client from holding up everyone else: a sender may have at most
``sender_quota`` transactions in the pool at once (a flood from one account fills its own quota,
not the pool), and ``select`` fills a proposal only up to the block gas limit, oldest first — it
stops at the first transaction that does not fit rather than passing it over, so a large
transaction is never starved by a stream of small ones behind it.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from typing import Iterable, Sequence

from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError, TxRejected
from chain.ledger.accounts import account_nonce
from chain.ledger.block import Block
from chain.ledger.eth_transaction import EthTransaction
from chain.ledger.status import Status
from chain.ledger.system import claimed_gas, tx_gas_limit
from chain.ledger.transaction import Transaction
from chain.txpool.rules import (
    MAX_TX_SIZE, ChainView, check_account_active, check_block_limit, check_capacity, check_chain_id, check_gas_limit,
    check_group_id, check_nonce_not_on_chain, check_nonce_not_pooled, check_sender_quota, check_signature, check_size,
)
from chain.txpool.eth_rules import (
    MAX_PARKED, check_eth_chain_id, check_eth_nonce, check_eth_size, check_no_value,
)

DEFAULT_CAPACITY = 150_000  # FISCO BCOS 2.x default [tx_pool] limit
# Ours (FISCO BCOS has no per-sender bound): a fifteenth of the pool, so no one account can fill it,
# while a load generator spreading its transactions over 16 accounts (chain bench) never meets it.
DEFAULT_SENDER_QUOTA = 10_000


@dataclass
class _Entry:
    tx: Transaction
    tx_hash: bytes
    sender: bytes  # 20-byte address, for the per-sender quota
    seq: int  # arrival order
    in_flight: bool = False


class TxPool:
    def __init__(
        self,
        suite: CryptoSuite,
        store: ChainView,
        *,
        chain_id: int,
        group_id: int,
        capacity: int = DEFAULT_CAPACITY,
        max_tx_size: int = MAX_TX_SIZE,
        sender_quota: int = DEFAULT_SENDER_QUOTA,
        eth_chain_id: int | None = None,
    ) -> None:
        self.suite = suite
        self.chain = store
        self.chain_id = chain_id
        self.group_id = group_id
        self.capacity = capacity
        self.max_tx_size = max_tx_size
        self.sender_quota = sender_quota
        self.eth_chain_id = eth_chain_id  # None: Ethereum transactions are refused
        self._eth_nonces: dict[bytes, dict[int, bytes]] = {}  # sender -> pooled Ethereum nonce -> hash
        # Ethereum transactions with a future nonce wait here, outside the pool proper (never
        # selected, not counted as ready) until the gap below them fills: sender -> nonce -> (tx, hash).
        self._eth_parked: dict[bytes, dict[int, tuple[EthTransaction, bytes]]] = {}
        self._parked_hashes: set[bytes] = set()
        self._per_sender: dict[bytes, int] = {}  # sender address -> how many of its transactions are pooled
        self._entries: dict[bytes, _Entry] = {}  # hash -> entry, in arrival order
        self._by_nonce: dict[int, bytes] = {}  # nonce -> hash
        self._by_raw: dict[bytes, bytes] = {}  # encoded transaction -> hash (gossip repeats what we hold)
        self._ready: list[tuple[int, bytes]] = []  # heap of (seq, hash) not in flight; stale rows skipped
        self._expiry: list[tuple[int, int, bytes]] = []  # heap of (blockLimit, seq, hash); stale rows skipped
        self._seq = 0
        self._in_flight = 0
        self._gas_limit_memo: tuple[int, int, int] = (-2, -2, 0)  # (head, number, tx_gas_limit)
        self._lowest_gas_limit_seen = 1 << 256  # pooled transactions all fit under it

    # --- admission --------------------------------------------------------------------------

    def submit(self, tx: Transaction) -> bytes:
        """Admit tx and return its hash, or raise TxRejected saying which rule it broke."""
        tx_hash = tx.hash(self.suite)
        # The very same bytes are already pooled: every rule below would answer exactly as it did
        # when they were admitted, ending in ALREADY_KNOWN, so say it without re-verifying.
        if tx_hash in self._entries or tx_hash in self._parked_hashes:
            raise TxRejected(Status.ALREADY_KNOWN, "transaction already in the pool")
        head = self.chain.head_number()
        if isinstance(tx, EthTransaction):
            return self._submit_ethereum(tx, tx_hash, head)
        check_size(tx, self.max_tx_size)
        check_signature(tx, self.suite)
        check_chain_id(tx, self.chain_id)
        check_group_id(tx, self.group_id)
        check_block_limit(tx, head)
        check_nonce_not_pooled(self._by_nonce.get(tx.nonce))
        check_nonce_not_on_chain(tx, tx_hash, self.chain, head)
        check_gas_limit(tx, self._gas_limit(head + 1))
        sender = tx.sender(self.suite)  # known since the signature check
        check_account_active(self.chain, sender)
        check_sender_quota(sender, self._per_sender.get(sender, 0), self.sender_quota)
        check_capacity(len(self._entries), self.capacity)
        self._add(tx, tx_hash, sender)
        return tx_hash

    def _submit_ethereum(self, tx: EthTransaction, tx_hash: bytes, head: int) -> bytes:
        """Ethereum's rules in place of FISCO's blockLimit/randomid ones (``chain.txpool.eth_rules``)."""
        check_eth_size(tx)
        if self.eth_chain_id is None:  # a chain without the web3 endpoint configured takes none
            raise TxRejected(Status.TRANSACTION_REFUSED, "ethereum transactions are not enabled on this node")
        check_eth_chain_id(tx, self.eth_chain_id)
        check_signature(tx, self.suite)
        check_no_value(tx)
        # The same transaction committed before: "nonce too low" would be true but less helpful.
        if self.chain.transaction(tx_hash) is not None:
            raise TxRejected(Status.ALREADY_IN_CHAIN, "already known: transaction already on chain")
        sender = tx.sender(self.suite)
        check_account_active(self.chain, sender)
        parked = self._eth_parked.get(sender, {})
        future = check_eth_nonce(tx, sender, account_nonce(self.chain, sender), self._eth_nonces.get(sender, {}), parked)
        check_gas_limit(tx, self._gas_limit(head + 1))
        check_sender_quota(sender, self._per_sender.get(sender, 0) + len(parked), self.sender_quota)
        if future:  # a gap below it: it waits, as an Ethereum client's queue holds it
            check_capacity(len(self._parked_hashes), MAX_PARKED)
            self._eth_parked.setdefault(sender, {})[tx.nonce] = (tx, tx_hash)
            self._parked_hashes.add(tx_hash)
            return tx_hash
        check_capacity(len(self._entries), self.capacity)
        self._add(tx, tx_hash, sender)
        self._promote(sender)
        return tx_hash

    def _promote(self, sender: bytes) -> None:
        """Move the sender's waiting transactions whose gap has filled into the pool, in nonce order."""
        parked = self._eth_parked.get(sender)
        if not parked:
            return
        state_nonce = account_nonce(self.chain, sender)
        for nonce in [n for n in parked if n < state_nonce]:  # used meanwhile (committed from elsewhere)
            self._parked_hashes.discard(parked.pop(nonce)[1])
        while parked:
            expected = max(state_nonce, self.eth_next_nonce(sender))
            item = parked.pop(expected, None)
            if item is None:
                break
            tx, tx_hash = item
            self._parked_hashes.discard(tx_hash)
            try:  # what may have changed while it waited; its other rules were checked on arrival
                check_gas_limit(tx, self._gas_limit(self.chain.head_number() + 1))
                check_capacity(len(self._entries), self.capacity)
            except TxRejected:
                break  # the nonces above it wait on; this one is dropped
            self._add(tx, tx_hash, sender)
        if not parked:
            del self._eth_parked[sender]

    def _gas_limit(self, number: int) -> int:
        """tx_gas_limit for block `number`, read once per (head, number) rather than per transaction:
        the config only changes when a block is committed."""
        head = self.chain.head_number()
        if self._gas_limit_memo[:2] != (head, number):
            self._gas_limit_memo = (head, number, tx_gas_limit(self.chain, number))
        return self._gas_limit_memo[2]

    def _add(self, tx: Transaction, tx_hash: bytes, sender: bytes) -> None:
        self._seq += 1
        self._entries[tx_hash] = _Entry(tx, tx_hash, sender, self._seq)
        self._per_sender[sender] = self._per_sender.get(sender, 0) + 1
        if isinstance(tx, EthTransaction):  # per-sender nonces; no blockLimit, so it waits until committed
            self._eth_nonces.setdefault(sender, {})[tx.nonce] = tx_hash
        else:
            self._by_nonce[tx.nonce] = tx_hash
            heapq.heappush(self._expiry, (tx.block_limit, self._seq, tx_hash))
        self._by_raw[tx.encode()] = tx_hash
        heapq.heappush(self._ready, (self._seq, tx_hash))

    # --- lookups ----------------------------------------------------------------------------

    def get(self, tx_hash: bytes) -> Transaction | None:
        entry = self._entries.get(tx_hash)
        return entry.tx if entry else None

    def eth_next_nonce(self, sender: bytes) -> int:
        """One past the sender's highest pooled Ethereum nonce (0 if none): eth_getTransactionCount "pending"."""
        pending = self._eth_nonces.get(sender)
        try:
            return max(pending) + 1 if pending else 0
        except (ValueError, RuntimeError):  # emptied or changed by the replica thread meanwhile
            return 0

    def holds_encoded(self, raw: bytes) -> bool:
        """True if exactly these transaction bytes are pooled: a repeated gossip is answered without decoding it."""
        return raw in self._by_raw

    def __contains__(self, tx_hash: object) -> bool:
        return tx_hash in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def in_flight(self) -> int:
        """How many pooled transactions are in a pending proposal."""
        return self._in_flight

    @property
    def ready(self) -> int:
        """How many pooled transactions a sealer could still propose."""
        return len(self._entries) - self._in_flight

    def pending(self, limit: int | None = None) -> list[Transaction]:
        """Pooled transactions, oldest first (in flight or not), for getPendingTransactions."""
        # One C-level copy first: a node's RPC reads the pool while its replica thread changes it.
        entries = list(itertools.islice(self._entries.values(), limit))
        return [entry.tx for entry in entries]

    # --- sealing ----------------------------------------------------------------------------

    def select(self, limit: int, gas_limit: int | None = None) -> list[Transaction]:
        """Up to limit of the oldest transactions not yet handed out; they are now in flight.

        With gas_limit (the block gas limit), the chosen transactions claim at most that much gas
        together (``chain.ledger.system.block_gas``), except that the first is always taken: a
        block of one transaction is never over the limit.
        """
        chosen: list[Transaction] = []
        cap = self._gas_limit(self.chain.head_number() + 1) if gas_limit is not None else 0
        claimed = 0
        while self._ready and len(chosen) < limit:
            seq, tx_hash = self._ready[0]
            entry = self._entries.get(tx_hash)
            if entry is None or entry.seq != seq or entry.in_flight:
                heapq.heappop(self._ready)
                continue  # removed (or removed and re-submitted) since it was queued
            if gas_limit is not None:
                claim = claimed_gas(entry.tx.gas_limit, cap)
                # The leader never seals a block its replicas would refuse as over the block gas limit.
                if chosen and claimed + claim > gas_limit:
                    break
                claimed += claim
            heapq.heappop(self._ready)
            entry.in_flight = True
            self._in_flight += 1
            chosen.append(entry.tx)
        return chosen

    def release(self, tx_hashes: Iterable[bytes]) -> None:
        """Put the transactions of a failed proposal back, in their original order."""
        for tx_hash in tx_hashes:
            entry = self._entries.get(tx_hash)
            if entry is not None and entry.in_flight:
                entry.in_flight = False
                self._in_flight -= 1
                heapq.heappush(self._ready, (entry.seq, tx_hash))

    def hold(self, tx_hashes: Iterable[bytes]) -> None:
        """Keep these out of the next proposals: they are in an ordered block not stored yet (the pipeline)."""
        for tx_hash in tx_hashes:
            entry = self._entries.get(tx_hash)
            if entry is not None and not entry.in_flight:
                entry.in_flight = True
                self._in_flight += 1

    def verify_proposal(self, txs: Sequence[Transaction], number: int) -> None:
        """Check another sealer's proposal for block `number`; TxRejected on the first bad transaction.

        The rules are the admission rules that do not depend on this node's pool, judged at the
        proposal's height: the proposer's pool may legitimately differ from ours.
        """
        head = number - 1
        nonces: set[int] = set()
        eth_hashes: set[bytes] = set()
        for tx in txs:
            tx_hash = tx.hash(self.suite)
            pooled = self._entries.get(tx_hash)
            if isinstance(tx, EthTransaction):
                self._verify_ethereum(tx, tx_hash, pooled is not None, eth_hashes, number)
                continue
            # A transaction in our pool was verified on admission; the same hash is the same bytes.
            if pooled is None:
                check_size(tx, self.max_tx_size)
                check_signature(tx, self.suite)
            check_chain_id(tx, self.chain_id)
            check_group_id(tx, self.group_id)
            check_block_limit(tx, head)
            # Two transactions with one nonce in a block: only one could be the real one.
            if tx.nonce in nonces:
                raise TxRejected(Status.NONCE_CHECK_FAIL, "two transactions in the proposal share a nonce")
            nonces.add(tx.nonce)
            check_nonce_not_on_chain(tx, tx_hash, self.chain, head)
            check_gas_limit(tx, self._gas_limit(number))

    def _verify_ethereum(
        self, tx: EthTransaction, tx_hash: bytes, pooled: bool, seen: set[bytes], number: int
    ) -> None:
        """The pool-independent Ethereum rules; the nonce order is the executor's to judge (state)."""
        if not pooled:
            check_eth_size(tx)
            check_signature(tx, self.suite)
        if self.eth_chain_id is None:
            raise TxRejected(Status.TRANSACTION_REFUSED, "ethereum transactions are not enabled on this node")
        check_eth_chain_id(tx, self.eth_chain_id)
        check_no_value(tx)
        # One transaction, one place on chain: a repeat would make its hash name two transactions.
        if tx_hash in seen or self.chain.transaction(tx_hash) is not None:
            raise TxRejected(Status.ALREADY_IN_CHAIN, "ethereum transaction already in the chain or the proposal")
        seen.add(tx_hash)
        check_gas_limit(tx, self._gas_limit(number))

    # --- after a commit ---------------------------------------------------------------------

    def remove_committed(self, block: Block) -> None:
        """Forget block's transactions (and any pooled rival of their nonces), then drop expired ones."""
        for tx in block.transactions:
            self._remove(tx.hash(self.suite))
            if isinstance(tx, EthTransaction):
                self._drop_used_eth_nonces(tx)
                continue
            rival = self._by_nonce.get(tx.nonce)
            if rival is not None:  # same nonce, other bytes: can never be committed now
                self._remove(rival)
        self.drop_expired(block.number)
        self.drop_over_gas_limit(block.number + 1)

    def _drop_used_eth_nonces(self, tx: EthTransaction) -> None:
        """Pooled Ethereum transactions of tx's sender at or below its nonce can never be committed now."""
        try:
            sender = tx.sender(self.suite)
        except ChainError:  # a committed tx with a bad signature failed; it used no nonce
            return
        for nonce, rival in sorted(self._eth_nonces.get(sender, {}).items()):
            if nonce <= tx.nonce:
                self._remove(rival)
        self._promote(sender)  # the committed nonce may have filled a gap

    def drop_over_gas_limit(self, number: int) -> int:
        """Drop transactions whose gas limit exceeds tx_gas_limit at block `number`; return how many.

        The limit can be lowered by a SystemConfig transaction while such transactions wait. No
        replica would accept a block holding one, so a pool that kept them would keep asking for
        blocks no one can make (and count as work that runs the view timer).
        """
        limit = self._gas_limit(number)
        if limit >= self._lowest_gas_limit_seen:
            return 0
        self._lowest_gas_limit_seen = limit
        over = [h for h, entry in self._entries.items() if entry.tx.gas_limit > limit]
        for tx_hash in over:
            self._remove(tx_hash)
        return len(over)

    def drop_expired(self, head: int) -> int:
        """Drop transactions whose blockLimit <= head (they can never be committed); return how many."""
        dropped = 0
        while self._expiry and self._expiry[0][0] <= head:
            _, seq, tx_hash = heapq.heappop(self._expiry)
            entry = self._entries.get(tx_hash)
            if entry is not None and entry.seq == seq:
                self._remove(tx_hash)
                dropped += 1
        return dropped

    def _remove(self, tx_hash: bytes) -> None:
        entry = self._entries.pop(tx_hash, None)
        if entry is None:
            return
        left = self._per_sender[entry.sender] - 1
        if left:
            self._per_sender[entry.sender] = left
        else:
            del self._per_sender[entry.sender]
        if self._by_nonce.get(entry.tx.nonce) == tx_hash:
            del self._by_nonce[entry.tx.nonce]
        pending = self._eth_nonces.get(entry.sender)
        if pending is not None and pending.get(entry.tx.nonce) == tx_hash:
            del pending[entry.tx.nonce]
            if not pending:
                del self._eth_nonces[entry.sender]
        self._by_raw.pop(entry.tx.encode(), None)
        if entry.in_flight:
            self._in_flight -= 1
        # Its rows in the ready and expiry heaps become stale and are skipped when reached. Keep
        # the heaps from growing without bound when most of their rows are stale.
        if len(self._ready) > 2 * len(self._entries) + 64:
            self._ready = [(e.seq, h) for h, e in self._entries.items() if not e.in_flight]
            heapq.heapify(self._ready)
        if len(self._expiry) > 2 * len(self._entries) + 64:
            self._expiry = [(e.tx.block_limit, e.seq, h) for h, e in self._entries.items()
                            if not isinstance(e.tx, EthTransaction)]
            heapq.heapify(self._expiry)
