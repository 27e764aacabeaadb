"""The SQLite store: reads after commits, refusal of blocks that do not extend the head, reopening."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from chain.crypto.suite import CryptoSuite, get_suite
from chain.errors import StoreError
from chain.ledger.block import EMPTY_ROOT
from chain.ledger.store import Store
from tests.ledger.builders import extend, key_for, make_block, make_receipts, make_tx


def snapshot(store: Store) -> tuple[object, ...]:
    """Everything observable about a store, to show a refused commit changed nothing."""
    head = store.head()
    return (store.head_number(), head.hash(store.suite) if head else None, store.total_transactions(),
            store.state_root(), list(store.rows("t")), store.block_by_number(store.head_number() + 1))


def test_empty_store(suite: CryptoSuite) -> None:
    store = Store(":memory:", suite)
    assert store.head_number() == -1
    assert store.head() is None
    assert store.state_root() == EMPTY_ROOT
    assert store.total_transactions() == 0
    assert store.get("t", b"k") is None
    assert store.block_by_number(0) is None


def test_commit_and_read_everything(suite: CryptoSuite) -> None:
    store = Store(":memory:", suite)
    key = key_for(suite)
    genesis = extend(store, changes={("t", b"a"): b"1"})
    txs = [make_tx(key, nonce=n) for n in (5, 6, 7)]
    block1 = extend(store, txs, {("t", b"a"): None, ("t", b"b"): b"2"})

    assert store.head_number() == 1
    assert store.head() == block1
    assert store.block_by_number(0) == genesis
    assert store.block_by_number(1) == block1
    assert store.block_by_hash(block1.hash(suite)) == block1
    assert store.block_hash(1) == block1.hash(suite)
    assert store.block_hash(2) is None
    assert store.block_number_of(genesis.hash(suite)) == 0
    assert store.state_root() == block1.header.state_root
    # state: the delete and the put both applied
    assert store.get("t", b"a") is None
    assert store.get("t", b"b") == b"2"
    assert list(store.rows("t")) == [(b"b", b"2")]
    # transactions and receipts by every route
    for index, tx in enumerate(txs):
        found = store.transaction(tx.hash(suite))
        assert found is not None
        assert found[0] == tx and found[1:] == (1, index)
        assert found[0].sender(suite) == key.address
        assert store.transaction_at(1, index) == tx
        receipt = store.receipt(tx.hash(suite))
        assert receipt is not None and receipt.transaction_index == index
    assert store.transaction_at(1, 3) is None
    assert store.receipts(1) == make_receipts(suite, block1)
    assert store.receipts(0) == ()
    assert store.total_transactions() == 3
    # nonce window
    assert store.nonce_on_chain(6, 0)
    assert store.nonce_on_chain(6, 1)
    assert not store.nonce_on_chain(6, 2)
    assert not store.nonce_on_chain(8, 0)
    assert not store.nonce_on_chain(1 << 300, 0)


def test_block_not_extending_head_is_refused_and_store_unchanged(suite: CryptoSuite) -> None:
    store = Store(":memory:", suite)
    extend(store)
    extend(store, [make_tx(key_for(suite), nonce=1)])
    before = snapshot(store)
    head = store.head()
    assert head is not None
    # wrong number (a gap), wrong number (a repeat), wrong parent
    gap = make_block(suite, head, [])
    gap = replace(gap, header=replace(gap.header, number=3))
    repeat = make_block(suite, store.block_by_number(0), [])
    orphan = make_block(suite, head, [])
    orphan = replace(orphan, header=replace(orphan.header, parent_hash=b"\x99" * 32))
    for bad in (gap, repeat, orphan):
        with pytest.raises(StoreError):
            store.commit_block(bad, (), {("t", b"x"): b"y"})
        assert snapshot(store) == before


def test_bad_receipts_and_duplicate_tx_are_refused_and_store_unchanged(suite: CryptoSuite) -> None:
    store = Store(":memory:", suite)
    key = key_for(suite)
    extend(store)
    tx = make_tx(key, nonce=1)
    extend(store, [tx])
    before = snapshot(store)
    head = store.head()
    other = make_tx(key, nonce=2)
    block = make_block(suite, head, [other])
    good_receipts = make_receipts(suite, block)
    wrong_tx = replace(good_receipts[0], transaction_hash=b"\x00" * 32)
    wrong_number = replace(good_receipts[0], block_number=7)
    for receipts in ((), good_receipts * 2, (wrong_tx,), (wrong_number,)):
        with pytest.raises(StoreError):
            store.commit_block(block, receipts, {("t", b"x"): b"y"})
        assert snapshot(store) == before
    # the same transaction again: the database refuses it mid-transaction; nothing is kept
    replay = make_block(suite, head, [other, tx])
    with pytest.raises(StoreError):
        store.commit_block(replay, make_receipts(suite, replay), {("t", b"x"): b"y"})
    assert snapshot(store) == before
    assert store.get("t", b"x") is None
    # bad state change types
    with pytest.raises(StoreError):
        store.commit_block(block, good_receipts, {("t", "not bytes"): b"y"})  # type: ignore[dict-item]
    assert snapshot(store) == before
    # and the good block still goes in afterwards
    store.commit_block(block, good_receipts, {("t", b"x"): b"y"})
    assert store.head_number() == 2 and store.get("t", b"x") == b"y"


def test_file_store_survives_reopen(tmp_path: Path, suite: CryptoSuite) -> None:
    path = tmp_path / "chain.db"
    with Store(path, suite) as store:
        extend(store, changes={("t", b"k"): b"v"})
        block1 = extend(store, [make_tx(key_for(suite), nonce=9)])
    with Store(path, suite) as store:
        assert store.head_number() == 1
        assert store.head() == block1
        assert store.get("t", b"k") == b"v"
        assert store.total_transactions() == 1
        assert store.nonce_on_chain(9, 1)
        extend(store)
        assert store.head_number() == 2


def test_opening_with_another_suite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "chain.db"
    Store(path, get_suite("sm")).close()
    with pytest.raises(StoreError, match="'sm' chain"):
        Store(path, get_suite("standard"))


def test_opening_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError):
        Store(path, get_suite("standard"))


def test_refused_commit_on_a_file_store_leaves_nothing_behind(tmp_path: Path, suite: CryptoSuite) -> None:
    path = tmp_path / "chain.db"
    key = key_for(suite)
    tx = make_tx(key, nonce=1)
    with Store(path, suite) as store:
        extend(store, changes={("t", b"k"): b"v"})
        extend(store, [tx])
        before = snapshot(store)
        replay = make_block(suite, store.head(), [make_tx(key, nonce=2), tx])  # fails on the second insert
        with pytest.raises(StoreError):
            store.commit_block(replay, make_receipts(suite, replay), {("t", b"k"): b"changed"})
    with Store(path, suite) as store:
        assert snapshot(store) == before
        assert store.get("t", b"k") == b"v"
        assert store.total_transactions() == 1
        assert not store.nonce_on_chain(2, 0)



def test_a_column_of_the_wrong_type_is_a_corrupt_row(suite: CryptoSuite) -> None:
    # SQLite lets a column hold any type; a value of a type we never write there is damage, said as such
    store = Store(":memory:", suite)
    extend(store)
    tx = make_tx(key_for(suite), nonce=5)
    extend(store, [tx])
    store._db.execute("UPDATE blocks SET hash = 'text' WHERE number = 0")
    store._db.execute("UPDATE transactions SET idx = 'text'")
    with pytest.raises(StoreError, match="corrupt row: str where bytes belong"):
        store.block_hash(0)
    with pytest.raises(StoreError, match="corrupt row: str where an integer belongs"):
        store.transaction(tx.hash(suite))
    assert store.block_hash(1) is not None  # the rows left alone still read
