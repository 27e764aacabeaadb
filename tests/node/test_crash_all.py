"""Every node process SIGKILLed at once, again and again, under load: the chain always commits again.

Issue 11 saw a real 4-node chain halt for good (views climbing, 602 transactions pending) after all
four were killed while one reported "prepared": the prepared block's transactions had lived only in
memory. Here the kills land at random moments of a steady load, so some of them hit a prepared
block; after the last restart, new transactions must be committed on every node.

Bounded: 3 kill cycles, a hard test timeout, and processes are always stopped.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path

import pytest

from chain.errors import ChainError
from chain.execution.kv import encode_kv
from chain.sdk.account import Account
from chain.sdk.client import SyncClient

from tests.node.cluster import Cluster, wait_until
from tests.node.test_cluster import receipts_everywhere, same_head, send_kv

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

CYCLES = 3  # each cycle costs ~9 s; the seeded sweep and tests/sim/test_restarts.py crash nodes at many more moments


def _load(cluster: Cluster, account: Account, stop: threading.Event) -> None:
    """Send kv writes round-robin to the nodes until stopped; a dead node's refusals are expected."""
    n = 0
    while not stop.is_set():
        node = n % cluster.size
        try:
            client = SyncClient(cluster.url(node), account.suite, timeout=2)
            try:
                for _ in range(5):
                    client.send_transaction(account, bytes(20), encode_kv(f"load-{n}".encode(), b"v"))
                    n += 1
            finally:
                client.close()
        except (OSError, ChainError, RuntimeError, TimeoutError):
            n += 1
            time.sleep(0.05)


def test_all_nodes_killed_repeatedly_under_load_then_the_chain_commits_again(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path / "nodes", nodes=4, suite="standard", executor="kv", timeout_ms=1000,
                      min_seal_time_ms=50)
    account = Account.from_key_file(cluster.chain.directory / "sdk" / "admin.key")
    everyone = [0, 1, 2, 3]
    rng = random.Random(11)
    stop = threading.Event()
    loader = threading.Thread(target=_load, args=(cluster, account, stop), daemon=True)
    try:
        cluster.start_all()
        for i in everyone:
            cluster.wait_rpc(i)
        loader.start()
        for _ in range(CYCLES):
            wait_until(lambda: cluster.height(0) >= 1, 30, "a first block")
            time.sleep(rng.uniform(0.5, 2.0))  # a random moment of the load: sometimes mid-block
            for i in everyone:
                cluster.kill(i, signal.SIGKILL)
            cluster.start_all()
            for i in everyone:
                cluster.wait_rpc(i)
        stop.set()
        loader.join(timeout=10)
        # After the last restart, fresh transactions are committed everywhere, on one chain.
        fresh = send_kv(cluster, 2, account, 6, "after")
        wait_until(lambda: receipts_everywhere(cluster, everyone, fresh), 90, "fresh receipts after the kills")
        wait_until(lambda: same_head(cluster, everyone, 1), 30, "same head on all four")
    except BaseException:
        for i in everyone:
            print(f"--- node{i} (last lines) ---\n{cluster.log_tail(i)}")
        raise
    finally:
        stop.set()
        cluster.stop_all()
