"""Four real node processes on 127.0.0.1: agreement, crash and restart, leader crash.

Bounded: the whole scenario has a hard timeout, every wait has its own, and processes are always
stopped. Run only these with ``pytest -m integration tests/node``.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from chain.execution.kv import encode_kv
from chain.sdk.account import Account
from chain.sdk.client import SyncClient

from tests.node.cluster import Cluster, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]


def send_kv(cluster: Cluster, node: int, account: Account, count: int, tag: str) -> list[bytes]:
    """Submit count kv writes through node's JSON-RPC; their hashes."""
    client = SyncClient(cluster.url(node), account.suite, timeout=10)
    try:
        return [
            client.send_transaction(account, bytes(20), encode_kv(f"{tag}-{i}".encode(), b"v"))
            for i in range(count)
        ]
    finally:
        client.close()


def same_head(cluster: Cluster, nodes: list[int], at_least: int) -> bool:
    heights = {i: cluster.height(i) for i in nodes}
    if min(heights.values()) < at_least or len(set(heights.values())) != 1:
        return False
    number = heights[nodes[0]]
    return len({cluster.block_hash(i, number) for i in nodes}) == 1


def receipts_everywhere(cluster: Cluster, nodes: list[int], hashes: list[bytes]) -> bool:
    for i in nodes:
        for tx_hash in hashes:
            if cluster.rpc(i, "getTransactionReceipt", ["0x" + tx_hash.hex()]) is None:
                return False
    return True


def test_four_processes_agree_survive_crashes_and_catch_up(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path / "nodes", nodes=4, suite="standard", executor="kv", timeout_ms=1000)
    account = Account.from_key_file(cluster.chain.directory / "sdk" / "admin.key")
    everyone = [0, 1, 2, 3]
    try:
        cluster.start_all()
        for i in everyone:
            cluster.wait_rpc(i)
        wait_until(lambda: all(len([p for p in cluster.rpc(i, "getPeers") if p.get("connected", True)]) >= 3
                               for i in everyone), 20, "full mesh")

        # 1. Transactions sent to one node are gossiped, ordered and committed everywhere.
        first = send_kv(cluster, 1, account, 6, "a")
        wait_until(lambda: receipts_everywhere(cluster, everyone, first), 30, "first receipts on every node")
        wait_until(lambda: same_head(cluster, everyone, 1), 15, "same head hash on all 4 nodes")

        # 2. SIGKILL one node: three of four are a quorum, the chain keeps going.
        cluster.kill(3, signal.SIGKILL)
        survivors = [0, 1, 2]
        head_before = cluster.height(0)
        second = send_kv(cluster, 0, account, 4, "b")
        wait_until(lambda: receipts_everywhere(cluster, survivors, second), 30, "progress with node3 down")
        assert cluster.height(0) > head_before

        # 3. Restart it: it resumes from its store and catches up from its peers.
        cluster.start(3)
        cluster.wait_rpc(3)
        wait_until(lambda: same_head(cluster, everyone, cluster.height(0)), 30, "node3 caught up")
        wait_until(lambda: receipts_everywhere(cluster, [3], second), 10, "node3 has the blocks it missed")

        # 4. SIGKILL the leader of the next block: a view change, then the chain goes on.
        status = cluster.rpc(0, "getConsensusStatus")[0]
        leader = int(status["leaderIndex"])
        sealers = [status[f"sealer.{k}"] for k in range(int(status["nodeNum"]))]
        leader_node = next(n.name for n in cluster.chain.nodes if n.node_id.hex() == sealers[leader])
        victim = int(leader_node.removeprefix("node"))
        view_before = int(cluster.rpc((victim + 1) % 4, "getPbftView"), 16)
        cluster.kill(victim, signal.SIGKILL)
        rest = [i for i in everyone if i != victim]
        third = send_kv(cluster, rest[0], account, 4, "c")
        wait_until(lambda: receipts_everywhere(cluster, rest, third), 45, "progress after the leader died")
        assert int(cluster.rpc(rest[0], "getPbftView"), 16) > view_before
        wait_until(lambda: same_head(cluster, rest, 1), 15, "survivors agree")
    except BaseException:
        for i in range(4):
            print(f"--- node{i} (last lines) ---\n{cluster.log_tail(i)}")
        raise
    finally:
        cluster.stop_all()


@pytest.mark.parametrize("suite", ["standard", "sm"])
def test_contracts_through_rpc_on_four_processes(tmp_path: Path, suite: str) -> None:
    """Deploy and use the sample contracts through JSON-RPC on a 4-process EVM chain."""
    from chain.contracts import load_artifact
    from chain.sdk.contract import SyncContract

    cluster = Cluster(tmp_path / "nodes", nodes=4, suite=suite, executor="evm", timeout_ms=1000)
    admin = Account.from_key_file(cluster.chain.directory / "sdk" / "admin.key")
    other = Account.generate(suite)
    try:
        cluster.start_all()
        for i in range(4):
            cluster.wait_rpc(i)
        client = SyncClient(cluster.url(0), admin.suite, timeout=30)
        reader = SyncClient(cluster.url(2), admin.suite, timeout=30)  # read from another node
        try:
            hello = load_artifact("HelloWorld", suite)
            contract = SyncContract.deploy(client, admin, hello.abi, hello.bytecode)
            assert contract.call("get") == "Hello, World!"
            result = contract.transact("set", "Hello, chain!")
            assert result.receipt.ok and [e.name for e in result.events] == ["NameChanged"]
            wait_until(lambda: cluster.height(2) >= result.receipt.block_number, 10, "node2 has the block")
            assert SyncContract.at(reader, hello.abi, contract.address).call("get") == "Hello, chain!"

            asset = load_artifact("Asset", suite)
            token = SyncContract.deploy(client, admin, asset.abi, asset.bytecode)
            token.transact("issue", admin.address, 1000)
            token.transact("transfer", other.address, 250)
            assert token.call("balanceOf", admin.address) == 750
            assert token.call("balanceOf", other.address) == 250
        finally:
            client.close()
            reader.close()
        wait_until(lambda: same_head(cluster, [0, 1, 2, 3], 5), 15, "same head on all 4 nodes")
    except BaseException:
        for i in range(4):
            print(f"--- node{i} (last lines) ---\n{cluster.log_tail(i)}")
        raise
    finally:
        cluster.stop_all()


def test_start_all_status_and_clean_stop_all(tmp_path: Path) -> None:
    """The generated scripts start 4 sealers and an observer; garbage on a P2P port is shrugged off;
    the observer follows the chain; stop_all.sh stops every node cleanly."""
    import json
    import os
    import subprocess
    import sys

    from typer.testing import CliRunner

    from chain.cli.main import app

    import socket

    cluster = Cluster(tmp_path / "nodes", nodes=4, observers=1, suite="standard", executor="kv")
    root = cluster.chain.directory
    everyone = [0, 1, 2, 3, 4]
    env = {**os.environ, "CHAIN_PYTHON": sys.executable}
    try:
        subprocess.run(["bash", str(root / "start_all.sh")], check=True, env=env, timeout=30, capture_output=True)
        for i in everyone:
            cluster.wait_rpc(i)
            assert (root / f"node{i}" / "node.pid").exists()
        with socket.create_connection(("127.0.0.1", cluster.chain.nodes[0].p2p_port), timeout=5) as sock:
            sock.sendall(b"\x00\x00\x00\x05hello, is this TLS?" * 10)
            sock.recv(100)  # the node hangs up on us
        account = Account.from_key_file(root / "sdk" / "admin.key")
        hashes = send_kv(cluster, 0, account, 3, "s")
        wait_until(lambda: receipts_everywhere(cluster, everyone, hashes), 30, "receipts, the observer's too")
        wait_until(lambda: same_head(cluster, everyone, 1), 15, "the observer has the same head")
        assert cluster.rpc(4, "getObserverList") == [cluster.chain.nodes[4].node_id.hex()]
        assert cluster.rpc(4, "getConsensusStatus")[0]["node_index"] == 4  # after the 4 sealers
        status = CliRunner().invoke(app, ["node", "status", str(root)])
        assert status.exit_code == 0, status.output
        assert status.output.count("running  height") == 5, status.output
        log0 = (root / "node0" / "node.log").read_text()
        assert '"event":"tls_rejected"' in log0
        stop_one = CliRunner().invoke(app, ["node", "stop", str(root / "node4")])
        assert stop_one.exit_code == 0 and "node4: stopped" in stop_one.output, stop_one.output
    finally:
        stopped = subprocess.run(["bash", str(root / "stop_all.sh")], env=env, timeout=60, capture_output=True, text=True)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    for i in everyone:
        node_dir = root / f"node{i}"
        assert not (node_dir / "node.pid").exists()  # removed on a clean shutdown
        events = [json.loads(line)["event"] for line in (node_dir / "node.log").read_text().splitlines()]
        assert events[-1] == "node_stopped" and "signal_received" in events
