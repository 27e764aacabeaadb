"""A scripted stand-in for the simulator's control API, to test the web layer on its own.

It is not a simulator: it only records the calls the dashboard makes and emits one trace event
per virtual millisecond step so pacing, trace keeping and fan-out can be checked in isolation.
The dashboard's behaviour with the real simulator is tested in test_live_sim.py.
"""

from __future__ import annotations

from typing import Any, Callable


class ScriptedChain:
    def __init__(self, nodes: int = 4) -> None:
        self.now_ms = 0
        self.calls: list[tuple[Any, ...]] = []
        self.subscribers: list[Callable[[dict[str, Any]], None]] = []
        self.status = [{"index": i, "role": "sealer", "view": 0, "height": 0, "state": "ok"} for i in range(nodes)]

    def _emit(self, event: dict[str, Any]) -> None:
        for callback in self.subscribers:
            callback(event)

    def subscribe(self, callback: Callable[[dict[str, Any]], None]) -> None:
        self.subscribers.append(callback)

    def step(self) -> dict[str, Any]:
        self.now_ms += 1
        event = {"t": self.now_ms, "ev": "tick"}
        self._emit(event)
        return event

    def run_until(self, time_ms: int) -> None:
        self.calls.append(("run_until", time_ms))
        while self.now_ms < time_ms:
            self.now_ms += 10
            self._emit({"t": self.now_ms, "ev": "tick"})
        for node in self.status:
            node["height"] = self.now_ms // 100

    def crash(self, i: int) -> None:
        self.calls.append(("crash", i))
        self._emit({"t": self.now_ms, "ev": "crash", "node": i})
        self.status[i] = {**self.status[i], "state": "crashed"}

    def restart(self, i: int) -> None:
        self.calls.append(("restart", i))
        self.status[i] = {**self.status[i], "state": "ok"}

    def partition(self, groups: list[list[int]]) -> None:
        self.calls.append(("partition", groups))

    def heal(self) -> None:
        self.calls.append(("heal",))

    def set_behaviour(self, i: int, name: str | None) -> None:
        self.calls.append(("set_behaviour", i, name))

    def submit_transactions(self, count: int) -> None:
        self.calls.append(("submit", count))

    def node_status(self) -> list[dict[str, Any]]:
        return [dict(n) for n in self.status]

    async def poll(self) -> None:
        """Nothing to fetch: the statuses above are the chain's."""
