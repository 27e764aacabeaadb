"""Every shipped scenario runs on the real simulator and its expected observation holds."""

from __future__ import annotations

import pytest

from chain.scenarios.runner import run_scenario
from chain.scenarios.spec import library, parse_scenario

SCENARIOS = library()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_holds(name: str) -> None:
    result = run_scenario(SCENARIOS[name])
    failed = [f"{v.observation}: {v.detail}" for v in result.verdicts if not v.held]
    assert result.ok, "\n".join(result.narration) + "\nFAILED: " + "; ".join(failed)
    assert any("end —" in line for line in result.narration)


@pytest.mark.timeout(60)
def test_a_wrong_expectation_is_reported_as_failed() -> None:
    """The checks can fail: a healthy chain does not 'stall', nor break safety."""
    scenario = parse_scenario("""
name = "wrong"
nodes = 4
duration_ms = 4000
expect = ["stall", "safety_violation", "view_change"]
""")
    result = run_scenario(scenario)
    assert not result.ok
    assert [v.held for v in result.verdicts] == [False, False, False]
    assert any("[FAILED] stall" in line for line in result.narration)


@pytest.mark.timeout(60)
def test_same_scenario_same_narration() -> None:
    """Deterministic: the same file gives the same run (wall time aside)."""
    scenario = SCENARIOS["leader_crash"]
    first, second = run_scenario(scenario), run_scenario(scenario)
    strip = lambda lines: [l.split(" trace events")[0] for l in lines]  # noqa: E731
    assert strip(first.narration) == strip(second.narration)


@pytest.mark.timeout(60)
def test_cli_exit_code_follows_the_verdict(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from chain.cli.main import app
    runner = CliRunner()
    listed = runner.invoke(app, ["scenario", "list"])
    assert listed.exit_code == 0 and "leader_crash" in listed.output
    ok = runner.invoke(app, ["scenario", "run", "f_plus_one_crashed"])
    assert ok.exit_code == 0 and "[held] stall" in ok.output
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nnodes = 4\nduration_ms = 3000\nexpect = ["stall"]\n')
    failed = runner.invoke(app, ["scenario", "run", str(bad)])
    assert failed.exit_code == 1 and "[FAILED] stall" in failed.output
    assert runner.invoke(app, ["scenario", "run", "no_such"]).exit_code == 2
