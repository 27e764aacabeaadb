"""A real browser on the dashboard: four nodes, a rising height, crash the leader, see the view change.

Drives Debian's Chromium (/usr/bin/chromium) through the pinned `playwright` package; it never
downloads a browser. Screenshots go to test-artifacts/ (gitignored) for a human to look at.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                                reason=f"{CHROMIUM} not installed (CI installs Debian's chromium in .ci/run)")


async def _heights(page) -> list[int]:  # type: ignore[no-untyped-def]
    cards = page.locator("[data-testid=node]")
    return [int(await cards.nth(i).get_attribute("data-height") or -1) for i in range(await cards.count())]


@pytest.mark.timeout(90)
def test_browser_sees_nodes_crashes_the_leader_and_sees_a_view_change() -> None:
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
                page = await browser.new_page(viewport={"width": 1400, "height": 1000})
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto(dashboard.url)
                cards = page.locator("[data-testid=node]")
                await page.wait_for_function("document.querySelectorAll('[data-testid=node]').length === 4")
                assert await cards.count() == 4
                # the height rises
                await page.wait_for_function(
                    "Math.max(...[...document.querySelectorAll('[data-testid=node]')].map(c => +c.dataset.height)) >= 3",
                    timeout=20_000)
                await page.screenshot(path=str(ARTIFACTS / "dashboard-1-running.png"), full_page=True)
                # pause (the leader changes with every block), then click "crash" on the leader
                await page.locator("#btn-pause").click()
                await page.wait_for_function("document.querySelector('#btn-play').disabled === false")
                leader = page.locator("[data-testid=node][data-role=leader]").first
                await leader.wait_for(timeout=10_000)
                victim = int(await leader.get_attribute("data-node") or -1)
                height_at_crash = max(await _heights(page))
                await page.locator(f"[data-testid=node][data-node='{victim}'] button.crash").click()
                await page.locator("#btn-play").click()
                await page.wait_for_function(
                    f"document.querySelector('[data-testid=node][data-node=\"{victim}\"]').dataset.state === 'crashed'",
                    timeout=10_000)
                # a view change happens, and the others commit again beyond the crash height
                await page.wait_for_function(
                    "[...document.querySelectorAll('[data-testid=node]')].some(c => +c.dataset.view >= 1)", timeout=30_000)
                await page.wait_for_function(
                    f"Math.max(...[...document.querySelectorAll('[data-testid=node]')]"
                    f".filter(c => c.dataset.state !== 'crashed').map(c => +c.dataset.height)) >= {height_at_crash + 2}",
                    timeout=30_000)
                await page.screenshot(path=str(ARTIFACTS / "dashboard-2-after-view-change.png"), full_page=True)
                # the sequence diagram of a block is drawn, and the blocks table is filled
                assert await page.locator("#blocks tbody tr").count() > 0
                await page.locator("#blocks tbody tr").first.click()
                await page.wait_for_selector("svg[data-testid=sequence]", timeout=10_000)
                assert "signatures" in await page.locator("#block-detail").inner_text()
                await page.screenshot(path=str(ARTIFACTS / "dashboard-3-block.png"), full_page=True)
                await browser.close()
        finally:
            await dashboard.stop()
        assert not errors, errors
        assert live.sim.nodes[victim].replica is None  # the crash reached the simulator

    asyncio.run(main())
