"""Each Byzantine behaviour within f is survived; f + 1 colluders make the checker fail."""

from __future__ import annotations

import pytest

from chain.sim import SimConfig, Simulation
from chain.sim.byzantine import BEHAVIOURS, make_behaviour
from chain.errors import ScenarioError


@pytest.mark.timeout(60)
@pytest.mark.parametrize("behaviour", sorted(BEHAVIOURS))
def test_one_byzantine_of_four_neither_forks_nor_stalls(behaviour: str) -> None:
    sim = Simulation(SimConfig(nodes=4, seed=31, byzantine={1: behaviour}))  # node 1 leads block 1
    assert sim.run_blocks(5, 90_000) == 5
    report = sim.check()
    assert report.ok, report.violations
    assert report.honest == (0, 2, 3)
    assert not any("internal error" in reason for reason in sim.rejections)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("behaviour,reason", [
    ("double_vote", "two proposals"), ("forge", "signature"),
    ("invalid_block", "proposal"), ("lie_view_change", "prepared proof"),
])
def test_honest_nodes_name_the_lie(behaviour: str, reason: str) -> None:
    sim = Simulation(SimConfig(nodes=4, seed=32, byzantine={1: behaviour}))
    sim.run_blocks(6, 90_000)
    if behaviour == "lie_view_change":
        sim.crash(2)  # force view changes so the liar gets to send its ViewChange
        sim.run_blocks(5, 90_000)
    assert any(reason in text for text in sim.rejections), sorted(sim.rejections)


@pytest.mark.timeout(60)
def test_f_plus_one_colluding_equivocators_break_agreement_and_the_checker_says_so() -> None:
    sim = Simulation(SimConfig(nodes=4, seed=33, byzantine={1: "equivocate", 2: "equivocate"}))
    sim.run_until(8000)
    report = sim.check()
    assert not report.agreement and not report.ok
    assert any(v.startswith("agreement: height 1") for v in report.violations)


def test_unknown_behaviour_is_refused() -> None:
    with pytest.raises(ScenarioError):
        make_behaviour("polite")
