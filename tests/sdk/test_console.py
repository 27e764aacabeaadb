"""The console's dispatcher, without a terminal: each command's output and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chain.cli.console import COMMANDS, Console, load_artifacts, make_completer, parse_value, UsageError
from chain.crypto.keys import KeyPair
from chain.execution.kv import encode_kv
from chain.sdk.account import Account
from chain.sdk.client import SyncClient
from tests.rpc.localnode import AutoSealer, LocalNode

pytestmark = pytest.mark.timeout(60)

STORE_ABI = [
    {"type": "constructor", "inputs": [{"name": "initial", "type": "uint256"}]},
    {"type": "function", "name": "get", "stateMutability": "view", "inputs": [], "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "set", "stateMutability": "nonpayable", "inputs": [{"name": "v", "type": "uint256"}], "outputs": []},
]


@pytest.fixture(scope="module")
def node():
    return LocalNode("sm", seed=3)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("contracts")
    (directory / "Store.abi").write_text(json.dumps(STORE_ABI))
    (directory / "Store.bin").write_text("6080604052")
    (directory / "Broken.abi").write_text("not json")
    (directory / "Broken.bin").write_text("00")
    (directory / "Other.json").write_text(json.dumps({"abi": STORE_ABI, "bytecode": "0x6001"}))
    return directory


@pytest.fixture
def console(served, node, artifacts):
    with SyncClient(served.url, node.suite) as client:
        yield Console(client, Account(KeyPair("sm", 91)), load_artifacts([artifacts]))


def test_library_loads_abi_bin_pairs_and_json_and_skips_broken(artifacts):
    library = load_artifacts([artifacts, Path("/nonexistent")])
    assert sorted(library) == ["Other", "Store"]
    assert library["Store"].bytecode == bytes.fromhex("6080604052") and library["Other"].bytecode == b"\x60\x01"


def test_chain_queries(console, node):
    sealer = AutoSealer(node)
    try:
        receipt = console.client.send_and_wait(console.account, b"\x00" * 20, encode_kv(b"k", b"v"), timeout=10)
    finally:
        sealer.stop()
    assert console.execute("getBlockNumber") == str(node.store.head_number())
    block = json.loads(console.execute(f"getBlockByNumber {receipt.block_number}"))
    assert block["number"] == hex(receipt.block_number) and isinstance(block["transactions"][0], dict)
    assert json.loads(console.execute(f"getBlockByNumber {receipt.block_number} false"))["transactions"][0].startswith("0x")
    shown = console.execute(f"getTransactionReceipt 0x{receipt.transaction_hash.hex()}")
    assert json.loads(shown)["status"] == "0x0"
    assert console.execute(f"getTransactionReceipt 0x{'ab' * 32}").startswith("no receipt yet")
    assert console.execute("getSealerList").splitlines() == sorted(k.public_key.hex() for k in node.sealer_keys)
    assert console.execute("getObserverList") == node.observer_key.public_key.hex()
    assert console.execute("getPbftView") == "3"
    assert console.execute("getSystemConfigByKey tx_count_limit") == "1000"


@pytest.mark.parametrize("line, fragment", [
    ("getBlockNumber 5", "expected 0 argument(s)"),
    ("getBlockByNumber", "expected 1 to 2"),
    ("getBlockByNumber ten", "block number must be a number"),
    ("getBlockByNumber 999", "BlockNumber does not exist"),
    ("getBlockByNumber 1 maybe", "true or false"),
    ("getTransactionReceipt 0x12", "32 bytes"),
    ("getSystemConfigByKey nope", "Invalid System Config"),
    ("getBlokNumber", "did you mean getBlockNumber"),
    ("frobnicate", "unknown command"),
    ('deploy "unterminated', "quote arguments"),
    ("deploy", "name the contract"),
    ("deploy Nope", "unknown contract 'Nope' (known: Other, Store)"),
    ("deploy Store", "constructor takes 1 argument(s) (uint256), got 0"),
    ("deploy Store abc", "uint256 argument must be a number"),
    ("call Store latest get", "no Store deployed in this session"),
    ("call Store 0x1234 get", "not a contract address"),
    ("call Store 0x" + "11" * 20 + " nothing", "has no function 'nothing' (it has: get, set)"),
    ("sendtx Store 0x" + "11" * 20 + " set", "takes 1 argument(s)"),
    ("addSealer", "expected 1 to 2"),
    ("addSealer abcd x", "weight must be a number"),
    ("help nothing", "no command"),
])
def test_bad_input_gets_a_helpful_message(console, line, fragment):
    output = console.execute(line)
    assert output.startswith("error"), output
    assert fragment in output


def test_usage_is_shown_with_usage_errors(console):
    assert console.execute("getBlockByNumber").endswith("usage: getBlockByNumber <number> [true|false]")


def test_transactions_need_a_key(served, node, artifacts):
    with SyncClient(served.url, node.suite) as client:
        read_only = Console(client, None, load_artifacts([artifacts]))
        assert "--key" in read_only.execute("deploy Store 1")
        assert "--key" in read_only.execute("setSystemConfigByKey tx_count_limit 5")


def test_help_and_quit(console):
    listing = console.execute("help")
    for name in ("deploy", "call", "sendtx", "getBlockNumber", "getBlockByNumber", "getTransactionReceipt",
                 "getSealerList", "getObserverList", "getPbftView", "getSystemConfigByKey",
                 "setSystemConfigByKey", "addSealer", "addObserver", "removeNode", "help", "quit"):
        assert name in listing and name in COMMANDS
    assert console.execute("help call").startswith("call <Contract> <address|latest> <function>")
    assert console.execute("") == ""
    assert not console.finished
    assert console.execute("quit") == "bye" and console.finished


def test_completion_of_commands_contracts_and_functions(console):
    from prompt_toolkit.document import Document

    completer = make_completer(console)

    def complete(text: str) -> list[str]:
        return [c.text for c in completer.get_completions(Document(text), None)]

    assert complete("getB") == ["getBlockByNumber", "getBlockNumber"]
    assert complete("deploy S") == ["Store"]
    assert complete("call ") == ["Other", "Store"]
    assert complete("call Store ") == ["latest"]
    assert complete("sendtx Store latest s") == ["set"]


def test_argument_parsing():
    assert parse_value("uint256", "0x10") == 16 and parse_value("int8", "-3") == -3
    assert parse_value("bool", "TRUE") is True
    assert parse_value("address", "0x" + "ab" * 20) == "0x" + "ab" * 20
    assert parse_value("bytes32", "ff" * 32) == b"\xff" * 32
    assert parse_value("string", "hello world") == "hello world"
    assert parse_value("uint256[]", "[1, \"0x2\"]") == [1, 2]
    with pytest.raises(UsageError):
        parse_value("uint256[]", "1,2")


def test_chain_dir_gives_node0_rpc_and_admin_key(tmp_path):
    from chain.cli.console import from_chain_dir
    from chain.errors import ChainError

    (tmp_path / "sdk").mkdir()
    (tmp_path / "sdk" / "nodes.toml").write_text('[[nodes]]\nname = "node0"\nrpc = "http://127.0.0.1:8545"\n')
    assert from_chain_dir(tmp_path) == ("http://127.0.0.1:8545", None)
    (tmp_path / "sdk" / "admin.key").write_text("x")
    assert from_chain_dir(tmp_path) == ("http://127.0.0.1:8545", tmp_path / "sdk" / "admin.key")
    with pytest.raises(ChainError, match="not a chain built"):
        from_chain_dir(tmp_path / "nowhere")


def test_script_mode_runs_lines_until_quit(console, capsys):
    from chain.cli.console import run_script

    run_script(console, ["getPbftView\n", "nonsense\n", "quit\n", "getBlockNumber\n"])
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "3" and printed[1].startswith("error: unknown command") and printed[2] == "bye"
    assert len(printed) == 3  # nothing after quit
