"""A chain of real node processes on 127.0.0.1 for integration tests: build, start, kill, ask."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

from chain.channel.client import ChannelClient, ChannelError
from chain.channel.framing import ChannelType
from chain.execution.kv import encode_kv
from chain.node.builder import BuildOptions, BuiltChain, build_chain
from chain.node.ports import free_port_bases
from chain.sdk.account import Account
from chain.sdk.client import SyncClient


class Cluster:
    def __init__(self, root: Path, *, nodes: int = 4, observers: int = 0, suite: str = "standard",
                 executor: str = "kv", timeout_ms: int = 1000, min_seal_time_ms: int = 50) -> None:
        total = nodes + observers
        p2p, rpc = free_port_bases(total)
        self.chain: BuiltChain = build_chain(root, BuildOptions(
            nodes=nodes, observers=observers, suite=suite, port_base=p2p, rpc_port_base=rpc, executor=executor,
            timeout_ms=timeout_ms, min_seal_time_ms=min_seal_time_ms,
        ))
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def size(self) -> int:
        return len(self.chain.nodes)

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.chain.nodes[i].rpc_port}/"

    def start(self, i: int) -> None:
        directory = self.chain.nodes[i].directory
        out = open(directory / "stdout.log", "ab")
        self.processes[i] = subprocess.Popen(
            [sys.executable, "-m", "chain.cli.main", "node", "start", str(directory)],
            stdout=out, stderr=subprocess.STDOUT, cwd=directory, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        out.close()

    def start_all(self) -> None:
        for i in range(self.size):
            self.start(i)

    def kill(self, i: int, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(i)
        process.send_signal(sig)
        process.wait(timeout=15)

    def stop_all(self) -> None:
        for i in list(self.processes):
            process = self.processes[i]
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for i in list(self.processes):
            try:
                self.processes[i].wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.processes[i].kill()
                self.processes[i].wait()
            del self.processes[i]

    def alive(self) -> list[int]:
        return sorted(i for i, p in self.processes.items() if p.poll() is None)

    def rpc(self, i: int, method: str, params: list[Any] | None = None) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": [1] + (params or [])}).encode()
        request = urllib.request.Request(self.url(i), body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            answer = json.loads(response.read())
        if "error" in answer:
            raise RuntimeError(f"node{i} {method}: {answer['error']}")
        return answer["result"]

    def height(self, i: int) -> int:
        return int(self.rpc(i, "getBlockNumber"), 16)

    def block_hash(self, i: int, number: int) -> str:
        return str(self.rpc(i, "getBlockHashByNumber", [hex(number)]))

    def wait_rpc(self, i: int, timeout: float = 30) -> None:
        wait_until(lambda: self._answers(i), timeout, f"node{i} RPC up")

    def _answers(self, i: int) -> bool:
        try:
            self.height(i)
            return True
        except (OSError, urllib.error.URLError, RuntimeError):
            return False

    def log_tail(self, i: int, lines: int = 30) -> str:
        path = self.chain.nodes[i].directory / "stdout.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, poll: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except (OSError, urllib.error.URLError, RuntimeError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {what}")
        time.sleep(poll)


def send_kv(url: str, account: Account, count: int, tag: str, group_id: int = 1) -> list[str]:
    """Send `count` kv transactions of the group through the node's RPC at url; their hashes as 0x hex."""
    client = SyncClient(url, account.suite, group_id, timeout=10)
    try:
        return ["0x" + client.send_transaction(account, bytes(20), encode_kv(f"{tag}-{i}".encode(), b"v")).hex()
                for i in range(count)]
    finally:
        client.close()


def rpc(url: str, method: str, params: list[Any]) -> Any:
    """The whole JSON-RPC answer (result or error) of one request."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    with urllib.request.urlopen(urllib.request.Request(url, body, {"Content-Type": "application/json"}), timeout=5) as r:
        return json.loads(r.read())


def result(url: str, method: str, params: list[Any]) -> Any:
    answer = rpc(url, method, params)
    if "error" in answer:
        raise RuntimeError(f"{method} {params}: {answer['error']}")
    return answer["result"]


def channel_serves_group1(c: ChannelClient, url: str) -> None:
    """What an SDK on a node's channel port sees of group1 (2.x id 2), in both forms: group1's ledger
    by id and by name, both groups listed, and a transaction sent the python-sdk's way (0x13) answered
    with its receipt pushed once group1 commits it; a group the node does not serve is -40001.
    `url` is the same node's JSON-RPC endpoint, to compare with."""
    genesis1 = c.rpc("getBlockHashByNumber", [2, "0x0"])
    assert genesis1 == result(url, "getBlockHashByNumber", [2, "0x0"]) != c.rpc("getBlockHashByNumber", [1, "0x0"])
    assert c.rpc("getBlockHashByNumber", ["group1", "", "0x0"]) == genesis1  # by its 3.x name too
    assert c.rpc("getGroupList", []) == [1, 2]
    account = Account.generate("standard")
    client = SyncClient(url, account.suite, 2, timeout=10)
    try:
        tx = client.build_transaction(account, bytes(20), encode_kv(b"channel-g1", b"v"))
    finally:
        client.close()
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "sendRawTransaction",
                       "params": [2, "0x" + tx.encode().hex()]}).encode()
    receipt = json.loads(c.request(ChannelType.TX_COMMITTED, body).data)
    tx_hash = "0x" + tx.hash(client.suite).hex()
    assert receipt["transactionHash"] == tx_hash and receipt["status"] == "0x0"
    assert result(url, "getTransactionReceipt", [2, tx_hash])["blockNumber"] == receipt["blockNumber"]
    assert result(url, "getTransactionReceipt", [1, tx_hash]) is None  # it is group1's, not group0's
    try:
        c.rpc("getBlockNumber", [9])
    except ChannelError as exc:
        assert "-40001" in str(exc)
    else:
        raise AssertionError("group 9 does not exist, yet the channel answered for it")
