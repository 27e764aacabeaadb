"""The `tamper` scenario action and the `tamper_detected` observation (chain.scenarios)."""

from __future__ import annotations

import pytest

from chain.errors import ScenarioError
from chain.scenarios.observations import RunRecord, Sample, check_tamper_detected
from chain.scenarios.runner import run_scenario
from chain.scenarios.spec import library, parse_scenario

HEAD = """
name = "t"
nodes = 4
suite = "standard"
duration_ms = 6000
expect = ["tamper_detected"]
"""


def scenario_with(event: str) -> str:
    return HEAD + "\n[[event]]\nat_ms = 3000\naction = \"tamper\"\n" + event


@pytest.mark.parametrize("event, message", [
    ('node = 0\nblock = 0\nwhat = "tx"\n', "block must be 1 or more"),
    ('node = 0\nwhat = "tx"\n', "missing 'block'"),
    ('node = 0\nblock = 2\nwhat = "rewrite"\n', "what must be one of tx, tx-resigned, tx-and-root, signature"),
    ('node = 0\nblock = 2\n', "missing 'what'"),
    ('node = 9\nblock = 2\nwhat = "tx"\n', "node must be"),
])
def test_bad_tamper_events_are_refused(event: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(scenario_with(event))


def test_a_block_the_node_lacks_cannot_be_tampered_with() -> None:
    scenario = parse_scenario(scenario_with('node = 0\nblock = 40\nwhat = "tx"\n'))
    with pytest.raises(ScenarioError, match="node 0 has no block 40 yet"):
        run_scenario(scenario)


@pytest.mark.timeout(60)
def test_the_library_scenario_is_detected_twice() -> None:
    result = run_scenario(library()["tamper"])
    assert result.ok, "\n".join(result.narration)
    assert any("node 3 refuses node 0's blocks over sync: sync: re-executing block 2" in line for line in result.narration)
    record = result.records[0]
    assert record.tampered == ((0, 2),)
    assert any("node 0 block 2:" in v for v in record.violations)


@pytest.mark.timeout(60)
def test_a_tamper_nobody_syncs_is_not_called_detected() -> None:
    """Without a node syncing from the tampered one, only the checker sees it: not enough."""
    result = run_scenario(parse_scenario(scenario_with('node = 0\nblock = 2\nwhat = "signature"\n')))
    verdict = result.verdicts[0]
    assert not verdict.held and "no node refused node 0's blocks over sync" in verdict.detail
    assert "did not flag" not in verdict.detail  # the checker did flag it


def record(**fields: object) -> RunRecord:
    found = RunRecord(suite="standard", **fields)  # type: ignore[arg-type]
    found.samples.append(Sample(0, ()))
    return found


def test_detection_needs_both_the_refusal_and_the_checker() -> None:
    refusal = ((4553, 3, 0, "sync: re-executing block 2 gives a different result than the one signed"),)
    flagged = ["validity: node 0 block 2: transactions root does not match its transactions"]
    assert check_tamper_detected(record(tampered=((0, 2),), sync_refusals=refusal, violations=flagged)).held
    assert not check_tamper_detected(record(tampered=((0, 2),), sync_refusals=refusal, violations=[])).held
    assert not check_tamper_detected(record(tampered=((0, 2),), sync_refusals=(), violations=flagged)).held
    other = ((4553, 3, 1, "sync: …"),)  # a refusal of another node's blocks does not count
    assert not check_tamper_detected(record(tampered=((0, 2),), sync_refusals=other, violations=flagged)).held
    assert not check_tamper_detected(record(sync_refusals=refusal, violations=flagged)).held


@pytest.mark.timeout(60)
def test_the_dashboard_judges_the_tamper_scenario_like_the_terminal() -> None:
    from chain.scenarios import world
    from chain.web.scenario_view import ScenarioWatch

    scenario = library()["tamper"]
    sim = world.make_simulation(nodes=scenario.nodes, suite=scenario.suite, seed=scenario.seed, tx_rate=scenario.tx_rate)
    watch = ScenarioWatch(scenario, sim)
    watch.advance_to(scenario.duration_ms)
    verdicts = {v["name"]: v for v in watch.verdicts()}
    assert verdicts["tamper_detected"]["ok"] is True, verdicts
    assert "node 3 refused node 0's block" in verdicts["tamper_detected"]["detail"]
