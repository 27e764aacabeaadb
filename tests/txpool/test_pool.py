"""Tx pool: each admission rule, capacity, select/release/remove, expiry, proposal checks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chain.crypto.suite import CryptoSuite
from chain.errors import TxRejected
from chain.ledger.status import Status
from chain.ledger.store import Store
from chain.ledger.transaction import Transaction
from chain.txpool import TxPool
from chain.txpool.rules import BLOCK_LIMIT_WINDOW, NONCE_WINDOW
from tests.ledger.builders import extend, key_for, make_tx
from tests.txpool.conftest import TX_GAS_LIMIT


def pool_for(suite: CryptoSuite, store: Store, **kwargs: object) -> TxPool:
    return TxPool(suite, store, chain_id=1, group_id=1, **kwargs)  # type: ignore[arg-type]


def rejected(pool: TxPool, tx: Transaction) -> Status:
    with pytest.raises(TxRejected) as info:
        pool.submit(tx)
    return info.value.status


def test_admits_a_good_transaction(suite: CryptoSuite, store: Store) -> None:
    pool = pool_for(suite, store)
    tx = make_tx(key_for(suite), nonce=1)
    tx_hash = pool.submit(tx)
    assert tx_hash == tx.hash(suite)
    assert tx_hash in pool and len(pool) == 1
    assert pool.get(tx_hash) is tx and pool.get(b"\x00" * 32) is None
    assert pool.pending() == [tx]


def test_size_limit(suite: CryptoSuite, store: Store) -> None:
    key = key_for(suite)
    pool = pool_for(suite, store, max_tx_size=400)
    assert rejected(pool, make_tx(key, data=b"\x01" * 400)) == Status.MALFORMED_TX
    pool.submit(make_tx(key, data=b"\x01" * 10))


def test_signature(suite: CryptoSuite, store: Store) -> None:
    pool = pool_for(suite, store)
    key, other = key_for(suite), key_for(suite, 1)
    good = make_tx(key, nonce=3)
    decoded = lambda tx: Transaction.decode(tx.encode())  # noqa: E731 - fresh object, nothing cached
    unsigned = replace(good, v=0, r=0, s=0)
    bad_s = replace(good, s=good.s ^ 1)
    bad_r = replace(good, r=suite.curve_order + 5)  # out of range
    assert rejected(pool, decoded(unsigned)) == Status.INVALID_SIGNATURE
    assert rejected(pool, decoded(bad_r)) == Status.INVALID_SIGNATURE
    if suite.name == "sm":
        # the sm signature names its signer (v = public key): a signer that did not sign is refused
        forged = replace(good, v=int.from_bytes(other.public_key, "big"))
        assert rejected(pool, decoded(forged)) == Status.INVALID_SIGNATURE
        assert rejected(pool, decoded(bad_s)) == Status.INVALID_SIGNATURE
    else:
        # standard recovers the signer: a bad v is refused; a tampered signature names a stranger
        assert rejected(pool, decoded(replace(good, v=29))) == Status.INVALID_SIGNATURE
        stranger = decoded(bad_s)
        pool_for(suite, store).submit(stranger)  # a valid signature... of someone else
        assert stranger.sender(suite) != key.address
    assert len(pool) == 0
    pool.submit(decoded(good))


def test_chain_and_group_id(suite: CryptoSuite, store: Store) -> None:
    pool = pool_for(suite, store)
    key = key_for(suite)
    assert rejected(pool, make_tx(key, chain_id=2)) == Status.INVALID_CHAIN_ID
    assert rejected(pool, make_tx(key, group_id=2)) == Status.INVALID_GROUP_ID
    assert len(pool) == 0


def test_block_limit_window(suite: CryptoSuite, store: Store) -> None:
    extend(store)
    extend(store)
    head = store.head_number()
    pool = pool_for(suite, store)
    key = key_for(suite)
    for bad in (0, head, head + BLOCK_LIMIT_WINDOW + 1):
        assert rejected(pool, make_tx(key, block_limit=bad)) == Status.BLOCK_LIMIT_CHECK_FAIL
    pool.submit(make_tx(key, block_limit=head + 1))
    pool.submit(make_tx(key, block_limit=head + BLOCK_LIMIT_WINDOW))
    assert len(pool) == 2


def test_nonce_in_pool(suite: CryptoSuite, store: Store) -> None:
    pool = pool_for(suite, store)
    key = key_for(suite)
    tx = make_tx(key, nonce=42)
    pool.submit(tx)
    assert rejected(pool, Transaction.decode(tx.encode())) == Status.ALREADY_KNOWN
    assert rejected(pool, make_tx(key, nonce=42, data=b"other")) == Status.NONCE_CHECK_FAIL
    assert rejected(pool, make_tx(key_for(suite, 1), nonce=42)) == Status.NONCE_CHECK_FAIL
    assert len(pool) == 1


def test_nonce_on_chain_within_the_window(suite: CryptoSuite, store: Store) -> None:
    key = key_for(suite)
    committed = make_tx(key, nonce=7, block_limit=500)
    extend(store, [committed])
    pool = pool_for(suite, store)
    assert rejected(pool, Transaction.decode(committed.encode())) == Status.ALREADY_IN_CHAIN
    assert rejected(pool, make_tx(key, nonce=7, block_limit=500, data=b"x")) == Status.NONCE_CHECK_FAIL
    # once the block is out of the window the nonce is free again (the old tx itself has expired)
    while store.head_number() < 1 + NONCE_WINDOW - 1:
        extend(store)
    assert rejected(pool, make_tx(key, nonce=7, block_limit=store.head_number() + 5)) == Status.NONCE_CHECK_FAIL
    extend(store)
    pool.submit(make_tx(key, nonce=7, block_limit=store.head_number() + 5))
    assert rejected(pool, Transaction.decode(committed.encode())) == Status.BLOCK_LIMIT_CHECK_FAIL


def test_gas_limit_from_system_config(suite: CryptoSuite, store: Store) -> None:
    pool = pool_for(suite, store)
    key = key_for(suite)
    assert rejected(pool, make_tx(key, gas_limit=TX_GAS_LIMIT + 1)) == Status.BLOCK_GAS_LIMIT_REACHED
    pool.submit(make_tx(key, gas_limit=TX_GAS_LIMIT))


def test_gas_limit_follows_a_committed_config_change(suite: CryptoSuite, store: Store) -> None:
    from chain.ledger.system import CONFIG_TABLE, TX_GAS_LIMIT as KEY, encode_config_row

    pool = pool_for(suite, store)
    key = key_for(suite)
    pool.submit(make_tx(key, gas_limit=TX_GAS_LIMIT))  # the limit is now remembered for this head
    raised = TX_GAS_LIMIT * 2
    extend(store, changes={(CONFIG_TABLE, KEY.encode()): encode_config_row(str(raised), store.head_number() + 1)})
    pool.submit(make_tx(key, gas_limit=raised))  # in force from the next block: seen at once
    assert rejected(pool, make_tx(key, gas_limit=raised + 1)) == Status.BLOCK_GAS_LIMIT_REACHED
    pool.verify_proposal([make_tx(key, gas_limit=raised)], store.head_number() + 1)


def test_capacity(suite: CryptoSuite, store: Store) -> None:
    pool = pool_for(suite, store, capacity=3)
    key = key_for(suite)
    for _ in range(3):
        pool.submit(make_tx(key))
    with pytest.raises(TxRejected, match="pool full") as info:
        pool.submit(make_tx(key))
    assert info.value.status == Status.TX_POOL_IS_FULL
    assert len(pool) == 3


def test_rules_apply_in_order(suite: CryptoSuite, store: Store) -> None:
    pool = pool_for(suite, store, capacity=1)
    key = key_for(suite)
    pool.submit(make_tx(key, nonce=1))
    everything_wrong = make_tx(key, nonce=1, chain_id=5, group_id=5, block_limit=0, gas_limit=TX_GAS_LIMIT + 1)
    unsigned = Transaction.decode(replace(everything_wrong, v=0, r=0, s=0).encode())
    assert rejected(pool, unsigned) == Status.INVALID_SIGNATURE
    assert rejected(pool, everything_wrong) == Status.INVALID_CHAIN_ID
    tx = make_tx(key, nonce=1, group_id=5, block_limit=0, gas_limit=TX_GAS_LIMIT + 1)
    assert rejected(pool, tx) == Status.INVALID_GROUP_ID
    assert rejected(pool, make_tx(key, nonce=1, block_limit=0, gas_limit=TX_GAS_LIMIT + 1)) == Status.BLOCK_LIMIT_CHECK_FAIL
    assert rejected(pool, make_tx(key, nonce=1, gas_limit=TX_GAS_LIMIT + 1)) == Status.NONCE_CHECK_FAIL
    assert rejected(pool, make_tx(key, nonce=2, gas_limit=TX_GAS_LIMIT + 1)) == Status.BLOCK_GAS_LIMIT_REACHED
    assert rejected(pool, make_tx(key, nonce=2)) == Status.TX_POOL_IS_FULL


def test_select_release_remove(suite: CryptoSuite, store: Store) -> None:
    pool = pool_for(suite, store)
    key = key_for(suite)
    txs = [make_tx(key, nonce=n) for n in range(10, 16)]
    for tx in txs:
        pool.submit(tx)
    first = pool.select(2)
    assert first == txs[:2]
    assert pool.in_flight == 2 and pool.ready == 4
    assert pool.select(3) == txs[2:5]
    pool.release([tx.hash(suite) for tx in first] + [b"\x00" * 32])
    assert pool.in_flight == 3
    assert pool.select(10) == [txs[0], txs[1], txs[5]]  # oldest first again
    assert pool.select(10) == []
    # the block that commits some of them
    block = extend(store, txs[:3])
    pool.remove_committed(block)
    assert len(pool) == 3 and all(tx.hash(suite) not in pool for tx in txs[:3])
    assert pool.in_flight == 3
    pool.release([tx.hash(suite) for tx in txs])  # a released-but-committed hash is simply unknown
    assert pool.select(10) == txs[3:]


def test_remove_committed_drops_a_rival_with_the_same_nonce(suite: CryptoSuite, store: Store) -> None:
    pool = pool_for(suite, store)
    key = key_for(suite)
    mine = make_tx(key, nonce=77)
    theirs = make_tx(key_for(suite, 1), nonce=77)
    pool.submit(mine)
    pool.remove_committed(extend(store, [theirs]))
    assert len(pool) == 0 and pool.select(5) == []


def test_expired_transactions_are_dropped_when_the_head_moves(suite: CryptoSuite, store: Store) -> None:
    pool = pool_for(suite, store)
    key = key_for(suite)
    soon, later = make_tx(key, block_limit=2), make_tx(key, block_limit=3)
    pool.submit(soon)
    pool.submit(later)
    assert pool.select(1) == [soon]  # in flight, and still dropped when it expires
    pool.remove_committed(extend(store))  # head 1: nothing expired
    assert len(pool) == 2
    pool.remove_committed(extend(store))  # head 2: soon expired
    assert soon.hash(suite) not in pool and later.hash(suite) in pool
    assert pool.in_flight == 0
    assert pool.drop_expired(3) == 1 and len(pool) == 0


def test_many_removals_keep_the_queues_bounded(suite: CryptoSuite, store: Store) -> None:
    pool = pool_for(suite, store)
    key = key_for(suite)
    for round_ in range(3):
        txs = [make_tx(key, block_limit=store.head_number() + 2) for _ in range(60)]
        for tx in txs:
            pool.submit(tx)
        block = extend(store, pool.select(30))
        pool.remove_committed(block)
        pool.remove_committed(extend(store))  # the other 30 expire
        assert len(pool) == 0
    assert len(pool._ready) <= 200 and len(pool._expiry) <= 200


def test_verify_proposal(suite: CryptoSuite, store: Store) -> None:
    key = key_for(suite)
    on_chain = make_tx(key, nonce=5)
    extend(store, [on_chain])  # head 1
    pool = pool_for(suite, store)
    pooled = make_tx(key, nonce=6)
    pool.submit(pooled)
    fresh = Transaction.decode(make_tx(key, nonce=8).encode())
    pool.verify_proposal([pooled, fresh], 2)  # a good proposal passes
    pool.verify_proposal([], 2)

    def refused(txs: list[Transaction], number: int = 2) -> Status:
        with pytest.raises(TxRejected) as info:
            pool.verify_proposal(txs, number)
        return info.value.status

    assert refused([pooled, make_tx(key, nonce=6, data=b"twin")]) == Status.NONCE_CHECK_FAIL
    assert refused([Transaction.decode(on_chain.encode())]) == Status.ALREADY_IN_CHAIN
    assert refused([make_tx(key, nonce=5, data=b"x")]) == Status.NONCE_CHECK_FAIL
    assert refused([make_tx(key, block_limit=1)]) == Status.BLOCK_LIMIT_CHECK_FAIL  # expired at block 2
    assert refused([make_tx(key, block_limit=2 + BLOCK_LIMIT_WINDOW)]) == Status.BLOCK_LIMIT_CHECK_FAIL
    assert refused([make_tx(key, chain_id=3)]) == Status.INVALID_CHAIN_ID
    assert refused([make_tx(key, group_id=3)]) == Status.INVALID_GROUP_ID
    assert refused([make_tx(key, gas_limit=TX_GAS_LIMIT + 1)]) == Status.BLOCK_GAS_LIMIT_REACHED
    unsigned = Transaction.decode(replace(fresh, v=0, r=0, s=0).encode())
    assert refused([pooled, unsigned]) == Status.INVALID_SIGNATURE
    # the window is judged at the proposal's height, not our head
    pool.verify_proposal([make_tx(key, block_limit=2 + BLOCK_LIMIT_WINDOW)], 3)


def test_same_submissions_give_the_same_proposals(suite: CryptoSuite, store: Store) -> None:
    key = key_for(suite)
    txs = [make_tx(key, nonce=n) for n in (9, 3, 7, 1, 5)]
    pools = [pool_for(suite, store), pool_for(suite, store)]
    for pool in pools:
        for tx in txs:
            pool.submit(tx)
    runs = [[tx.nonce for tx in pool.select(3)] for pool in pools]
    assert runs[0] == runs[1] == [9, 3, 7]


def test_pending_lists_oldest_first_with_a_limit(suite: CryptoSuite, store: Store) -> None:
    pool = pool_for(suite, store)
    txs = [make_tx(key_for(suite), nonce=n) for n in (4, 2, 9)]
    for tx in txs:
        pool.submit(tx)
    pool.select(1)  # in flight transactions are still pending
    assert pool.pending() == txs
    assert pool.pending(2) == txs[:2]
