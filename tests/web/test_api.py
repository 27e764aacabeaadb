"""The dashboard's JSON API and WebSocket, on a scripted chain: errors are clear, tabs cannot stall it."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from chain.web.hub import Hub
from chain.web.live import LiveChain
from chain.web.server import make_app, start_dashboard
from tests.web.fake import ScriptedChain

pytestmark = pytest.mark.timeout(30)


def make_live(**kwargs: Any) -> tuple[LiveChain, ScriptedChain]:
    sim = ScriptedChain()
    live = LiveChain(sim, Hub(queue_size=kwargs.pop("queue_size", 8)), behaviours=("equivocate", "silent"), **kwargs)
    return live, sim


def with_client(test: Callable[[TestClient, LiveChain, ScriptedChain], Awaitable[None]]) -> None:
    async def main() -> None:
        live, sim = make_live()
        async with TestClient(TestServer(make_app(live))) as client:
            await test(client, live, sim)
    asyncio.run(main())


def test_status_and_page_are_served() -> None:
    async def check(client: TestClient, live: LiveChain, sim: ScriptedChain) -> None:
        status = await (await client.get("/api/status")).json()
        assert len(status["nodes"]) == 4 and status["behaviours"] == ["equivocate", "silent"]
        page = await client.get("/")
        assert page.status == 200 and "app.js" in await page.text()
        assert (await client.get("/static/app.js")).status == 200
        assert (await client.get("/static/..%2Fserver.py")).status == 404
    with_client(check)


@pytest.mark.parametrize("method, path, body, status, message", [
    ("post", "/api/control/crash", "{not json", 400, "not valid JSON"),
    ("post", "/api/control/crash", "[1, 2]", 400, "JSON object"),
    ("post", "/api/control/crash", '{"node": 7}', 400, "unknown node 7"),
    ("post", "/api/control/crash", '{"node": "1"}', 400, "unknown node"),
    ("post", "/api/control/crash", '{}', 400, "unknown node None"),
    ("post", "/api/control/byzantine", '{"node": 1, "behaviour": "teleport"}', 400, "unknown behaviour 'teleport'"),
    ("post", "/api/control/partition", '{"groups": [[0, 1], [1, 2]]}', 400, "two groups"),
    ("post", "/api/control/partition", '{"groups": [[0, 1]]}', 400, "at least two"),
    ("post", "/api/control/burst", '{"count": -5}', 400, "count must be"),
    ("post", "/api/control/speed", '{"speed": 1000}', 400, "speed must be"),
    ("post", "/api/control/fly", '{}', 404, "unknown control"),
    ("get", "/api/nodes/9", None, 404, "unknown node 9"),
    ("get", "/api/blocks/12", None, 404, "no committed block 12"),
    ("get", "/api/blocks/abc", None, 400, "must be an integer"),
    ("get", "/api/state?at=999999", None, 400, "outside"),
    ("get", "/api/state?at=x", None, 400, "must be an integer"),
    ("get", "/api/trace?start=5&end=1", None, 400, "bad trace range"),
    ("get", "/api/nowhere", None, 404, "no such API endpoint"),
    ("get", "/api/control/crash", None, 405, "not allowed"),
])
def test_bad_input_gets_a_clear_json_error(method: str, path: str, body: str | None, status: int, message: str) -> None:
    async def check(client: TestClient, live: LiveChain, sim: ScriptedChain) -> None:
        response = await getattr(client, method)(path, data=body)
        assert response.status == status
        assert message in (await response.json())["error"]
        assert [c for c in sim.calls if c[0] != "run_until"] == []  # nothing reached the chain
    with_client(check)


def test_controls_reach_the_chain() -> None:
    async def check(client: TestClient, live: LiveChain, sim: ScriptedChain) -> None:
        for action, body in [("crash", {"node": 1}), ("restart", {"node": 1}), ("byzantine", {"node": 2, "behaviour": "silent"}),
                             ("byzantine", {"node": 2, "behaviour": None}), ("partition", {"groups": [[0, 1], [2, 3]]}),
                             ("heal", {}), ("burst", {"count": 7})]:
            response = await client.post(f"/api/control/{action}", json=body)
            assert response.status == 200, await response.text()
        assert sim.calls == [("crash", 1), ("restart", 1), ("set_behaviour", 2, "silent"), ("set_behaviour", 2, None),
                             ("partition", [[0, 1], [2, 3]]), ("heal",), ("submit", 7)]
        assert (await client.post("/api/control/pause")).status == 200 and live.paused
        stepped = await (await client.post("/api/control/step")).json()
        assert stepped["event"] == {"t": 1, "ev": "tick"} and stepped["index"] == len(live.trace) == 2
        await client.post("/api/control/speed", json={"speed": 4})
        assert live.speed == 4.0
    with_client(check)


def test_pause_stops_virtual_time_and_play_resumes() -> None:
    live, sim = make_live()
    live.advance(100)
    assert sim.now_ms == 100
    live.set_paused(True)
    live.advance(100)
    assert sim.now_ms == 100
    live.set_paused(False)
    live.set_speed(2)
    live.advance(100)
    assert sim.now_ms == 300


def test_load_is_paced_by_the_tx_rate() -> None:
    live, sim = make_live(tx_rate=20)
    for _ in range(10):
        live.advance(100)  # one virtual second in total
    assert sum(c[1] for c in sim.calls if c[0] == "submit") == 20


def test_time_travel_returns_the_status_of_the_past() -> None:
    live, sim = make_live()
    live.advance(100)
    early = len(live.trace)
    live.crash(2)
    live.advance(100)
    assert live.state_at(len(live.trace))["nodes"][2]["state"] == "crashed"
    past = live.state_at(early)
    assert past["nodes"][2]["state"] == "ok" and past["nodes"][0]["height"] == 1
    assert past["events"] == live.trace[:early]


def test_websocket_streams_ticks() -> None:
    async def check(client: TestClient, live: LiveChain, sim: ScriptedChain) -> None:
        ws = await client.ws_connect("/ws")
        hello = await ws.receive_json(timeout=5)
        assert hello["type"] == "hello" and len(hello["nodes"]) == 4
        live.advance(50)
        tick = await ws.receive_json(timeout=5)
        assert tick["type"] == "tick" and tick["index"] == 5 and len(tick["events"]) == 5
        await ws.close()
    with_client(check)


def test_a_client_that_stops_reading_is_dropped_and_does_not_slow_the_chain() -> None:
    async def main() -> None:
        live, sim = make_live(queue_size=4)
        dashboard = await start_dashboard(live, pace=False)
        try:
            async with aiohttp.ClientSession() as client:
                reader = await client.ws_connect(dashboard.url + "/ws")
                await reader.receive_json(timeout=5)  # hello; after this the "tab" never reads again
                await asyncio.sleep(0.05)
                assert len(live.hub.clients) == 1
                started = time.perf_counter()
                for _ in range(200):
                    live.advance(10)
                elapsed = time.perf_counter() - started
                assert live.hub.dropped_total == 1 and not live.hub.clients
                assert sim.now_ms == 2000 and elapsed < 2.0
                # a fresh tab connects and is served normally
                fresh = await client.ws_connect(dashboard.url + "/ws")
                assert (await fresh.receive_json(timeout=5))["type"] == "hello"
                await fresh.close()
                await reader.close()
        finally:
            await dashboard.stop()
    asyncio.run(main())


def test_a_closed_tab_is_unsubscribed() -> None:
    async def check(client: TestClient, live: LiveChain, sim: ScriptedChain) -> None:
        ws = await client.ws_connect("/ws")
        await ws.receive_json(timeout=5)
        assert len(live.hub.clients) == 1
        await ws.close()
        for _ in range(50):
            if not live.hub.clients:
                break
            await asyncio.sleep(0.02)
        assert not live.hub.clients
        live.advance(100)  # publishing with nobody listening is fine
        assert sim.now_ms == 100
    with_client(check)


def test_pacing_task_runs_and_stops() -> None:
    async def main() -> None:
        live, sim = make_live()
        dashboard = await start_dashboard(live)
        await asyncio.sleep(0.35)
        await dashboard.stop()
        assert 100 <= sim.now_ms <= 1000
    asyncio.run(main())
