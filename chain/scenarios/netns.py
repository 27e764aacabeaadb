"""A private network for real node processes: one Linux network namespace per node, two bridges.

Partitions between real processes need real separation — filtering inside the node would test the
filter, not the node. So each node runs in a namespace of its own with two interfaces, each one end
of a veth pair whose other end sits on a bridge in the host namespace:

    data  (eth0, 10.A.B.i+2)  the chain's P2P traffic; partitions cut these links
    ctl   (ctl0, 10.A.B+1.i+2) JSON-RPC only, so the run can observe every node while it is cut off

The host holds 10.A.B.1 on the data bridge and 10.A.B+1.1 on the control bridge, so it reaches the
nodes' RPC; the namespaces have no default route and the host does not forward between bridges, so
no traffic leaves the run's namespaces. A partition moves the host ends of the data veths of every
group but the first onto a bridge of that group's own (the interfaces are taken down, re-attached,
brought up); heal moves them back. Nothing else is touched.

Every name starts with a tag ``cx<pid as 6 hex digits><serial>`` (namespaces ``<tag>n<i>``, links
``<tag>d<i>``, ``<tag>c<i>``, bridges ``<tag>b``, ``<tag>m``, ``<tag>g<k>``), so parallel runs never
collide, and what a killed run left behind is recognised — its pid is gone — and removed by the next
run. Needs root and iproute2's ``ip``; ``unavailable()`` says in one sentence why not.
"""

from __future__ import annotations

import atexit
import fcntl
import functools
import ipaddress
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from chain.errors import ChainError
from chain.node.pro_process import alive

TAG_RE = re.compile(r"^cx([0-9a-f]{6})([0-9a-f])")
DATA_IF = "eth0"  # the data interface's name inside a namespace
CTL_IF = "ctl0"
_serials = itertools.count()
_live: set["Network"] = set()  # networks of this process, removed at exit if still up
_lock = threading.Lock()


class NetnsError(ChainError):
    """The private network could not be set up or changed."""


def unavailable() -> str | None:
    """Why namespaces cannot be used here (None: they can): not Linux, not root, no `ip`."""
    if not sys.platform.startswith("linux"):
        return f"network namespaces need Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "network namespaces need root (run as root, or use the simulator without --real)"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    if not Path("/proc/self/ns/net").exists():
        return "this kernel has no network namespaces"
    return _probe()


@functools.lru_cache(maxsize=1)
def _probe() -> str | None:
    """Root in a container may still lack the capabilities: try a namespace and a veth once."""
    name = f"cx{os.getpid():06x}fprobe"  # a tag like any run's, so a leftover is removed like theirs
    try:
        ip("netns", "add", name)
        ip("link", "add", f"{name[:9]}p", "type", "veth", "peer", "name", "p0", "netns", name)
    except (NetnsError, OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot create a network namespace and a veth here ({exc})"
    finally:
        ip("link", "del", f"{name[:9]}p", check=False)
        ip("netns", "del", name, check=False)
    return None


def ip(*args: str, check: bool = True) -> str:
    """Run one `ip` command; NetnsError with its message if it fails and check is set."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if check and done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {done.stderr.strip() or f'exit {done.returncode}'}")
    return done.stdout



def _tags_in_use() -> tuple[set[str], set[str]]:
    """(namespace names, link names) on this machine that carry a run tag."""
    namespaces = {line.split()[0] for line in ip("netns", "list", check=False).splitlines() if line.strip()}
    links = set()
    for line in ip("-o", "link", "show", check=False).splitlines():
        parts = line.split(":", 2)
        if len(parts) > 1:
            links.add(parts[1].strip().split("@")[0])
    return {n for n in namespaces if TAG_RE.match(n)}, {l for l in links if TAG_RE.match(l)}


def remove_leftovers() -> list[str]:
    """Delete namespaces and links left by runs whose process is gone; the names removed."""
    namespaces, links = _tags_in_use()
    removed = []
    for name in sorted(namespaces | links):
        match = TAG_RE.match(name)
        assert match is not None
        # A run still alive owns its names; only a dead run's leftovers are ours to remove.
        if alive(int(match.group(1), 16)):
            continue
        if name in namespaces:
            _kill_namespace_processes(name)
            ip("netns", "del", name, check=False)
        else:
            ip("link", "del", name, check=False)
        removed.append(name)
    return removed


def _kill_namespace_processes(namespace: str) -> None:
    # A namespace with processes in it stays alive after `ip netns del`, with their sockets in it.
    for pid in ip("netns", "pids", namespace, check=False).split():
        try:
            os.kill(int(pid), 9)
        except (ProcessLookupError, ValueError):
            pass


def _used_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    used = []
    for line in ip("-4", "-o", "addr", "show", check=False).splitlines():
        match = re.search(r"inet (\S+)", line)
        if match:
            used.append(ipaddress.ip_interface(match.group(1)).network)
    for line in ip("-4", "route", "show", "table", "all", check=False).splitlines():
        first = line.split()[0] if line.split() else ""
        if first and first[0].isdigit():
            try:
                used.append(ipaddress.ip_network(first, strict=False))
            except ValueError:
                pass
    return used


def _free_pair(seed: int) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Network]:
    """Two adjacent private /24s that no address or route of this machine overlaps."""
    used = _used_networks()
    for step in range(4096):
        k = (seed + step * 7919) % 4096
        a, b = 64 + k // 128, (k % 128) * 2
        pair = (ipaddress.IPv4Network(f"10.{a}.{b}.0/24"), ipaddress.IPv4Network(f"10.{a}.{b + 1}.0/24"))
        if not any(p.overlaps(u) for p in pair for u in used if u.prefixlen > 0):
            return pair
    raise NetnsError("no free private /24 pair in 10.64.0.0/10 for the run's bridges")


@dataclass(eq=False)
class Network:
    """The namespaces, veths and bridges of one run; `up()` builds them, `down()` removes them."""

    nodes: int
    tag: str = ""
    data_net: ipaddress.IPv4Network | None = None
    ctl_net: ipaddress.IPv4Network | None = None
    groups: tuple[tuple[int, ...], ...] = ()  # the partition in force (empty: one network)
    _up: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        # Interface names are at most 15 bytes: tag (9) + kind (1) + index (up to 3 digits).
        if not 1 <= self.nodes <= 200:
            raise NetnsError("a private network holds 1..200 nodes")
        if not self.tag:
            self.tag = f"cx{os.getpid():06x}{next(_serials) % 16:x}"

    # --- names and addresses ------------------------------------------------------------------

    def namespace(self, i: int) -> str:
        return f"{self.tag}n{i}"

    def data_ip(self, i: int) -> str:
        assert self.data_net is not None
        return str(self.data_net.network_address + 2 + i)

    def ctl_ip(self, i: int) -> str:
        assert self.ctl_net is not None
        return str(self.ctl_net.network_address + 2 + i)

    def exec_prefix(self, i: int) -> list[str]:
        """The command prefix that runs a program inside node i's namespace."""
        return ["ip", "netns", "exec", self.namespace(i)]

    # --- building and removing ----------------------------------------------------------------

    def up(self) -> None:
        """Create everything (after removing a dead run's leftovers); half-built state is removed."""
        reason = unavailable()
        if reason:
            raise NetnsError(reason)
        remove_leftovers()
        lock_path = Path(tempfile.gettempdir()) / "chain-netns.lock"
        with _lock, open(lock_path, "a") as lock:
            # Two runs choosing subnets at once could choose the same one; the file lock orders them.
            fcntl.flock(lock, fcntl.LOCK_EX)
            _live.add(self)
            self._up = True
            try:
                self.data_net, self.ctl_net = _free_pair(os.getpid() * 31 + int(self.tag[-1], 16))
                self._bridge(f"{self.tag}b", self.data_net)
                self._bridge(f"{self.tag}m", self.ctl_net)
            except BaseException:
                self.down()
                raise
        try:
            for i in range(self.nodes):
                self._node(i)
        except BaseException:
            self.down()
            raise

    def _bridge(self, name: str, net: ipaddress.IPv4Network | None) -> None:
        ip("link", "add", name, "type", "bridge")
        # Frames between the run's own veths must not meet the host's firewall (a FORWARD policy of
        # DROP, as Docker sets, would silently cut every link); older kernels lack the knob.
        ip("link", "set", name, "type", "bridge", "nf_call_iptables", "0", "nf_call_ip6tables", "0",
           "nf_call_arptables", "0", check=False)
        if net is not None:
            ip("addr", "add", f"{net.network_address + 1}/{net.prefixlen}", "dev", name)
        ip("link", "set", name, "up")

    def _node(self, i: int) -> None:
        ns = self.namespace(i)
        assert self.data_net is not None and self.ctl_net is not None
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
        for host_end, inner, bridge, address, net in (
            (f"{self.tag}d{i}", DATA_IF, f"{self.tag}b", self.data_ip(i), self.data_net),
            (f"{self.tag}c{i}", CTL_IF, f"{self.tag}m", self.ctl_ip(i), self.ctl_net),
        ):
            ip("link", "add", host_end, "type", "veth", "peer", "name", inner, "netns", ns)
            ip("link", "set", host_end, "master", bridge)
            ip("link", "set", host_end, "up")
            ip("-n", ns, "addr", "add", f"{address}/{net.prefixlen}", "dev", inner)
            ip("-n", ns, "link", "set", inner, "up")

    def down(self) -> None:
        """Remove every namespace, veth and bridge of this run (idempotent; used on every exit path)."""
        if not self._up:
            return
        namespaces, links = _tags_in_use()
        for name in sorted(namespaces):
            if name.startswith(self.tag + "n"):
                _kill_namespace_processes(name)
                ip("netns", "del", name, check=False)
        for name in sorted(links):
            if name.startswith(self.tag):
                ip("link", "del", name, check=False)
        self._up = False
        _live.discard(self)

    # --- faults ---------------------------------------------------------------------------------

    def partition(self, groups: tuple[tuple[int, ...], ...] | list[list[int]]) -> None:
        """Cut every data link between groups; nodes in no group stay with the first group."""
        self.heal()
        named = {i for g in groups for i in g}
        first = tuple(sorted(set(range(self.nodes)) - named | set(groups[0])))
        for k, group in enumerate(groups[1:], start=1):
            bridge = f"{self.tag}g{k}"
            self._bridge(bridge, None)
            for i in group:
                self._move(i, bridge)
        self.groups = (first, *(tuple(g) for g in groups[1:]))

    def heal(self) -> None:
        """Put every data link back on the shared bridge and remove the group bridges."""
        if not self.groups:
            return
        for group in self.groups[1:]:
            for i in group:
                self._move(i, f"{self.tag}b")
        for k in range(1, len(self.groups)):
            ip("link", "del", f"{self.tag}g{k}", check=False)
        self.groups = ()

    def _move(self, i: int, bridge: str) -> None:
        host_end = f"{self.tag}d{i}"
        # down first: the link really drops (no frame slips across while it changes bridge)
        ip("link", "set", host_end, "down")
        ip("link", "set", host_end, "master", bridge)
        ip("link", "set", host_end, "up")

    def reachable(self, port: int, timeout: float = 0.5) -> dict[int, set[int]]:
        """For each node, the nodes whose data address answers a TCP connect from its namespace.

        A refused connection counts as reachable (the packet got there; the node may be down); only
        silence is a cut. One short probe process per namespace, probing all peers at once.
        """
        probe = (
            "import socket,sys,concurrent.futures as f\n"
            "def go(a):\n"
            " s=socket.socket();s.settimeout(float(sys.argv[1]))\n"
            " try:\n  s.connect((a,int(sys.argv[2])));return True\n"
            " except ConnectionRefusedError:\n  return True\n"
            " except OSError:\n  return False\n"
            " finally:\n  s.close()\n"
            "with f.ThreadPoolExecutor(len(sys.argv[3:])) as e:\n"
            " print(' '.join('1' if ok else '0' for ok in e.map(go,sys.argv[3:])))\n"
        )
        others = {i: [j for j in range(self.nodes) if j != i] for i in range(self.nodes)}
        running = {
            i: subprocess.Popen(self.exec_prefix(i) + [sys.executable, "-c", probe, str(timeout), str(port),
                                                       *(self.data_ip(j) for j in others[i])],
                                stdout=subprocess.PIPE, text=True)
            for i in range(self.nodes)
        }
        answer = {}
        for i, process in running.items():
            out, _ = process.communicate(timeout=timeout + 20)
            answer[i] = {j for j, bit in zip(others[i], out.split()) if bit == "1"}
        return answer


@atexit.register
def _remove_all() -> None:
    for network in list(_live):
        network.down()
