"""The dashboard of several groups on one network (chain.web.grouped): one page per group, one clock,
faults on hosts; the `groups` scenario played live reaches the verdicts of the batch run."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer

from chain.scenarios.spec import library
from chain.web.grouped import GroupedLive
from chain.web.server import make_app
from chain.web.simulated import groups_live_chains, simulated_live_chain

pytestmark = pytest.mark.timeout(60)


def with_groups(test: Callable[[TestClient, GroupedLive], Awaitable[None]], **kwargs: Any) -> None:
    async def main() -> None:
        grouped = groups_live_chains(groups="2", suite="standard", seed=3, **kwargs)
        async with TestClient(TestServer(make_app(grouped.lead, grouped))) as client:
            await test(client, grouped)
    asyncio.run(main())


async def _status(client: TestClient, group: str | None = None) -> dict[str, Any]:
    response = await client.get("/api/status" + (f"?group={group}" if group else ""))
    assert response.status == 200, await response.text()
    return dict(await response.json())


def _states(status: dict[str, Any]) -> list[tuple[int, str]]:
    return [(n["host"], n["state"]) for n in status["nodes"]]


def test_each_group_has_its_page_and_the_first_is_the_default() -> None:
    async def check(client: TestClient, grouped: GroupedLive) -> None:
        first, group1 = await _status(client), await _status(client, "group1")
        assert first["group"] == "group0" and first["groups"] == ["group0", "group1"] and first["hosts"] == [0, 1, 2, 3]
        assert group1["group"] == "group1" and group1["hosts"] == [2, 3, 4, 5]
        assert [n["host"] for n in group1["nodes"]] == [2, 3, 4, 5] and [n["index"] for n in group1["nodes"]] == [0, 1, 2, 3]
        assert "group1 (2.x group id 2) of 2 groups on 6 hosts" in group1["mode"]
        for path in ("/api/status?group=group9", "/api/blocks?group=nope", "/ws?group=group2"):
            response = await client.get(path)
            assert response.status == 400 and "unknown group" in (await response.json())["error"]
    with_groups(check)


def test_a_crash_on_one_groups_page_stops_the_host_in_every_group() -> None:
    async def check(client: TestClient, grouped: GroupedLive) -> None:
        response = await client.post("/api/control/crash?group=group1", json={"node": 0})  # node 0 of group1: host 2
        assert response.status == 200
        assert _states(await _status(client, "group1"))[0] == (2, "crashed")
        assert _states(await _status(client, "group0"))[2] == (2, "crashed")
        await client.post("/api/control/restart?group=group0", json={"node": 2})
        assert all(state == "ok" for _, state in _states(await _status(client, "group1")))
    with_groups(check)


def test_pause_and_speed_are_the_worlds() -> None:
    async def check(client: TestClient, grouped: GroupedLive) -> None:
        await client.post("/api/control/pause?group=group1", json={})
        await client.post("/api/control/speed?group=group1", json={"speed": 4})
        first = await _status(client, "group0")
        assert first["paused"] is True and first["speed"] == 4.0
        await client.post("/api/control/play", json={})
        assert (await _status(client, "group1"))["paused"] is False
    with_groups(check)


def test_a_partition_on_one_groups_page_cuts_only_what_it_must() -> None:
    async def check(client: TestClient, grouped: GroupedLive) -> None:
        world = grouped.lead.sim.chains.world  # type: ignore[attr-defined]
        # group1's nodes 0, 1 | 2, 3 are hosts 2, 3 | 4, 5; hosts 0 and 1 (not in group1) join the first side
        await client.post("/api/control/partition?group=group1", json={"groups": [[0, 1], [2, 3]]})
        assert world.network.groups == (frozenset({0, 1, 2, 3}), frozenset({4, 5}))
        assert world.groups["group0"].network.groups == ()  # group0 keeps every link
        group1 = await _status(client, "group1")
        assert {n["state"] for n in group1["nodes"]} == {"partitioned"}
        assert {n["state"] for n in (await _status(client, "group0"))["nodes"]} == {"ok"}
    with_groups(check)


def test_a_step_on_a_groups_page_stops_at_that_groups_event() -> None:
    async def check(client: TestClient, grouped: GroupedLive) -> None:
        before = len(grouped.lives["group1"].trace)
        answer = await (await client.post("/api/control/step?group=group1", json={"until": "message"})).json()
        assert answer["ok"] and answer["step"]["text"] and len(grouped.lives["group1"].trace) > before
        assert answer["event"] is not None
    with_groups(check)


def test_one_chain_has_only_group0() -> None:
    async def main() -> None:
        live = simulated_live_chain(nodes=4, suite="standard", seed=1)
        async with TestClient(TestServer(make_app(live))) as client:
            assert (await client.get("/api/status?group=group0")).status == 200
            response = await client.get("/api/status?group=group1")
            assert response.status == 400 and "one group, group0" in (await response.json())["error"]
            assert "groups" not in await (await client.get("/api/status")).json()
    asyncio.run(main())


def test_pacing_advances_the_world_and_every_group_hears_of_it() -> None:
    async def main() -> None:
        grouped = groups_live_chains(groups="2", suite="standard", seed=1)
        tabs = {name: live.hub.subscribe() for name, live in grouped.lives.items()}
        stop = asyncio.Event()
        task = asyncio.create_task(grouped.run(stop))
        await asyncio.sleep(0.6)
        stop.set()
        await task
        for name, tab in tabs.items():
            assert not tab.queue.empty(), f"{name}'s page heard nothing"
        assert grouped.lead.sim.now_ms > 0
        assert all(len(live.trace) > 0 for live in grouped.lives.values())
    asyncio.run(main())


@pytest.mark.timeout(90)
def test_the_groups_scenario_on_the_page_reaches_the_batch_verdicts() -> None:
    scenario = library()["groups"]
    grouped = groups_live_chains(suite=scenario.suite, seed=scenario.seed, scenario=scenario)
    lead = grouped.lead
    assert lead.script is not None and all(live.script is None for live in list(grouped.lives.values())[1:])
    lead.script.advance_to(scenario.duration_ms + 5000)
    assert lead.sim.now_ms == scenario.duration_ms  # virtual time stops at the scenario's end
    verdicts = lead.status()["scenario"]["expect"]
    assert [(v["name"], v["ok"]) for v in verdicts] == [(e, True) for e in scenario.expect]
    # group1's page tells the same story from its side: hosts 4 and 5 are its nodes 2 and 3
    cards = grouped.lives["group1"].status()["nodes"]
    assert [(n["host"], n["state"]) for n in cards] == [(2, "ok"), (3, "ok"), (4, "crashed"), (5, "crashed")]
