"""`chain sim` prints its summary and exits non-zero exactly when an invariant broke."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chain.cli.main import app


@pytest.mark.timeout(60)
def test_sim_command_summary_and_trace(tmp_path: Path) -> None:
    trace = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["sim", "--nodes", "4", "--byzantine", "1", "--behaviour", "silent",
                                      "--blocks", "3", "--seed", "2", "--trace", str(trace)])
    assert result.exit_code == 0, result.output
    assert "agreement" in result.output and "holds" in result.output and "PREPARE" in result.output
    lines = trace.read_text().splitlines()
    assert lines and all(json.loads(line)["ev"] for line in lines)


@pytest.mark.timeout(60)
def test_sim_command_fails_on_a_fork() -> None:
    result = CliRunner().invoke(app, ["sim", "--nodes", "4", "--byzantine", "2", "--behaviour", "equivocate",
                                      "--blocks", "3", "--max-time-ms", "8000", "--seed", "33"])
    assert result.exit_code == 1, result.output
    assert "BROKEN" in result.output


def test_sim_command_refuses_unknown_behaviour() -> None:
    result = CliRunner().invoke(app, ["sim", "--byzantine", "1", "--behaviour", "polite"])
    assert result.exit_code == 2
