"""The DMC Gantt chart: /api/dmc's rounds of a block of the `dmc_parallel` scenario, and the panel in a browser.

Why: the chart is what lesson 11 tells students to read; its JSON must say which contract ran on
which executor in which round, why each frame ran then, and link a paused call to where it goes on
— and a chain without DMC must not show an empty panel.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from chain.scenarios.spec import find_scenario
from chain.web.live import LiveChain
from chain.web.server import make_app
from chain.web.simulated import simulated_live_chain

pytestmark = pytest.mark.timeout(90)
CHROMIUM = "/usr/bin/chromium"


def _dmc_chain(virtual_ms: int) -> LiveChain:
    scenario = find_scenario("dmc_parallel")
    live = simulated_live_chain(nodes=scenario.nodes, suite=scenario.suite, seed=scenario.seed,
                                tx_rate=scenario.tx_rate, scenario=scenario)
    for _ in range(virtual_ms // 100):
        live.advance(100)
    return live


def _get(live: LiveChain, path: str) -> tuple[int, dict[str, Any]]:
    async def main() -> tuple[int, dict[str, Any]]:
        async with TestClient(TestServer(make_app(live))) as client:
            response = await client.get(path)
            return response.status, await response.json()
    return asyncio.run(main())


def test_the_rounds_of_a_dmc_block() -> None:
    live = _dmc_chain(4000)
    status, newest = _get(live, "/api/dmc")
    assert status == 200 and newest["dmc"] is True and newest["executors"] == 4
    assert newest["number"] == newest["heights"][-1] >= 3
    # block 2 of seed 1 (fixed by the scenario file): tx 5 and 6 pause at calls, tx 6's call waits for a row
    status, block = _get(live, "/api/dmc?number=2")
    assert status == 200 and block["number"] == 2 and len(block["hash"]) == 64
    rounds = block["rounds"]
    assert [r["round"] for r in rounds] == list(range(len(rounds))) and len(rounds) == block["summary"]["rounds"] > 1
    first = rounds[0]["runs"]
    assert len({run["executor"] for run in first}) > 1  # contracts side by side in round 0
    assert {run["contract"] for run in first} <= {"C1", "C2", "C3", "C4"}
    steps = {s["id"]: (r["round"], run, s) for r in rounds for run in r["runs"] for s in run["steps"]}
    calls = [link for link in block["links"] if link["kind"] == "call"]
    assert calls and block["summary"]["paused_calls"] == len(calls)
    for link in calls:  # a paused call goes on in the next round, on the callee's executor, as a frame of its own
        round_from, caller, paused = steps[link["from"]]
        round_to, callee, call = steps[link["to"]]
        assert paused["reply"] == "call_out" and paused["callee"] == callee["contract"] != caller["contract"]
        assert round_to == round_from + 1 and call["why"] == "call" and call["tx"] == paused["tx"] and call["seq"] > 0
    locks = [link for link in block["links"] if link["kind"] == "lock"]
    assert locks and block["summary"]["lock_waits"] == len(locks)
    waited = steps[locks[0]["from"]][2]
    assert waited["reply"] == "key_lock" and waited["row"] == "storage slot 0"
    granted_round, _, granted = steps[locks[0]["to"]]
    assert granted["why"] == "granted" and waited["tx"] in rounds[granted_round - 1]["granted"]
    returns = [link for link in block["links"] if link["kind"] == "return"]
    assert all(steps[link["to"]][2]["why"] == "resume" and steps[link["to"]][2]["seq"] == 0 for link in returns)
    txs = block["transactions"]
    assert [t["tx"] for t in txs] == list(range(1, len(txs) + 1)) and all(t["status"] == 0 for t in txs)
    assert any(t["does"].startswith("add_via(") for t in txs)
    # heights outside what is kept, and bad input
    assert _get(live, "/api/dmc?number=9999")[1]["rounds"] is None
    status, error = _get(live, "/api/dmc?number=two")
    assert status == 400 and "must be an integer" in error["error"]


def test_a_chain_without_dmc_says_so() -> None:
    live = simulated_live_chain(nodes=4, suite="standard", seed=1, tx_rate=20)
    live.advance(1000)
    assert _get(live, "/api/dmc") == (200, {"dmc": False})


@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"{CHROMIUM} not installed")
def test_the_gantt_panel_in_a_browser() -> None:
    from playwright.async_api import async_playwright

    from chain.web.server import start_dashboard
    from tests.web.test_browser import ARGS, ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)

    async def main() -> None:
        live = _dmc_chain(4000)
        live.paused = True  # the run stands still: the chart under test is block 2's
        dashboard = await start_dashboard(live)
        errors: list[str] = []
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = await browser.new_page(viewport={"width": 1400, "height": 1000})
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto(dashboard.url + "/#dmc=2")
                svg = page.locator("[data-testid=dmc-svg][data-number='2']")
                await svg.wait_for(timeout=20_000)
                rounds = len(live.sim.sim.dmc_stages.by_height[2][1])
                assert await page.locator(".dmc-sync-line").count() == rounds - 1  # a sync point between rounds
                assert await page.locator(".dmc-link[data-kind=call]").count() >= 1
                assert await page.locator(".dmc-step[data-reply=key_lock]").count() >= 1
                assert "block 2:" in await page.locator("#dmc-txs").inner_text()
                await page.screenshot(path=str(ARTIFACTS / "dashboard-dmc-gantt.png"))
                # picking a block in the table shows its rounds
                await page.locator("#blocks tbody tr[data-number='3']").click()
                await page.locator("[data-testid=dmc-svg][data-number='3']").wait_for(timeout=10_000)
                await page.close()
                plain = simulated_live_chain(nodes=4, suite="standard", seed=1, tx_rate=20)
                other = await start_dashboard(plain)
                try:
                    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
                    await page.goto(other.url)
                    await page.locator("[data-testid=node]").first.wait_for()
                    await page.wait_for_timeout(500)
                    assert await page.locator("#dmc-panel").is_hidden()  # no DMC, no panel
                    await page.close()  # first: a page still connected holds the server's shutdown for seconds
                finally:
                    await other.stop()
                await browser.close()
        finally:
            await dashboard.stop()
        assert not errors, errors
    asyncio.run(main())
