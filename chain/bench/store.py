"""Ledger benchmark: how fast the store commits and reads blocks, and how fast the tx pool admits.

Figures are for one core. Commits are measured for an in-memory store (what the simulator uses)
and a file store (WAL, synchronous=FULL: every block waits for the disk). Pool admission is
dominated by signature verification, so it is measured per suite on freshly decoded transactions.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

from chain.crypto.keys import KeyPair
from chain.crypto.suite import get_suite
from chain.ledger.block import Block, BlockHeader
from chain.ledger.genesis import GenesisConfig, open_chain
from chain.ledger.merkle import receipts_root, transactions_root
from chain.ledger.receipt import Receipt
from chain.ledger.state import next_state_root
from chain.ledger.status import Status
from chain.ledger.store import Store
from chain.ledger.transaction import Transaction, new_transaction, sign_transaction
from chain.txpool import TxPool


def _genesis(suite_name: str) -> GenesisConfig:
    return GenesisConfig(chain_id=1, group_id=1, suite=suite_name, sealers=((KeyPair(suite_name, 7).public_key, 1),))


def _signed(suite_name: str, count: int, block_limit: int = 900) -> list[Transaction]:
    key = KeyPair(suite_name, 0xBEEF)
    return [
        sign_transaction(new_transaction(to=b"\x10" * 20, data=b"\x01" * 68, block_limit=block_limit), key)
        for _ in range(count)
    ]


def _next_block(store: Store, txs: list[Transaction]) -> tuple[Block, tuple[Receipt, ...], dict]:
    suite = store.suite
    head = store.head()
    assert head is not None
    number = head.number + 1
    receipts = tuple(
        Receipt(Status.SUCCESS, b"", b"", 21000, (), number, tx.hash(suite), i) for i, tx in enumerate(txs)
    )
    changes = {("bench", tx.hash(suite)): b"\x01" * 32 for tx in txs}
    header = BlockHeader(
        parent_hash=head.hash(suite), number=number, timestamp=number, sealer=0, sealer_list=head.header.sealer_list,
        transactions_root=transactions_root(suite, txs), receipts_root=receipts_root(suite, receipts),
        state_root=next_state_root(suite, head.header.state_root, changes), gas_used=21000 * len(txs),
    )
    return Block(header, tuple(txs)), receipts, changes


def measure_commits(path: str, suite_name: str, blocks: int, txs_per_block: int) -> dict[str, float]:
    """Commit `blocks` blocks of `txs_per_block` transactions (one state row each); time only the commits."""
    store = open_chain(path, _genesis(suite_name))
    template = _signed(suite_name, 1)[0]
    elapsed = 0.0
    nonce = 1
    for _ in range(blocks):
        txs = []
        for _ in range(txs_per_block):
            txs.append(replace(template, nonce=nonce))
            nonce += 1
        block, receipts, changes = _next_block(store, txs)
        start = time.perf_counter()
        store.commit_block(block, receipts, changes)
        elapsed += time.perf_counter() - start
    hashes = [tx.hash(store.suite) for tx in txs]
    start = time.perf_counter()
    for tx_hash in hashes:
        store.receipt(tx_hash)
    read_elapsed = time.perf_counter() - start
    store.close()
    return {"blocks/s": blocks / elapsed, "tx/s": blocks * txs_per_block / elapsed,
            "receipt reads/s": len(hashes) / read_elapsed}


def measure_pool(suite_name: str, count: int) -> dict[str, float]:
    """Submit `count` freshly decoded transactions (nothing cached), then select and remove them."""
    store = open_chain(":memory:", _genesis(suite_name))
    raws = [tx.encode() for tx in _signed(suite_name, count)]
    pool = TxPool(get_suite(suite_name), store, chain_id=1, group_id=1)
    start = time.perf_counter()
    for raw in raws:
        pool.submit(Transaction.decode(raw))
    submit_elapsed = time.perf_counter() - start
    start = time.perf_counter()
    head = store.head()
    assert head is not None  # the genesis block is committed above
    while len(pool):
        chosen = pool.select(1000)
        pool.remove_committed(Block(head.header, tuple(chosen)))
    cycle_elapsed = time.perf_counter() - start
    store.close()
    return {"submit/s": count / submit_elapsed, "select+remove/s": count / cycle_elapsed}


def run(blocks: int = 20, txs_per_block: int = 1000, pool_txs: int = 2000) -> dict[str, dict[str, float]]:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["store :memory:"] = measure_commits(":memory:", "standard", blocks, txs_per_block)
        results["store file (WAL, FULL)"] = measure_commits(str(Path(tmp) / "bench.db"), "standard", blocks, txs_per_block)
    table = Table(title=f"store: commit_block of {txs_per_block}-tx blocks (one state row per tx), one core")
    for column in ("store", "blocks/s", "tx/s", "receipt reads/s"):
        table.add_column(column, justify="left" if column == "store" else "right")
    for label, figures in results.items():
        table.add_row(label, *(f"{figures[c]:,.0f}" for c in ("blocks/s", "tx/s", "receipt reads/s")))
    console.print(table)

    table = Table(title=f"tx pool: {pool_txs} freshly decoded signed txs, one core")
    for column in ("suite", "submit/s", "select+remove/s"):
        table.add_column(column, justify="left" if column == "suite" else "right")
    for suite_name in ("standard", "sm"):
        figures = measure_pool(suite_name, pool_txs)
        results[f"pool {suite_name}"] = figures
        table.add_row(suite_name, f"{figures['submit/s']:,.0f}", f"{figures['select+remove/s']:,.0f}")
    console.print(table)
    return results
