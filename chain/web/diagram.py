"""The sequence diagram of one height, built from the kept trace as it stood after a given event.

A student must see a height *while* it is decided — a stall, a view change — and see any earlier
moment the same way (time travel). So the diagram is not kept per committed block: the trace
indexes of every event that names a height are kept (`HeightIndex`), and a diagram is the events
of one height up to trace index `at`. Each message is one arrow: a `send` matched with the
`deliver` (or `drop`) that ends it; one not yet ended at `at` is *in flight*. A delivery that the
receiver refused carries the refusal reason (the `reject` event its handling emitted).
"""

from __future__ import annotations

import bisect
from typing import Any

CONSENSUS_TYPES = {"PRE_PREPARE": "PrePrepare", "PREPARE": "Prepare", "COMMIT": "Commit", "CHECKPOINT": "Checkpoint",
                   "VIEW_CHANGE": "ViewChange", "NEW_VIEW": "NewView"}
MARK_EVENTS = ("view_change", "new_view", "commit")
# A client submission names no height: it is filed under the height being decided when it came
# (the block it will most likely be in), so textbook mode can draw the client's request.
CLIENT_EVENTS = ("submit",)
MAX_ARROWS = 1500  # a minutes-long stall re-sends ViewChanges every second: the newest are drawn


class HeightIndex:
    """Trace indexes per height, the reject reason of each refused delivery, and the commits in order."""

    def __init__(self) -> None:
        self.by_number: dict[int, list[int]] = {}
        self.refused: dict[int, str] = {}  # trace index of a deliver -> the receiver's reason
        self.commit_at: list[int] = []  # trace index of each commit event that raised the top
        self.commit_top: list[int] = []  # the top committed number from that index on
        self._last_deliver: tuple[int, int] | None = None  # (index, receiver) of the delivery being handled

    def add(self, index: int, event: dict[str, Any]) -> None:
        ev = event.get("ev")
        number = event.get("number")
        if ev == "deliver":
            self._last_deliver = (index, event["to"])
        elif ev == "reject" and self._last_deliver is not None and self._last_deliver[1] == event.get("node"):
            # the receiver's handling of the delivery just made emitted this refusal
            self.refused.setdefault(self._last_deliver[0], str(event.get("reason")))
        elif ev in ("timer", "crash", "restart"):
            self._last_deliver = None
        if ev in CLIENT_EVENTS:
            self.by_number.setdefault((self.commit_top[-1] if self.commit_top else 0) + 1, []).append(index)
        if not isinstance(number, int):
            return
        if (ev in ("send", "deliver", "drop") and event.get("type") in CONSENSUS_TYPES) or ev in MARK_EVENTS:
            self.by_number.setdefault(number, []).append(index)
        if ev == "commit" and (not self.commit_top or number > self.commit_top[-1]):
            self.commit_at.append(index)
            self.commit_top.append(number)

    def top_at(self, at: int) -> int:
        """The highest block number any node had committed after `at` trace events (0: genesis only)."""
        k = bisect.bisect_left(self.commit_at, at) - 1
        return self.commit_top[k] if k >= 0 else 0

    def heights(self) -> list[int]:
        return sorted(self.by_number)


def build(trace: list[dict[str, Any]], index: HeightIndex, number: int, at: int) -> dict[str, Any]:
    """The arrows and marks of height `number` as they stood after `at` trace events."""
    positions = index.by_number.get(number, [])
    positions = positions[:bisect.bisect_left(positions, at)]
    open_sends: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    arrows: list[dict[str, Any]] = []
    marks: list[dict[str, Any]] = []
    for i in positions:
        e = trace[i]
        ev = e["ev"]
        if ev in MARK_EVENTS or ev in CLIENT_EVENTS:
            marks.append({"id": i, "ev": ev, "t": e["t"], "node": e.get("node"),
                          "view": e.get("to_view", e.get("view")), "via": e.get("via"), "count": e.get("count")})
            continue
        kind = CONSENSUS_TYPES[e["type"]]
        if ev == "send":
            arrow = {"id": i, "t": e["t"], "arrive": e["arrive"], "from": e["from"], "to": e["to"], "kind": kind,
                     "view": e["view"], "digest": e.get("digest"), "state": "in-flight"}
            arrows.append(arrow)
            open_sends.setdefault((e["from"], e["to"], e["type"], e["view"], e["arrive"]), []).append(arrow)
            continue
        waiting = open_sends.get((e["from"], e["to"], e["type"], e["view"], e["t"]))
        if ev == "deliver" and waiting:
            arrow = waiting.pop(0)
            arrow["end"] = i
            if i in index.refused:
                arrow["state"], arrow["reason"] = "refused", index.refused[i]
            else:
                arrow["state"] = "delivered"
        elif ev == "drop" and waiting:  # lost on arrival: the receiver crashed or was cut off meanwhile
            arrow = waiting.pop(0)
            arrow.update(end=i, state="dropped", reason=e.get("reason"))
        elif ev == "drop":  # lost on the way: never sent on the wire
            arrows.append({"id": i, "end": i, "t": e["t"], "arrive": e["t"], "from": e["from"], "to": e["to"],
                           "kind": kind, "view": e["view"], "digest": e.get("digest"), "state": "dropped",
                           "reason": e.get("reason")})
    return {"number": number, "at": at, "arrows": arrows[-MAX_ARROWS:], "marks": marks,
            "truncated": max(0, len(arrows) - MAX_ARROWS)}
