"""The dashboard of several groups on one network: one page per group, one clock for all.

Each group is shown as a chain of its own — its node cards (numbered within the group, with the
host each runs on), its blocks, its message diagram, its trace — by a LiveChain of its own over a
chain.scenarios.world.GroupView. The page picks one with ``?group=NAME`` (a selector at the top
switches). Time is the world's: one pacing task advances it and every group's tabs get their
ticks; pause, play and speed are the world's too, so they apply to every group whichever page
sent them. Faults act on hosts: crashing a node on group1's page crashes its host, which every
group it is in sees.
"""

from __future__ import annotations

import asyncio

from chain.errors import DashboardError
from chain.web.live import LiveChain, pace

WORLD_CONTROLS = ("pause", "play", "speed")  # the one clock: the same in every group's page


class GroupedLive:
    """One LiveChain per group over one world; the first group's paces the world (and plays a scenario)."""

    def __init__(self, lives: dict[str, LiveChain]) -> None:
        if not lives:
            raise DashboardError("no group to show")
        self.lives = lives
        self.lead = next(iter(lives.values()))

    @property
    def names(self) -> list[str]:
        return list(self.lives)

    def select(self, name: str | None) -> LiveChain:
        """The named group's LiveChain (the first group's when no name is given)."""
        if name is None:
            return self.lead
        # a name from the URL: one of the world's groups, or a clear 400
        if name not in self.lives:
            raise DashboardError(f"unknown group {name!r} (groups: {', '.join(self.lives)})")
        return self.lives[name]

    def after_control(self, action: str, acted: LiveChain) -> None:
        """Keep the one clock's settings alike in every page, and tell every page what changed."""
        for live in self.lives.values():
            if live is acted:
                continue
            if action in WORLD_CONTROLS:
                live.paused, live.speed = acted.paused, acted.speed
                if not live.paused:
                    live.last_step = None
            live.publish()

    async def run(self, stop: asyncio.Event) -> None:
        """Pace the world until `stop` is set (LiveChain.run, once for all the groups)."""

        async def tick(elapsed_ms: float) -> None:
            if not self.lead.paused:
                self.lead.advance(elapsed_ms)
                for live in self.lives.values():
                    if live is not self.lead:
                        live.publish()

        await pace(stop, tick)
