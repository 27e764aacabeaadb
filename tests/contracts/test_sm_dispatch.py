"""The sm rewrite of optimised solc output: the rebuilt dispatcher, its refusals, the verifier, libraries.

The real cases use solc's own output for OpenZeppelin's ERC721 (shared, cached, with
test_openzeppelin); they skip only where node/npm are missing. The refusals are checked on that code
with one thing broken each, or on a few bytes written by hand.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chain.abi.codec import ContractABI
from chain.cli.main import app
from chain.crypto.hashing import keccak256
from chain.crypto.keys import KeyPair
from chain.crypto.suite import get_suite
from chain.execution.local import LocalChain
from chain.ledger.status import Status
from chain.sdk.compiler import (
    Artifact, CompileError, _collect_imports, _run_solc, compile_file, compile_vyper, load, save,
)
from tests.contracts.conftest import TOKENS
from chain.sdk.evm_code import decode, push
from chain.sdk.sm_dispatch import Dispatcher, DispatchError, Entry, Leaf, Split, find_dispatcher, rebuild
from chain.sdk.sm_verify import VerifyError, verify

pytestmark = pytest.mark.timeout(300)

SM = get_suite("sm")


def sm_selector(signature: str) -> int:
    return int.from_bytes(SM.hash(signature.encode())[:4], "big")


@pytest.fixture(scope="module")
def card(openzeppelin: dict[str, dict[str, Artifact]]) -> dict[str, Any]:
    """solc's sm-settings output for Card (the Keccak build the rewrite starts from) and the sm artifact."""
    sources = {TOKENS.name: TOKENS.read_text()}
    _collect_imports(TOKENS.name, TOKENS, sources[TOKENS.name], sources)
    sm = openzeppelin["sm"]["Card"]
    for constant_optimizer in (True, False):  # the build the sm artifact came from (cache hits): same length
        contract = _run_solc(sources, constant_optimizer=constant_optimizer)["contracts"][TOKENS.name]["Card"]
        runtime = bytes.fromhex(contract["evm"]["deployedBytecode"]["object"])
        if len(runtime) == len(sm.runtime):
            break
    methods = {sig: int(k, 16) for sig, k in contract["evm"]["methodIdentifiers"].items()}
    return {"runtime": runtime, "methods": methods, "abi": contract["abi"], "sm": sm}


def rebuilt(runtime: bytes, table: dict[int, int]) -> tuple[bytes, tuple[int, int]]:
    d = find_dispatcher(runtime)
    assert d is not None
    code = bytearray(runtime)
    code[d.start: d.end] = rebuild(d, table)
    return bytes(code), (d.start, d.end)


def test_rebuilt_dispatcher_is_a_sorted_tree_of_the_sm3_selectors(card: dict[str, Any]) -> None:
    before = find_dispatcher(card["runtime"])
    assert before is not None and isinstance(before.root, Split)  # 14 functions: a binary search
    dest = {entry.selector: entry.dest for entry in before.entries}
    assert set(dest) == set(card["methods"].values())
    code, region = rebuilt(card["runtime"], {k: sm_selector(sig) for sig, k in card["methods"].items()})
    assert len(code) == len(card["runtime"]) and code[region[1]:] == card["runtime"][region[1]:]
    after = find_dispatcher(code)  # parses again: still a sorted tree (the order is checked)
    assert after is not None and isinstance(after.root, Split) and (after.start, after.end) == region
    assert {e.selector: e.dest for e in after.entries} == {sm_selector(sig): dest[k] for sig, k in card["methods"].items()}


def test_verifier_accepts_the_sm_build(card: dict[str, Any]) -> None:
    artifact: Artifact = card["sm"]
    d = find_dispatcher(card["runtime"])
    verify(artifact.runtime, artifact.bytecode, artifact.abi, SM, card["runtime"], (d.start, d.end))


def test_verifier_refuses_a_function_entered_at_the_wrong_place(card: dict[str, Any]) -> None:
    table = {k: sm_selector(sig) for sig, k in card["methods"].items()}
    a, b = card["methods"]["name()"], card["methods"]["symbol()"]
    table[a], table[b] = table[b], table[a]  # name() now dispatches to symbol() and back
    code, region = rebuilt(card["runtime"], table)
    with pytest.raises(VerifyError, match="enters the code at"):
        verify(code, b"", card["abi"], SM, card["runtime"], region)


def test_verifier_refuses_a_dispatcher_that_still_answers_a_keccak_selector(card: dict[str, Any]) -> None:
    d = find_dispatcher(card["runtime"])
    name = card["methods"]["name()"]
    table = {k: sm_selector(sig) for sig, k in card["methods"].items()}
    table[0xFFFFFFF0] = name  # one more entry: name()'s Keccak selector, to name()'s entry as well
    dest = next(e.dest for e in d.entries if e.selector == name)
    both = Dispatcher(d.start, d.end, Leaf((*d.entries, Entry(0xFFFFFFF0, dest)), None), d.not_found, d.tag_width)
    code = bytearray(card["runtime"])
    code[d.start: d.end] = rebuild(both, table)
    with pytest.raises(VerifyError, match="name\\(\\): the dispatcher still answers its Keccak selector"):
        verify(bytes(code), b"", card["abi"], SM, card["runtime"], (d.start, d.end))


def test_verifier_refuses_a_function_whose_sm3_selector_is_missing(card: dict[str, Any]) -> None:
    artifact: Artifact = card["sm"]
    selector = SM.hash(b"tokenURI(uint256)")[:4]
    with pytest.raises(VerifyError, match="tokenURI\\(uint256\\): its SM3 selector .* is nowhere"):
        verify(artifact.runtime.replace(selector, b"\x01\x02\x03\x04"), b"", artifact.abi, SM)


def test_verifier_refuses_a_keccak_dispatcher(card: dict[str, Any]) -> None:
    d = find_dispatcher(card["runtime"])
    with pytest.raises(VerifyError, match="SM3 selector"):
        verify(card["runtime"], b"", card["abi"], SM, card["runtime"], (d.start, d.end))


def test_verifier_refuses_a_keccak_topic_left(card: dict[str, Any]) -> None:
    artifact: Artifact = card["sm"]
    signature = "Transfer(address,address,uint256)"
    assert SM.hash(signature.encode()) in artifact.runtime
    runtime = artifact.runtime.replace(SM.hash(signature.encode()), keccak256(signature.encode()))
    with pytest.raises(VerifyError, match="event Transfer"):
        verify(runtime, b"", artifact.abi, SM)


def test_verifier_refuses_a_keccak_error_selector_left(card: dict[str, Any]) -> None:
    artifact: Artifact = card["sm"]
    signature = "ERC721NonexistentToken(uint256)"
    new, old = SM.hash(signature.encode())[:4], keccak256(signature.encode())[:4]
    assert new in artifact.runtime
    with pytest.raises(VerifyError, match="ERC721NonexistentToken"):
        verify(artifact.runtime.replace(new, old), b"", artifact.abi, SM)


def test_save_refuses_an_sm_artifact_that_fails(card: dict[str, Any], tmp_path: Path) -> None:
    artifact = replace(card["sm"], runtime=card["runtime"])  # the Keccak code labelled sm
    with pytest.raises(CompileError, match="sm suite"):
        save(artifact, tmp_path)
    assert not list(tmp_path.iterdir())
    save(card["sm"], tmp_path)
    assert load(tmp_path / "Card.json") == card["sm"]


def test_a_split_block_other_code_jumps_to_is_refused(card: dict[str, Any]) -> None:
    d = find_dispatcher(card["runtime"])
    target = next(i.pc for i in decode(card["runtime"]) if d.start <= i.pc < d.end and i.op == 0x5B)  # a split's block
    outside = next(i for i in decode(card["runtime"]) if i.pc > d.end + 20 and len(i.data) == 2)
    code = bytearray(card["runtime"])
    code[outside.pc + 1: outside.pc + 3] = target.to_bytes(2, "big")
    with pytest.raises(DispatchError, match="refers to the dispatcher block"):
        find_dispatcher(bytes(code))


def test_leaves_that_end_differently_are_refused(card: dict[str, Any]) -> None:
    d = find_dispatcher(card["runtime"])
    assert d.not_found == bytes([0x5F, 0x5F, 0xFD])
    at = card["runtime"].index(d.not_found, d.start)
    code = bytearray(card["runtime"])
    code[at + 2] = 0xF3  # this leaf RETURNs where the others REVERT
    with pytest.raises(DispatchError, match="ends with"):
        find_dispatcher(bytes(code))


def test_a_dispatcher_out_of_order_is_refused(card: dict[str, Any]) -> None:
    d = find_dispatcher(card["runtime"])
    assert isinstance(d.root, Split)
    pivot = d.root.pivot.to_bytes(4, "big")
    at = card["runtime"].index(bytes([0x63]) + pivot, d.start)
    code = bytearray(card["runtime"])
    code[at + 1: at + 5] = b"\xff\xff\xff\xff"  # every selector now "below" the root pivot, yet some sit above
    with pytest.raises(DispatchError, match="outside its dispatcher branch|out of order"):
        find_dispatcher(bytes(code))


def test_a_comparison_with_no_function_of_the_abi_is_refused(card: dict[str, Any]) -> None:
    d = find_dispatcher(card["runtime"])
    table = {k: sm_selector(sig) for sig, k in card["methods"].items() if sig != "name()"}
    with pytest.raises(DispatchError, match=f"0x{card['methods']['name()']:08x}, no function"):
        rebuild(d, table)


# --- written by hand ------------------------------------------------------------------------------------

def tiny(selector: int) -> bytes:
    """solc's one-function dispatcher: load, compare, fall into `JUMPDEST PUSH0 PUSH0 REVERT`, entry."""
    head = bytes([0x5F, 0x35, 0x60, 0xE0, 0x1C, 0x80]) + push(selector) + bytes([0x14])
    entry = len(head) + 3 + 5
    return head + push(entry, 1) + bytes([0x57, 0x5B, 0x5F, 0x5F, 0xFD, 0x5B, 0x00])


def test_a_dispatcher_that_does_not_fit_is_refused() -> None:
    code = tiny(0x00ABCDEF)  # a Keccak selector with a leading zero byte: pushed in 3 bytes
    d = find_dispatcher(code)
    assert d is not None and [e.selector for e in d.entries] == [0x00ABCDEF]
    assert rebuild(d, {0x00ABCDEF: 0x00123456})  # another short one fits
    with pytest.raises(DispatchError, match="needs 10 bytes where solc's took 9"):
        rebuild(d, {0x00ABCDEF: 0x12345678})


LOAD = bytes([0x5F, 0x35, 0x60, 0xE0, 0x1C])


def compare(op: int, value: int, target: int) -> bytes:
    return bytes([0x80]) + push(value, 4) + bytes([op]) + push(target, 1) + bytes([0x57])


def split_dispatcher(gap: bytes) -> bytes:
    """load; split at 0x80000000 to `low`; high leaf ending in REVERT; gap; low: leaf; not found; entry at 60."""
    leaf = compare(0x14, 0x90000000, 60) + bytes([0x5F, 0x5F, 0xFD])
    low_at = len(LOAD) + len(compare(0x11, 0, 0)) + len(leaf) + len(gap)
    code = LOAD + compare(0x11, 0x80000000, low_at) + leaf + gap + bytes([0x5B]) + compare(0x14, 0x10000000, 60) \
        + bytes([0x5B, 0x5F, 0x5F, 0xFD])
    return code + bytes(60 - len(code)) + bytes([0x5B, 0x00])


def test_a_dispatcher_in_pieces_is_refused() -> None:
    with pytest.raises(DispatchError, match="not one contiguous block"):
        find_dispatcher(split_dispatcher(gap=bytes([0x00])))  # a STOP between the halves: whose is it?
    d = find_dispatcher(split_dispatcher(gap=b""))
    assert d is not None and isinstance(d.root, Split) and len(d.entries) == 2


def test_a_split_after_comparisons_is_refused() -> None:
    code = LOAD + compare(0x14, 0x10000000, 40) + compare(0x11, 0x80000000, 30) + bytes([0x5F, 0x5F, 0xFD])
    code = code + bytes(30 - len(code)) + bytes([0x5B, 0x5F, 0x5F, 0xFD]) + bytes(40 - len(code) - 4) + bytes([0x5B, 0x00])
    with pytest.raises(DispatchError, match="follows comparisons"):
        find_dispatcher(code)


def test_two_functions_sharing_an_sm3_selector_are_refused() -> None:
    code = bytes([0x5F, 0x35, 0x60, 0xE0, 0x1C]) + (bytes([0x80]) + push(0x11111111) + bytes([0x14]) + push(30, 1)
                                                    + bytes([0x57])) + bytes([0x80]) + push(0x22222222) \
        + bytes([0x14]) + push(30, 1) + bytes([0x57, 0x5B, 0x5F, 0x5F, 0xFD])
    d = find_dispatcher(code + bytes(30 - len(code)) + bytes([0x5B, 0x00]))
    with pytest.raises(DispatchError, match="share the selector"):
        rebuild(d, {0x11111111: 0x33333333, 0x22222222: 0x33333333})


# --- the issue's first contract, from the command line -------------------------------------------------

FIVE = """
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract Five {
    uint256 public count;
    string public label = "five";
    mapping(address => uint256) public credit;
    event Counted(address indexed by, uint256 count);
    error TooMany(uint256 count, uint256 limit);
    function up() external { if (count >= 3) revert TooMany(count, 3); count += 1; emit Counted(msg.sender, count); }
    function down() external { require(count > 0, "nothing to count down"); count -= 1; }
    function give(address to, uint256 amount) external { credit[to] += amount; }
    function rename(string calldata text) external { label = text; }
}
"""


def test_the_issues_contract_compiles_for_sm_and_runs_like_standard(tmp_path: Path) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Solidity needs node and npm (solc-js)")
    (tmp_path / "Five.sol").write_text(FIVE)
    result = CliRunner().invoke(app, ["compile", str(tmp_path / "Five.sol"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    outcomes = {}
    for suite_name in ("standard", "sm"):
        artifact = load(tmp_path / "out" / suite_name / "Five.json")
        key = KeyPair(suite_name, 0xF1E)
        chain = LocalChain(suite_name)
        abi = ContractABI(chain.suite, artifact.abi)
        address = chain.deploy(key, artifact).contract_address
        steps = []
        for name, *args in (("up",), ("up",), ("give", key.address, 7), ("rename", "six"), ("down",),
                            ("up",), ("up",), ("up",), ("down",)):
            receipt = chain.send(key, address, abi.encode_call(name, *args))
            steps.append((name, int(receipt.status), [e.name for e in abi.decode_logs(receipt.logs)],
                          abi.decode_error(receipt.output) if receipt.status != Status.SUCCESS else None))
        for name, *args in (("count",), ("label",), ("credit", key.address)):
            steps.append((name, abi.decode_output(name, chain.call(address, abi.encode_call(name, *args))[1])))
        outcomes[suite_name] = steps
    assert outcomes["sm"] == outcomes["standard"]
    assert outcomes["standard"][-3:] == [("count", (2,)), ("label", ("six",)), ("credit", (7,))]
    assert outcomes["standard"][7][3] == ("TooMany", {"count": 3, "limit": 3})


# --- the rest of the language ------------------------------------------------------------------------------

FEATURES = Path(__file__).parent / "openzeppelin" / "Features.sol"


def test_solidity_features_behave_alike_in_both_suites() -> None:
    """A factory (`new Child`, whose code it carries), immutables, fallback and receive, try/catch on a
    custom error, .selector, abi.encodeWithSelector, type(I).interfaceId and msg.sig."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Solidity needs node and npm (solc-js)")
    outcomes = {}
    for suite_name in ("standard", "sm"):
        suite = get_suite(suite_name)
        artifacts = compile_file(FEATURES, suite)
        factory, child = (ContractABI(suite, artifacts[n].abi) for n in ("Factory", "Child"))
        key = KeyPair(suite_name, 0xFAC)
        chain = LocalChain(suite_name)
        address = chain.deploy(key, artifacts["Factory"]).contract_address
        made = chain.send(key, address, factory.encode_call("make", 100))
        child_address = factory.decode_output("make", made.output)[0]
        got = [[e.name for e in factory.decode_logs(made.logs)], [e.args for e in child.decode_logs(made.logs)]]

        def call(name: str, *args: Any) -> Any:
            return factory.decode_output(name, chain.call(address, factory.encode_call(name, *args))[1])

        failed = chain.send(key, address, factory.encode_call("callIt", 13))
        got += [call("callIt", 3), child.decode_error(failed.output), call("tryIt", 3), call("tryIt", 13)]
        got += [call("encoded", 4)[0] == child.encode_call("ping", 4), call("iid")[0], call("sig")[0]]
        got += [child.decode_output("pong", chain.call(bytes.fromhex(child_address[2:]), child.encode_call("pong"))[1])]
        keccak_b1 = keccak256(b"b1()")[:4]  # in sm: no function, so the fallback runs and sets got = 999
        got += [chain.send(key, address, keccak_b1).status, call("got"), chain.send(key, address, b"").status]
        outcomes[suite_name] = got
        selectors = {s: factory.function(s).selector if s != "ping" else child.function("ping").selector
                     for s in ("ping", "sig")}
        iid = bytes(a ^ b for a, b in zip(child.function("ping").selector, child.function("pong").selector))
        assert got[6:10] == [True, iid, selectors["sig"], (selectors["ping"],)], suite_name
    standard, sm = outcomes["standard"], outcomes["sm"]
    assert standard[:6] == sm[:6] == [["Made"], [{"x": 100}], (103,), ("Nope", {"code": 13}), (103,), (7,)]
    assert standard[10:] == [Status.SUCCESS, (0,), Status.SUCCESS]  # b1() itself: does nothing
    assert sm[10:] == [Status.SUCCESS, (999,), Status.SUCCESS]  # no function: the fallback


# --- libraries --------------------------------------------------------------------------------------------

LIBRARY = """
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
library Maths {
    struct Box { uint256 v; }
    function double(uint256 x) public pure returns (uint256) { return 2 * x; }
    function bump(Box storage b) public { b.v += 1; }
}
"""

USER = """
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
import {Maths} from "./Maths.sol";
contract Uses {
    Maths.Box box;
    function twice(uint256 x) external pure returns (uint256) { return Maths.double(x); }
    function bump() external returns (uint256) { Maths.bump(box); return box.v; }
}
"""


def test_a_linked_library_is_called_with_sm3_selectors(tmp_path: Path) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Solidity needs node and npm (solc-js)")
    (tmp_path / "Maths.sol").write_text(LIBRARY)
    (tmp_path / "Uses.sol").write_text(USER)
    with pytest.raises(CompileError, match="library"):
        compile_file(tmp_path / "Uses.sol", SM)  # unlinked: refused, with what to do
    for suite_name in ("standard", "sm"):
        suite = get_suite(suite_name)
        key = KeyPair(suite_name, 0x11B)
        chain = LocalChain(suite_name)
        library = chain.deploy(key, compile_file(tmp_path / "Maths.sol", suite)["Maths"])
        assert library.status == Status.SUCCESS
        uses = compile_file(tmp_path / "Uses.sol", suite, {"Maths": "0x" + library.contract_address.hex()})["Uses"]
        abi = ContractABI(suite, uses.abi)
        address = chain.deploy(key, uses).contract_address
        assert abi.decode_output("twice", chain.call(address, abi.encode_call("twice", 21))[1]) == (42,)
        assert chain.send(key, address, abi.encode_call("bump")).status == Status.SUCCESS
        assert abi.decode_output("bump", chain.call(address, abi.encode_call("bump"))[1]) == (2,)


# --- Vyper ------------------------------------------------------------------------------------------------

def test_vyper_hashes_with_sm3_only_while_it_compiles() -> None:
    import vyper.utils

    original = vyper.utils.keccak256
    source = "@external\ndef f() -> uint256:\n    return 1\n\n@external\ndef g() -> uint256:\n    return 2\n"
    artifact = compile_vyper("Two", source, SM)
    assert vyper.utils.keccak256 is original
    assert SM.hash(b"f()")[:4] in artifact.runtime and keccak256(b"f()")[:4] not in artifact.runtime
    assert compile_vyper("Two", source, get_suite("standard")).runtime != artifact.runtime
    folded = compile_vyper("Folded", "@external\ndef h() -> bytes32:\n    return keccak256('abc')\n", SM)
    assert SM.hash(b"abc") in folded.runtime and keccak256(b"abc") not in folded.runtime


# --- dispatchers of every shape ---------------------------------------------------------------------------

SIZES = (1, 2, 3, 4, 5, 6, 7, 9, 12, 16, 17, 25, 33, 40)


def shapes_source() -> str:
    """One contract per size; function i of contract S<n> returns 1000 * n + i (some view, some payable)."""
    contracts = []
    for n in SIZES:
        body = []
        for i in range(n):
            mutability = ("view", "payable", "")[i % 3]
            reads = "address(this).balance * 0 + " if mutability == "view" else ""
            body.append(f"    function g{n}x{i}(uint256 a) external {mutability} returns (uint256) "
                        f"{{ return {reads}{1000 * n + i} + a * 0; }}")
        contracts.append(f"contract S{n} {{\n" + "\n".join(body) + "\n}")
    return "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.20;\n" + "\n".join(contracts) + "\n"


def test_dispatchers_of_every_shape_reach_every_function(tmp_path: Path) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Solidity needs node and npm (solc-js)")
    (tmp_path / "Shapes.sol").write_text(shapes_source())
    artifacts = compile_file(tmp_path / "Shapes.sol", SM)
    key = KeyPair("sm", 0x5A9E)
    chain = LocalChain("sm")
    for n in SIZES:
        artifact = artifacts[f"S{n}"]
        abi = ContractABI(SM, artifact.abi)
        address = chain.deploy(key, artifact).contract_address
        for i in range(n):
            status, output = chain.call(address, abi.encode_call(f"g{n}x{i}", 5))
            assert (status, abi.decode_output(f"g{n}x{i}", output)) == (Status.SUCCESS, (1000 * n + i,)), (n, i)
            assert chain.call(address, keccak256(f"g{n}x{i}(uint256)".encode())[:4] + bytes(32))[0] != Status.SUCCESS
