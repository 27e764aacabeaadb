"""rPBFT on the dashboard: `chain demo --consensus rpbft` and `chain scenario run NAME --dashboard`
must run the consensus they name, so a class sees the "resting" cards of the sealers outside an
epoch's working set, and sees them change at each epoch boundary.

The CLI is driven for real (typer's runner); only the endless `serve` is replaced by one that
starts the dashboard, reads its state feed over HTTP once, and hands the live chain back.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from typer.testing import CliRunner

from chain.cli import demo
from chain.cli.main import app
from chain.scenarios.runner import scenario_simulation
from chain.scenarios.spec import find_scenario
from chain.web.live import LiveChain

pytestmark = pytest.mark.timeout(120)

WORKING = ("sealer", "leader")  # the roles a working sealer's card shows


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the CLI served: the live chain, and the node cards its /api/status gave a browser."""
    seen: dict[str, Any] = {}

    async def serve_once(live: LiveChain, *, port: int, open_browser: bool, seconds: float) -> None:
        from chain.web.server import start_dashboard

        dashboard = await start_dashboard(live, port=0)  # 127.0.0.1, any free port
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(dashboard.url + "/api/status") as response:
                    seen["status"] = await response.json()
        finally:
            await dashboard.stop()
        seen["live"] = live

    monkeypatch.setattr(demo, "serve", serve_once)
    return seen


def _run(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output


def _roles_by_height(live: LiveChain, until_ms: int) -> dict[int, tuple[str, ...]]:
    """The cards' roles once every node has caught up with the top height, for each height seen so."""
    seen: dict[int, tuple[str, ...]] = {}
    while live.sim.now_ms < until_ms:
        live.advance(100)
        nodes = live.status()["nodes"]
        heights = {n["height"] for n in nodes}
        if len(heights) == 1:  # between two commits: no node is half-way into the next epoch
            seen.setdefault(heights.pop(), tuple(n["role"] for n in nodes))
    return seen


def test_demo_rpbft_shows_resting_sealers_that_change_at_each_epoch(served: dict[str, Any]) -> None:
    _run(["demo", "--consensus", "rpbft", "--nodes", "7", "--epoch-sealers", "4", "--epoch-blocks", "3",
          "--suite", "standard", "--no-browser"])
    cards = served["status"]["nodes"]
    assert [c["role"] for c in cards].count("resting") == 3, cards  # the feed a browser reads, at once
    assert "rPBFT: 4 working per 3-block epoch" in served["status"]["mode"]
    live: LiveChain = served["live"]
    roles = _roles_by_height(live, 10_000)
    assert len(roles) >= 4, roles
    for height, row in roles.items():
        # 4 working (one of them the leader of the next height), 3 resting, at every height
        assert row.count("resting") == 3 and sum(r in WORKING for r in row) == 4, (height, row)
        assert row.count("leader") <= 1, (height, row)
    resting_sets = {frozenset(i for i, r in enumerate(row) if r == "resting") for row in roles.values()}
    assert len(resting_sets) >= 2, roles  # a new epoch drew another working set
    by_epoch: dict[int, set[frozenset[int]]] = {}
    for height, row in roles.items():
        # the next height is the one being worked on; epochs of 3 blocks from block 1
        by_epoch.setdefault(height // 3, set()).add(frozenset(i for i, r in enumerate(row) if r == "resting"))
    assert all(len(sets) == 1 for sets in by_epoch.values()), by_epoch  # the set holds for a whole epoch


def test_demo_is_pbft_unless_told(served: dict[str, Any]) -> None:
    _run(["demo", "--nodes", "7", "--suite", "standard", "--no-browser"])
    live: LiveChain = served["live"]
    assert live.sim.sim.config.consensus == "pbft"
    assert all(row.count("resting") == 0 for row in _roles_by_height(live, 3000).values())


def test_scenario_dashboard_runs_the_very_simulation_the_batch_run_checks(served: dict[str, Any]) -> None:
    scenario = find_scenario("rpbft_rotate_from_crash")
    _run(["scenario", "run", scenario.name, "--dashboard", "--no-browser"])
    live: LiveChain = served["live"]
    assert live.sim.sim.config == scenario_simulation(scenario, scenario.suite).sim.config
    assert live.sim.sim.config.consensus == "rpbft"
    resting = [c["role"] for c in served["status"]["nodes"]].count("resting")
    assert resting == scenario.nodes - scenario.epoch_sealers, served["status"]["nodes"]
    assert f"scenario {scenario.name}" in served["status"]["mode"] and "rPBFT" in served["status"]["mode"]


def test_unknown_consensus_is_refused() -> None:
    result = CliRunner().invoke(app, ["demo", "--consensus", "raft", "--no-browser"])
    assert result.exit_code == 2 and "unknown consensus" in result.output



def test_real_demo_builds_rpbft_and_its_cards_show_the_resting_node_processes(tmp_path: Path) -> None:
    """`chain demo --real --consensus rpbft`: genesis carries the rPBFT configs, and each node's own
    getConsensusStatus role ("resting") reaches its card; the resting set moves with the epochs."""
    from chain.ledger.system import FEATURE_RPBFT
    from chain.web.real import real_live_chain

    async def main() -> set[frozenset[int]]:
        real, live = real_live_chain(tmp_path / "chain", nodes=5, suite="standard", tx_rate=20, consensus="rpbft",
                                     epoch_sealers=3, epoch_blocks=3)
        assert real.built.genesis.system_config[FEATURE_RPBFT] == "1"
        real.start()
        seen: set[frozenset[int]] = set()
        try:
            deadline = asyncio.get_running_loop().time() + 60
            while len(seen) < 2 and asyncio.get_running_loop().time() < deadline:
                live.advance(200)  # the client load, sent to the node processes
                await real.poll()
                cards = live.status()["nodes"]
                heights = {c["height"] for c in cards}
                if all(c["state"] == "ok" for c in cards) and len(heights) == 1 and heights != {0}:
                    resting = frozenset(c["index"] for c in cards if c["role"] == "resting")
                    if len(resting) == 2:  # 5 sealers, 3 working: no node polled half-way into an epoch
                        seen.add(resting)
                await asyncio.sleep(0.2)
        finally:
            await real.close()
        return seen

    assert len(asyncio.run(main())) >= 2
