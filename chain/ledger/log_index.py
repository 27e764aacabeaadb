"""The log index: two SQLite tables written beside the chain, in the same transaction as each block.

Why: without it, a query for one event over 10,000 blocks would decode 10,000 blocks of receipts.
With it, SQL finds the (block, transaction) positions of the matching logs, and only those
receipts are read and decoded (``chain.logs.query``); tests/logs/test_index_scale.py counts it.

* ``log_index``    (number, tx_idx, log_idx, address, topic0..topic3): one row per log of a
  successful receipt (FISCO's LogMatcher skips failed receipts; a reverted call emits nothing
  anyway). Indexed by (address, number) and (topicN, number), so a query by address or by any
  topic position is an index range scan over [fromBlock, toBlock].
* ``block_blooms`` (number, bloom): each block's 2048-bit logsBloom (``chain.ledger.bloom``), so
  ``logsBloom`` can be answered and checked without decoding receipts; it also marks which
  blocks are indexed, which is how a store written before this index is caught up (``backfill``).

``Store`` calls ``SCHEMA``, ``write_block`` (inside ``commit_block``'s transaction: a block and its
index rows are durable together or not at all) and ``backfill`` (on opening); reads go through
``Store.select``.
"""

from __future__ import annotations

import sqlite3
from typing import Callable, Iterable, Sequence

from chain.crypto.suite import CryptoSuite
from chain.ledger.receipt import Receipt
from chain.ledger.bloom import block_bloom

MAX_TOPICS = 4

SCHEMA = """
CREATE TABLE IF NOT EXISTS log_index (
    number  INTEGER NOT NULL,
    tx_idx  INTEGER NOT NULL,
    log_idx INTEGER NOT NULL,
    address BLOB NOT NULL,
    topic0  BLOB, topic1 BLOB, topic2 BLOB, topic3 BLOB,
    PRIMARY KEY (number, tx_idx, log_idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS log_index_address ON log_index (address, number);
CREATE INDEX IF NOT EXISTS log_index_topic0 ON log_index (topic0, number);
CREATE INDEX IF NOT EXISTS log_index_topic1 ON log_index (topic1, number);
CREATE INDEX IF NOT EXISTS log_index_topic2 ON log_index (topic2, number);
CREATE INDEX IF NOT EXISTS log_index_topic3 ON log_index (topic3, number);
CREATE TABLE IF NOT EXISTS block_blooms (
    number INTEGER PRIMARY KEY,
    bloom  BLOB NOT NULL
);
"""

Row = tuple[int, int, int, bytes, bytes | None, bytes | None, bytes | None, bytes | None]


def index_rows(number: int, receipts: Sequence[Receipt]) -> list[Row]:
    rows: list[Row] = []
    for receipt in receipts:
        if not receipt.ok:  # as FISCO's LogMatcher: only a successful receipt's logs are events
            continue
        for log_idx, log in enumerate(receipt.logs):
            padded: list[bytes | None] = [*log.topics[:MAX_TOPICS], *[None] * (MAX_TOPICS - len(log.topics))]
            topic0, topic1, topic2, topic3 = padded  # MAX_TOPICS of them
            rows.append((number, receipt.transaction_index, log_idx, log.address, topic0, topic1, topic2, topic3))
    return rows


def write_block(db: sqlite3.Connection, suite: CryptoSuite, number: int, receipts: Sequence[Receipt]) -> None:
    """Index one block's logs and bloom; call inside the transaction that stores the block."""
    db.executemany("INSERT OR REPLACE INTO log_index VALUES (?, ?, ?, ?, ?, ?, ?, ?)", index_rows(number, receipts))
    ok = [r for r in receipts if r.ok]
    db.execute("INSERT OR REPLACE INTO block_blooms (number, bloom) VALUES (?, ?)", (number, block_bloom(suite, ok)))


def unindexed_blocks(db: sqlite3.Connection) -> list[int]:
    """Stored blocks without an index row: a store written before the index existed."""
    return [n for (n,) in db.execute(
        "SELECT number FROM blocks WHERE number NOT IN (SELECT number FROM block_blooms) ORDER BY number")]


def backfill(db: sqlite3.Connection, suite: CryptoSuite, receipts_of: Callable[[int], Sequence[Receipt]]) -> int:
    """Index every stored block that is not yet indexed, in one transaction; how many were."""
    missing = unindexed_blocks(db)
    if not missing:
        return 0
    db.execute("BEGIN IMMEDIATE")
    try:
        for number in missing:
            write_block(db, suite, number, receipts_of(number))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return len(missing)


def candidate_sql(from_block: int, to_block: int, addresses: Sequence[bytes],
                  topics: Sequence[Iterable[bytes]]) -> tuple[str, list[object]]:
    """SQL (and its parameters) listing (number, tx_idx, log_idx) of every log in the range that
    the index says matches: address in addresses (if any), topicN in topics[N] (if any; a log with
    fewer topics than positions given has NULL there and so never matches, as in FISCO)."""
    where = ["number BETWEEN ? AND ?"]
    args: list[object] = [from_block, to_block]
    if addresses:
        where.append(f"address IN ({', '.join('?' * len(addresses))})")
        args.extend(addresses)
    for position, alternatives in enumerate(topics):
        alternatives = list(alternatives)
        if alternatives:
            where.append(f"topic{position} IN ({', '.join('?' * len(alternatives))})")
            args.extend(alternatives)
        else:  # a wildcard position still requires the log to have a topic there
            where.append(f"topic{position} IS NOT NULL")
    sql = f"SELECT number, tx_idx, log_idx FROM log_index WHERE {' AND '.join(where)} ORDER BY number, tx_idx, log_idx"
    return sql, args
