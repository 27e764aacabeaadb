"""The auth scenarios' file format and observations (the runs themselves: tests/scenarios/test_library_runs.py)."""

from __future__ import annotations

import pytest

from chain.errors import ScenarioError
from chain.scenarios.observations import RunRecord, check_account_frozen, check_proposal_expired, check_proposal_passed
from chain.scenarios.spec import library, parse_scenario

HEAD = 'name = "x"\nnodes = 4\nduration_ms = 3000\nexpect = ["no_fork"]\n'


def test_the_auth_scenarios_are_in_the_library() -> None:
    scenarios = library()
    assert scenarios["committee_adds_sealer"].governors == (2, 1, 1)
    assert {"proposal_expires", "frozen_account"} <= set(scenarios)


@pytest.mark.parametrize("text, message", [
    ('[[event]]\nat_ms = 1\naction = "freeze_account"\ngovernor = 0\n', "governor 0"),  # no committee
    ('governors = [1, 0]\n', "positive weights"),
    ('governors = [1]\nwin_rate = 101\n', "rates"),
    ('governors = [1]\n[[event]]\nat_ms = 1\naction = "vote"\ngovernor = 0\nproposal = 0\nagree = true\n', "proposal"),
    ('governors = [1]\n[[event]]\nat_ms = 1\naction = "vote"\ngovernor = 0\nproposal = 1\nagree = "yes"\n', "agree"),
    ('governors = [1]\n[[event]]\nat_ms = 1\naction = "propose_sealer"\ngovernor = 0\nnode = 4\nblocks = 0\n', "blocks"),
])
def test_bad_auth_scenarios_are_refused(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(HEAD + text)


def record(**governance: object) -> RunRecord:
    return RunRecord(suite="standard", governance=dict(governance))


def test_the_governance_observations_can_fail() -> None:
    assert check_proposal_passed(record(proposals=[2])).held
    assert not check_proposal_passed(record(proposals=[1])).held
    assert not check_proposal_passed(record()).held
    assert check_proposal_expired(record(proposals=[5, 2])).held
    assert not check_proposal_expired(record(proposals=[2])).held
    assert check_account_frozen(record(client_status=1, frozen_at=4, client_txs_after_freeze=0)).held
    assert not check_account_frozen(record(client_status=1, frozen_at=4, client_txs_after_freeze=1)).held
    assert not check_account_frozen(record(client_status=0, frozen_at=None, client_txs_after_freeze=0)).held


@pytest.mark.timeout(120)
def test_the_dashboard_shows_the_committee_s_proposals() -> None:
    from chain.web.simulated import simulated_live_chain

    scenario = library()["committee_adds_sealer"]
    live = simulated_live_chain(nodes=scenario.nodes, suite=scenario.suite, seed=scenario.seed,
                                tx_rate=scenario.tx_rate, scenario=scenario)
    live.advance(2700)  # the proposal (1.5 s) is committed: open, the proposer's yes only
    [opened] = live.status()["proposals"]
    assert (opened["status"], opened["open"], opened["agree"], opened["against"]) == (
        "notEnoughVotes", True, ["governor 0"], [])
    live.advance(1500)  # governor 1's no (3 s) passes it
    [passed] = live.status()["proposals"]
    assert (passed["type"], passed["status"], passed["agree"], passed["against"]) == (
        "setNodeWeight", "finished", ["governor 0"], ["governor 1"])
    assert "proposals" not in simulated_live_chain(nodes=4, suite="standard", seed=1).status()


@pytest.mark.timeout(120)
def test_the_dashboard_judges_the_committee_scenario_like_the_terminal() -> None:
    """The live page fills its record with the same function as `chain scenario run`: the proposal's
    status reaches the page's verdict (it once read an empty list there and showed FAIL)."""
    from chain.scenarios import world
    from chain.web.scenario_view import ScenarioWatch

    scenario = library()["committee_adds_sealer"]
    sim = world.make_simulation(nodes=scenario.nodes, suite=scenario.suite, seed=scenario.seed,
                                tx_rate=scenario.tx_rate, spare_nodes=world.spare_nodes(scenario),
                                governors=scenario.governors, participates_rate=scenario.participates_rate,
                                win_rate=scenario.win_rate)
    watch = ScenarioWatch(scenario, sim)
    watch.advance_to(scenario.duration_ms)
    verdicts = {v["name"]: v for v in watch.verdicts()}
    assert verdicts["proposal_passed"]["ok"] is True, verdicts
