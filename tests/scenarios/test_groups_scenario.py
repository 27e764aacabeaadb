"""A scenario with several groups (chain.scenarios.spec [[group]]): events name hosts, and each
expectation is judged on the group it names — or on every group."""

from __future__ import annotations

import pytest

from chain.errors import ScenarioError
from chain.scenarios.runner import run_scenario
from chain.scenarios.spec import library, parse_scenario

HEAD = """
name = "two"
nodes = 6
duration_ms = 9000
seed = 1
[[group]]
name = "group0"
sealers = [0, 1, 2, 3]
[[group]]
name = "group1"
sealers = [2, 3, 4, 5]
"""
CRASH_4_5 = """
[[event]]
at_ms = 2000
action = "crash"
node = 4
[[event]]
at_ms = 2000
action = "crash"
node = 5
"""


def test_the_library_scenario_has_two_overlapping_groups() -> None:
    scenario = library()["groups"]
    assert [g.sealers for g in scenario.groups] == [(0, 1, 2, 3), (2, 3, 4, 5)]
    assert scenario.expectations()[:3] == [("group0", "progress"), ("group0", "no_view_change"), ("group1", "stall")]


@pytest.mark.timeout(60)
def test_each_expectation_is_judged_on_the_group_it_names() -> None:
    scenario = parse_scenario('expect = ["group1:progress", "group0:stall", "progress", "group0:progress", '
                              '"group1:stall", "no_fork"]\n' + HEAD + CRASH_4_5)
    result = run_scenario(scenario)
    held = {v.observation: v.held for v in result.verdicts}
    # group1 lost two of four sealers; group0 had neither host: unprefixed "progress" needs both
    assert held == {"group1:progress": False, "group0:stall": False, "progress": False, "group0:progress": True,
                    "group1:stall": True, "no_fork": True}
    assert any("-- group1: its nodes 0..3 run on hosts 2, 3, 4, 5" in line for line in result.narration)
    assert any("crash host 4 (group1)" in line for line in result.narration)


@pytest.mark.timeout(60)
def test_a_crashed_shared_host_stops_its_node_in_both_groups() -> None:
    scenario = parse_scenario('expect = ["progress", "no_fork"]\n' + HEAD + """
[[event]]
at_ms = 2000
action = "crash"
node = 2
""")
    result = run_scenario(scenario)
    assert result.ok  # f = 1 in each group
    for record in result.records:
        crashed = [i for i, n in enumerate(record.final.nodes) if n["state"] == "crashed"]
        assert crashed == ([2] if record.group == "group0" else [0])  # host 2 is node 2 of group0, node 0 of group1


@pytest.mark.parametrize("top, tables, message", [
    ('expect = ["group2:progress"]', "", "names no group"),
    ('expect = ["suites_agree"]', "", "observation of one chain"),
    ('expect = ["progress"]', '[[event]]\nat_ms = 1\naction = "crash"\nnode = "leader"', "events name hosts"),
    ('expect = ["progress"]', '[[event]]\nat_ms = 1\naction = "add_sealer"\nnode = 3', "events name hosts"),
    ('expect = ["progress"]', '[[event]]\nat_ms = 1\naction = "crash"\nnode = 6', "index 0..5"),
    ('expect = ["progress"]\nsuites = ["sm", "standard"]', "", "one suite"),
    ('expect = ["progress"]', '[[group]]\nname = "group2"\nsealers = [5, 6]', "hosts are 0..5"),
    ('expect = ["progress"]', '[[group]]\nname = "group1"\nsealers = [0]', "listed twice"),
    ('expect = ["progress"]', '[[group]]\nname = "g2"\nsealers = [0]', "group name"),
    ('expect = ["progress"]', '[[group]]\nname = "group2"\nsealers = [0]\nweight = 1', "unexpected key"),
    ('expect = ["progress"]', '[[group]]\nname = "group2"\nsealers = ["0"]', "host indexes"),
])
def test_bad_groups_scenarios_are_refused(top: str, tables: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(top + "\n" + HEAD + "\n" + tables + "\n")


def test_a_group_prefix_needs_a_scenario_with_groups() -> None:
    with pytest.raises(ScenarioError, match="names no group"):
        parse_scenario('name = "x"\nnodes = 4\nduration_ms = 1000\nexpect = ["group0:progress"]\n')


def test_real_processes_take_the_groups_scenario_and_refuse_what_a_built_chain_cannot_be() -> None:
    """tests/scenarios/test_real_campaign.py runs it; a built chain's first group is group0, and only
    group0 has observers (chain.node.builder)."""
    from chain.scenarios.real import check_runnable

    check_runnable(library()["groups"])
    with pytest.raises(ScenarioError, match="first group is group0"):
        check_runnable(parse_scenario('expect = ["no_fork"]\n' + HEAD.replace('"group0"', '"group2"')))
    with pytest.raises(ScenarioError, match="only group0 has observers"):
        check_runnable(parse_scenario('expect = ["no_fork"]\n' + HEAD + "observers = [0]\n"))


def test_the_list_counts_hosts_and_groups() -> None:
    from typer.testing import CliRunner

    from chain.cli.main import app

    listed = CliRunner().invoke(app, ["scenario", "list"])
    assert listed.exit_code == 0 and "6 hosts, 2 groups" in listed.output
