"""The scenario file format: the shipped library parses, and mistakes are named, never ignored."""

from __future__ import annotations

import pytest

from chain.errors import ScenarioError
from chain.scenarios.spec import LEADER, OBSERVATIONS, find_scenario, library, load_scenario, parse_scenario

BASE = """
name = "t"
nodes = 4
duration_ms = 5000
expect = ["progress"]
"""


def test_library_has_every_required_family() -> None:
    names = set(library())
    required = {"normal", "leader_crash", "equivocating_leader", "partition_heal", "f_crashed",
                "f_plus_one_crashed", "byzantine_majority", "add_sealer", "suites_side_by_side"}
    assert required <= names


def test_library_scenarios_are_well_formed() -> None:
    for scenario in library().values():
        assert scenario.expect and all(o in OBSERVATIONS for _, o in scenario.expectations())
        assert scenario.watch, f"{scenario.name} tells the student nothing to watch"
        assert all(0 <= e.at_ms <= scenario.duration_ms for e in scenario.events)


def test_events_are_sorted_and_leader_is_symbolic() -> None:
    s = parse_scenario(BASE + """
[[event]]
at_ms = 3000
action = "heal"
[[event]]
at_ms = 1000
action = "crash"
node = "leader"
""")
    assert [e.action for e in s.events] == ["crash", "heal"]
    assert s.events[0].node == LEADER
    assert s.suite == "sm"


@pytest.mark.parametrize("extra, message", [
    ('[[event]]\nat_ms = 1\naction = "explode"\n', "unknown action"),
    ('[[event]]\nat_ms = 1\naction = "crash"\nnode = 9\n', "node must be"),
    ('[[event]]\nat_ms = 1\naction = "crash"\nnode = true\n', "not a boolean"),
    ('[[event]]\nat_ms = 99999\naction = "heal"\n', "outside"),
    ('[[event]]\nat_ms = 1\naction = "byzantine"\nnode = 1\nbehavior = "x"\n', "unexpected key"),
    ('[[event]]\nat_ms = 1\naction = "partition"\ngroups = [[0, 1], [1, 2]]\n', "disjoint"),
    ('[[event]]\nat_ms = 1\naction = "partition"\ngroups = [[0, 1], 2]\n', "list of lists"),
    ('[[event]]\nat_ms = 1\naction = "burst"\ncount = 0\n', "positive"),
    ('colour = "red"\n', "unknown key"),
])
def test_bad_scenarios_are_refused_with_the_reason(extra: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(BASE + extra)


@pytest.mark.parametrize("text, message", [
    ('name = "t"\nnodes = 4\nduration_ms = 10\nexpect = ["flying"]\n', "expect must list"),
    ('name = "t"\nnodes = 4\nduration_ms = 10\nexpect = []\n', "expect must list"),
    ('name = "t"\nnodes = 0\nduration_ms = 10\nexpect = ["progress"]\n', "nodes must be"),
    ('name = "t"\nnodes = 4\nsuite = "rsa"\nduration_ms = 10\nexpect = ["progress"]\n', "suite"),
    ('name = "t"\nnodes = 4\nduration_ms = 10\nexpect = ["suites_agree"]\n', "suites_agree needs"),
    ('name = "t"\nnodes = "four"\nduration_ms = 10\nexpect = ["progress"]\n', "must be int"),
    ('name = "t"\nnodes = 4\nexpect = ["progress"]\n', "missing 'duration_ms'"),
    ('name = = "t"', "not valid TOML"),
])
def test_bad_top_level_is_refused(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(text)


def test_find_by_name_and_by_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert find_scenario("leader_crash").name == "leader_crash"
    path = tmp_path / "mine.toml"
    path.write_text(BASE)
    assert find_scenario(str(path)).name == "t"
    with pytest.raises(ScenarioError, match="no scenario named"):
        find_scenario("nope")
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "absent.toml")
