"""The dashboard's live chain over the real simulator: controls, blocks, time travel, lost tabs."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from chain.errors import DashboardError
from chain.web.hub import Hub
from chain.web.server import start_dashboard
from chain.web.simulated import simulated_live_chain

pytestmark = pytest.mark.timeout(60)


def test_controls_blocks_and_time_travel_on_the_simulator() -> None:
    live = simulated_live_chain(nodes=4, suite="standard", seed=3, tx_rate=20)
    for _ in range(30):
        live.advance(100)  # three virtual seconds
    assert min(n["height"] for n in live.status()["nodes"]) >= 2
    before_crash = len(live.trace)
    live.crash(2)
    live.partition([[0, 1], [2, 3]])
    now = live.state_at(len(live.trace))["nodes"]
    assert now[2]["state"] == "crashed" and now[0]["state"] == "partitioned" and now[0]["group"] == [0, 1]
    past = live.state_at(before_crash)["nodes"]
    assert [n["state"] for n in past] == ["ok"] * 4
    live.heal()
    live.byzantine(1, "silent")
    assert live.status()["nodes"][1]["state"] == "Byzantine(silent)"
    with pytest.raises(DashboardError, match="unknown behaviour"):
        live.byzantine(1, "teleport")
    block = live.block(1)
    assert block["number"] == 1 and len(block["signatures"]) >= 3 and len(block["txs"]) == len(block["receipts"]) > 0
    assert [b["number"] for b in live.blocks(0, 3)] == [0, 1, 2]
    events = [e["ev"] for e in live.trace]
    assert {"send", "deliver", "commit", "crash", "partition", "heal", "behaviour"} <= set(events)


def test_a_silent_tab_is_dropped_while_the_simulation_keeps_its_pace() -> None:
    async def main() -> None:
        live = simulated_live_chain(nodes=4, suite="standard", seed=4, tx_rate=20, hub=Hub(queue_size=4))
        dashboard = await start_dashboard(live)
        try:
            async with aiohttp.ClientSession() as session:
                ws = await session.ws_connect(dashboard.url + "/ws")
                await ws.receive_json(timeout=5)  # then never read again, like a frozen tab
                await asyncio.sleep(1.5)
                assert live.sim.now_ms >= 1000  # paced at 1x: the silent tab did not slow it down
                assert all(c.queue.qsize() <= 4 for c in live.hub.clients.values())  # memory stays bounded
                for _ in range(20):  # ticks faster than any socket drains: the tab's queue overflows
                    live.advance(100)
                assert live.hub.dropped_total == 1 and not live.hub.clients
                await ws.close()
        finally:
            await dashboard.stop()
    asyncio.run(main())
