"""The tamper exercise on real node processes: edit a block in one node's SQLite store, and a node
that can sync from it alone refuses the block; with the honest nodes back it catches up.

Bounded: one hard timeout, a timeout on every wait, processes always stopped.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chain.cli.main import app
from chain.node.config import LogSection, NodeConfig
from chain.crypto.suite import get_suite
from chain.execution.kv import encode_kv
from chain.ledger.store import Store
from chain.sdk.account import Account
from chain.sdk.client import SyncClient

from tests.node.cluster import Cluster, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
ALONE_S = 3  # how long the lagging node may sync from the tampered node alone


def send_kv(cluster: Cluster, node: int, account: Account, count: int, tag: str) -> None:
    client = SyncClient(cluster.url(node), account.suite, timeout=10)
    try:
        for i in range(count):
            client.send_transaction(account, bytes(20), encode_kv(f"{tag}-{i}".encode(), b"v"))
    finally:
        client.close()


def stored_height(node_dir: Path) -> int:
    """A stopped node's head, read from its own store."""
    config = NodeConfig.load(node_dir)
    store = Store(node_dir / config.storage.path, get_suite("standard"))
    try:
        return store.head_number()
    finally:
        store.close()


def refusals(cluster: Cluster, node: int) -> list[dict[str, object]]:
    """The SyncResponses node refused, from its JSON-lines log (logged at debug level)."""
    path = cluster.chain.nodes[node].directory / "stdout.log"
    found = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        fields = record.get("fields", record)
        if "message_rejected" in line and fields.get("type") == "SYNC_RESPONSE":
            found.append(fields)
    return found


def test_a_real_node_refuses_a_tampered_block_and_catches_up_from_honest_ones(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path / "nodes", nodes=4, suite="standard", executor="kv", timeout_ms=1000)
    lagging = cluster.chain.nodes[3].directory
    config = NodeConfig.load(lagging)
    replace(config, log=LogSection(level="debug", file=config.log.file)).dump(lagging)  # to see its refusals
    account = Account.from_key_file(cluster.chain.directory / "sdk" / "admin.key")
    runner = CliRunner()
    started = time.monotonic()
    phase = lambda what: print(f"{time.monotonic() - started:6.1f} s  {what}")  # noqa: E731
    try:
        cluster.start_all()
        for i in range(4):
            cluster.wait_rpc(i)
        send_kv(cluster, 0, account, 5, "before")
        wait_until(lambda: min(cluster.height(i) for i in range(4)) >= 1, 60, "block 1 everywhere")
        phase("four nodes up, block 1 everywhere")
        cluster.kill(3, signal.SIGTERM)
        lag = stored_height(lagging)  # after the kill: a block can land between an RPC height and the signal
        target = lag + 1
        while cluster.height(0) < target + 2:  # blocks node 3 lacks, and one on top of them
            send_kv(cluster, 0, account, 5, f"during-{time.monotonic()}")
            time.sleep(0.3)
        wait_until(lambda: min(cluster.height(i) for i in range(3)) >= target + 2, 60, "nodes 0-2 ahead")
        honest_hash = cluster.block_hash(1, target)
        for i in (0, 1, 2):
            cluster.kill(i, signal.SIGTERM)

        phase(f"node 3 stopped at {lag}; nodes 0-2 at {target + 2}+ and stopped")
        node0, node1 = (str(cluster.chain.nodes[i].directory) for i in (0, 1))
        edit = runner.invoke(app, ["tamper", "store", node0, "--block", str(target), "--what", "tx"])
        assert edit.exit_code == 0, edit.output
        caught = runner.invoke(app, ["tamper", "verify", node0])
        assert caught.exit_code == 1 and f"refuses block {target}" in caught.output, caught.output
        assert "[CAUGHT] Merkle root" in caught.output and "[CAUGHT] re-execution" in caught.output
        assert runner.invoke(app, ["tamper", "verify", node1]).exit_code == 0

        phase(f"block {target} of node 0 tampered with, and caught by tamper verify")
        # node 3 comes back with only the tampered node 0 to sync from
        cluster.start(0)
        cluster.start(3)
        cluster.wait_rpc(0)
        cluster.wait_rpc(3)
        wait_until(lambda: refusals(cluster, 3), 60, "node 3 refuses node 0's block")
        phase("node 3 refused node 0's block")
        time.sleep(ALONE_S)
        assert cluster.height(3) == lag, "node 3 took a block from the tampered node"
        reasons = {str(r.get("reason")) for r in refusals(cluster, 3)}
        assert reasons == {f"sync: re-executing block {target} gives a different result than the one signed"}

        # the honest nodes come back: node 3 fetches the block the quorum signed
        cluster.start(1)
        cluster.start(2)
        wait_until(lambda: cluster.height(3) >= target, 60, "node 3 catches up")
        assert cluster.block_hash(3, target) == honest_hash
        phase("node 3 caught up from the honest nodes")
    except BaseException:
        for i in range(4):
            print(f"--- node{i} (last lines) ---\n{cluster.log_tail(i)}")
        raise
    finally:
        cluster.stop_all()
