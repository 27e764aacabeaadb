"""Filters (getFilterChanges with per-poll bound and expiry) and the subscription hub (bloom skip, slow-client drop)."""

from __future__ import annotations

import pytest

from chain.crypto.suite import get_suite
from chain.ledger.receipt import Log
from chain.ledger.store import Store
from chain.logs.filters import FilterRegistry
from chain.logs.query import LogFilter, LogQueryError, MatchedLog
from chain.logs.subscriptions import SLOW_CLIENT, BlockEvent, SubscriptionHub
from tests.logs.chainmaker import EMITTER, OTHER, commit, topic

SUITE = get_suite("standard")
A, B = topic("A", SUITE), topic("B", SUITE)


def fresh() -> Store:
    store = Store(":memory:", SUITE)
    commit(store, [])
    return store


def test_filter_changes_report_each_new_block_once_within_the_poll_bound() -> None:
    store, now = fresh(), [0.0]
    reg = FilterRegistry(store, clock=lambda: now[0], max_blocks_per_poll=2)
    logs_id = reg.new_filter(LogFilter(None, None, frozenset({EMITTER})))
    blocks_id, txs_id = reg.new_block_filter(), reg.new_pending_transaction_filter()
    assert reg.changes(logs_id) == [] and reg.changes(blocks_id) == []
    for n in range(3):
        commit(store, [[Log(EMITTER, (A,), bytes([n]))], [Log(OTHER, (A,), b"x")]])
    first = reg.changes(logs_id)
    assert [m.log.data for m in first] == [b"\x00", b"\x01"]  # two blocks per poll at most
    assert [m.log.data for m in reg.changes(logs_id)] == [b"\x02"] and reg.changes(logs_id) == []
    assert reg.changes(blocks_id) == [store.block_hash(1), store.block_hash(2)]
    assert reg.changes(blocks_id) == [store.block_hash(3)]
    assert reg.changes(txs_id) == [tx.hash(SUITE) for n in (1, 2) for tx in store.block_by_number(n).transactions]
    assert [m.log.data for m in reg.logs(logs_id)] == [b"\x02"]  # (latest, latest): the head block's log
    commit(store, [])
    assert reg.logs(logs_id) == []
    with pytest.raises(LogQueryError, match="filter not found"):
        reg.logs(blocks_id)  # only a log filter has logs
    assert reg.uninstall(logs_id) is True and reg.uninstall(logs_id) is False


def test_idle_filters_expire_and_polled_ones_do_not() -> None:
    store, now = fresh(), [0.0]
    reg = FilterRegistry(store, clock=lambda: now[0], timeout_s=300)
    idle, busy = reg.new_block_filter(), reg.new_block_filter()
    now[0] = 200.0
    reg.changes(busy)
    now[0] = 301.0
    with pytest.raises(LogQueryError, match="filter not found"):
        reg.changes(idle)
    reg.changes(busy)  # polled at 200: alive until 500
    assert len(reg) == 1


def test_the_number_of_filters_is_bounded() -> None:
    reg = FilterRegistry(fresh(), max_filters=2)
    reg.new_block_filter(), reg.new_block_filter()
    with pytest.raises(LogQueryError, match="too many filters"):
        reg.new_block_filter()


def test_hub_pushes_blocks_and_matching_logs_and_skips_receipts_by_bloom() -> None:
    store = fresh()
    hub = SubscriptionHub(store, SUITE)
    blocks, logs = hub.subscribe_blocks(), hub.subscribe_logs(LogFilter(None, None, topics=(frozenset({B}),)))
    commit(store, [[Log(EMITTER, (A,), b"a")]])
    commit(store, [[Log(EMITTER, (B,), b"b")]])
    hub.publish()
    assert [e.number for e in blocks.take() if isinstance(e, BlockEvent)] == [1, 2]
    assert [m.log.data for m in logs.take() if isinstance(m, MatchedLog)] == [b"b"]
    assert hub.receipt_reads == 1  # block 1's bloom has no B: its receipts were not read


def test_past_logs_first_then_live() -> None:
    store = fresh()
    commit(store, [[Log(EMITTER, (A,), b"old")]])
    hub = SubscriptionHub(store, SUITE)
    sub = hub.subscribe_logs(LogFilter(0, None, frozenset({EMITTER})))
    commit(store, [[Log(EMITTER, (A,), b"new")]])
    hub.publish()
    assert [m.log.data for m in sub.take()] == [b"old", b"new"]


def test_a_slow_subscriber_is_dropped_and_the_others_keep_receiving() -> None:
    store = fresh()
    hub = SubscriptionHub(store, SUITE, max_queue=3)
    slow, fast = hub.subscribe_blocks(), hub.subscribe_blocks()
    for _ in range(5):
        commit(store, [])
        hub.publish()
        fast.take()
    assert slow.closed and slow.close_reason == SLOW_CLIENT and slow.pending() == 0
    assert not fast.closed and len(hub) == 1 and hub.dropped == 1


def test_a_subscription_catch_up_is_bounded_like_get_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    store = fresh()
    for data in (b"1", b"2"):
        commit(store, [[Log(EMITTER, (A,), data)]])
    hub = SubscriptionHub(store, SUITE, max_queue=1)
    with pytest.raises(LogQueryError, match="exceed the subscription queue"):
        hub.subscribe_logs(LogFilter(1, None))
    monkeypatch.setattr("chain.logs.subscriptions.MAX_BLOCK_RANGE", 1)
    with pytest.raises(LogQueryError, match="more than 1 blocks back"):
        hub.subscribe_logs(LogFilter(1, None))
    assert len(hub) == 0 and len(hub.subscribe_logs(LogFilter(2, None)).take()) == 1
