"""A running chain the dashboard shows: the simulator paced to wall time, its trace, its controls.

The simulator runs in virtual time and would finish a minute of consensus in a fraction of a
second. For a class to *watch* it, an asyncio task advances it by ``wall time × speed`` on every
tick, submits the client load, and publishes what happened to the hub. Pause, step and speed
only change how virtual time is fed; the protocol never notices, so a paused-and-stepped run is
the same run as a played one (same seed, same trace).

The whole trace is kept, together with a snapshot of every node's status each time it changed,
so the page can travel back to any earlier event index ("time travel") while the chain goes on.
The trace indexes of every height are kept too (chain.web.diagram), so the diagram of any height
— the one being decided now, or any earlier one, at any earlier moment — is built on request.

Step goes to the next event, the next consensus message delivered, the next phase any node
reaches, or the next block; it answers with one sentence on what the receiver did and why
(chain.web.explain).
"""

from __future__ import annotations

import asyncio
import bisect
import json
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol

from chain.errors import DashboardError
from chain.web import diagram
from chain.web.explain import explain
from chain.web.hub import Hub

TICK_MS = 100  # wall-clock pacing period
MAX_EVENTS_PER_MESSAGE = 400  # newest events sent per tick; a tab that needs more asks /api/trace
MAX_TRACE_SLICE = 5000  # events per /api/trace answer
MAX_BLOCK_SUMMARIES = 200  # blocks per /api/blocks answer
MAX_BURST = 10_000  # transactions per burst
SPEEDS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
STEP_MODES = ("event", "message", "phase", "block")
MAX_STEP_EVENTS = 20_000  # a step that finds nothing (a chain stalled for good) stops after this many events
CAPABILITIES = ("pause", "step", "partition", "byzantine", "diagram", "textbook")


class NotFound(DashboardError):
    """The request names a thing that does not exist (a block not yet committed, a node index)."""


class Controllable(Protocol):
    """What the dashboard needs from a chain: the simulator's public control API."""

    @property
    def now_ms(self) -> int: ...  # read only: the dashboard never sets a chain's clock

    def step(self) -> Any: ...
    def run_until(self, time_ms: int) -> Any: ...
    def crash(self, i: int) -> Any: ...
    def restart(self, i: int) -> Any: ...
    def partition(self, groups: list[list[int]]) -> Any: ...
    def heal(self) -> Any: ...
    def set_behaviour(self, i: int, name: str | None) -> Any: ...
    def submit_transactions(self, count: int) -> Any: ...
    def subscribe(self, callback: Callable[[dict[str, Any]], None]) -> Any: ...
    def node_status(self) -> list[dict[str, Any]]: ...
    async def poll(self) -> None: ...  # refresh node_status() from the nodes (real processes: over RPC)


class Script(Protocol):
    """Timed faults to apply while time passes (chain.scenarios.runner.ScenarioScript)."""

    def advance_to(self, target_ms: int) -> None: ...


@dataclass(frozen=True)
class Snapshot:
    """The node cards after `index` trace events.

    Kept as compact JSON, a row unchanged since the previous snapshot being the same string: a
    10-minute lesson records ~6,000 snapshots (one per pacing tick: counters and pools change),
    27 MB as dicts, a third of that this way.
    """

    index: int  # number of trace events that had happened
    now_ms: int
    rows: tuple[str, ...]

    @property
    def nodes(self) -> tuple[dict[str, Any], ...]:
        return tuple(json.loads(row) for row in self.rows)


class LiveChain:
    """The simulation plus the trace history, pacing state and the controls the page offers."""

    def __init__(self, sim: Controllable, hub: Hub, *, behaviours: tuple[str, ...], tx_rate: int = 20,
                 speed: float = 1.0, describe: Callable[[], dict[str, Any]] | None = None,
                 blocks: Callable[[int, int], list[dict[str, Any]]] | None = None,
                 block: Callable[[int], dict[str, Any] | None] | None = None,
                 script: Script | None = None, nodes: Callable[[], list[dict[str, Any]]] | None = None,
                 phase_key: Callable[[], Any] | None = None, capabilities: tuple[str, ...] = CAPABILITIES,
                 textbook: Callable[[bool], None] | None = None) -> None:
        self.sim = sim
        self.hub = hub
        self.behaviours = behaviours
        self.tx_rate = tx_rate
        self.speed = speed
        self.paused = False
        self.trace: list[dict[str, Any]] = []
        self.snapshots: list[Snapshot] = []
        self._snapshot_at: list[int] = []  # the index of each snapshot, for bisect
        self._describe = describe or (lambda: {})
        self._blocks = blocks or (lambda start, end: [])
        self._block = block or (lambda number: None)
        self.script = script  # a scenario's timed faults, or None for a free-play demo
        self._nodes = nodes or sim.node_status  # each node's card (chain.web.observe for the simulator)
        self._phase_key = phase_key or (lambda: tuple((n.get("view"), n.get("height"), n.get("phase"))
                                                       for n in self._nodes()))
        self.capabilities = capabilities if textbook is not None else tuple(c for c in capabilities if c != "textbook")
        self._textbook = textbook
        self.textbook = False
        self.heights = diagram.HeightIndex()
        self.last_step: dict[str, Any] | None = None
        self._published = 0  # trace index up to which the hub has been told
        self._load_credit = 0.0  # fractional transactions owed to the client load
        sim.subscribe(self._record)
        self._snapshot()

    def _record(self, event: dict[str, Any]) -> None:
        self.heights.add(len(self.trace), event)
        self.trace.append(event)

    # --- reading ------------------------------------------------------------------------------

    @property
    def node_count(self) -> int:
        return len(self._nodes())

    def now_height(self, nodes: list[dict[str, Any]], at: int | None = None) -> int:
        """The height being decided: the highest one a live node works on (after the top commit if unknown)."""
        deciding = [n["deciding"] for n in nodes if n.get("deciding") is not None and n.get("state") != "crashed"]
        return max(deciding) if deciding else self.heights.top_at(len(self.trace) if at is None else at) + 1

    def diagram(self, number: int, at: int | None = None) -> dict[str, Any]:
        """The sequence diagram of height `number` after `at` trace events (now, if None)."""
        at = len(self.trace) if at is None else at
        # a height below genesis or a moment outside the run names no diagram
        if number < 0 or not 0 <= at <= len(self.trace):
            raise DashboardError(f"no diagram for block {number} at event {at} (events are 0..{len(self.trace)})")
        return diagram.build(self.trace, self.heights, number, at)

    def now_diagram(self, nodes: list[dict[str, Any]], at: int | None = None) -> dict[str, Any] | None:
        """The diagram of the height being decided; while nothing of it was sent yet, the one just decided.

        At speed 1× a healthy height is decided within one pacing tick, and the next one is empty
        until its leader seals (the simulator keeps min_seal_time: SimConfig.seal_when_idle is off), and
        showing that empty height would show nothing at all.
        """
        if "diagram" not in self.capabilities:
            return None
        height = self.now_height(nodes, at)
        shown = self.diagram(height, at)
        stalled = any(n.get("leader_crashed") and n.get("state") != "crashed" for n in nodes)
        quiet = not shown["arrows"] and all(m["ev"] in diagram.CLIENT_EVENTS for m in shown["marks"])
        if quiet and height > 1 and not stalled:
            shown = {**self.diagram(height - 1, at), "just_decided": True}
        return shown

    def status(self) -> dict[str, Any]:
        return {
            "now_ms": self.sim.now_ms,
            "index": len(self.trace),
            "paused": self.paused,
            "speed": self.speed,
            "tx_rate": self.tx_rate,
            "nodes": self._nodes(),
            "behaviours": list(self.behaviours),
            "speeds": list(SPEEDS),
            "clients": len(self.hub.clients),
            "dropped_clients": self.hub.dropped_total,
            "capabilities": list(self.capabilities),
            "textbook": self.textbook,
            "top": self.heights.top_at(len(self.trace)),
            **self._describe(),
        }

    def state_at(self, index: int) -> dict[str, Any]:
        """The node statuses as they were after `index` trace events, and the events just before."""
        # an index outside the recorded run names no state
        if not 0 <= index <= len(self.trace):
            raise DashboardError(f"index {index} outside 0..{len(self.trace)}")
        position = bisect.bisect_right(self._snapshot_at, index) - 1
        snapshot = self.snapshots[max(position, 0)]
        start = max(0, index - MAX_EVENTS_PER_MESSAGE)
        nodes = list(snapshot.nodes)
        height = self.now_height(nodes, index)
        return {"index": index, "now_ms": snapshot.now_ms if index == snapshot.index else self._time_at(index),
                "nodes": nodes, "events": self.trace[start:index], "first": start,
                "top": self.heights.top_at(index), "now_height": height,
                "diagram": self.now_diagram(nodes, index)}

    def trace_slice(self, start: int, end: int) -> list[dict[str, Any]]:
        # a reversed or negative range is a client mistake, not an empty answer
        if not 0 <= start <= end:
            raise DashboardError(f"bad trace range {start}..{end}")
        return self.trace[start:min(end, start + MAX_TRACE_SLICE)]

    def blocks(self, start: int, end: int) -> list[dict[str, Any]]:
        if not 0 <= start <= end:
            raise DashboardError(f"bad block range {start}..{end}")
        return self._blocks(start, min(end, start + MAX_BLOCK_SUMMARIES))

    def block(self, number: int) -> dict[str, Any]:
        found = self._block(number)
        # a height nobody has committed yet is not found, rather than an empty block
        if found is None:
            raise NotFound(f"no committed block {number}")
        return found

    def node(self, index: int) -> dict[str, Any]:
        nodes = self._nodes()
        # an index outside the node list names no node
        if not 0 <= index < len(nodes):
            raise NotFound(f"unknown node {index} (nodes are 0..{len(nodes) - 1})")
        return nodes[index]

    def _time_at(self, index: int) -> int:
        """Virtual time of the last event before `index` that carries one."""
        for event in reversed(self.trace[:index]):
            if isinstance(event.get("t"), int):
                return int(event["t"])
        return 0

    # --- controls (each validates its input and raises DashboardError) --------------------------

    def check_node(self, node: Any) -> int:
        # indexes come from JSON: an int in range, never a bool or a string
        if isinstance(node, bool) or not isinstance(node, int) or not 0 <= node < self.node_count:
            raise DashboardError(f"unknown node {node!r} (nodes are 0..{self.node_count - 1})")
        return node

    def crash(self, node: Any) -> None:
        self.sim.crash(self.check_node(node))
        self.publish()

    def restart(self, node: Any) -> None:
        self.sim.restart(self.check_node(node))
        self.publish()

    def byzantine(self, node: Any, behaviour: Any) -> None:
        index = self.check_node(node)
        # None (or "") makes the node honest again; anything else must be a known behaviour
        if behaviour in (None, "", "honest"):
            self.sim.set_behaviour(index, None)
        elif behaviour in self.behaviours:
            self.sim.set_behaviour(index, behaviour)
        else:
            raise DashboardError(f"unknown behaviour {behaviour!r} (known: {', '.join(self.behaviours)})")
        self.publish()

    def partition(self, groups: Any) -> None:
        # groups: a list of at least two disjoint, non-empty lists of node indexes
        if not isinstance(groups, list) or len(groups) < 2 or not all(isinstance(g, list) and g for g in groups):
            raise DashboardError("groups must be a list of at least two non-empty lists of node indexes")
        flat = [self.check_node(n) for g in groups for n in g]
        if len(flat) != len(set(flat)):
            raise DashboardError("a node cannot be in two groups")
        self.sim.partition([list(g) for g in groups])
        self.publish()

    def heal(self) -> None:
        self.sim.heal()
        self.publish()

    def burst(self, count: Any) -> None:
        # a burst is a positive, bounded number of transactions (a typo must not queue a million)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BURST:
            raise DashboardError(f"count must be an integer 1..{MAX_BURST}")
        self.sim.submit_transactions(count)
        self.publish()

    def set_speed(self, speed: Any) -> None:
        # speed must be a positive number within the offered range
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not SPEEDS[0] <= speed <= SPEEDS[-1]:
            raise DashboardError(f"speed must be a number in {SPEEDS[0]}..{SPEEDS[-1]}")
        self.speed = float(speed)
        self.publish()

    def require(self, capability: str, what: str) -> None:
        # real processes run in real time on a real network: some controls have no meaning there
        if capability not in self.capabilities:
            raise DashboardError(f"{what} is a simulator control; this chain ({self._describe().get('mode', '?')}) cannot do it")

    def set_textbook(self, on: Any) -> None:
        """Textbook mode: every link has the same latency and the client sends only what you ask for."""
        self.require("textbook", "textbook mode")
        # a switch, not a number or a string
        if not isinstance(on, bool):
            raise DashboardError("on must be true or false")
        assert self._textbook is not None
        self._textbook(on)
        self.textbook = on
        self.publish()

    def set_paused(self, paused: bool) -> None:
        self.require("pause", "pause/play")
        self.paused = paused
        if not paused:
            self.last_step = None  # the sentence explains a step; once time runs again it is stale
        self.publish()

    def step(self, until: Any = "event") -> dict[str, Any] | None:
        """Run to the next event, message delivery, phase reached or block (works while paused: that is what it is for).

        Returns the first trace event processed; `last_step` holds the sentence explaining the last one.
        """
        self.require("step", "step")
        # the step modes are a closed set
        if until not in STEP_MODES:
            raise DashboardError(f"until must be one of {', '.join(STEP_MODES)}, got {until!r}")
        start = len(self.trace)
        top, key = self.heights.top_at(start), self._phase_key() if until == "phase" else None
        before = after = self._nodes()
        mark = start
        for count in range(1, MAX_STEP_EVENTS + 1):
            mark, before = len(self.trace), after
            if self.sim.step() is None:
                break
            after = self._nodes()
            new = self.trace[mark:]
            delivered = any(e.get("ev") in ("deliver", "drop") and e.get("type") in diagram.CONSENSUS_TYPES for e in new)
            if (until == "event" or (until == "message" and delivered)
                    or (until == "phase" and self._phase_key() != key)
                    or (until == "block" and self.heights.top_at(len(self.trace)) > top)):
                break
        self.last_step = {"until": until, "events": len(self.trace) - start, "from": start,
                          **self._explain_step(mark, before, after)}
        self.publish()
        return self.trace[start] if len(self.trace) > start else None

    def _explain_step(self, mark: int, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, Any]:
        """The sentence for the simulator event that began at trace index `mark`, and the arrow it ended."""
        new = self.trace[mark:]
        for offset, e in enumerate(new):
            if e.get("ev") in ("deliver", "drop") and e.get("type") in diagram.CONSENSUS_TYPES and "to" in e:
                dst = e["to"]
                row_before = before[dst] if dst < len(before) else {}
                row_after = after[dst] if dst < len(after) else {}
                return {"text": explain(e, self.heights.refused.get(mark + offset), row_before, row_after,
                                        new[offset + 1:]),
                        "end": mark + offset, "number": e.get("number"), "node": dst}
        commits = [e for e in new if e.get("ev") == "commit"]
        if commits:
            return {"text": "; ".join(f"node {e['node']} writes block {e['number']} to its store ({e.get('via')})"
                                      for e in commits) + ".", "number": commits[-1]["number"]}
        for e in new:
            if e.get("ev") == "timer":
                follow = [f"it asks for view {x['to_view']}" for x in new if x.get("ev") == "view_change"]
                sent = sorted({diagram.CONSENSUS_TYPES[x["type"]] for x in new
                               if x.get("ev") == "send" and x.get("type") in diagram.CONSENSUS_TYPES})
                text = f"node {e['node']}'s {e.get('name')} timer fires"
                if follow or sent:
                    text += ": " + "; ".join(follow + ([f"it sends {' and '.join(sent)}"] if sent else []))
                return {"text": text + ".", "node": e["node"]}
        if not new:
            return {"text": "nothing happened (no event left to process)."}
        shown = [e for e in new if e.get("ev") not in ("submit",) and e.get("type") != "TX_GOSSIP"]
        if not shown:
            return {"text": "the client load: transactions submitted or gossiped (hidden in the diagram)."}
        e = shown[0]
        return {"text": f"{e.get('ev')} " + " ".join(f"{k}={v}" for k, v in e.items()
                                                     if k not in ("ev", "t") and v is not None) + "."}

    # --- pacing -------------------------------------------------------------------------------

    def advance(self, wall_ms: float) -> None:
        """One pacing tick: feed `wall_ms × speed` of virtual time and the client load due in it."""
        if self.paused:
            return
        virtual_ms = wall_ms * self.speed
        self._load_credit += self.tx_rate * virtual_ms / 1000.0
        if self._load_credit >= 1:
            count = int(self._load_credit)
            self._load_credit -= count
            self.sim.submit_transactions(count)
        target = self.sim.now_ms + max(1, int(virtual_ms))
        if self.script is not None:
            self.script.advance_to(target)
        else:
            self.sim.run_until(target)
        self.publish()

    def publish(self) -> None:
        """Record a snapshot if any node changed, and send the new events to every client."""
        self._snapshot()
        new = self.trace[self._published:]
        first = len(self.trace) - min(len(new), MAX_EVENTS_PER_MESSAGE)
        status = self.status()
        height = self.now_height(status["nodes"])
        self.hub.publish({
            "type": "tick",
            "index": len(self.trace),
            "first": first,
            "events": self.trace[first:],
            "now_height": height,
            "diagram": self.now_diagram(status["nodes"]),
            "last_step": self.last_step,
            **{k: v for k, v in status.items() if k != "behaviours"},
        })
        self._published = len(self.trace)

    def _snapshot(self) -> None:
        rows = tuple(json.dumps(n, sort_keys=True, separators=(",", ":")) for n in self._nodes())
        last = self.snapshots[-1].rows if self.snapshots else ()
        if rows == last:
            return
        shared = tuple(last[i] if i < len(last) and last[i] == row else row for i, row in enumerate(rows))
        self.snapshots.append(Snapshot(index=len(self.trace), now_ms=self.sim.now_ms, rows=shared))
        self._snapshot_at.append(len(self.trace))

    async def run(self, stop: asyncio.Event) -> None:
        """Pace the simulation until `stop` is set; the only task that advances it."""

        async def tick(elapsed_ms: float) -> None:
            await self.sim.poll()
            self.advance(elapsed_ms)

        await pace(stop, tick)


async def pace(stop: asyncio.Event, tick: Callable[[float], Awaitable[None]]) -> None:
    """Every TICK_MS until `stop` is set, hand `tick` the wall time elapsed since the last call (ms).

    Never more than one second at once (e.g. after the laptop slept): the dashboard's virtual
    clock follows the wall clock, but does not leap.
    """
    loop = asyncio.get_running_loop()
    last = loop.time()
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), TICK_MS / 1000)
        except asyncio.TimeoutError:
            pass
        now = loop.time()
        await tick(min((now - last) * 1000, 1000.0))
        last = now
