"""`chain sim --groups`: several groups on one network, each summarised and judged on its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chain.cli.main import app


@pytest.mark.timeout(60)
def test_two_groups_summary_and_a_trace_that_names_the_group(tmp_path: Path) -> None:
    trace = tmp_path / "groups.jsonl"
    result = CliRunner().invoke(app, ["sim", "--groups", "2", "--blocks", "3", "--seed", "2", "--trace", str(trace)])
    assert result.exit_code == 0, result.output
    assert "group0 (2.x group id 1): sealers on hosts 0, 1, 2, 3" in result.output
    assert "group1 (2.x group id 2): sealers on hosts 2, 3, 4, 5" in result.output
    assert result.output.count("holds") == 2 and "6 hosts, 2 groups" in result.output
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    assert {r["group"] for r in records} == {"group0", "group1"}


@pytest.mark.timeout(60)
def test_named_groups_get_their_2x_ids() -> None:
    result = CliRunner().invoke(app, ["sim", "--groups", "group0,group3", "--blocks", "2"])
    assert result.exit_code == 0, result.output
    assert "group3 (2.x group id 4)" in result.output


@pytest.mark.parametrize("args, message", [
    (["--groups", "groupX"], "a group name is group<K>"),
    (["--groups", "group1,group1"], "listed twice"),
    (["--groups", "0"], "1 to 16 groups"),
    (["--groups", "2", "--observers", "1"], "no observers"),
    (["--groups", "2", "--byzantine", "6"], "between 0 and 5"),
])
def test_bad_group_options_are_refused(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["sim", *args])
    assert result.exit_code == 2 and message in result.output, result.output
