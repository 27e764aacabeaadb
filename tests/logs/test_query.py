"""getLogs semantics (FISCO 3.x FilterRequest/LogMatcher/FilterSystem) and its bounds."""

from __future__ import annotations

import pytest

from chain.crypto.suite import get_suite
from chain.ledger.genesis import GenesisConfig
from chain.ledger.receipt import Log
from chain.ledger.status import Status
from chain.ledger.store import Store
from chain.ledger import log_index
from chain.logs.query import LogFilter, LogQueryError, filter_from_json, get_logs, log_json
from tests.logs.chainmaker import EMITTER, OTHER, commit, topic

SUITE = get_suite("sm")
A, B, C = topic("A", SUITE), topic("B", SUITE), topic("C", SUITE)


@pytest.fixture()
def store() -> Store:
    s = Store(":memory:", SUITE)
    commit(s, [])  # 0
    commit(s, [[Log(EMITTER, (A,), b"1")], [Log(OTHER, (A, B), b"2")]])  # 1
    commit(s, [[Log(EMITTER, (B,), b"3"), Log(EMITTER, (A, C), b"4")]])  # 2
    commit(s, [[Log(EMITTER, (A,), b"5")]], status=Status.BAD_INSTRUCTION)  # 3: failed
    commit(s, [[Log(EMITTER, (), b"6")]])  # 4: LOG0
    return s


def datas(found: list) -> list[bytes]:
    return [m.log.data for m in found]


def test_address_and_topic_positions(store: Store) -> None:
    assert datas(get_logs(store, LogFilter(0, None))) == [b"1", b"2", b"3", b"4", b"6"]  # failed block 3 skipped
    assert datas(get_logs(store, LogFilter(0, None, frozenset({EMITTER})))) == [b"1", b"3", b"4", b"6"]
    assert datas(get_logs(store, LogFilter(0, None, topics=(frozenset({A}),)))) == [b"1", b"2", b"4"]
    assert datas(get_logs(store, LogFilter(0, None, topics=(frozenset({A, B}),)))) == [b"1", b"2", b"3", b"4"]
    assert datas(get_logs(store, LogFilter(0, None, topics=(frozenset(), frozenset({B}))))) == [b"2"]
    # A wildcard position still needs a topic there (FISCO: topics.size() > logTopics.size() → no match).
    assert datas(get_logs(store, LogFilter(0, None, topics=(frozenset(), frozenset())))) == [b"2", b"4"]
    assert datas(get_logs(store, LogFilter(2, 2))) == [b"3", b"4"]
    found = get_logs(store, LogFilter(2, 2))[1]
    assert log_json(found) == {
        "address": "0x" + EMITTER.hex(), "topics": ["0x" + A.hex(), "0x" + C.hex()], "data": "0x34",
        "blockNumber": "0x2", "blockHash": "0x" + store.block_hash(2).hex(),
        "transactionHash": "0x" + store.block_by_number(2).transactions[0].hash(SUITE).hex(),
        "transactionIndex": "0x0", "logIndex": "0x1", "removed": False,
    }


def test_range_rules_match_fisco(store: Store) -> None:
    assert datas(get_logs(store, LogFilter(None, None))) == [b"6"]  # latest..latest: the head only
    assert get_logs(store, LogFilter(9, None)) == []  # from past the head: nothing yet
    assert datas(get_logs(store, LogFilter(1, 99))) == [b"1", b"2", b"3", b"4", b"6"]  # to clipped to the head
    with pytest.raises(LogQueryError, match="invalid block range"):
        get_logs(store, LogFilter(3, 2))
    with pytest.raises(LogQueryError, match="invalid block range"):
        get_logs(store, LogFilter(None, 2))  # (latest, number) fails checkBlockRange
    block2 = store.block_hash(2)
    assert datas(get_logs(store, LogFilter(block_hash=block2))) == [b"3", b"4"]
    with pytest.raises(LogQueryError, match="unknown block"):
        get_logs(store, LogFilter(block_hash=b"\x01" * 32))


def test_range_and_result_bounds(store: Store) -> None:
    with pytest.raises(LogQueryError, match="block range too large: 5 blocks"):
        get_logs(store, LogFilter(0, None), max_range=4)
    assert len(get_logs(store, LogFilter(0, None), max_range=5)) == 5
    with pytest.raises(LogQueryError, match="more than 4 logs"):
        get_logs(store, LogFilter(0, None), max_results=4)


def test_filter_json() -> None:
    flt = filter_from_json({"fromBlock": "0x1", "toBlock": "latest", "address": "0x" + EMITTER.hex(),
                            "topics": [None, ["0x" + A.hex(), B.hex()]]})
    assert flt == LogFilter(1, None, frozenset({EMITTER}), (frozenset(), frozenset({A, B})))
    assert filter_from_json({"address": ["0x" + OTHER.hex()], "fromBlock": 3, "toBlock": "7"}).to_block == 7
    assert filter_from_json({"fromBlock": "earliest", "toBlock": "finalized"}) == LogFilter(0, None)
    assert filter_from_json({"fromBlock": "pending", "toBlock": "safe"}) == LogFilter(None, None)
    for bad, why in [({"topics": [None] * 5}, "exceed max topics"), ({"address": "0x12"}, "20 bytes"),
                     ({"fromBlock": "0x5", "toBlock": "0x4"}, "invalid block range"), ({"fromBlock": -1}, "out of range"),
                     ({"topics": "0x00"}, "array"), ([], "JSON object"), ({"fromBlock": "soon"}, "block number"),
                     ({"blockHash": "0x00"}, "32 bytes")]:
        with pytest.raises(LogQueryError, match=why):
            filter_from_json(bad)


def test_a_store_written_before_the_index_is_caught_up_on_opening(tmp_path) -> None:
    path = tmp_path / "chain.db"
    with Store(path, SUITE) as s:
        commit(s, [])
        commit(s, [[Log(EMITTER, (A,), b"1")]])
        s.select("DELETE FROM log_index")  # as if written by the code before the index
        s.select("DELETE FROM block_blooms")
        assert get_logs(s, LogFilter(0, None)) == []
    with Store(path, SUITE) as s:
        assert datas(get_logs(s, LogFilter(0, None))) == [b"1"]
        assert log_index.unindexed_blocks(s._db) == []
