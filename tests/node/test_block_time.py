"""Real nodes stamp blocks with wall-clock Unix epoch milliseconds, as FISCO does.

Four processes on 127.0.0.1; a few transactions; each block's timestamp must lie between the wall
time just before it was asked for and the moment it was seen committed (within a second either
side: the leader seals up to min_seal_time_ms after the first transaction arrives). The genesis
carries the time ``chain build`` ran.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from chain.execution.kv import encode_kv
from chain.sdk.account import Account
from chain.sdk.client import SyncClient

from tests.node.cluster import Cluster, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def test_block_timestamps_are_wall_clock_epoch_ms(tmp_path: Path) -> None:
    built_at = int(time.time() * 1000)
    cluster = Cluster(tmp_path / "nodes", nodes=4, suite="standard", executor="kv", timeout_ms=1000)
    try:
        cluster.start_all()
        for i in range(cluster.size):
            cluster.wait_rpc(i)
        genesis = cluster.rpc(0, "getBlockByNumber", ["0x0", False])
        assert abs(int(genesis["timestamp"], 16) - built_at) < 60_000  # stamped at build, moments ago
        account = Account.generate("standard")
        client = SyncClient(cluster.url(0), account.suite, timeout=10)
        try:
            for round_ in range(3):
                target = cluster.height(0) + 1
                sent_at = int(time.time() * 1000)
                client.send_transaction(account, bytes(20), encode_kv(f"t{round_}".encode(), b"v"))
                wait_until(lambda: cluster.height(0) >= target, 30, f"block {target}")
                seen_at = int(time.time() * 1000)
                block = cluster.rpc(0, "getBlockByNumber", [hex(target), False])
                stamp = int(block["timestamp"], 16)
                print(f"block {target}: stamped {stamp - sent_at} ms after the send, seen {seen_at - stamp} ms after the stamp")
                assert sent_at - 1000 <= stamp <= seen_at + 1000, (sent_at, stamp, seen_at)
        finally:
            client.close()
    finally:
        cluster.stop_all()
