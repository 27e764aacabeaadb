"""Console commands that need the EVM: contracts from the shipped samples, and governance."""

from __future__ import annotations

import json

import pytest

from chain.cli.console import Console, default_contract_dirs, load_artifacts
from chain.crypto.keys import KeyPair
from chain.crypto.suite import get_suite
from chain.execution.executor import EVMExecutor
from chain.sdk.account import Account
from chain.sdk.client import SyncClient
from tests.rpc.localnode import AutoSealer, LocalNode

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def node():
    return LocalNode("sm", executor=EVMExecutor(get_suite("sm"), chain_id=7), seed=5)


@pytest.fixture(scope="module")
def sealing(node):
    sealer = AutoSealer(node)
    yield
    sealer.stop()


@pytest.fixture(scope="module")
def admin_console(served, node, sealing):
    with SyncClient(served.url, node.suite) as client:
        yield Console(client, Account(node.admin), load_artifacts(default_contract_dirs("sm")))


def test_samples_for_the_suite_are_loaded():
    assert {"Asset", "HelloWorld", "KVStore"} <= set(load_artifacts(default_contract_dirs("sm")))


def test_deploy_call_sendtx_and_receipt(admin_console):
    console = admin_console
    output = console.execute("deploy HelloWorld")
    assert output.startswith("contract address: 0x"), output
    address = output.split()[-1]
    assert console.execute("call HelloWorld latest get") == '"Hello, World!"'
    sent = console.execute('sendtx HelloWorld latest set "hi there"')
    assert "transaction hash: 0x" in sent and 'event NameChanged(by=0x' in sent and 'name="hi there"' in sent
    assert console.execute(f"call HelloWorld {address} get") == '"hi there"'
    failed = console.execute('sendtx HelloWorld latest set ""')
    assert failed.startswith("error:") and "REVERT_INSTRUCTION: name must not be empty" in failed
    tx_hash = sent.splitlines()[0].split()[-1]
    shown = console.execute(f"getTransactionReceipt {tx_hash}")
    assert json.loads(shown[: shown.index("\nevent")])["status"] == "0x0" and "event NameChanged(" in shown


def test_asset_issue_and_balance(admin_console, node):
    console = admin_console
    assert console.execute("deploy Asset").startswith("contract address")
    holder = "0x" + "ab" * 20
    assert "event Transfer(" in console.execute(f"sendtx Asset latest issue {holder} 42")
    assert console.execute(f"call Asset latest balanceOf {holder}") == "42"
    assert console.execute("sendtx Asset latest transfer 0x" + "cd" * 20 + " 1").endswith("insufficient balance")


def test_governance_commands(admin_console, node):
    console = admin_console
    assert console.execute("setSystemConfigByKey tx_count_limit 500").startswith("success")
    node.seal()  # the new value is in force from the next block
    assert console.execute("getSystemConfigByKey tx_count_limit") == "500"
    newcomer = KeyPair("sm", 5555).public_key.hex()
    assert console.execute(f"addObserver {newcomer}").startswith("success")
    node.seal()
    assert newcomer in console.execute("getObserverList").splitlines()
    assert console.execute(f"removeNode {newcomer}").startswith("success")
    node.seal()
    assert newcomer not in console.execute("getObserverList")
    bad = console.execute("addSealer 1234")
    assert bad.startswith("failed:") and "128 hex digits" in bad


def test_governance_needs_an_admin(served, node, sealing):
    with SyncClient(served.url, node.suite) as client:
        stranger = Console(client, Account(KeyPair("sm", 6666)), {})
        output = stranger.execute("setSystemConfigByKey tx_count_limit 7")
        assert output.startswith("failed:"), output
