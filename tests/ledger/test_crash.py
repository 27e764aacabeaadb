"""Crash safety: SIGKILL a writer at random moments; the store is always at a complete block."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chain.crypto.suite import get_suite
from chain.ledger.store import Store
from tests.ledger.crash_writer import ROWS_PER_BLOCK, TXS_PER_BLOCK

ROOT = Path(__file__).resolve().parents[2]
KILLS = 15


def check_complete(store: Store) -> int:
    """Assert that the head block and everything it wrote are all there, and nothing after it."""
    number = store.head_number()
    if number < 0:
        assert store.total_transactions() == 0 and store.get("t", b"head") is None
        return number
    head = store.head()
    assert head is not None and head.number == number
    assert store.block_by_number(number + 1) is None
    assert store.block_hash(number) == head.hash(store.suite)
    assert store.state_root() == head.header.state_root
    # state: every row the head block wrote carries its number
    assert store.get("t", b"head") == b"%d" % number
    assert {store.get("t", b"row%d" % i) for i in range(ROWS_PER_BLOCK)} == {b"%d" % number}
    # transactions and receipts: all of the head block's, and the totals agree
    assert len(head.transactions) == TXS_PER_BLOCK
    assert [store.transaction_at(number, i) for i in range(TXS_PER_BLOCK)] == list(head.transactions)
    assert store.transaction_at(number + 1, 0) is None
    receipts = store.receipts(number)
    assert [r.transaction_hash for r in receipts] == [tx.hash(store.suite) for tx in head.transactions]
    assert store.total_transactions() == (number + 1) * TXS_PER_BLOCK == int(store.get("t", b"count") or 0)
    assert all(store.nonce_on_chain(tx.nonce, number) for tx in head.transactions)
    return number


@pytest.mark.timeout(120)
def test_kill_minus_nine_never_leaves_half_a_block(tmp_path: Path) -> None:
    rng = random.Random(20240611)
    path = tmp_path / "chain.db"
    suite = get_suite("standard")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    last = -1
    for _ in range(KILLS):
        writer = subprocess.Popen([sys.executable, "-m", "tests.ledger.crash_writer", str(path), suite.name],
                                  cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert writer.stdout is not None
            first = writer.stdout.readline()  # it has committed at least one block
            assert first, writer.stderr.read().decode() if writer.stderr else "writer died"
            time.sleep(rng.uniform(0.0, 0.15))
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait(timeout=10)
            printed = [first] + (writer.stdout.readlines() if writer.stdout else [])
            if writer.stdout:
                writer.stdout.close()
            if writer.stderr:
                writer.stderr.close()
        with Store(path, suite) as store:
            number = check_complete(store)
        # every block whose commit returned is there (the writer prints after commit_block returns)
        assert number >= int(printed[-1])
        assert number > last
        last = number
    assert last >= KILLS - 1  # each run committed at least one more block
