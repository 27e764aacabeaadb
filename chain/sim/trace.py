"""Traces: every send, delivery, drop, timer, commit and view change as one JSON object per line.

A record is a flat dict; lines are written with sorted keys and no spaces, so the same run gives
the same bytes. Records never hold signatures, nor anything hashed over them in the sm suite
(SM2 signatures are randomized): block hashes are included only where they are deterministic.

Common keys: ``t`` (virtual ms), ``ev`` (what happened), ``node`` (index of the node concerned).
See docs/consensus.md for every ``ev`` and its keys.
"""

from __future__ import annotations

import json
from typing import IO, Any, Callable

TraceRecord = dict[str, Any]
Subscriber = Callable[[TraceRecord], None]


def to_line(record: TraceRecord) -> str:
    """The canonical JSON line of a record (sorted keys, compact)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


class Trace:
    """Fan-out of trace records to subscribers; records are only built when someone listens."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    @property
    def active(self) -> bool:
        return bool(self._subscribers)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns a function that removes it."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def emit(self, record: TraceRecord) -> None:
        for callback in list(self._subscribers):
            callback(record)


class JsonlWriter:
    """A subscriber that writes each record as one line to a text stream."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def __call__(self, record: TraceRecord) -> None:
        self.stream.write(to_line(record) + "\n")


class Recorder:
    """A subscriber that keeps the lines in memory (tests, the dashboard's recent history)."""

    def __init__(self, limit: int | None = None) -> None:
        self.lines: list[str] = []
        self.limit = limit

    def __call__(self, record: TraceRecord) -> None:
        self.lines.append(to_line(record))
        if self.limit is not None and len(self.lines) > self.limit:
            del self.lines[: len(self.lines) - self.limit]

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)
