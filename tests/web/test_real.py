"""`chain demo --real`: the dashboard over four real node processes (TCP+TLS, JSON-RPC on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chain.web.real import real_live_chain
from chain.web.server import start_dashboard


async def _wait(session: aiohttp.ClientSession, url: str, predicate: Any, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        async with session.get(url + "/api/status") as response:
            status = await response.json()
        if predicate(status):
            return status
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out; last status {status}")


def _top(status: dict[str, Any], live_only: bool = True) -> int:
    return max(((n["height"] or 0) for n in status["nodes"] if not live_only or n["state"] == "ok"), default=-1)


@pytest.mark.timeout(60)
def test_real_processes_commit_and_survive_a_crash(tmp_path: Path) -> None:
    async def main() -> None:
        real, live = real_live_chain(tmp_path / "chain", nodes=4, suite="sm", tx_rate=20)
        real.start()
        dashboard = await start_dashboard(live)
        try:
            async with aiohttp.ClientSession() as session:
                url = dashboard.url
                # (the page reads blocks from node 0's store: it must hold block 1, not only some node)
                status = await _wait(session, url, lambda s: _top(s) >= 2 and (s["nodes"][0]["height"] or 0) >= 1
                                     and all(n["state"] == "ok" for n in s["nodes"]), 30)
                assert sum(n["role"] == "leader" for n in status["nodes"]) <= 1
                async with session.get(url + "/api/blocks/1") as response:
                    block = await response.json()
                assert response.status == 200 and len(block["signatures"]) >= 3 and block["number"] == 1
                # an SDK on node 0's channel port shows on its card, with its AMOP topic (chain.channel.status)
                from chain.channel.client import ChannelClient
                port = status["nodes"][0]["channel"]["port"]
                sdk = await asyncio.to_thread(ChannelClient.from_chain_dir, real.built.directory, "127.0.0.1", port)
                try:
                    await asyncio.to_thread(sdk.subscribe, ["lesson"])
                    await _wait(session, url, lambda s: s["nodes"][0]["channel"]["sdks"] == 1
                                and s["nodes"][0]["channel"]["topics"] == ["lesson"], 10)
                finally:
                    await asyncio.to_thread(sdk.close)
                victim = next(i for i, n in enumerate(status["nodes"]) if n["role"] != "leader")
                async with session.post(url + "/api/control/crash", json={"node": victim}) as response:
                    assert response.status == 200
                before = _top(status)
                status = await _wait(session, url, lambda s: _top(s) >= before + 2, 20)
                assert status["nodes"][victim]["state"] == "crashed"
                async with session.post(url + "/api/control/partition", json={"groups": [[0, 1], [2, 3]]}) as response:
                    assert response.status == 400 and "simulator" in (await response.json())["error"]
                async with session.post(url + "/api/control/restart", json={"node": victim}) as response:
                    assert response.status == 200
                # the restarted node catches up by block sync
                await _wait(session, url, lambda s: s["nodes"][victim]["state"] == "ok"
                            and (s["nodes"][victim]["height"] or 0) >= before + 2, 20)
        finally:
            await dashboard.stop()
            await real.close()
        assert all(p.poll() is not None for p in real.processes.values())
    asyncio.run(main())
