"""Who may wait in the P2P handshake: a per-address cap, room kept for the chain's own peers, and
stale connections closed first — so idle sockets cannot keep the chain's nodes from linking up.

Until TLS and the hello are done, an inbound connection is nothing but a source address: no
credential has been shown, yet it holds a socket, a task and (once it speaks) a TLS state. Anyone
who reaches the port can open such connections, so they are bounded:

* **Per source.** One address holds at most ``max_pending_per_source`` pending connections (a
  peer's dial loop has one in flight at a time); an address in our peer list holds up to twice
  the number of peers listed there (several nodes may share one machine).
* **Room for the peers.** Addresses outside the peer list together hold at most
  ``max_pending - reserved_for_peers``: the rest is kept for the addresses we dial ourselves,
  which are the chain's nodes (``[network] peers``).
* **In all.** At most ``max_pending``.
* **Stale first.** When a rule is at its limit, a new connection does not bounce off: it takes
  the place of the oldest *stale* connection in that group — one that has sent nothing for
  ``silent_grace`` (an honest client speaks first in TLS, right after connecting), else one
  pending longer than ``stale_after`` (an honest handshake on a LAN takes milliseconds). Only
  when every slot in the group holds a young or talking handshake is the newcomer refused.

This is the shape of OpenSSH's ``MaxStartups``/``PerSourceMaxStartups`` (a cap on unauthenticated
connections, in all and per source), of nginx's ``limit_conn $binary_remote_addr`` and of
go-ethereum's ``maxPendingPeers`` with its per-IP inbound throttle. FISCO BCOS's gateway has no
such cap: it accepts every connection and relies on certificate black/white lists (which need a
finished handshake) and the operator's firewall.

What it cannot do: before the certificate, an address is all there is. An attacker sending from
a peer's own address (the same machine, or loopback in tests) that speaks a little TLS on each
connection and replaces it within ``stale_after`` can still crowd that address's slots. It can
not crowd the other addresses, and our own dial to that peer needs none of our inbound slots.

The policy is sans-IO: the host asks ``admit`` on each accepted socket and closes whatever it says.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

REFUSED_PER_SOURCE = "too many pending connections from this address"
REFUSED_UNKNOWN_FULL = "the handshake slots for addresses outside the peer list are full"
REFUSED_ALL_FULL = "every handshake slot is busy"
EVICTED = "closed while pending to make room for a newer connection"


@dataclass(frozen=True)
class AdmissionLimits:
    max_pending: int = 64
    max_pending_per_source: int = 4
    reserved_for_peers: int = 16
    silent_grace: float = 0.2  # seconds a silent connection is left to speak before it may be replaced
    stale_after: float = 1.0  # seconds pending after which even a talking handshake may be replaced


@dataclass(eq=False)
class Pending:
    """One inbound connection that has not finished its handshake."""

    source: str
    known: bool  # the source is an address in our peer list
    opened: float  # monotonic seconds
    endpoint: str = ""  # ip:port, for the log
    talking: bool = False  # the client has sent its first bytes
    close: Callable[[], object] | None = field(default=None, repr=False)  # set by the host (its task's cancel)


@dataclass(frozen=True)
class Admission:
    """What to do with a new connection: keep it (``pending``), perhaps closing ``evict`` to make
    room; or refuse it (``pending`` None) for ``reason``."""

    pending: Pending | None
    evict: Pending | None = None
    reason: str = ""


class AdmissionPolicy:
    def __init__(self, limits: AdmissionLimits, peer_addresses: Iterable[str]) -> None:
        self.limits = limits
        self._peers_at: Counter[str] = Counter(peer_addresses)
        # With no peer list there is no one to keep room for.
        self.reserved = min(limits.reserved_for_peers, limits.max_pending) if self._peers_at else 0
        self._pending: list[Pending] = []  # oldest first
        self._by_source: Counter[str] = Counter()
        self._unknown = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    def pending_from(self, source: str) -> int:
        return self._by_source[source]

    def cap(self, source: str) -> int:
        """How many pending connections one address may hold."""
        return max(self.limits.max_pending_per_source, 2 * self._peers_at[source])

    def admit(self, source: str, now: float, endpoint: str = "") -> Admission:
        """May a new connection from `source` wait in the handshake, and whom must it replace?"""
        known = source in self._peers_at
        # One address cannot take every slot; its own stale connections make room first.
        if self._by_source[source] >= self.cap(source):
            return self._take(source, known, now, endpoint, self._stalest(now, lambda p: p.source == source),
                              REFUSED_PER_SOURCE)
        # Strangers leave the reserved slots to the addresses of the chain's nodes.
        if not known and self._unknown >= self.limits.max_pending - self.reserved:
            return self._take(source, known, now, endpoint, self._stalest(now, lambda p: not p.known),
                              REFUSED_UNKNOWN_FULL)
        # Memory and sockets are bounded whoever connects; a stranger's stale slot goes first.
        if len(self._pending) >= self.limits.max_pending:
            victim = self._stalest(now, lambda p: not p.known) or self._stalest(now, lambda p: True)
            return self._take(source, known, now, endpoint, victim, REFUSED_ALL_FULL)
        return Admission(self._add(source, known, now, endpoint))

    def mark_talking(self, pending: Pending) -> None:
        """The client sent its first bytes: it is no longer the first to be replaced."""
        pending.talking = True

    def release(self, pending: Pending) -> None:
        """The connection finished its handshake or closed; idempotent."""
        if pending in self._pending:
            self._pending.remove(pending)
            self._by_source[pending.source] -= 1
            if not self._by_source[pending.source]:
                del self._by_source[pending.source]
            if not pending.known:
                self._unknown -= 1

    # --- internals -------------------------------------------------------------------------

    def _take(
        self, source: str, known: bool, now: float, endpoint: str, victim: Pending | None, reason: str
    ) -> Admission:
        """A rule is at its limit: replace `victim`, or refuse for `reason` when there is none."""
        if victim is None:
            return Admission(None, reason=reason)
        self.release(victim)
        return Admission(self._add(source, known, now, endpoint), evict=victim, reason=reason)

    def _stalest(self, now: float, group: Callable[[Pending], bool]) -> Pending | None:
        """The connection of `group` to replace: the oldest that stayed silent past `silent_grace`,
        else the oldest pending past `stale_after`; None when all are young or talking."""
        candidates = [p for p in self._pending if group(p)]
        silent = [p for p in candidates if not p.talking and now - p.opened >= self.limits.silent_grace]
        if silent:
            return silent[0]
        old = [p for p in candidates if now - p.opened >= self.limits.stale_after]
        return old[0] if old else None

    def _add(self, source: str, known: bool, now: float, endpoint: str) -> Pending:
        pending = Pending(source, known, now, endpoint)
        self._pending.append(pending)
        self._by_source[source] += 1
        if not known:
            self._unknown += 1
        return pending
