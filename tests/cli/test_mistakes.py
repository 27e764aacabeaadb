"""A new student's common mistakes: each must end in one clear `error:` line and a non-zero exit,
never a Python traceback (which reads as a bug in chain, not in the command line)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Iterator

import pytest
from typer.testing import CliRunner

from chain.cli.console import Console, load_artifacts
from chain.cli.main import app
from chain.crypto.keys import KeyPair
from chain.sdk.account import Account
from chain.sdk.client import SyncClient
from tests.rpc.localnode import LocalNode, serve

runner = CliRunner()

STORE_ABI = [
    {"type": "function", "name": "get", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint256"}]},
]


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def one_error_line(output: str, fragment: str) -> None:
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and fragment in errors[0], output


@pytest.mark.timeout(30)
@pytest.mark.parametrize("args, fragment", [
    (["sim", "--nodes", "0"], "--nodes must be at least 1"),
    (["sim", "--nodes", "4", "--byzantine", "5"], "--byzantine must be between 0 and 3"),
    (["sim", "--byzantine", "1", "--behaviour", "nosuch", "--blocks", "1"], "unknown behaviour 'nosuch'"),
])
def test_sim_usage_errors_are_one_line(args: list[str], fragment: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    one_error_line(result.output, fragment)


@pytest.mark.timeout(30)
def test_build_with_unknown_executor_leaves_no_half_built_directory(tmp_path: Path) -> None:
    target = tmp_path / "mychain"
    result = runner.invoke(app, ["build", "-n", "1", "--executor", "nosuch", "-o", str(target)])
    assert result.exit_code == 1
    one_error_line(result.output, "--executor must be one of evm, kv")
    assert not target.exists()  # so the corrected command does not then hit "already holds files"


@pytest.mark.timeout(30)
def test_demo_on_a_taken_port_says_so(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["demo", "--port", str(port), "--no-browser", "--seconds", "1"])
    assert result.exit_code == 2
    one_error_line(result.output, f"cannot serve the dashboard on 127.0.0.1:{port}")


@pytest.mark.timeout(30)
def test_console_without_a_node_suggests_checking_one_runs() -> None:
    result = runner.invoke(app, ["console", "--rpc", f"http://127.0.0.1:{closed_port()}"], input="")
    assert result.exit_code == 1
    one_error_line(result.output, "is a node running there?")


@pytest.mark.timeout(30)
def test_console_names_a_key_file_that_is_not_pem(tmp_path: Path) -> None:
    key = tmp_path / "Hello.sol"
    key.write_text("contract Hello {}")
    result = runner.invoke(app, ["console", "--rpc", f"http://127.0.0.1:{closed_port()}", "--key", str(key)], input="")
    assert result.exit_code == 1
    one_error_line(result.output, f"key file {key}: not a PEM file")


@pytest.fixture(scope="module")
def node() -> LocalNode:
    return LocalNode("sm", seed=5)


@pytest.fixture(scope="module")
def shell(node: LocalNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    directory = tmp_path_factory.mktemp("contracts")
    (directory / "Store.abi").write_text(json.dumps(STORE_ABI))
    (directory / "Store.bin").write_text("6080604052")
    for served in serve(node):
        with SyncClient(served.url, node.suite) as client:
            yield Console(client, Account(KeyPair("sm", 92)), load_artifacts([directory]))


@pytest.mark.timeout(30)
@pytest.mark.parametrize("verb", ["call", "sendtx"])
def test_console_refuses_an_address_without_a_contract(shell: Console, verb: str) -> None:
    # the EVM would treat it as a successful call that does nothing, which misleads a student
    address = "0x" + "ab" * 20
    output = shell.execute(f"{verb} Store {address} get")
    assert output.startswith(f"error: no contract at {address}"), output


@pytest.mark.timeout(30)
def test_console_refuses_a_negative_block_number(shell: Console) -> None:
    output = shell.execute("getBlockByNumber -1")
    assert output.startswith("error: block number must be 0 or more, got -1"), output
