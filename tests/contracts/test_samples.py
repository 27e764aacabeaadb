"""The sample contracts, from their committed artifacts, in both suites."""

from __future__ import annotations

import pytest

from chain.abi.codec import ContractABI, decode_revert_reason, encode_call, event_topic, selector
from chain.contracts import SAMPLES, load_artifact
from chain.crypto.hashing import keccak256, sm3
from chain.crypto.keys import KeyPair
from chain.crypto.suite import get_suite
from chain.execution.local import LocalChain
from chain.execution.precompiled import KV_TABLE_ADDRESS
from chain.ledger.status import Status

pytestmark = pytest.mark.timeout(60)


def deploy(chain: LocalChain, key: KeyPair, name: str, *args: object) -> tuple[ContractABI, bytes]:
    artifact = load_artifact(name, chain.suite.name)
    receipt = chain.deploy(key, artifact, *args)
    assert receipt.status == Status.SUCCESS, decode_revert_reason(chain.suite, receipt.output)
    assert len(receipt.contract_address) == 20
    assert chain.state.get("evm_code", receipt.contract_address) == artifact.runtime
    return ContractABI(chain.suite, artifact.abi), receipt.contract_address


def query(chain: LocalChain, abi: ContractABI, address: bytes, name: str, *args: object) -> tuple[object, ...]:
    status, output = chain.call(address, abi.encode_call(name, *args))
    assert status == Status.SUCCESS
    return abi.decode_output(name, output)


def test_artifacts_use_the_suite_hash_for_selectors_and_topics(suite_name: str) -> None:
    hash_fn = keccak256 if suite_name == "standard" else sm3
    other = sm3 if suite_name == "standard" else keccak256
    for name in SAMPLES:
        runtime = load_artifact(name, suite_name).runtime
        abi = ContractABI(get_suite(suite_name), load_artifact(name, suite_name).abi)
        for function in {f.signature for f in abi.functions.values()}:
            assert hash_fn(function.encode())[:4] in runtime, (name, function)
            assert other(function.encode())[:4] not in runtime, (name, function)
        for event in abi.events.values():
            assert hash_fn(event.signature.encode()) in runtime, (name, event.signature)


def test_hello_world(chain: LocalChain, admin: KeyPair, user: KeyPair) -> None:
    abi, address = deploy(chain, admin, "HelloWorld")
    assert query(chain, abi, address, "get") == ("Hello, World!",)

    receipt = chain.send(user, address, abi.encode_call("set", "Hello, chain"))
    assert receipt.status == Status.SUCCESS
    assert query(chain, abi, address, "get") == ("Hello, chain",)
    [event] = abi.decode_logs(receipt.logs)
    assert event.name == "NameChanged" and event.address == address
    assert event.args["name"] == "Hello, chain"
    assert bytes.fromhex(event.args["by"][2:]) == user.address
    assert receipt.logs[0].topics[0] == event_topic(chain.suite, "NameChanged(address,string)")

    refused = chain.send(user, address, abi.encode_call("set", ""))
    assert refused.status == Status.REVERT_INSTRUCTION
    assert decode_revert_reason(chain.suite, refused.output) == "name must not be empty"
    assert refused.logs == ()
    assert query(chain, abi, address, "get") == ("Hello, chain",)


def test_asset(chain: LocalChain, admin: KeyPair, user: KeyPair) -> None:
    abi, address = deploy(chain, admin, "Asset")
    assert chain.send(admin, address, abi.encode_call("issue", user.address, 100)).ok
    not_issuer = chain.send(user, address, abi.encode_call("issue", user.address, 5))
    assert decode_revert_reason(chain.suite, not_issuer.output) == "only the issuer can issue"

    receipt = chain.send(user, address, abi.encode_call("transfer", admin.address, 30))
    assert receipt.status == Status.SUCCESS
    [event] = abi.decode_logs(receipt.logs)
    assert event.name == "Transfer"
    assert event.args["amount"] == 30
    assert bytes.fromhex(event.args["from"][2:]) == user.address
    assert bytes.fromhex(event.args["to"][2:]) == admin.address
    assert receipt.logs[0].topics[0] == event_topic(chain.suite, "Transfer(address,address,uint256)")

    root = chain.head.header.state_root
    too_much = chain.send(user, address, abi.encode_call("transfer", admin.address, 71))
    assert too_much.status == Status.REVERT_INSTRUCTION
    assert decode_revert_reason(chain.suite, too_much.output) == "insufficient balance"
    assert chain.head.header.state_root == root  # a failed transaction changes no state
    assert query(chain, abi, address, "balanceOf", user.address) == (70,)
    assert query(chain, abi, address, "balanceOf", admin.address) == (30,)


def test_kv_store_uses_the_kv_table_system_contract(chain: LocalChain, admin: KeyPair, user: KeyPair) -> None:
    abi, address = deploy(chain, admin, "KVStore", "t_sample")
    receipt = chain.send(user, address, abi.encode_call("set", "alice", "engineer"))
    assert receipt.status == Status.SUCCESS
    [event] = abi.decode_logs(receipt.logs)
    assert (event.name, event.args["key"], event.args["value"]) == ("Stored", "alice", "engineer")
    assert query(chain, abi, address, "get", "alice") == (True, "engineer")
    assert query(chain, abi, address, "get", "bob") == (False, "")
    # the same row, read straight from the system contract, without the sample's ABI
    status, output = chain.call(KV_TABLE_ADDRESS, encode_call(chain.suite, "get(string,string)", "t_sample", "alice"))
    assert status == Status.SUCCESS
    assert output.startswith(b"\x00" * 31 + b"\x01")
    assert chain.state.get("u_t_sample", b"alice") == b"engineer"


def test_second_kv_store_with_the_same_table_fails_in_its_constructor(chain: LocalChain, admin: KeyPair) -> None:
    deploy(chain, admin, "KVStore", "t_once")
    receipt = chain.deploy(admin, load_artifact("KVStore", chain.suite.name), "t_once")
    assert receipt.status == Status.REVERT_INSTRUCTION
    assert "already exists" in (decode_revert_reason(chain.suite, receipt.output) or "")


def test_selectors_differ_between_suites() -> None:
    assert selector(get_suite("standard"), "get()") == keccak256(b"get()")[:4]
    assert selector(get_suite("sm"), "get()") == sm3(b"get()")[:4]
    assert selector(get_suite("sm"), "Error(string)").hex() == "c703cb12"
