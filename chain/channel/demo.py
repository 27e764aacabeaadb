"""`chain amop demo`: two applications behind different nodes talk over AMOP, on real node processes.

The classroom story of lesson 9: a small chain on 127.0.0.1 (its own temporary directory and free
ports), a "shop" application at node 0 and a "warehouse" application at node 2, each connected to
its node's channel port with the chain's SDK certificate. Every step says what travels where and
checks that it happened; the chain is stopped and removed at the end, so the command is bounded.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from chain.channel.client import ChannelClient, ChannelError
from chain.channel.framing import ChannelResult, ChannelType
from chain.crypto.keys import KeyPair
from chain.node.builder import BuildOptions, BuiltChain, build_chain
from chain.node.ports import free_port_base, free_port_bases

START_TIMEOUT_S = 60.0
ROUTE_TIMEOUT_S = 15.0  # advertisements travel every 2 s; a loaded machine may need a few rounds


@dataclass
class DemoResult:
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.lines.append(text)

    def check(self, ok: bool, text: str) -> None:
        self.lines.append(("[ok] " if ok else "[FAILED] ") + text)
        if not ok:
            self.failures.append(text)


class Application:
    """An SDK connection with a name, answering AMOP requests in a thread of its own."""

    def __init__(self, name: str, chain: BuiltChain, node: int, channel_base: int,
                 reply: Callable[[bytes], bytes] | None = None) -> None:
        self.name, self.node = name, node
        self.client = _connect(chain, node, channel_base)
        self.received: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.reply = reply or (lambda content: b"received")
        threading.Thread(target=self._serve, name=f"app-{name}", daemon=True).start()

    def _serve(self) -> None:
        while not self.client.closed.is_set():
            try:
                message, topic, content = self.client.next_amop(timeout=0.2)
            except queue.Empty:
                continue
            self.received.put((topic, content))
            if message.type == ChannelType.AMOP_REQUEST:
                try:
                    self.client.respond(message, self.reply(content))
                except OSError:
                    return

    def got(self, seconds: float = 3.0) -> tuple[str, bytes] | None:
        try:
            return self.received.get(timeout=seconds)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.client.close()


def _connect(chain: BuiltChain, node: int, channel_base: int) -> ChannelClient:
    port = channel_base + node
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            return ChannelClient.from_chain_dir(chain.directory, "127.0.0.1", port)
        except (OSError, ChannelError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


# Answers that say "not yet" rather than "no": nobody known to listen yet (100), or the node chosen
# could not hand the request to its listener (101, e.g. its link was down a moment: once, in a
# loaded CI run, step 2 got it). A lasting fault still fails, after ROUTE_TIMEOUT_S.
NOT_YET = (ChannelResult.REMOTE_PEER_UNAVAILABLE, ChannelResult.REMOTE_CLIENT_PEER_UNAVAILABLE)


def _publish_when_routed(client: ChannelClient, topic: str, content: bytes) -> bytes:
    """Publish; while the nodes have not yet told each other who listens, try again."""
    deadline = time.monotonic() + ROUTE_TIMEOUT_S
    while True:
        try:
            return client.publish(topic, content)
        except ChannelError as exc:
            if exc.result not in NOT_YET or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _peer_events(chain: BuiltChain) -> list[str]:
    """Each node's link and warning events, for a failed demo to show what the nodes saw."""
    lines = []
    for node in chain.nodes:
        log_file = node.directory / "node.log"
        if not log_file.exists():
            continue
        for line in log_file.read_text(errors="replace").splitlines():
            if '"peer_' in line or '"level":"warning"' in line or '"level":"error"' in line:
                lines.append(f"  {node.directory.name}: {line[:300]}")
    return lines[-30:]


def run_demo(nodes: int = 3, suite: str = "standard") -> DemoResult:
    result = DemoResult()
    root = Path(tempfile.mkdtemp(prefix="chain-amop-"))
    processes: list[subprocess.Popen[bytes]] = []
    apps: list[Application] = []
    chain: BuiltChain | None = None
    try:
        p2p, rpc = free_port_bases(nodes)
        channel = free_port_base(nodes, avoid=set(range(p2p, p2p + nodes)) | set(range(rpc, rpc + nodes)))
        chain = build_chain(root / "nodes", BuildOptions(
            nodes=nodes, suite=suite, port_base=p2p, rpc_port_base=rpc, channel_port_base=channel,
            executor="kv", timeout_ms=1000, min_seal_time_ms=50))
        result.say(f"A {nodes}-node {suite} chain on 127.0.0.1; channel ports {channel}..{channel + nodes - 1}.")
        for node in chain.nodes:
            with open(node.directory / "stdout.log", "ab") as out:
                processes.append(subprocess.Popen(
                    [sys.executable, "-m", "chain.cli.main", "node", "start", str(node.directory)],
                    stdout=out, stderr=subprocess.STDOUT, cwd=node.directory, start_new_session=True,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"}))
        far = nodes - 1
        shop = Application("shop", chain, 0, channel)
        warehouse = Application("warehouse", chain, far, channel, lambda content: b"accepted: " + content)
        apps += [shop, warehouse]
        result.say(f"shop connects to node0's channel port, warehouse to node{far}'s (mutual TLS, sdk/ certificates).")

        # 1. unicast: one listener answers, through two nodes
        warehouse.client.subscribe(["orders"])
        result.say(f"warehouse listens on topic 'orders' (0x32); node{far} tells its peers.")
        answer = _publish_when_routed(shop.client, "orders", b"order 1: 3 chairs")
        result.check(answer == b"accepted: order 1: 3 chairs",
                     f"shop -> node0 -> node{far} -> warehouse: 'order 1: 3 chairs'; answer back (0x31): {answer.decode()!r}")

        # 2. multicast: every listener, at every node, no answer
        audit = Application("audit", chain, 1, channel)
        apps.append(audit)
        audit.client.subscribe(["orders"])
        _publish_when_routed(shop.client, "orders", b"order 2")  # until node0 knows audit's node too
        time.sleep(2.5)
        while warehouse.got(0.1) or audit.got(0.1):
            pass
        shop.client.multicast("orders", b"price list changed")
        to_warehouse, to_audit = warehouse.got(), audit.got()
        result.check(to_warehouse is not None and to_audit is not None,
                     f"multicast (0x35) 'price list changed' reached warehouse at node{far} and audit at node1")

        # 3. nobody listens: FISCO's code 100
        try:
            shop.client.publish("returns", b"?")
            result.check(False, "a topic nobody listens on got an answer")
        except ChannelError as exc:
            result.check(exc.result == ChannelResult.REMOTE_PEER_UNAVAILABLE,
                         f"'returns' has no listener: the node answers result {exc.result} (REMOTE_PEER_UNAVAILABLE)")

        # 4. a private topic: only the holder of an allowed key reads it
        allowed, other = KeyPair.generate(suite), KeyPair.generate(suite)
        topic = warehouse.client.subscribe_private("payroll", allowed)
        audit.client.subscribe_private("payroll", other)
        shop.client.publish_private_topic("payroll", [allowed.public_key], suite)
        result.say(f"shop declares private topic {topic!r} allowing warehouse's key only; warehouse and audit "
                   "subscribe, each with its own key.")
        verdicts: dict[str, bool] = {}
        deadline = time.monotonic() + ROUTE_TIMEOUT_S
        while len(verdicts) < 2 and time.monotonic() < deadline:
            try:
                _, node_id, approved = shop.client.verdicts.get(timeout=0.5)
                verdicts[node_id] = approved
            except queue.Empty:
                pass
        ids = {chain.nodes[far].node_id.hex(): "warehouse", chain.nodes[1].node_id.hex(): "audit"}
        named = {ids.get(k, k[:8]): v for k, v in verdicts.items()}
        result.check(named == {"warehouse": True, "audit": False},
                     f"node0 asked shop (0x37) about each subscriber; each signed a random value; shop's verdicts (0x38): {named}")
        while audit.got(0.1):
            pass
        answer = _publish_when_routed(shop.client, topic, b"salaries paid")
        shop.client.multicast(topic, b"bonus day")
        time.sleep(1.0)
        leaked = audit.got(0.5)
        result.check(answer == b"accepted: salaries paid" and leaked is None,
                     "'salaries paid' reached warehouse only; audit, whose key is not allowed, got nothing")
    except (ChannelError, OSError) as exc:
        result.check(False, f"the demo stopped: {exc}")
    finally:
        if result.failures and chain is not None:
            result.say("what the nodes logged about their links and warnings:")
            result.lines.extend(_peer_events(chain))
        for app in apps:
            app.close()
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(root, ignore_errors=True)
    return result
