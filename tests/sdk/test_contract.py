"""The Contract wrapper against the EVM executor: deploy, calls, transactions, events, revert reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chain.execution.executor import EVMExecutor
from chain.crypto.keys import KeyPair
from chain.crypto.suite import get_suite
from chain.ledger.status import Status
from chain.sdk.account import Account
from chain.sdk.client import SyncClient
from chain.sdk.contract import SyncContract
from chain.sdk.errors import ContractError
from tests.rpc.localnode import AutoSealer, LocalNode, serve

pytestmark = pytest.mark.timeout(90)
ARTIFACTS = Path(__file__).resolve().parents[2] / "chain" / "contracts" / "artifacts"


def artifact(suite: str, name: str) -> dict:
    return json.loads((ARTIFACTS / suite / f"{name}.json").read_text())


@pytest.fixture(scope="module", params=["sm", "standard"])
def chain(request):
    node = LocalNode(request.param, executor=EVMExecutor(get_suite(request.param), chain_id=7), seed=4)
    served = serve(node)
    server = next(served)
    sealer = AutoSealer(node)
    client = SyncClient(server.url, node.suite)
    yield node, client
    client.close()
    sealer.stop()
    next(served, None)


def test_asset_round_trip_with_events_and_reverts(chain):
    node, client = chain
    suite = node.suite.name
    issuer, holder = Account(KeyPair(suite, 501)), Account(KeyPair(suite, 502))
    data = artifact(suite, "Asset")
    asset = SyncContract.deploy(client, issuer, data["abi"], bytes.fromhex(data["bytecode"]), timeout=20)
    assert len(client.code(asset.address)) > 0
    assert asset.issuer() == "0x" + issuer.address.hex()  # a public getter: a view call

    issued = asset.issue("0x" + holder.address.hex(), 100)
    assert issued.receipt.ok and [e.name for e in issued.events] == ["Transfer"]
    event = issued.events[0]
    assert event.args["to"] == "0x" + holder.address.hex() and event.args["amount"] == 100
    assert event.address == asset.address

    moved = asset.transact("transfer", "0x" + issuer.address.hex(), 30, account=holder)
    assert moved.events[0].args == {"from": "0x" + holder.address.hex(), "to": "0x" + issuer.address.hex(), "amount": 30}
    assert asset.balanceOf("0x" + holder.address.hex()) == 70
    assert asset.call("balanceOf", "0x" + issuer.address.hex()) == 30
    assert asset.events(moved.receipt) == list(moved.events)

    with pytest.raises(ContractError) as caught:  # a failed transaction: status and decoded reason
        asset.transact("transfer", "0x" + issuer.address.hex(), 1000, account=holder)
    assert caught.value.status == Status.REVERT_INSTRUCTION and caught.value.reason == "insufficient balance"
    with pytest.raises(ContractError) as caught:  # only the issuer may issue
        asset.transact("issue", "0x" + holder.address.hex(), 1, account=holder)
    assert caught.value.reason == "only the issuer can issue"


def test_hello_world_strings_and_reverted_calls(chain):
    node, client = chain
    suite = node.suite.name
    account = Account(KeyPair(suite, 503))
    data = artifact(suite, "HelloWorld")
    hello = SyncContract.deploy(client, account, data["abi"], bytes.fromhex(data["bytecode"]), timeout=20)
    assert hello.get() == "Hello, World!"
    changed = hello.set("classroom")
    assert changed.events[0].name == "NameChanged" and changed.events[0].args["name"] == "classroom"
    assert hello.get() == "classroom"
    with pytest.raises(ContractError, match="name must not be empty") as caught:
        hello.set("")
    assert caught.value.reason == "name must not be empty"
    with pytest.raises(AttributeError):
        hello.no_such_function()


def test_a_read_only_contract_cannot_send(chain):
    node, client = chain
    data = artifact(node.suite.name, "HelloWorld")
    deployed = SyncContract.deploy(client, Account(KeyPair(node.suite.name, 504)), data["abi"],
                                   bytes.fromhex(data["bytecode"]), timeout=20)
    viewer = SyncContract.at(client, data["abi"], deployed.address)  # no account
    assert viewer.get() == "Hello, World!"
    with pytest.raises(ContractError, match="needs an account"):
        viewer.set("x")


def test_deploy_failure_is_reported(chain):
    node, client = chain
    with pytest.raises(ContractError, match="deploy failed"):
        SyncContract.deploy(client, Account(KeyPair(node.suite.name, 505)), [], b"\xfe", timeout=20)  # INVALID opcode
