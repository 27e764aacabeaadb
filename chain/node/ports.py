"""Finding free local ports for a chain built on the spot (tests, `chain bench tps --build`, `chain demo --real`).

A built chain gives node i the P2P port ``port_base + i`` and the RPC port ``rpc_port_base + i``
(``chain.node.builder``), so what is needed is two runs of consecutive free ports that do not
overlap. "Free" means free right now: another process may still take a port before the node binds
it, which is why callers build their chains just before starting the nodes.
"""

from __future__ import annotations

import random
import socket

from chain.errors import ConfigError

ATTEMPTS = 200
LOWEST, HIGHEST = 20000, 60000  # clear of the well-known ports; the whole run stays below HIGHEST
EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"  # where the kernel picks clients' source ports


def _ranges() -> list[tuple[int, int]]:
    """Where to look: [LOWEST, HIGHEST) minus the kernel's ephemeral range.

    A port found free in the ephemeral range can be taken a moment later as the source port of any
    outgoing connection on the machine (another test's client, a node dialling its peers), and the
    node that was to listen on it exits: a test saw exactly that with 4 chains starting at once.
    """
    try:
        low, high = (int(v) for v in open(EPHEMERAL_RANGE).read().split())
    except (OSError, ValueError):
        return [(LOWEST, HIGHEST)]
    ranges = [(LOWEST, min(HIGHEST, low)), (max(LOWEST, high + 1), HIGHEST)]
    return [(a, b) for a, b in ranges if b - a > 100] or [(LOWEST, HIGHEST)]


def free_port_base(count: int, avoid: frozenset[int] | set[int] = frozenset()) -> int:
    """A base port such that base … base+count-1 are all free on 127.0.0.1 right now, none in `avoid`."""
    rng = random.Random()
    ranges = _ranges()
    for _ in range(ATTEMPTS):
        low, high = rng.choice(ranges)
        base = rng.randrange(low, high - count)
        if avoid & set(range(base, base + count)):
            continue
        sockets: list[socket.socket] = []
        try:
            # All held at once: each port is checked while the others of the run are taken too.
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise ConfigError(f"no run of {count} free ports found on 127.0.0.1")


def free_port_bases(count: int) -> tuple[int, int]:
    """(P2P port base, RPC port base) for `count` nodes: two runs of free ports that do not overlap."""
    p2p = free_port_base(count)
    return p2p, free_port_base(count, avoid=set(range(p2p, p2p + count)))
