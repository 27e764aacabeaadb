"""A real browser on the dashboard of two groups: the selector switches between them, each page
shows its own group's nodes (with their hosts) and blocks, and a crash on one group's page is
seen on the other's when the node's host is in both. Screenshots go to test-artifacts/.

Drives Debian's Chromium (/usr/bin/chromium) through the pinned `playwright` package.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.web.test_browser import ARGS, ARTIFACTS, CARDS, CHROMIUM, VIEWPORT

pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                                reason=f"{CHROMIUM} not installed (CI installs Debian's chromium in .ci/run)")


@pytest.mark.timeout(120)
def test_the_group_selector_switches_pages_and_a_shared_host_crashes_in_both() -> None:
    from playwright.async_api import async_playwright

    from chain.web.server import start_dashboard
    from chain.web.simulated import groups_live_chains

    ARTIFACTS.mkdir(exist_ok=True)

    async def main() -> None:
        grouped = groups_live_chains(groups="2", suite="standard", seed=1)
        dashboard = await start_dashboard(grouped)
        errors: list[str] = []
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = await browser.new_page(viewport=VIEWPORT)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto(dashboard.url)
                await page.wait_for_function(f"{CARDS}.length === 4")
                assert await page.locator("#group-pick").is_visible()
                assert await page.locator("#group option").all_inner_texts() == ["group0", "group1"]
                assert "hosts 0, 1, 2, 3" in await page.locator("#group-hosts").inner_text()
                await page.wait_for_function(f"Math.max(...{CARDS}.map(c => +c.dataset.height)) >= 2", timeout=20_000)
                await page.screenshot(path=str(ARTIFACTS / "dashboard-groups-1-group0.png"))

                await page.locator("#group").select_option("group1")
                await page.wait_for_url("**/?group=group1")
                await page.wait_for_function(f"{CARDS}.length === 4")
                assert "group1 (2.x group id 2)" in await page.locator("#chain-info").inner_text()
                assert "hosts 2, 3, 4, 5" in await page.locator("#group-hosts").inner_text()
                assert "host 2" in await page.locator("[data-testid=node][data-node='0']").inner_text()
                # node 0 of group1 runs on host 2, node 2 of group0
                await page.locator("[data-testid=node][data-node='0'] button.crash").click()
                await page.wait_for_function(
                    "document.querySelector('[data-testid=node][data-node=\"0\"]').dataset.state === 'crashed'")
                await page.screenshot(path=str(ARTIFACTS / "dashboard-groups-2-group1-crashed.png"))

                await page.locator("#group").select_option("group0")
                await page.wait_for_url("**/?group=group0")
                await page.wait_for_function(
                    "document.querySelector('[data-testid=node][data-node=\"2\"]')?.dataset.state === 'crashed'")
                assert await page.locator("#blocks tbody tr").count() > 0
                await page.screenshot(path=str(ARTIFACTS / "dashboard-groups-3-group0-sees-host-2.png"))
                await browser.close()
        finally:
            await dashboard.stop()
        assert not errors, errors

    asyncio.run(main())
