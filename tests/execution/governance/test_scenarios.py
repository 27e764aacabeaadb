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
