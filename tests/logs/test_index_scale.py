"""10,000 blocks: a topic query reads and decodes only the receipts of the blocks that match.

Every block holds one transaction emitting a common event; ten blocks also emit a rare one. The
query for the rare topic over all 10,000 blocks must decode exactly those ten receipts and no block
at all — counted on Receipt.decode and Block.decode themselves, so any path that walks the range
(decoding blocks or receipts to test them) shows up in the counts.
"""

from __future__ import annotations

import time

import pytest

from chain.crypto.suite import get_suite
from chain.ledger.block import Block
from chain.ledger.receipt import Log, Receipt
from chain.ledger.store import Store
from chain.ledger import log_index
from chain.logs.query import LogFilter, get_logs
from tests.logs.chainmaker import EMITTER, OTHER, commit, topic

BLOCKS = 10_000
RARE_AT = frozenset(range(517, BLOCKS, 997))  # ten blocks, spread over the range


def test_topic_query_over_10000_blocks_touches_only_the_matching_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    suite = get_suite("sm")
    common, rare = topic("Common()", suite), topic("Rare(uint256)", suite)
    store = Store(":memory:", suite)
    started = time.perf_counter()
    for n in range(BLOCKS):
        logs = [Log(EMITTER, (common,), b"")]
        if n in RARE_AT:
            logs.append(Log(OTHER, (rare, n.to_bytes(32, "big")), b"rare"))
        commit(store, [logs] if n else [])
    built_s = time.perf_counter() - started

    counts = {"receipts": 0, "blocks": 0}
    receipt_decode, block_decode = Receipt.decode.__func__, Block.decode.__func__  # type: ignore[attr-defined]

    def counting_receipt(cls: type, raw: bytes) -> Receipt:
        counts["receipts"] += 1
        return receipt_decode(cls, raw)

    def counting_block(cls: type, raw: bytes) -> Block:
        counts["blocks"] += 1
        return block_decode(cls, raw)

    monkeypatch.setattr(Receipt, "decode", classmethod(counting_receipt))
    monkeypatch.setattr(Block, "decode", classmethod(counting_block))

    started = time.perf_counter()
    found = get_logs(store, LogFilter(0, BLOCKS - 1, topics=(frozenset({rare}),)))
    query_s = time.perf_counter() - started
    assert [m.block_number for m in found] == sorted(RARE_AT)
    assert counts == {"receipts": len(RARE_AT), "blocks": 0}
    # The same with an address and a second-position topic: one block, one receipt.
    counts.update(receipts=0, blocks=0)
    one = sorted(RARE_AT)[3]
    found = get_logs(store, LogFilter(0, BLOCKS - 1, frozenset({OTHER}), (frozenset(), frozenset({one.to_bytes(32, "big")}))))
    assert [m.block_number for m in found] == [one] and counts == {"receipts": 1, "blocks": 0}
    # What indexing costs the commit path: one block of 1000 receipts, one 2-topic log each.
    receipts = [Receipt(0, b"", b"", 1, (Log(bytes([i % 256]) * 20, (common, i.to_bytes(32, "big")), b""),), BLOCKS, bytes(32), i)
                for i in range(1000)]
    started = time.perf_counter()
    store.select("BEGIN")
    log_index.write_block(store._db, suite, BLOCKS, receipts)
    store.select("ROLLBACK")
    write_ms = (time.perf_counter() - started) * 1000
    print(f"\nindexing a block of 1000 logs: {write_ms:.1f} ms", end="")
    print(f"\n10k blocks built in {built_s:.2f} s; rare-topic query over {BLOCKS} blocks: {query_s * 1000:.1f} ms, "
          f"{len(RARE_AT)} receipts decoded, 0 blocks")
