"""The compiler: Vyper in-process for both suites, the SM3 rewrite and its refusals, solc-js if present."""

from __future__ import annotations

from pathlib import Path

import pytest

from chain.abi.codec import ContractABI, decode_revert_reason, encode_call
from chain.contracts import SOURCES, load_artifact
from chain.crypto.hashing import keccak256
from chain.crypto.keys import KeyPair
from chain.crypto.suite import get_suite
from chain.execution.local import LocalChain
from chain.ledger.status import Status
from chain.sdk import sm_rewrite
from chain.sdk.compiler import CompileError, compile_file, find_solcjs, rewrite_hashes

pytestmark = pytest.mark.timeout(120)

COUNTER = '''
# pragma version ^0.4.0
interface KVTable:
    def set(tableName: String[64], key: String[64], val: String[64]) -> int32: nonpayable

interface TableManager:
    def createKVTable(tableName: String[64], keyField: String[64], valueField: String[64]) -> int32: nonpayable

interface SneakyKV:  # KVTable.set declared view, so the call goes out as a STATICCALL
    def set(tableName: String[64], key: String[64], val: String[64]) -> int32: view

interface SystemConfig:
    def setValueByKey(key: String[64], val: String[64]) -> int32: nonpayable

counter: public(uint256)

event Bumped:
    by: indexed(address)
    value: uint256

@deploy
def __init__():
    extcall TableManager(0x0000000000000000000000000000000000001002).createKVTable("t_vy", "k", "v")

@external
def bump() -> uint256:
    self.counter += 1
    log Bumped(by=msg.sender, value=self.counter)
    return self.counter

@external
def store(key: String[64]):
    extcall KVTable(0x0000000000000000000000000000000000001009).set("t_vy", key, "x")

@external
def store_then_fail(key: String[64]):
    extcall KVTable(0x0000000000000000000000000000000000001009).set("t_vy", key, "x")
    assert False, "changed my mind"

@external
def sneak(key: String[64]):
    written: int32 = staticcall SneakyKV(0x0000000000000000000000000000000000001009).set("t_vy", key, "x")

@external
def govern():
    extcall SystemConfig(0x0000000000000000000000000000000000001000).setValueByKey("tx_count_limit", "7")
'''


@pytest.fixture(scope="module")
def counter_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("vy") / "Counter.vy"
    path.write_text(COUNTER)
    return path


def test_vyper_contract_in_both_suites(counter_source: Path, chain: LocalChain, admin: KeyPair, user: KeyPair) -> None:
    artifact = compile_file(counter_source, chain.suite)["Counter"]
    abi = ContractABI(chain.suite, artifact.abi)
    deployed = chain.deploy(user, artifact)
    assert deployed.status == Status.SUCCESS, decode_revert_reason(chain.suite, deployed.output)
    address = deployed.contract_address

    receipt = chain.send(user, address, abi.encode_call("bump"))
    assert receipt.status == Status.SUCCESS
    [event] = abi.decode_logs(receipt.logs)
    assert (event.name, event.args["value"]) == ("Bumped", 1)
    assert abi.decode_output("counter", chain.call(address, abi.encode_call("counter"))[1]) == (1,)

    assert chain.send(user, address, abi.encode_call("store", "kept")).status == Status.SUCCESS
    assert chain.state.get("u_t_vy", b"kept") == b"x"
    # a system contract write is undone with the contract call that made it
    failed = chain.send(user, address, abi.encode_call("store_then_fail", "dropped"))
    assert failed.status == Status.REVERT_INSTRUCTION
    assert decode_revert_reason(chain.suite, failed.output) == "changed my mind"
    assert chain.state.get("u_t_vy", b"dropped") is None

    # a write through a static call is refused, system contracts included
    sneaky = chain.send(user, address, abi.encode_call("sneak", "static"))
    assert sneaky.status == Status.REVERT_INSTRUCTION
    assert "static call" in (decode_revert_reason(chain.suite, sneaky.output) or "")
    assert chain.state.get("u_t_vy", b"static") is None

    # a contract is not an admin, even when an admin calls it (msg.sender, not tx.origin)
    governed = chain.send(admin, address, abi.encode_call("govern"))
    assert governed.status == Status.REVERT_INSTRUCTION
    assert "not a governance admin" in (decode_revert_reason(chain.suite, governed.output) or "")


def test_rewrite_swaps_exactly_the_selector_and_topic_constants() -> None:
    standard = load_artifact("HelloWorld", "standard")
    assert rewrite_hashes(standard.runtime, get_suite("standard"), standard.abi) == standard.runtime
    sel, topic = keccak256(b"get()")[:4], keccak256(b"NameChanged(address,string)")
    code = bytes([0x63]) + sel + bytes([0x7F]) + topic + bytes([0x61]) + sel[:2] + bytes([0x00])
    rewritten = rewrite_hashes(code, get_suite("sm"), standard.abi)
    sm = get_suite("sm")
    assert rewritten == bytes([0x63]) + sm.hash(b"get()")[:4] + bytes([0x7F]) + sm.hash(b"NameChanged(address,string)") \
        + bytes([0x61]) + sel[:2] + bytes([0x00])  # a PUSH2 that merely starts like a selector is left alone


def test_rewrite_refuses_an_order_comparison_outside_the_dispatcher() -> None:
    sel = keccak256(b"get()")[:4]
    code = bytes([0x80, 0x63]) + sel + bytes([0x11, 0x60, 0x00, 0x57])  # DUP1 PUSH4 sel GT PUSH1 0 JUMPI
    abi = [{"type": "function", "name": "get", "inputs": [], "outputs": []}]
    with pytest.raises(CompileError, match="compared by order"):
        rewrite_hashes(code, get_suite("sm"), abi)


def test_rewrite_replaces_a_selector_shifted_from_four_bytes() -> None:
    signature = "ERC721InvalidReceiver(address)"  # 0x64a0ae92 = 0x32505749 << 1
    sel = int.from_bytes(keccak256(signature.encode())[:4], "big")
    assert sel & 1 == 0
    code = bytes([0x63]) + (sel >> 1).to_bytes(4, "big") + bytes([0x60, 0xE1, 0x1B])  # PUSH4 x PUSH1 225 SHL
    abi = [{"type": "error", "name": "ERC721InvalidReceiver", "inputs": [{"type": "address", "name": "receiver"}]}]
    rewritten = rewrite_hashes(code, get_suite("sm"), abi)
    assert rewritten == bytes([0x63]) + get_suite("sm").hash(signature.encode())[:4] + bytes([0x60, 0xE0, 0x1B])


def test_rewrite_refuses_a_selector_shifted_from_fewer_bytes() -> None:
    sel = keccak256(b"Error(string)")[:4]  # 0x08c379a0 = 0x461bcd << 5: solc pushes 3 bytes
    code = bytes([0x62]) + (int.from_bytes(sel, "big") >> 5).to_bytes(3, "big") + bytes([0x60, 0xE5, 0x1B])
    with pytest.raises(CompileError, match="Error\\(string\\): its selector is built by a shift from 3 bytes"):
        rewrite_hashes(code, get_suite("sm"), [])


def test_rewrite_refuses_a_topic_pushed_in_31_bytes() -> None:
    signature = "Received(address,address,uint256,bytes)"  # its Keccak hash starts with 0x00
    topic = keccak256(signature.encode())
    assert topic[0] == 0
    abi = [{"type": "event", "name": "Received", "anonymous": False,
            "inputs": [{"type": t, "name": f"a{i}"} for i, t in enumerate(["address", "address", "uint256", "bytes"])]}]
    with pytest.raises(CompileError, match="event Received.*pushed in 31 bytes"):
        rewrite_hashes(bytes([0x7E]) + topic[1:], get_suite("sm"), abi)


def test_rewrite_refuses_a_selector_with_a_leading_zero_pushed_short() -> None:
    """A Keccak selector 0x00abcdef is pushed in 3 bytes; an SM3 selector needing 4 has no room there."""
    hashes = sm_rewrite.hash_map(get_suite("sm"), [])
    hashes.add_selector(bytes.fromhex("00abcdef"), bytes.fromhex("12345678"), "g()")  # made up: such names are rare
    code = bytes([0x62, 0xAB, 0xCD, 0xEF, 0x14])  # PUSH3 abcdef EQ
    with pytest.raises(sm_rewrite.RewriteError, match="g\\(\\): selector 0x00abcdef has a leading zero byte"):
        sm_rewrite.rewrite_constants(code, hashes)


def test_missing_file_and_bad_source_are_compile_errors(tmp_path: Path) -> None:
    with pytest.raises(CompileError):
        compile_file(tmp_path / "nothing.vy", get_suite("sm"))
    broken = tmp_path / "Broken.vy"
    broken.write_text("@external\ndef f() -> uint256:\n    return nope\n")
    with pytest.raises(CompileError):
        compile_file(broken, get_suite("standard"))
    with pytest.raises(CompileError):
        compile_file(tmp_path / "x.txt", get_suite("standard"))


def test_solidity_samples_recompile_to_the_committed_artifacts() -> None:
    try:
        find_solcjs(install=False)
    except CompileError as exc:
        pytest.skip(str(exc))
    for suite_name in ("standard", "sm"):
        artifact = compile_file(SOURCES / "Asset.sol", get_suite(suite_name))["Asset"]
        committed = load_artifact("Asset", suite_name)
        assert artifact.runtime[:-53] == committed.runtime[:-53]  # the CBOR metadata tail may differ
        assert encode_call(get_suite(suite_name), "balanceOf(address)", b"\x00" * 20)[:4] in artifact.runtime
