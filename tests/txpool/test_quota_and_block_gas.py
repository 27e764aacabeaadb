"""The pool's two bounds on one client: the per-sender quota, and sealing within the block gas limit."""

from __future__ import annotations

import pytest

from chain.crypto.suite import CryptoSuite
from chain.errors import TxRejected
from chain.ledger.status import Status
from chain.ledger.store import Store
from chain.ledger.system import block_gas, over_block_gas_limit
from chain.txpool import TxPool
from tests.ledger.builders import extend, key_for, make_tx
from tests.txpool.conftest import TX_GAS_LIMIT


def pool_for(suite: CryptoSuite, store: Store, **kwargs: object) -> TxPool:
    return TxPool(suite, store, chain_id=1, group_id=1, **kwargs)  # type: ignore[arg-type]


def test_a_sender_over_its_quota_is_refused_with_a_clear_error(suite: CryptoSuite, store: Store) -> None:
    pool = pool_for(suite, store, sender_quota=2)
    flooder, other = key_for(suite), key_for(suite, 1)
    pool.submit(make_tx(flooder, nonce=1))
    pool.submit(make_tx(flooder, nonce=2))
    with pytest.raises(TxRejected) as info:
        pool.submit(make_tx(flooder, nonce=3))
    assert info.value.status == Status.TX_POOL_IS_FULL
    assert f"sender 0x{flooder.address.hex()} already has 2 transactions waiting" in str(info.value)
    assert "per-sender quota is 2" in str(info.value)
    # Another account is not held up by the flooder, and the pool is not full.
    pool.submit(make_tx(other, nonce=4))
    assert len(pool) == 3


def test_the_quota_frees_up_as_the_senders_transactions_are_committed(suite: CryptoSuite, store: Store) -> None:
    pool = pool_for(suite, store, sender_quota=2)
    key = key_for(suite)
    first, second = make_tx(key, nonce=1), make_tx(key, nonce=2)
    pool.submit(first)
    pool.submit(second)
    pool.remove_committed(extend(store, [first]))
    pool.submit(make_tx(key, nonce=3))  # one committed: room for one more
    with pytest.raises(TxRejected, match="per-sender quota"):
        pool.submit(make_tx(key, nonce=4))


def test_select_fills_a_block_only_up_to_the_block_gas_limit(suite: CryptoSuite, store: Store) -> None:
    pool = pool_for(suite, store)
    key = key_for(suite)
    txs = [make_tx(key, nonce=n, gas_limit=gas) for n, gas in
           enumerate([2_000_000, 2_000_000, 3_000_000, 500_000, 1_000_000], start=1)]
    for tx in txs:
        pool.submit(tx)
    # 2M + 2M fit under 4.5M; the 3M one does not, and the small ones behind it wait their turn.
    assert pool.select(10, gas_limit=4_500_000) == txs[:2]
    assert pool.select(10, gas_limit=4_500_000) == txs[2:]  # 3M + 0.5M + 1M = 4.5M
    assert pool.select(10, gas_limit=4_500_000) == []


def test_a_transaction_alone_is_always_sealed(suite: CryptoSuite, store: Store) -> None:
    """A block of one transaction is never over (tx_gas_limit bounds it): a limit set below
    tx_gas_limit must not leave a big transaction in the pool for ever."""
    pool = pool_for(suite, store)
    key = key_for(suite)
    big, small = make_tx(key, nonce=1, gas_limit=TX_GAS_LIMIT), make_tx(key, nonce=2, gas_limit=100_000)
    pool.submit(big)
    pool.submit(small)
    assert pool.select(10, gas_limit=1_000_000) == [big]
    assert pool.select(10, gas_limit=1_000_000) == [small]


def test_claimed_gas_is_capped_by_tx_gas_limit() -> None:
    assert block_gas([10, 20], tx_gas_cap=15) == 25
    assert not over_block_gas_limit([10, 20], tx_gas_cap=15, limit=25)
    assert over_block_gas_limit([10, 20], tx_gas_cap=15, limit=24)
    assert not over_block_gas_limit([10**12], tx_gas_cap=10**12, limit=1)  # one transaction: never over
