"""A running chain the dashboard shows: the simulator paced to wall time, its trace, its controls.

The simulator runs in virtual time and would finish a minute of consensus in a fraction of a
second. For a class to *watch* it, an asyncio task advances it by ``wall time × speed`` on every
tick, submits the client load, and publishes what happened to the hub. Pause, step and speed
only change how virtual time is fed; the protocol never notices, so a paused-and-stepped run is
the same run as a played one (same seed, same trace).

The whole trace is kept, together with a snapshot of every node's status each time it changed,
so the page can travel back to any earlier event index ("time travel") while the chain goes on.
"""

from __future__ import annotations

import asyncio
import bisect
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from chain.errors import DashboardError
from chain.web.hub import Hub

TICK_MS = 100  # wall-clock pacing period
MAX_EVENTS_PER_MESSAGE = 400  # newest events sent per tick; a tab that needs more asks /api/trace
MAX_TRACE_SLICE = 5000  # events per /api/trace answer
MAX_BLOCK_SUMMARIES = 200  # blocks per /api/blocks answer
MAX_BURST = 10_000  # transactions per burst
SPEEDS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


class NotFound(DashboardError):
    """The request names a thing that does not exist (a block not yet committed, a node index)."""


class Controllable(Protocol):
    """What the dashboard needs from a chain: the simulator's public control API."""

    now_ms: int

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
    index: int  # number of trace events that had happened
    now_ms: int
    nodes: tuple[dict[str, Any], ...]


class LiveChain:
    """The simulation plus the trace history, pacing state and the controls the page offers."""

    def __init__(self, sim: Controllable, hub: Hub, *, behaviours: tuple[str, ...], tx_rate: int = 20,
                 speed: float = 1.0, describe: Callable[[], dict[str, Any]] | None = None,
                 blocks: Callable[[int, int], list[dict[str, Any]]] | None = None,
                 block: Callable[[int], dict[str, Any] | None] | None = None,
                 script: Script | None = None) -> None:
        self.sim = sim
        self.hub = hub
        self.behaviours = behaviours
        self.tx_rate = tx_rate
        self.speed = speed
        self.paused = False
        self.trace: list[dict[str, Any]] = []
        self.snapshots: list[Snapshot] = []
        self._describe = describe or (lambda: {})
        self._blocks = blocks or (lambda start, end: [])
        self._block = block or (lambda number: None)
        self.script = script  # a scenario's timed faults, or None for a free-play demo
        self._published = 0  # trace index up to which the hub has been told
        self._load_credit = 0.0  # fractional transactions owed to the client load
        sim.subscribe(self.trace.append)
        self._snapshot()

    # --- reading ------------------------------------------------------------------------------

    @property
    def node_count(self) -> int:
        return len(self.sim.node_status())

    def status(self) -> dict[str, Any]:
        return {
            "now_ms": self.sim.now_ms,
            "index": len(self.trace),
            "paused": self.paused,
            "speed": self.speed,
            "tx_rate": self.tx_rate,
            "nodes": self.sim.node_status(),
            "behaviours": list(self.behaviours),
            "speeds": list(SPEEDS),
            "clients": len(self.hub.clients),
            "dropped_clients": self.hub.dropped_total,
            **self._describe(),
        }

    def state_at(self, index: int) -> dict[str, Any]:
        """The node statuses as they were after `index` trace events, and the events just before."""
        # an index outside the recorded run names no state
        if not 0 <= index <= len(self.trace):
            raise DashboardError(f"index {index} outside 0..{len(self.trace)}")
        position = bisect.bisect_right([s.index for s in self.snapshots], index) - 1
        snapshot = self.snapshots[max(position, 0)]
        start = max(0, index - MAX_EVENTS_PER_MESSAGE)
        return {"index": index, "now_ms": snapshot.now_ms if index == snapshot.index else self._time_at(index),
                "nodes": list(snapshot.nodes), "events": self.trace[start:index], "first": start}

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
        nodes = self.sim.node_status()
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

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self.publish()

    def step(self) -> dict[str, Any] | None:
        """Process exactly one simulator event (works while paused: that is what it is for)."""
        before = len(self.trace)
        self.sim.step()
        self.publish()
        return self.trace[before] if len(self.trace) > before else None

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
        self.hub.publish({
            "type": "tick",
            "index": len(self.trace),
            "first": first,
            "events": self.trace[first:],
            **{k: v for k, v in self.status().items() if k != "behaviours"},
        })
        self._published = len(self.trace)

    def _snapshot(self) -> None:
        nodes = tuple(self.sim.node_status())
        if not self.snapshots or self.snapshots[-1].nodes != nodes:
            self.snapshots.append(Snapshot(index=len(self.trace), now_ms=self.sim.now_ms, nodes=nodes))

    async def run(self, stop: asyncio.Event) -> None:
        """Pace the simulation until `stop` is set; the only task that advances it."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), TICK_MS / 1000)
            except asyncio.TimeoutError:
                pass
            await self.sim.poll()
            now = loop.time()
            # never feed more than one second of wall time at once (e.g. after the laptop slept)
            self.advance(min((now - last) * 1000, 1000.0))
            last = now
