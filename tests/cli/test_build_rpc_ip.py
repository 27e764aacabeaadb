"""`chain build --rpc-ip`: JSON-RPC on loopback by default, and a warning when it is exposed."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from chain.cli.main import app
from chain.node.config import NodeConfig

runner = CliRunner()


def test_ip_alone_keeps_rpc_on_loopback_without_warning(tmp_path: Path) -> None:
    result = runner.invoke(app, ["build", "-n", "1", "-s", "standard", "--ip", "10.1.2.3", "-o", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    assert NodeConfig.load(tmp_path / "c" / "node0").rpc.listen_ip == "127.0.0.1"
    assert "rpc 127.0.0.1:" in result.output


def test_exposed_rpc_is_built_with_a_warning(tmp_path: Path) -> None:
    result = runner.invoke(app, ["build", "-n", "1", "-s", "standard", "--rpc-ip", "0.0.0.0", "-o", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert "warning: JSON-RPC listens on 0.0.0.0" in result.output and "no authentication" in result.output
    assert NodeConfig.load(tmp_path / "c" / "node0").rpc.listen_ip == "0.0.0.0"
