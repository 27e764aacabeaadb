"""`chain compile`: artifacts on disk for each suite, and a clear error for a bad source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chain.abi.codec import selector
from chain.cli.main import app
from chain.crypto.suite import get_suite
from chain.sdk.compiler import load

pytestmark = pytest.mark.timeout(120)

SOURCE = """
# pragma version ^0.4.0
greeting: public(String[32])

@external
def greet(name: String[32]):
    self.greeting = name
"""


def test_compile_writes_one_artifact_per_suite(tmp_path: Path) -> None:
    source = tmp_path / "Greeter.vy"
    source.write_text(SOURCE)
    result = CliRunner().invoke(app, ["compile", str(source), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    for suite_name in ("standard", "sm"):
        artifact = load(tmp_path / "out" / suite_name / "Greeter.json")
        assert artifact.suite == suite_name
        assert selector(get_suite(suite_name), "greet(string)") in artifact.runtime
        assert json.loads((tmp_path / "out" / suite_name / "Greeter.abi").read_text()) == list(artifact.abi)
        assert (tmp_path / "out" / suite_name / "Greeter.bin").read_text().strip() == artifact.bytecode.hex()


def test_compile_reports_errors_without_a_traceback(tmp_path: Path) -> None:
    source = tmp_path / "Bad.vy"
    source.write_text("@external\ndef f(:\n")
    result = CliRunner().invoke(app, ["compile", str(source), "--suite", "sm", "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert "error:" in result.output
    assert not list(tmp_path.glob("*.json"))
