"""The Pro form (docs/nodes.md "Pro form"): a gateway, an rpc service and a core per group per node.

The tests without processes check the local protocol's hello and the build's options. The others
share one 4-node Pro chain started by its own start_all.sh (real processes, 127.0.0.1, Unix sockets
in the test's directory), adversary first: garbage on every local socket is refused without taking
a process down; then the SDK's transactions commit through the rpc services; killing node1's rpc
service does not stop consensus nor node1's core; a restarted rpc serves again; a core that is down
is FISCO's -32000 at its rpc service, and a restarted core catches up; the channel port (held by
the rpc service, served by group0's core) answers for group1 too and pushes its receipts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import aiohttp
import pytest
from typer.testing import CliRunner

from chain.channel.client import ChannelClient, ChannelError
from chain.channel.framing import ChannelType
from chain.cli.main import app
from chain.errors import ConfigError
from chain.node.builder import BuildOptions, BuiltChain, build_chain
from chain.node.config import NodeConfig
from chain.node.local_link import (
    GATEWAY_SOCKET, KIND_ENGINE, KIND_HELLO, KIND_REQUEST, KIND_RESPONSE, LocalHello, LocalProtocolError, core_socket,
    frame,
)
from chain.execution.kv import encode_kv
from chain.node.ports import free_port_base, free_port_bases
from chain.node.pro_process import service_pids
from chain.sdk.account import Account
from chain.sdk.client import SyncClient
from tests.node.cluster import channel_serves_group1, result, rpc, send_kv, wait_until

# --- the local protocol's hello, without processes ------------------------------------------------


@pytest.mark.parametrize("body", [
    b"", b"\xff\xfe", b"[]", b'{"version": 2, "role": "core", "group": "group0"}',
    b'{"version": 1, "role": "admin", "group": "group0"}', b'{"version": 1, "role": "rpc", "group": 0}',
    b'{"version": 1, "role": "rpc"}', b'{"version": 1, "role": "rpc", "group": "' + b"g" * 2000 + b'"}',
])
def test_a_hello_that_is_not_exactly_the_documented_one_is_refused(body: bytes) -> None:
    with pytest.raises(LocalProtocolError):
        LocalHello.decode(body)


def test_a_hello_round_trips() -> None:
    assert LocalHello.decode(LocalHello("rpc", "group1").encode()) == LocalHello("rpc", "group1")


# --- building ------------------------------------------------------------------------------------


def test_pro_build_lays_out_services_and_air_is_unchanged(tmp_path: Path) -> None:
    options: dict[str, Any] = dict(nodes=4, suite="standard", executor="kv", genesis_time_ms=1, groups=("group0", "group1"))
    air = build_chain(tmp_path / "air", BuildOptions(**options))
    pro = build_chain(tmp_path / "pro", BuildOptions(form="pro", **options))
    air_config = (air.nodes[0].directory / "config.toml").read_text()
    assert "form" not in air_config and "--service" not in (air.nodes[0].directory / "start.sh").read_text()
    assert NodeConfig.load(pro.nodes[0].directory).node.form == "pro"
    start = (pro.nodes[0].directory / "start.sh").read_text()
    assert "start gateway gateway\nstart core.group0 core --group group0\nstart core.group1 core --group group1\nstart rpc rpc\n" in start
    # the rest of a Pro node's config is an Air node's: only the form differs
    assert (pro.nodes[0].directory / "config.toml").read_text().replace('form = "pro"\n', "") == air_config
    # the channel port is the rpc service's: listed as an Air node's (none here, the build fixed no port)
    assert "channel" not in (tmp_path / "pro" / "sdk" / "nodes.toml").read_text()
    assert (pro.nodes[0].directory / "channel.crt").exists()  # what the rpc service terminates TLS with


@pytest.mark.parametrize("extra, message", [
    ({"form": "max"}, "--form"),
    ({"form": "pro", "web3_port_base": 8645, "suite": "sm"}, "--web3"),  # Pro serves web3 now, on standard chains
])
def test_bad_pro_options_are_refused_before_anything_is_written(tmp_path: Path, extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_chain(tmp_path / "chain", BuildOptions(**{"nodes": 4, "suite": "standard", **extra}))
    assert not (tmp_path / "chain").exists() or not any((tmp_path / "chain").iterdir())


def test_an_air_node_refuses_a_service_and_a_pro_node_needs_one(tmp_path: Path) -> None:
    air = build_chain(tmp_path / "air", BuildOptions(nodes=1, suite="standard", executor="kv"))
    pro = build_chain(tmp_path / "pro", BuildOptions(nodes=1, suite="standard", executor="kv", form="pro"))
    runner = CliRunner()
    refused = runner.invoke(app, ["node", "start", str(air.nodes[0].directory), "--service", "rpc"])
    assert refused.exit_code != 0 and "Air node" in refused.output
    refused = runner.invoke(app, ["node", "start", str(pro.nodes[0].directory)])
    assert refused.exit_code != 0 and "Pro node" in refused.output
    refused = runner.invoke(app, ["node", "start", str(pro.nodes[0].directory), "--service", "core", "--group", "group7"])
    assert refused.exit_code != 0 and "does not serve group7" in refused.output
    assert not list(pro.nodes[0].directory.glob("*.pid"))


@pytest.mark.integration
@pytest.mark.timeout(30)
def test_stop_all_right_after_start_all_leaves_nothing_running(tmp_path: Path) -> None:
    """start.sh writes each service's pid file at once: a stop that follows before Python has even
    started still finds, and stops, every process."""
    p2p, rpc_base = free_port_bases(1)
    built = build_chain(tmp_path / "chain", BuildOptions(nodes=1, suite="standard", executor="kv", form="pro",
                                                         port_base=p2p, rpc_port_base=rpc_base))
    subprocess.run(["bash", str(tmp_path / "chain" / "start_all.sh")], check=True, timeout=10, capture_output=True)
    started = [int(path.read_text()) for path in built.nodes[0].directory.glob("*.pid")]
    assert len(started) == 3
    subprocess.run(["bash", str(tmp_path / "chain" / "stop_all.sh")], check=True, timeout=20, capture_output=True)
    try:
        wait_until(lambda: not any(alive(pid) for pid in started), 10, "every service gone")
    finally:
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent: nohup's shell is gone, init reaps it) counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# --- one 4-node Pro chain of real processes --------------------------------------------------------


def post(url: str, body: bytes) -> tuple[int, Any]:
    """(HTTP status, JSON answer) for a raw body."""
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def height(url: str) -> int:
    return int(result(url, "getBlockNumber", [1]), 16)


def committed(url: str, hashes: list[str], group: int | str = 1) -> bool:
    """Whether every one of hashes has a receipt in group (a 2.x id, or a 3.x name)."""
    selector: list[Any] = [group, ""] if isinstance(group, str) else [group]
    return all(result(url, "getTransactionReceipt", [*selector, h]) is not None for h in hashes)


@contextlib.contextmanager
def local_socket(node_dir: Path, name: str) -> Iterator[socket.socket]:
    """A connection to one of a node's local sockets (named relative to the node directory, as the
    services name them: the absolute path of a test directory may be over the 108-byte limit)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    with contextlib.chdir(node_dir):
        sock.connect(name)
    try:
        yield sock
    finally:
        sock.close()


def ask_core(node_dir: Path, group: str, method: str, params: list[Any]) -> Any:
    """A JSON-RPC request straight to a core over the local protocol, as the rpc service sends it."""
    with local_socket(node_dir, core_socket(group)) as sock:
        sock.sendall(frame(KIND_HELLO, LocalHello("rpc", group).encode()))
        body = json.dumps({"jsonrpc": "2.0", "id": 9, "method": method, "params": params}).encode()
        sock.sendall(frame(KIND_REQUEST, (42).to_bytes(8, "big") + body))
        data = b""
        while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:4], "big"):
            chunk = sock.recv(65536)
            assert chunk, "the core closed the link instead of answering"
            data += chunk
    payload = data[4:4 + int.from_bytes(data[:4], "big")]
    assert payload[0] == KIND_RESPONSE and payload[1:9] == (42).to_bytes(8, "big")
    return json.loads(payload[9:])


def closed_by_peer(sock: socket.socket) -> bool:
    """Whether the other side closed the connection (within the socket's timeout; what it sent first is read over)."""
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


class ProChain:
    def __init__(self, root: Path) -> None:
        p2p, rpc_base = free_port_bases(4)
        channel = free_port_base(4, avoid=set(range(p2p, p2p + 4)) | set(range(rpc_base, rpc_base + 4)))
        self.root = root
        self.chain: BuiltChain = build_chain(root, BuildOptions(
            nodes=4, suite="standard", port_base=p2p, rpc_port_base=rpc_base, executor="kv",
            timeout_ms=1000, min_seal_time_ms=50, form="pro", channel_port_base=channel,
            groups=("group0", "group1"), group_sealers=(("group1", (0, 1, 2)),)))
        self.urls = [f"http://127.0.0.1:{n.rpc_port}/" for n in self.chain.nodes]
        self.channel_ports = [channel + i for i in range(4)]

    def client(self, i: int) -> ChannelClient:
        """The project's channel SDK on node i's channel port (the rpc service's)."""
        return ChannelClient.from_chain_dir(self.root, "127.0.0.1", self.channel_ports[i])

    def directory(self, i: int) -> Path:
        return self.chain.nodes[i].directory

    def pids(self, i: int) -> dict[str, int | None]:
        return service_pids(self.directory(i), NodeConfig.load(self.directory(i)))

    def script(self, path: Path) -> None:
        subprocess.run(["bash", str(path)], check=True, timeout=30, capture_output=True)

    def all_alive(self) -> bool:
        return all(pid is not None for i in range(4) for pid in self.pids(i).values())

    def kill_service(self, i: int, name: str) -> None:
        pid = self.pids(i)[name]
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: self.pids(i)[name] is None, 10, f"node{i}'s {name} gone")

    def stop(self) -> None:
        """`chain node stop ROOT` (SIGTERM to every service of every node); every process must be gone."""
        running = sum(pid is not None for i in range(4) for pid in self.pids(i).values())
        stopped = CliRunner().invoke(app, ["node", "stop", str(self.root)])
        left = {f"node{i} {name}": pid for i in range(4) for name, pid in self.pids(i).items() if pid is not None}
        for pid in left.values():  # only the processes this chain started
            os.kill(pid, signal.SIGKILL)
        assert stopped.exit_code == 0 and not left, (stopped.output, left)
        assert stopped.output.count(": stopped") == running


@pytest.fixture(scope="module")
def pro(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProChain]:
    chain = ProChain(tmp_path_factory.mktemp("pro") / "chain")
    chain.script(chain.root / "start_all.sh")
    try:
        # 16 processes importing at once: on a loaded 2-core machine that alone can take half a minute
        wait_until(lambda: all(height(url) >= 0 for url in chain.urls), 60, "every rpc service answers")
        yield chain
    finally:
        chain.stop()


@pytest.mark.integration
@pytest.mark.timeout(120)  # it starts the module's chain (see the fixture)
def test_garbage_on_the_local_sockets_is_refused_and_nothing_stops(pro: ProChain) -> None:
    node = pro.directory(2)
    before = {i: pro.pids(i) for i in range(4)}
    # Each: the link is closed by the service, which goes on serving everyone else.
    attempts = [
        (GATEWAY_SOCKET, b"\x00\x00\x00\x05garbage, no frame"),  # not a hello
        (GATEWAY_SOCKET, b"\xff\xff\xff\xff"),  # a 4 GiB frame announced
        (GATEWAY_SOCKET, frame(KIND_HELLO, b'{"version": 1, "role": "rpc", "group": "group0"}')),  # rpc is not a core
        (GATEWAY_SOCKET, frame(KIND_HELLO, b'{"version": 1, "role": "core", "group": "group9"}')),  # not our group
        (core_socket("group0"), frame(KIND_ENGINE, b"\x01" * 80)),  # first frame not a hello
        (core_socket("group0"), frame(KIND_HELLO, b'{"version": 1, "role": "core", "group": "group0"}')),  # a core is not an rpc
        (core_socket("group0"), frame(KIND_HELLO, LocalHello("rpc", "group0").encode()) + frame(KIND_ENGINE, b"x" * 70)),
        (core_socket("group0"), frame(KIND_HELLO, LocalHello("rpc", "group0").encode()) + b"\x00\x00\x00\x00"),  # empty frame
    ]
    for name, data in attempts:
        with local_socket(node, name) as sock:
            sock.sendall(data)
            assert closed_by_peer(sock), f"{name} kept a link that sent {data[:40]!r}"
    # a dialer that says nothing is dropped after the hello timeout
    with local_socket(node, GATEWAY_SOCKET) as sock:
        assert closed_by_peer(sock)
    # a "core" that says hello then garbage takes over group0's route only until it is refused:
    # the real core dials again and the chain goes on
    with local_socket(node, GATEWAY_SOCKET) as sock:
        sock.sendall(frame(KIND_HELLO, LocalHello("core", "group0").encode()) + frame(KIND_REQUEST, b"\x00" * 8))
        assert closed_by_peer(sock)
    # and on the rpc service's HTTP port, the answers an Air node gives
    assert post(pro.urls[2], b"{not json")[1]["error"]["code"] == -32700
    assert post(pro.urls[2], b"[]")[1]["error"]["code"] == -32600
    assert post(pro.urls[2], b'{"jsonrpc": "2.0", "id": 1, "method": "getBlockNumber", "params": [true]}')[1]["error"]["code"] == -32602
    status, answer = post(pro.urls[2], b"[" + b"1," * (3 << 20) + b"1]")
    assert status == 413 and answer["error"]["code"] == -40013
    assert {i: pro.pids(i) for i in range(4)} == before
    account = Account.generate("standard")
    hashes = send_kv(pro.urls[2], account, 2, "after-garbage")
    wait_until(lambda: all(committed(url, hashes) for url in pro.urls), 30, "commits after the garbage")


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_the_sdk_commits_through_every_rpc_service_and_status_sees_the_services(pro: ProChain) -> None:
    account = Account.generate("standard")
    hashes = [h for i, url in enumerate(pro.urls) for h in send_kv(url, account, 2, f"via{i}")]
    wait_until(lambda: all(committed(url, hashes) for url in pro.urls), 30, "every transaction on every node")
    heads = {result(url, "getBlockHashByNumber", [1, hex(min(height(u) for u in pro.urls))]) for url in pro.urls}
    assert len(heads) == 1
    # getPeers comes from the gateway, through the core, through the rpc service
    assert sum(p["connected"] for p in result(pro.urls[0], "getPeers", [1])) == 3
    status = CliRunner().invoke(app, ["node", "status", str(pro.root)])
    assert status.exit_code == 0, status.output
    lines = status.output.splitlines()
    assert len(lines) == 4 and all("running  height" in line and "core.group0" in line for line in lines)
    assert all("core.group1" in line and "group1 height" in line for line in lines[:3])
    assert "group1" not in lines[3]  # node3 is outside group1: no core, no ledger


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_two_groups_side_by_side_each_core_its_own_ledger(pro: ProChain) -> None:
    """group0 (4 sealers) and group1 (nodes 0-2) in Pro: each rpc service sends a request to its
    group's core; a client of group1 never sees group0's data; node3 outside group1 answers FISCO's
    -40001; the methods listing groups ask every core; a batch mixing groups is answered in order."""
    account = Account.generate("standard")
    in0 = send_kv(pro.urls[3], account, 2, "g0", group_id=1)
    in1 = send_kv(pro.urls[0], account, 2, "g1", group_id=2)
    wait_until(lambda: all(committed(url, in0) for url in pro.urls), 30, "group0's transactions on every node")
    wait_until(lambda: all(committed(pro.urls[i], in1, 2) and committed(pro.urls[i], in1, "group1") for i in range(3)),
               30, "group1's transactions on its three nodes")
    assert all(result(pro.urls[0], "getTransactionReceipt", [2, h]) is None for h in in0)
    assert all(result(pro.urls[0], "getTransactionReceipt", ["group0", "", h]) is None for h in in1)
    assert result(pro.urls[0], "getBlockHashByNumber", [1, "0x0"]) != result(pro.urls[0], "getBlockHashByNumber", [2, "0x0"])
    assert rpc(pro.urls[3], "getBlockNumber", [2])["error"]["code"] == -40001
    assert rpc(pro.urls[3], "getBlockNumber", ["group1", ""])["error"] == {"code": -40001, "message": "The group group1 does not exist!"}
    # each core knows its own group: the rpc service asks them all
    assert result(pro.urls[0], "getGroupList", []) == [1, 2]
    assert result(pro.urls[0], "getGroupList", ["group0", ""])["groupList"] == ["group0", "group1"]
    assert [g["groupID"] for g in result(pro.urls[1], "getGroupInfoList", ["group0", ""])] == ["group0", "group1"]
    assert result(pro.urls[3], "getGroupList", []) == [1]
    assert result(pro.urls[0], "queryGroupStatus", [2])["status"] == "RUNNING"
    assert result(pro.urls[3], "queryGroupStatus", [2])["status"] == "INEXISTENT"
    batch = [{"jsonrpc": "2.0", "id": 1, "method": "getBlockNumber", "params": [2]},
             {"jsonrpc": "2.0", "method": "getBlockNumber", "params": [1]},  # a notification: no answer
             {"jsonrpc": "2.0", "id": "g0", "method": "getBlockNumber", "params": [1]},
             {"jsonrpc": "2.0", "id": 3, "method": "getGroupList", "params": []}]
    request = urllib.request.Request(pro.urls[1], json.dumps(batch).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as r:
        answers = json.loads(r.read())
    assert [a["id"] for a in answers] == [1, "g0", 3]
    assert int(answers[0]["result"], 16) >= 1 and int(answers[1]["result"], 16) >= 1 and answers[2]["result"] == [1, 2]
    # /ws (relayed to group0's core) answers for every group too, as an Air node's does
    assert ws_ask(pro.urls[1], [{"jsonrpc": "2.0", "id": 1, "method": "getGroupList", "params": []},
                                {"jsonrpc": "2.0", "id": 2, "method": "getTransactionReceipt", "params": [2, in1[0]]},
                                {"jsonrpc": "2.0", "id": 3, "method": "getBlockHashByNumber", "params": [1, "0x1"]}]) == [
        [1, 2], result(pro.urls[1], "getTransactionReceipt", [2, in1[0]]), result(pro.urls[1], "getBlockHashByNumber", [1, "0x1"])]


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_the_channel_serves_every_group_and_pushes_another_groups_receipt(pro: ProChain) -> None:
    """An SDK on node0's channel is served by group0's core, which hands a request naming group1
    back to the rpc service (FORWARD) and answers with what it gets: group1's ledger, not group0's.
    A transaction sent to group 2 the python-sdk's way (0x13) gets its receipt pushed when group1
    commits it (group0's core polls for it). A group the node does not serve is FISCO's -40001."""
    with pro.client(0) as c:
        channel_serves_group1(c, pro.urls[0])
    with pro.client(3) as c:  # node3 is outside group1
        with pytest.raises(ChannelError, match="-40001"):
            c.rpc("getBlockNumber", [2])
        assert c.rpc("getGroupList", []) == [1]


def ws_ask(url: str, requests: list[dict[str, Any]]) -> list[Any]:
    """Each request's result over the rpc service's /ws, one after the other."""
    async def ask() -> list[Any]:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(url + "ws") as ws:
                results = []
                for request in requests:
                    await ws.send_str(json.dumps(request))
                    answer = await ws.receive_json(timeout=10)
                    assert answer["id"] == request["id"], answer
                    results.append(answer["result"])
                return results

    return asyncio.run(ask())


@pytest.mark.integration
@pytest.mark.timeout(90)
def test_killing_an_rpc_service_stops_no_consensus_and_a_restarted_one_serves(pro: ProChain) -> None:
    account = Account.generate("standard")
    pro.kill_service(1, "rpc")
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        rpc(pro.urls[1], "getBlockNumber", [1])
    hashes = send_kv(pro.urls[0], account, 3, "rpc1-down")
    wait_until(lambda: committed(pro.urls[0], hashes), 30, "committed through node0 while node1's rpc is down")
    target = height(pro.urls[0])
    # node1's core keeps up: asked straight over its local socket, it holds every block and receipt
    wait_until(lambda: int(ask_core(pro.directory(1), "group0", "getBlockNumber", [1])["result"], 16) >= target, 20,
               "node1's core keeps up without its rpc service")
    assert all(ask_core(pro.directory(1), "group0", "getTransactionReceipt", [1, h])["result"] is not None for h in hashes)
    assert all(pid is not None for name, pid in pro.pids(1).items() if name != "rpc")
    # start.sh starts only what is missing: the rpc service, which serves again
    gateway, core = pro.pids(1)["gateway"], pro.pids(1)["core.group0"]
    pro.script(pro.directory(1) / "start.sh")
    wait_until(lambda: height(pro.urls[1]) >= target, 20, "node1's restarted rpc service answers")
    assert (pro.pids(1)["gateway"], pro.pids(1)["core.group0"]) == (gateway, core)
    more = send_kv(pro.urls[1], account, 2, "rpc1-back")
    wait_until(lambda: all(committed(url, more) for url in pro.urls), 30, "committed through node1's new rpc service")


@pytest.mark.integration
@pytest.mark.timeout(90)
def test_a_core_that_is_down_is_fiscos_error_and_a_restarted_core_catches_up(pro: ProChain) -> None:
    account = Account.generate("standard")
    pro.kill_service(3, "core.group0")
    answer = rpc(pro.urls[3], "getBlockNumber", [1])
    assert answer["error"] == {"code": -32000, "message": "Invalid request for the specified node of doesn't exist or doesn't started!"}
    assert rpc(pro.urls[3], "getBlockNumber", ["group0", ""])["error"]["code"] == -32000
    # three cores of four still commit (and group1, which node3 is not in, never noticed)
    hashes = send_kv(pro.urls[0], account, 2, "core3-down")
    wait_until(lambda: all(committed(pro.urls[i], hashes) for i in range(3)), 30, "committed without node3's core")
    target = height(pro.urls[0])
    pro.script(pro.directory(3) / "start.sh")
    wait_until(lambda: height(pro.urls[3]) >= target and committed(pro.urls[3], hashes), 30,
               "node3's restarted core catches up and its rpc service serves it")
    assert pro.all_alive()
