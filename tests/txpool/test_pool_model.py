"""Stateful property test: random submit/select/release/commit/advance sequences keep the pool sound."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from chain.crypto.keys import KeyPair
from chain.crypto.suite import get_suite
from chain.errors import TxRejected
from chain.ledger.genesis import GenesisConfig, open_chain
from chain.ledger.status import Status
from chain.txpool import TxPool
from tests.ledger.builders import extend, key_for, make_tx

SUITE = get_suite("standard")
KEY = key_for(SUITE)


class PoolMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        config = GenesisConfig(chain_id=1, group_id=1, suite="standard", sealers=((KeyPair("standard", 5).public_key, 1),))
        self.store = open_chain(":memory:", config)
        self.pool = TxPool(SUITE, self.store, chain_id=1, group_id=1, capacity=12)
        self.in_flight: list[bytes] = []  # what select handed out, in order
        self.arrival: dict[bytes, int] = {}
        self.submitted = 0

    @rule(nonce=st.integers(1, 15), lifetime=st.integers(1, 4), variant=st.integers(0, 1))
    def submit(self, nonce: int, lifetime: int, variant: int) -> None:
        tx = make_tx(KEY, nonce=nonce, block_limit=self.store.head_number() + lifetime, data=bytes([variant]))
        tx_hash = tx.hash(SUITE)
        was_full = len(self.pool) >= 12
        try:
            self.pool.submit(tx)
        except TxRejected as exc:
            # a refusal always has a reason that holds right now
            if exc.status == Status.ALREADY_KNOWN:
                assert tx_hash in self.pool
            elif exc.status == Status.NONCE_CHECK_FAIL:
                assert any(p.nonce == nonce for p in self.pool.pending()) or self.store.nonce_on_chain(nonce, 0)
            elif exc.status == Status.ALREADY_IN_CHAIN:
                assert self.store.transaction(tx_hash) is not None
            else:
                assert exc.status == Status.TX_POOL_IS_FULL and was_full
            return
        self.submitted += 1
        self.arrival[tx_hash] = self.submitted

    @rule(limit=st.integers(0, 5))
    def select(self, limit: int) -> None:
        chosen = [tx.hash(SUITE) for tx in self.pool.select(limit)]
        assert len(chosen) <= limit
        assert not set(chosen) & set(self.in_flight)  # never handed out twice
        order = [self.arrival[h] for h in chosen]
        assert order == sorted(order)  # oldest first
        self.in_flight += chosen

    @precondition(lambda self: self.in_flight)
    @rule(count=st.integers(1, 5))
    def release(self, count: int) -> None:
        released, self.in_flight = self.in_flight[:count], self.in_flight[count:]
        self.pool.release(released)

    @precondition(lambda self: self.in_flight)
    @rule(count=st.integers(1, 5))
    def commit_proposal(self, count: int) -> None:
        hashes, self.in_flight = self.in_flight[:count], self.in_flight[count:]
        txs = [tx for tx in (self.pool.get(h) for h in hashes) if tx is not None]
        self.pool.verify_proposal(txs, self.store.head_number() + 1)  # our own selection is valid
        self.pool.remove_committed(extend(self.store, txs))
        self.in_flight = [h for h in self.in_flight if h in self.pool]

    @rule()
    def empty_block(self) -> None:
        self.pool.remove_committed(extend(self.store))
        self.in_flight = [h for h in self.in_flight if h in self.pool]

    @invariant()
    def sound(self) -> None:
        pending = self.pool.pending()
        head = self.store.head_number()
        assert len(pending) == len(self.pool) == self.pool.ready + self.pool.in_flight <= 12
        assert self.pool.in_flight == len(self.in_flight)
        assert len({tx.nonce for tx in pending}) == len(pending)  # one tx per nonce
        for tx in pending:
            assert tx.block_limit > head  # nothing expired stays
            assert self.store.transaction(tx.hash(SUITE)) is None  # nothing committed stays


PoolMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
test_pool_model = PoolMachine.TestCase
