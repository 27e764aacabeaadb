"""Idle connections thrown at nodes' P2P ports, and what they cost: the figures of issue 12.

``IdleFlood`` is the attacker: many TCP connections that never say a word, from many loopback
addresses (Linux routes all of 127.0.0.0/8 to ``lo`` with no set-up), each reopened as soon as the
node closes it. It runs in a thread, so a test or this script can go on measuring the nodes.

``python -m chain.bench.p2p_flood`` builds a 4-node chain in a temporary directory, starts the
nodes as processes and prints: how long a restarted node takes to link to its peers while every
node is flooded, and the RSS and log bytes of a node before and after ~10,000 idle connections.
Run it with ``PYTHONPATH`` pointing at another checkout to measure that code instead. It is not
part of ``make test`` (one to three minutes).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

ATTACK_SOURCES = tuple(f"127.0.0.{i}" for i in range(2, 52))  # 50 addresses, none of them a node's


@dataclass
class FloodStats:
    thrown: int = 0  # connections opened
    closed_by_node: int = 0
    connect_errors: int = 0
    open_now: int = 0
    most_open: int = 0


class IdleFlood:
    """`per_target` idle connections kept open against each target, spread over `sources`.

    Plain non-blocking sockets and one ``selectors`` loop in a thread: an attacker should be cheap,
    or the test would measure how slow the attacker is rather than how well the node holds up.
    """

    def __init__(self, targets: list[tuple[str, int]], per_target: int, sources: tuple[str, ...] = ATTACK_SOURCES,
                 reconnect_delay: float = 0.0, stop_after: int | None = None, say: bytes = b"") -> None:
        self.targets = targets
        self.say = say  # sent once right after connecting (b"\x16" looks like a TLS handshake starting)
        self.per_target = per_target
        self.sources = sources
        self.reconnect_delay = reconnect_delay
        self.stop_after = stop_after  # stop once this many connections were thrown
        self.stats = FloodStats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> IdleFlood:
        self._thread.start()
        return self

    def stop(self) -> FloodStats:
        self._stop.set()
        self._thread.join(30)
        return self.stats

    def wait_thrown(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.stats.thrown < count and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.05)
        return self.stats.thrown >= count

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        slots = [(target, self.sources[(t * self.per_target + i) % len(self.sources)])
                 for t, target in enumerate(self.targets) for i in range(self.per_target)]
        waiting: list[tuple[float, int]] = [(0.0, n) for n in range(len(slots))]  # (when, slot) to (re)connect
        try:
            while not self._stop.is_set():
                if self.stop_after is not None and self.stats.thrown >= self.stop_after:
                    break
                now = time.monotonic()
                due = [n for when, n in waiting if when <= now]
                waiting = [(when, n) for when, n in waiting if when > now]
                for n in due:
                    waiting.extend(self._open(selector, n, *slots[n]))
                for key, _ in selector.select(timeout=0.01):
                    sock, n = key.fileobj, key.data
                    assert isinstance(sock, socket.socket)
                    try:
                        if sock.recv(1):
                            continue  # the node said something (a TLS alert); keep silent and wait
                    except BlockingIOError:
                        continue
                    except OSError:
                        pass
                    selector.unregister(sock)
                    sock.close()
                    self.stats.closed_by_node += 1
                    self.stats.open_now -= 1
                    waiting.append((time.monotonic() + self.reconnect_delay, n))
        finally:
            for key in list(selector.get_map().values()):
                if isinstance(key.fileobj, socket.socket):  # all of them: only sockets are registered
                    key.fileobj.close()
            self.stats.open_now = 0
            selector.close()

    def _open(self, selector: selectors.BaseSelector, n: int, target: tuple[str, int],
              source: str) -> list[tuple[float, int]]:
        """Start one connection; what to retry later if it could not even start."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.bind((source, 0))
            if self.say:
                sock.settimeout(1.0)  # loopback: the connect is done at once, unless the backlog is full
                sock.connect(target)
                sock.sendall(self.say)
                sock.setblocking(False)
            elif sock.connect_ex(target) not in (0, errno.EINPROGRESS):
                raise OSError("connect failed")
        except OSError:
            sock.close()
            self.stats.connect_errors += 1
            return [(time.monotonic() + 0.1, n)]  # the node is down (restarting) or ports ran out
        selector.register(sock, selectors.EVENT_READ, n)
        self.stats.thrown += 1
        self.stats.open_now += 1
        self.stats.most_open = max(self.stats.most_open, self.stats.open_now)
        return []


# --- the figures: real node processes ---------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def rpc(port: int, method: str, params: list[Any] | None = None) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": [1] + (params or [])}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["result"]


def connected_peers(rpc_port: int) -> int:
    try:
        return sum(1 for peer in rpc(rpc_port, "getPeers") if peer["connected"])
    except OSError:
        return -1  # not answering yet


def wait_for(predicate: Callable[[], bool], timeout: float) -> float | None:
    """Seconds until predicate held, or None after timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.1)
    return None


def main(argv: list[str] | None = None) -> None:
    from chain.node.builder import BuildOptions, build_chain
    from chain.node.ports import free_port_bases

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-node", type=int, default=100, help="idle connections held against each node")
    parser.add_argument("--connections", type=int, default=10_000, help="idle connections for the RSS figure")
    parser.add_argument("--reconnect-delay", type=float, default=0.0, help="seconds before reopening a closed one")
    parser.add_argument("--peer-timeout", type=float, default=60.0)
    parser.add_argument("--restarts", type=int, default=3, help="times node3 is killed and restarted under attack")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        p2p, rpc_base = free_port_bases(4)
        chain = build_chain(Path(tmp) / "nodes", BuildOptions(
            nodes=4, suite="standard", executor="kv", port_base=p2p, rpc_port_base=rpc_base))
        processes: dict[int, subprocess.Popen[bytes]] = {}

        def start(i: int) -> None:
            directory = chain.nodes[i].directory
            with open(directory / "stdout.log", "ab") as out:
                processes[i] = subprocess.Popen(
                    [sys.executable, "-m", "chain.cli.main", "node", "start", str(directory)],
                    stdout=out, stderr=subprocess.STDOUT, cwd=directory, env={**os.environ, "PYTHONUNBUFFERED": "1"})

        def log_bytes(i: int) -> int:
            directory = chain.nodes[i].directory
            return sum((directory / name).stat().st_size for name in ("node.log", "stdout.log")
                       if (directory / name).exists())

        try:
            for i in range(4):
                start(i)
            for i in range(4):
                if wait_for(lambda: connected_peers(chain.nodes[i].rpc_port) == 3, 60) is None:
                    raise SystemExit(f"node{i} did not link to its 3 peers without an attack")
            print(f"code under test: {Path(__file__).parents[1]}")  # the chain package this module is part of
            time.sleep(2)
            rss_start, log_start = rss_kib(processes[0].pid), log_bytes(0)
            print(f"node0 linked and idle: RSS {rss_start / 1024:.0f} MiB")

            # 1. A restarted node under attack: how long until it is linked to its 3 peers again?
            targets = [("127.0.0.1", node.p2p_port) for node in chain.nodes]
            flood = IdleFlood(targets, args.per_node, reconnect_delay=args.reconnect_delay).start()
            print(f"restart under attack ({args.per_node} idle connections held per node, 50 source addresses, "
                  f"reopened {args.reconnect_delay} s after the node closes one):")
            for attempt in range(1, args.restarts + 1):
                time.sleep(3)  # the flood takes every slot it can; node3's peers back off
                processes[3].send_signal(signal.SIGKILL)
                processes[3].wait()
                spawned = time.monotonic()
                start(3)
                rpc_up = wait_for(lambda: connected_peers(chain.nodes[3].rpc_port) >= 0, 90)
                linked = wait_for(lambda: connected_peers(chain.nodes[3].rpc_port) == 3, args.peer_timeout)
                total = time.monotonic() - spawned
                print(f"  restart {attempt}: node3 RPC answering after "
                      + (f"{rpc_up:.1f} s" if rpc_up is not None else "never") + ", linked to its 3 peers "
                      + (f"{linked:.1f} s after that ({total:.1f} s after spawn)" if linked is not None
                         else f"NOT within {args.peer_timeout:.0f} s after that"))
            stats = flood.stop()
            print(f"  connections thrown: {stats.thrown}; most open at once: {stats.most_open}")
            print(f"  node0 meanwhile: RSS {rss_start / 1024:.0f} -> {rss_kib(processes[0].pid) / 1024:.0f} MiB, "
                  f"{log_bytes(0) - log_start} log bytes")

            # 2. RSS and log bytes of node0 before and after ~10,000 idle connections.
            pid = processes[0].pid
            time.sleep(2)
            rss_before, log_before = rss_kib(pid), log_bytes(0)
            flood = IdleFlood([targets[0]], args.per_node, reconnect_delay=0.0, stop_after=args.connections).start()
            began = time.monotonic()
            flood.wait_thrown(args.connections, 600)
            stats = flood.stop()
            seconds = time.monotonic() - began
            rss_after = rss_kib(pid)
            time.sleep(11)  # counted refusals are logged when their 10 s interval ends
            log_after = log_bytes(0)
            still = connected_peers(chain.nodes[0].rpc_port)
            print(f"node0 flooded with {stats.thrown} idle connections in {seconds:.1f} s "
                  f"({stats.thrown / seconds:.0f}/s, most open at once: {stats.most_open}):")
            print(f"  RSS {rss_before / 1024:.0f} MiB -> {rss_after / 1024:.0f} MiB")
            print(f"  log bytes written (node.log + stdout.log): {log_after - log_before} "
                  f"({(log_after - log_before) / max(stats.thrown, 1):.1f} per connection)")
            print(f"  node0 peers linked afterwards: {still}")
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes.values():
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()


if __name__ == "__main__":
    main()
