"""A real browser on the dashboard, at a 1024×768 projector size: what a class would see.

One simulated run covers a view change drawn live while it happens, time travel back to it (that
moment's diagram, no future blocks), step-to-next-phase with its sentence, quorum counters, and
twin digests under equivocation; a second test runs real node processes and checks that the
blocks table follows the head. Every check leaves a screenshot in test-artifacts/ (gitignored)
for a human to look at.

Drives Debian's Chromium (/usr/bin/chromium) through the pinned `playwright` package; it never
downloads a browser.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VIEWPORT = {"width": 1024, "height": 768}
CARDS = "[...document.querySelectorAll('[data-testid=node]')]"

pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                                reason=f"{CHROMIUM} not installed (CI installs Debian's chromium in .ci/run)")


async def _shot(page: Any, name: str) -> None:
    await page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"))


async def _top_row(page: Any) -> int:
    return int(await page.locator("#blocks tbody tr").first.get_attribute("data-number") or -1)


def _twin_block(trace: list[dict[str, Any]], node: int) -> int | None:
    """A height where `node` sent PrePrepares with two different digests (what the page must colour apart)."""
    seen: dict[tuple[int, int], set[str]] = {}
    for e in trace:
        if e.get("ev") == "send" and e.get("type") == "PRE_PREPARE" and e.get("from") == node and e.get("digest"):
            seen.setdefault((e["number"], e["view"]), set()).add(e["digest"])
    return next((number for (number, _), digests in sorted(seen.items()) if len(digests) > 1), None)


@pytest.mark.timeout(150)
def test_browser_view_change_live_time_travel_steps_quorums_and_twins() -> None:
    from playwright.async_api import async_playwright

    from chain.web.server import start_dashboard
    from chain.web.simulated import simulated_live_chain

    ARTIFACTS.mkdir(exist_ok=True)

    async def main() -> None:
        live = simulated_live_chain(nodes=4, suite="standard", seed=1, tx_rate=20)
        live.speed = 4.0  # four virtual seconds per wall second keeps the test short
        dashboard = await start_dashboard(live)
        errors: list[str] = []
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = await browser.new_page(viewport=VIEWPORT)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto(dashboard.url)
                await page.wait_for_function(f"{CARDS}.length === 4")
                await page.wait_for_function(f"Math.max(...{CARDS}.map(c => +c.dataset.height)) >= 3", timeout=20_000)
                # the diagram sits above the fold of a 1024×768 projector
                box = await page.locator("#diagram").bounding_box()
                assert box is not None and box["y"] < 768 * 0.75, box
                await _shot(page, "1-running")

                # --- a view change, drawn while it happens -------------------------------------------
                await page.locator("#btn-pause").click()
                await page.wait_for_function("document.querySelector('#btn-play').disabled === false")
                leader = page.locator("[data-testid=node][data-role=leader]")
                assert await leader.count() == 1
                victim = int(await leader.first.get_attribute("data-node") or -1)
                await page.locator(f"[data-testid=node][data-node='{victim}'] button.crash").click()
                await page.wait_for_function(f"document.querySelector('[data-testid=node][data-node=\"{victim}\"]').dataset.state === 'crashed'")
                await page.locator("#speed").select_option("2")
                await page.locator("#btn-play").click()
                # the others wait for the crashed leader: it is still named, as crashed, on their cards
                await page.wait_for_function(
                    f"{CARDS}.some(c => c.dataset.state === 'ok' && c.dataset.leader === '{victim}' && c.innerText.includes('(crashed)'))",
                    timeout=20_000)
                # just before the view timers run out, slow down so the change is seen as it happens
                await page.wait_for_function(
                    f"{CARDS}.some(c => c.dataset.state === 'ok' && parseFloat(c.querySelector('[data-testid=timer]')?.innerText) <= 1.2)",
                    timeout=20_000)
                await page.locator("#speed").select_option("0.25")
                await page.wait_for_function(
                    "document.querySelector('svg[data-testid=sequence] [data-kind=ViewChange]') !== null && "
                    f"{CARDS}.some(c => c.dataset.toView !== '' && +c.dataset.toView > +c.dataset.view)",
                    timeout=30_000, polling=100)
                assert await page.locator("[data-testid=node][data-role=leader]").count() == 1
                mode = await page.locator("#diagram-mode").inner_text()
                assert "being decided now" in mode, mode
                travel_to = int(await page.locator("#event-index").inner_text())
                view_change_height = int(await page.locator("svg[data-testid=sequence]").get_attribute("data-number") or -1)
                await _shot(page, "2-view-change-live")

                # --- time travel back to that moment --------------------------------------------------
                await page.locator("#speed").select_option("4")
                top_then = live.state_at(travel_to)["top"]
                await page.wait_for_function(f"+document.querySelector('#blocks tbody tr')?.dataset.number >= {top_then + 3}",
                                             timeout=30_000)
                await page.evaluate(f"(() => {{ const s = document.querySelector('#scrub'); s.value = '{travel_to}';"
                                    "s.dispatchEvent(new Event('input')); })()")
                await page.wait_for_function(
                    f"document.querySelector('svg[data-testid=sequence]')?.dataset.number === '{view_change_height}' && "
                    "document.querySelector('svg[data-testid=sequence] [data-kind=ViewChange]') !== null && "
                    f"+document.querySelector('#blocks tbody tr')?.dataset.number === {top_then}", timeout=10_000)
                rows = [int(n or -1) for n in await page.locator("#blocks tbody tr").evaluate_all("rs => rs.map(r => r.dataset.number)")]
                assert max(rows) == top_then < live.heights.top_at(len(live.trace)), (rows, top_then)
                assert "travelling" in (await page.locator("body").get_attribute("class") or "")
                await _shot(page, "3-time-travel")

                # --- back to live, pause, step to the next phase ----------------------------------------
                await page.locator("#live").check()
                await page.locator("#btn-pause").click()
                await page.wait_for_function("document.querySelector('#btn-play').disabled === false")
                text = ""
                for _ in range(12):
                    await page.locator("#step-phase").click()
                    await page.wait_for_function("document.querySelector('#explanation').innerText.startsWith('step (phase)')")
                    text = await page.locator("#explanation").inner_text()
                    if re.search(r"node \d has \d of \d needed Prepares for v\d+ → prepared; it sends Commit", text):
                        break
                else:
                    raise AssertionError(f"no Prepare quorum explained; last: {text}")
                await page.wait_for_selector("svg[data-testid=sequence] [data-highlight='1'][data-kind=Prepare]", timeout=5_000)
                receiver = int(re.search(r"node (\d)", text).group(1))  # type: ignore[union-attr]
                card = page.locator(f"[data-testid=node][data-node='{receiver}']")
                await page.wait_for_function(f"document.querySelector('[data-testid=node][data-node=\"{receiver}\"] [data-mark=prepared]').classList.contains('on')")
                await _shot(page, "4-step-phase")

                # --- quorum counters while votes come in, one message at a time -------------------------
                partial = None
                for _ in range(30):
                    await page.locator("#step-message").click()
                    await page.wait_for_timeout(60)
                    partial = await page.evaluate(
                        "[...document.querySelectorAll('.count')].map(c => c.innerText).find(t => { const m = t.match(/(\\d+)\\/(\\d+)/);"
                        " return m && +m[1] > 0 && +m[1] < +m[2]; }) || null")
                    if partial:
                        break
                assert partial is not None and re.fullmatch(r"(P|C|K) [12]/3", partial), partial
                assert re.search(r"P \d/3", await card.inner_text())
                await _shot(page, "5-quorum-counters")

                # --- the trace reads plainly; a partition's boxes are unticked by heal -------------------------
                await page.locator(f"[data-testid=node][data-node='{victim}'] button.restart").click()
                await page.locator("#btn-play").click()
                await page.wait_for_function("document.querySelector('#events').innerText.includes('old height')", timeout=15_000)
                trace = await page.locator("#events").inner_text()
                assert "=null" not in trace
                assert all("already decided: a late message" in line for line in trace.splitlines() if "reject" in line and "old height" in line)
                await page.locator(f"[data-testid=node][data-node='{victim}'] input.side").check()
                await page.locator("#btn-partition").click()
                await page.wait_for_function(f"{CARDS}.every(c => c.dataset.state === 'partitioned')")
                assert await page.locator("input.side:checked").count() == 1  # a redraw keeps the tick while split
                await page.locator("#btn-heal").click()
                await page.wait_for_function(f"{CARDS}.every(c => c.dataset.state === 'ok')")
                assert await page.locator("input.side:checked").count() == 0

                # --- equivocation: twin PrePrepares in two colours ----------------------------------------
                liar = (victim + 1) % 4
                await page.locator(f"[data-testid=node][data-node='{liar}'] select.behaviour").select_option("equivocate")
                for _ in range(200):
                    if _twin_block(live.trace, liar) is not None:
                        break
                    await asyncio.sleep(0.1)
                twin_height = _twin_block(live.trace, liar)
                assert twin_height is not None, "the equivocating leader never proposed"
                await page.locator("#open-block").fill(str(twin_height))
                await page.locator("#open-block").dispatch_event("change")
                await page.wait_for_function(f"document.querySelector('svg[data-testid=sequence]')?.dataset.number === '{twin_height}'")
                digests = await page.locator(f"svg[data-testid=sequence] [data-kind=PrePrepare][data-from='{liar}']").evaluate_all(
                    "gs => [...new Set(gs.map(g => g.dataset.digest))]")
                assert len(digests) == 2, digests
                assert await page.locator("svg[data-testid=sequence] [data-twin='1']").count() >= 1
                assert "pinned" in await page.locator("#diagram-mode").inner_text()
                await _shot(page, "6-equivocation-twins")
                await browser.close()
        finally:
            await dashboard.stop()
        assert not errors, errors
        # the clicks reached the simulator: the crash, the restore, the behaviour
        assert [e["ev"] for e in live.trace if e.get("node") == victim and e["ev"] in ("crash", "restart")] == ["crash", "restart"]
        assert live.sim.nodes[(victim + 1) % 4].behaviour is not None

    asyncio.run(main())


@pytest.mark.timeout(90)
def test_browser_real_mode_table_follows_the_head(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    from chain.web.real import real_live_chain
    from chain.web.server import start_dashboard

    ARTIFACTS.mkdir(exist_ok=True)

    async def main() -> None:
        real, live = real_live_chain(tmp_path / "chain", nodes=4, suite="standard", tx_rate=20)
        real.start()
        dashboard = await start_dashboard(live)
        errors: list[str] = []
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = await browser.new_page(viewport=VIEWPORT)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto(dashboard.url)
                await page.wait_for_function("document.querySelector('#blocks tbody tr') !== null", timeout=40_000)
                first = await _top_row(page)
                # the table keeps up with the nodes: its top row reaches what the cards say, again and again
                await page.wait_for_function(
                    f"+document.querySelector('#blocks tbody tr').dataset.number >= {first + 3} && "
                    f"+document.querySelector('#blocks tbody tr').dataset.number >= Math.max(...{CARDS}.map(c => +c.dataset.height)) - 1",
                    timeout=40_000)
                # what real processes cannot do is not offered, and the page says why there is no diagram
                for hidden in ("#btn-pause", "#step-phase", "#btn-partition", "#diagram"):
                    assert not await page.locator(hidden).is_visible(), hidden
                assert await page.locator(".real-only").is_visible()
                assert await page.locator("[data-testid=node] select.behaviour").first.is_hidden()
                proposer = await page.locator("#blocks tbody tr td:nth-child(4)").first.inner_text()
                assert re.fullmatch(r"node [0-3]", proposer), proposer
                # each card says how many SDKs its channel port serves (none here)
                await page.wait_for_function("document.querySelectorAll('[data-testid=channel]').length === 4", timeout=10_000)
                assert (await page.locator("[data-testid=channel]").first.inner_text()).startswith("SDKs 0")
                await _shot(page, "7-real-table-follows-head")
                response = await page.request.post(dashboard.url + "/api/control/pause", data="{}")
                assert response.status == 400
                await browser.close()
        finally:
            await dashboard.stop()
            await real.close()
        assert not errors, errors

    asyncio.run(main())


@pytest.mark.timeout(120)
def test_browser_scenario_judged_live_node_numbers_after_add_sealer_and_textbook_mode() -> None:
    import dataclasses

    from playwright.async_api import async_playwright

    from chain.scenarios.spec import find_scenario
    from chain.web.server import start_dashboard
    from chain.web.simulated import simulated_live_chain

    ARTIFACTS.mkdir(exist_ok=True)
    # the standard suite: the same story as the shipped sm one, several times faster to simulate
    scenario = dataclasses.replace(find_scenario("add_sealer"), suites=("standard",))

    async def main() -> None:
        live = simulated_live_chain(nodes=scenario.nodes, suite=scenario.suite, seed=scenario.seed,
                                    tx_rate=scenario.tx_rate, scenario=scenario)
        live.speed = 8.0
        dashboard = await start_dashboard(live)
        errors: list[str] = []
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = await browser.new_page(viewport=VIEWPORT)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto(dashboard.url)
                panel = page.locator("#scenario")
                await panel.wait_for()
                text = await panel.inner_text()
                assert " ".join(scenario.summary.split())[:60] in text and "Watch:" in text
                await page.wait_for_function(
                    "document.querySelector('[data-testid=scenario-state]')?.innerText.startsWith('finished')", timeout=60_000)
                await page.wait_for_function(
                    "[...document.querySelectorAll('[data-testid=expectation]')].every(li => li.innerText.startsWith('✔ pass'))"
                    f" && document.querySelectorAll('[data-testid=expectation]').length === {len(scenario.expect)}")
                assert live.sim.now_ms == scenario.duration_ms  # stopped at the scenario's end
                # the new sealer is named by its node number: as a proposer in the table, on its card
                await page.wait_for_function("[...document.querySelectorAll('#blocks tbody tr td:nth-child(4)')]"
                                             ".some(td => td.innerText === 'node 4')")
                card = page.locator("[data-testid=node][data-node='4']")
                assert await card.get_attribute("data-role") in ("sealer", "leader")
                position = live.status()["nodes"][4]["sealer_position"]
                if position != 4:  # the list is sorted by key: its position is a detail
                    assert f"sealer #{position}" in await card.inner_text()
                await _shot(page, "8-scenario-judged")
                await page.close()
        finally:
            await dashboard.stop()
        assert not errors, errors

        # textbook mode: uniform latency, one client request, its block drawn like the figure
        live = simulated_live_chain(nodes=4, suite="standard", seed=5, tx_rate=20)
        live.speed = 4.0
        dashboard = await start_dashboard(live)
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = await browser.new_page(viewport=VIEWPORT)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto(dashboard.url)
                await page.wait_for_function(f"Math.max(...{CARDS}.map(c => +c.dataset.height)) >= 2", timeout=20_000)
                await page.locator("#textbook").check()
                await page.wait_for_function(f"{CARDS}.every(c => c.querySelector('[data-testid=timer]')?.innerText === 'off')",
                                             timeout=20_000)  # the load already sent is committed; nothing waits
                await page.locator("#btn-request").click()
                await page.wait_for_function("[...document.querySelectorAll('#blocks tbody tr')]"
                                             ".some(r => r.children[2].innerText === '1')", timeout=20_000)
                number = await page.locator("#blocks tbody tr").evaluate_all(
                    "rs => +rs.find(r => r.children[2].innerText === '1').dataset.number")
                await page.locator("#open-block").fill(str(number))
                await page.locator("#open-block").dispatch_event("change")
                await page.wait_for_selector("svg[data-testid=sequence] [data-kind=Request]")
                assert await page.locator("svg[data-testid=sequence] [data-kind=Reply]").count() >= 3
                sends = [e for e in live.trace if e.get("ev") == "send" and e.get("number") == number]
                assert sends and {e["arrive"] - e["t"] for e in sends} == {20}
                await _shot(page, "9-textbook")
                await browser.close()
        finally:
            await dashboard.stop()
        assert not errors, errors

    asyncio.run(main())
