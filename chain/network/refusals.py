"""Refused connections, logged as counts: a flood of them must not become a flood of log lines.

Anyone who reaches the P2P port can make the node refuse a connection, as often as they like.
One line per refusal (about 200 bytes, to the log file and to stderr) would let them fill the
disk and spend our CPU on formatting. So, per source address and kind of refusal (the event:
``connection_refused``, ``connection_evicted``, ``tls_rejected``, ``peer_rejected``):

* the first refusal after a quiet interval is logged in full, at once (event, endpoint, reason),
  so a single bad connection is as visible as before;
* later ones are only counted, and at the end of each ``interval`` one ``connections_refused``
  line says how many there were and why, e.g. ``{"event": "connections_refused",
  "source": "127.0.0.5", "kind": "connection_refused", "count": 1234, "seconds": 10.0,
  "reasons": {"…": 1200, "…": 34}}``;
* at most ``max_sources`` (address, kind) pairs are tracked per interval; the rest are counted
  together under ``source: "other"`` — so the log grows by a bounded number of lines per
  interval, however many addresses an attacker has.

Sans-IO: the caller passes the time and an ``emit(level, event, fields)`` function, and calls
``flush`` periodically (the host does so every fifth of the interval).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

OTHER_SOURCES = "other"
MAX_REASONS = 8  # distinct reasons kept per source and interval; the rest count as "other"

Emit = Callable[[int, str, dict[str, object]], None]


@dataclass
class _Window:
    started: float
    count: int = 0  # refusals counted but not yet logged
    reasons: Counter[str] = field(default_factory=Counter)


class RefusalLog:
    def __init__(self, emit: Emit, interval: float = 10.0, max_sources: int = 16) -> None:
        self.emit = emit
        self.interval = interval
        self.max_sources = max_sources
        self._windows: dict[tuple[str, str], _Window] = {}  # (source, event) -> its interval
        self.total = 0  # every refusal noted, logged or counted

    def note(self, source: str, now: float, event: str, reason: str, **fields: object) -> None:
        """One refused connection from `source` (an IP address), logged as `event` when news."""
        self.total += 1
        key = (source, event)
        if key not in self._windows and len(self._windows) >= self.max_sources:
            key = (OTHER_SOURCES, event)
        window = self._windows.get(key)
        if window is None:
            # Quiet until now: say it in full, at once.
            self._windows[key] = _Window(now)
            self.emit(logging.WARNING, event, {**fields, "reason": reason})
            return
        window.count += 1
        bucket = reason if reason in window.reasons or len(window.reasons) < MAX_REASONS else "other"
        window.reasons[bucket] += 1

    def flush(self, now: float, *, force: bool = False) -> None:
        """Log the counts of every interval that has ended (all of them when `force`)."""
        for key, window in list(self._windows.items()):
            if not force and now - window.started < self.interval:
                continue
            if window.count:
                self.emit(logging.WARNING, "connections_refused", {
                    "source": key[0], "kind": key[1], "count": window.count, "seconds": round(now - window.started, 1),
                    "reasons": dict(window.reasons.most_common()),
                })
                # Still under fire: keep counting, so the next refusal is not logged in full.
                self._windows[key] = _Window(now)
            else:
                del self._windows[key]
        if force:
            self._windows.clear()
