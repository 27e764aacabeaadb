"""The classroom views on the simulator: the height being decided, node cards that tell the truth,
steps that explain themselves, twin digests, node numbers, and the real-mode store reader."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from chain.crypto.suite import get_suite
from chain.errors import DashboardError
from chain.ledger.store import Store
from chain.web import diagram
from chain.web.explain import explain
from chain.web.hub import Hub
from chain.web.live import LiveChain
from chain.web.real import StoreReader
from chain.web.server import make_app
from chain.web.simulated import simulated_live_chain
from tests.ledger.builders import extend
from tests.web.fake import ScriptedChain

pytestmark = pytest.mark.timeout(60)


def _running(seed: int = 1, ticks: int = 30) -> LiveChain:
    live = simulated_live_chain(nodes=4, suite="standard", seed=seed, tx_rate=20)
    for _ in range(ticks):
        live.advance(100)
    return live


def _leader_stall(live: LiveChain) -> int:
    """Crash the leader of the height being decided; run until the others ask for a view change."""
    leader = next(n["index"] for n in live.status()["nodes"] if n["role"] == "leader")
    live.crash(leader)
    for _ in range(100):
        if any((n["to_view"] or 0) > (n["view"] or 0) for n in live.status()["nodes"]):
            break
        live.advance(100)
    return leader


def test_the_diagram_follows_the_height_being_decided_through_a_view_change() -> None:
    live = _running()
    leader = _leader_stall(live)
    nodes = live.status()["nodes"]
    height = live.now_height(nodes)
    assert height == live.heights.top_at(len(live.trace)) + 1  # the stalled height, not the last committed one
    shown = live.now_diagram(nodes)
    assert shown is not None and shown["number"] == height
    kinds = {a["kind"] for a in shown["arrows"]}
    assert "ViewChange" in kinds and any(m["ev"] == "view_change" for m in shown["marks"])
    assert {a["state"] for a in shown["arrows"] if a["kind"] == "ViewChange"} == {"in-flight"}  # just sent
    # cards: one leader — the crashed one, named on every live card; views with their target
    assert [n["index"] for n in nodes if n["role"] == "leader"] == [leader]
    alive = [n for n in nodes if n["state"] != "crashed"]
    assert all(n["leader"] == leader and n["leader_crashed"] for n in alive)
    asking = [n for n in alive if n["to_view"] > n["view"]]
    assert asking and all(n["counts"]["ViewChange"][0] >= 1 and n["counts"]["ViewChange"][1] == 3 for n in asking)
    assert all(n["timer_deadline"] is not None and n["timer_deadline"] > live.sim.now_ms for n in asking)
    # a moment later: every message to the crashed leader was lost on arrival, and is drawn as such
    live.advance(100)
    later = live.diagram(height)["arrows"]
    to_leader = [a for a in later if a["to"] == leader]
    assert to_leader and all(a["state"] == "dropped" and a["reason"] == "crashed" for a in to_leader)
    assert any(a["state"] == "delivered" for a in later)


def test_a_diagram_of_the_past_shows_that_moment_and_in_flight_messages() -> None:
    live = _running()
    live.set_paused(True)
    live.step("message")
    at = len(live.trace)
    number = live.last_step["number"]  # type: ignore[index]
    then = live.diagram(number, at)
    in_flight = [a for a in then["arrows"] if a["state"] == "in-flight"]
    assert in_flight, "right after one delivery, other messages of the height are still on their way"
    live.step("block")
    later = live.diagram(number, at)
    assert later == then  # the same moment gives the same picture, however the run went on
    for _ in range(5):
        live.step("block")
    now = {a["id"]: a for a in live.diagram(number)["arrows"]}
    assert all(now[a["id"]]["state"] != "in-flight" for a in in_flight)
    # votes arriving after the receiver decided the block are refused, with the receiver's reason
    assert any(a["state"] == "refused" and a["reason"].startswith("old height") for a in now.values())
    assert live.state_at(at)["top"] < live.heights.top_at(len(live.trace))
    with pytest.raises(DashboardError, match="no diagram"):
        live.diagram(number, len(live.trace) + 1)
    with pytest.raises(DashboardError, match="no diagram"):
        live.diagram(-1)


def test_step_to_the_next_phase_explains_a_prepare_quorum() -> None:
    live = _running()
    live.set_paused(True)
    for _ in range(20):
        live.step("phase")
        text = live.last_step["text"]  # type: ignore[index]
        if "needed Prepares" in text and "→ prepared" in text:
            break
    else:
        raise AssertionError(f"no prepared phase in 20 steps; last: {text}")
    assert re.fullmatch(r"node \d has 3 of 3 needed Prepares for v\d+ → prepared; it sends Commit\.", text), text
    node = live.last_step["node"]  # type: ignore[index]
    card = live.status()["nodes"][node]
    assert "prepared" in card["marks"] and card["counts"]["Prepare"] == [3, 3]
    delivered = live.trace[live.last_step["end"]]  # type: ignore[index]
    assert delivered["ev"] == "deliver" and delivered["type"] == "PREPARE" and delivered["to"] == node


@pytest.mark.parametrize("until, done", [
    ("message", lambda new: sum(e["ev"] == "deliver" and e["type"] in diagram.CONSENSUS_TYPES for e in new) == 1),
    ("block", lambda new: sum(e["ev"] == "commit" for e in new) >= 1),
])
def test_each_step_mode_stops_where_it_says(until: str, done) -> None:  # type: ignore[no-untyped-def]
    live = _running(seed=2)
    live.set_paused(True)
    before = len(live.trace)
    live.step(until)
    assert done(live.trace[before:]), live.trace[before:]


def test_a_bad_step_mode_is_refused() -> None:
    live = _running(ticks=1)
    with pytest.raises(DashboardError, match="until must be one of"):
        live.step("forever")


def test_explanations_of_refusals_losses_and_partial_quorums() -> None:
    prepare = {"ev": "deliver", "from": 1, "to": 2, "type": "PREPARE", "number": 7, "view": 0}
    before = {"view": 0, "counts": {"Prepare": [1, 3]}, "marks": ["pre-prepared"]}
    after = {"view": 0, "counts": {"Prepare": [2, 3]}, "marks": ["pre-prepared"]}
    assert explain(prepare, None, before, after, []) == "node 2 has 2 of 3 needed Prepares for v0 (1 more to go)."
    refused = explain(prepare, "old height 7: this node is at 8", before, before, [])
    assert refused.startswith("node 2 refuses Prepare v0 of block 7 from node 1: old height 7") and "late votes" in refused
    lost = explain({**prepare, "ev": "drop", "reason": "partition"}, None, before, before, [])
    assert lost == "node 2 never gets Prepare v0 of block 7 from node 1: it was lost (partition)."


def test_equivocation_sends_twin_digests() -> None:
    live = _running(ticks=5)
    live.byzantine(1, "equivocate")
    for _ in range(80):
        live.advance(100)
    digests: dict[tuple[int, int], set[str]] = {}
    for e in live.trace:
        if e.get("ev") == "send" and e.get("type") == "PRE_PREPARE" and e.get("from") == 1:
            digests.setdefault((e["number"], e["view"]), set()).add(e["digest"])
    number, view = next(k for k, v in digests.items() if len(v) == 2)
    arrows = live.diagram(number)["arrows"]
    assert {a["digest"] for a in arrows if a["kind"] == "PrePrepare" and a["from"] == 1 and a["view"] == view} == digests[(number, view)]
    # the votes show which proposal each node took
    assert {a["digest"] for a in arrows if a["kind"] == "Prepare" and a["view"] == view} <= digests[(number, view)]


def test_digests_are_only_traced_when_the_dashboard_asks() -> None:
    from chain.sim import SimConfig, Simulation

    sim = Simulation(SimConfig(nodes=4, seed=1))
    events: list[dict] = []
    sim.subscribe(events.append)
    sim.run_until(2000)
    assert not any("digest" in e for e in events)  # the canonical trace is unchanged
    live = _running(ticks=20)
    sends = [e for e in live.trace if e.get("ev") == "send" and e["type"] in ("PRE_PREPARE", "PREPARE", "COMMIT")]
    assert sends and all(re.fullmatch(r"[0-9a-f]{8}", e["digest"]) for e in sends)


def test_blocks_name_proposer_and_signers_by_node_number() -> None:
    live = _running()
    sim = live.sim.sim
    block = sim.nodes[0].store.block_by_number(2)
    summary = live.blocks(2, 3)[0]
    proposer_id = block.header.sealer_list[block.header.sealer]
    assert summary["sealer_node"] == next(n.index for n in sim.nodes if n.node_id == proposer_id)
    assert {s["node"] for s in summary["signatures"]} == {
        next(n.index for n in sim.nodes if n.node_id == block.header.sealer_list[i]) for i, _ in block.signatures}
    # the keys are sorted, so sealer-list positions are not node numbers in general
    positions = {n.index: sorted(x.node_id for x in sim.nodes).index(n.node_id) for n in sim.nodes}
    assert all(live.status()["nodes"][i]["sealer_position"] == p for i, p in positions.items())


def test_the_real_mode_reader_follows_a_store_another_connection_writes(tmp_path: Path) -> None:
    suite = get_suite("standard")
    path = tmp_path / "chain.db"
    writer = Store(path, suite)
    extend(writer)
    reader = StoreReader(path, "standard")
    assert [b["number"] for b in reader.blocks(0, 10)] == [0]
    extend(writer)
    extend(writer)
    assert [b["number"] for b in reader.blocks(1, 10)] == [1, 2]  # a reader kept open stayed at block 0
    assert reader.block(2) is not None
    writer.close()


def test_real_mode_refuses_what_it_cannot_do() -> None:
    async def main() -> None:
        live = LiveChain(ScriptedChain(), Hub(), behaviours=(), capabilities=())
        async with TestClient(TestServer(make_app(live))) as client:
            for path in ("/api/control/pause", "/api/control/play", "/api/control/step"):
                response = await client.post(path, json={})
                assert response.status == 400 and "simulator control" in (await response.json())["error"]
            response = await client.get("/api/diagram")
            assert response.status == 400
            assert (await (await client.get("/api/status")).json())["capabilities"] == []
        assert not live.paused
    asyncio.run(main())


def test_one_leader_card_when_a_cut_off_node_still_leads_its_old_view() -> None:
    live = _running()
    leader = next(n["index"] for n in live.status()["nodes"] if n["role"] == "leader")
    live.partition([[leader], [i for i in range(4) if i != leader]])
    for _ in range(80):
        live.advance(100)
    raw = live.sim.node_status()
    assert sum(r["role"] == "leader" for r in raw) == 2  # each side has a node that leads in its own view
    cards = live.status()["nodes"]
    majority = cards[(leader + 1) % 4]
    assert [c["index"] for c in cards if c["role"] == "leader"] == [majority["leader"]]
    assert cards[leader]["role"] == "sealer" and cards[leader]["height"] < majority["height"]


def test_a_scenario_on_the_dashboard_shows_its_text_judges_as_it_goes_and_stops_at_its_duration() -> None:
    from chain.scenarios.spec import find_scenario

    # the standard suite: the same story, several times faster to simulate than SM2
    scenario = dataclasses.replace(find_scenario("leader_crash"), suites=("standard",))
    live = simulated_live_chain(nodes=scenario.nodes, suite=scenario.suite, seed=scenario.seed,
                                tx_rate=scenario.tx_rate, scenario=scenario)
    shown = live.status()["scenario"]
    assert shown["summary"] and shown["watch"] and shown["title"] == scenario.title
    assert {x["name"]: x["ok"] for x in shown["expect"]}["view_change"] is None  # not yet: nothing happened
    for _ in range(scenario.duration_ms // 100 + 50):
        live.advance(100)
    assert live.sim.now_ms == scenario.duration_ms  # virtual time stopped at the scenario's end
    shown = live.status()["scenario"]
    assert shown["finished"] and [x["name"] for x in shown["expect"]] == list(scenario.expect)
    assert all(x["ok"] is True for x in shown["expect"]), shown["expect"]
    assert shown["applied"] and "crash node" in shown["applied"][0]


def test_textbook_mode_makes_latency_uniform_stops_the_load_and_files_the_request_under_its_height() -> None:
    live = _running(ticks=20)
    live.set_textbook(True)
    for _ in range(30):  # let the blocks already under way finish
        live.advance(100)
    start = len(live.trace)
    live.burst(1)
    for _ in range(30):
        live.advance(100)
    new = live.trace[start:]
    assert [e["ev"] for e in new if e["ev"] == "submit"] == ["submit"]  # only the one request: no background load
    sends = [e for e in new if e["ev"] == "send"]
    assert sends and {e["arrive"] - e["t"] for e in sends} == {20}
    number = next(e["number"] for e in new if e["ev"] == "commit")
    marks = live.diagram(number)["marks"]
    assert [m["ev"] for m in marks].count("submit") == 1
    with pytest.raises(DashboardError, match="true or false"):
        live.set_textbook("yes")
    live.set_textbook(False)
    assert live.sim.sim.network.default.max_ms > 20 and live.sim.sim.config.tx_rate > 0


def test_the_now_view_never_goes_blank_between_healthy_blocks() -> None:
    live = _running(ticks=10)
    blank = 0
    for _ in range(40):
        live.advance(100)
        shown = live.now_diagram(live.status()["nodes"])
        assert shown is not None
        # the next height has only the client's submissions until its leader seals: show the one just decided
        blank += not shown["arrows"]
    assert blank == 0


def test_play_clears_the_step_sentence() -> None:
    live = _running(ticks=10)
    live.set_paused(True)
    live.step("message")
    assert live.last_step is not None and live.last_step["text"]
    live.set_paused(False)
    assert live.last_step is None  # a sentence about a step, shown while the chain runs on, would be stale
