"""OpenZeppelin's ERC20, ERC721 and AccessControl behave the same in both suites.

The same script drives every external function — including the failing calls, whose custom errors are
decoded — on a standard chain and on an sm chain: four PBFT sealers in the deterministic simulator
(`chain.sim`), one transaction per block, every receipt and head checked equal on the four. Each step
becomes a line of a transcript in which addresses, role hashes and interface ids are replaced by their
names (those values differ between suites by design); the two transcripts must be equal, and the
standard one is checked against what ERC20/ERC721/AccessControl must do, so two identical failures do
not pass. The contracts are compiled once per session (solc's output is cached on disk too).
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest


from chain.abi.artifact import Artifact
from chain.abi.codec import ContractABI, selector
from chain.consensus.pbft import effects as fx
from chain.crypto.keys import KeyPair
from chain.crypto.suite import get_suite
from chain.execution.executor import EVMExecutor
from chain.ledger.receipt import Receipt
from chain.ledger.status import Status
from chain.ledger.transaction import new_transaction, sign_transaction
from chain.sim.runner import CHAIN_ID, GROUP_ID, SimConfig, Simulation

pytestmark = pytest.mark.timeout(600)

ZERO = "0x" + "00" * 20

IERC165 = ["supportsInterface(bytes4)"]
IACCESS_CONTROL = ["hasRole(bytes32,address)", "getRoleAdmin(bytes32)", "grantRole(bytes32,address)",
                   "revokeRole(bytes32,address)", "renounceRole(bytes32,address)"]
IERC721 = ["balanceOf(address)", "ownerOf(uint256)", "safeTransferFrom(address,address,uint256,bytes)",
           "safeTransferFrom(address,address,uint256)", "transferFrom(address,address,uint256)",
           "approve(address,uint256)", "setApprovalForAll(address,bool)", "getApproved(uint256)",
           "isApprovedForAll(address,address)"]
IERC721_METADATA = ["name()", "symbol()", "tokenURI(uint256)"]


def interface_id(suite_name: str, signatures: list[str]) -> bytes:
    value = 0
    for signature in signatures:
        value ^= int.from_bytes(selector(get_suite(suite_name), signature), "big")
    return value.to_bytes(4, "big")


class SimChain:
    """Four sealers agreeing by PBFT in virtual time; send() waits until all four committed the block."""

    def __init__(self, suite_name: str) -> None:
        self.sim = Simulation(SimConfig(nodes=4, suite=suite_name, executor="evm", tx_rate=0, seed=23))
        self.suite = self.sim.suite
        self.executor = EVMExecutor(self.suite, chain_id=CHAIN_ID)
        self.rng = random.Random(23)

    def head(self) -> int:
        return min(node.store.head_number() for node in self.sim.nodes)

    def send(self, key: KeyPair, to: bytes, data: bytes) -> Receipt:
        head = self.head()
        tx = sign_transaction(new_transaction(to=to, data=data, block_limit=head + 500, chain_id=CHAIN_ID,
                                              group_id=GROUP_ID, nonce=self.rng.getrandbits(250)), key)
        # what the simulator's own client does with its transactions (submit_transactions only makes kv ones)
        self.sim._handle(self.sim.nodes[0], fx.SubmitTransactions((tx,)))
        deadline = self.sim.now_ms + 60_000
        while self.head() <= head and self.sim.now_ms < deadline:
            self.sim.run_until(self.sim.now_ms + 100)
        receipts = {node.store.receipt(tx.hash(self.suite)) for node in self.sim.nodes}
        heads = {node.store.head().hash(self.suite) for node in self.sim.nodes}
        assert len(receipts) == 1 and None not in receipts and len(heads) == 1, "the four sealers disagree"
        return receipts.pop()

    def deploy(self, key: KeyPair, artifact: Artifact) -> Receipt:
        return self.send(key, b"", artifact.bytecode)

    def call(self, to: bytes, data: bytes) -> tuple[int, bytes]:
        store = self.sim.nodes[0].store
        return self.executor.call(store, to, data, b"\x00" * 20, store.head_number() + 1)


class Script:
    """Runs steps on one chain and writes the transcript."""

    def __init__(self, suite_name: str, artifacts: dict[str, Artifact]) -> None:
        self.suite_name = suite_name
        self.keys = {name: KeyPair(suite_name, secret) for name, secret in
                     (("alice", 0xA11CE), ("bob", 0xB0B), ("carol", 0xCA401), ("dave", 0xDA7E))}
        self.chain = SimChain(suite_name)
        self.artifacts = artifacts
        self.abis = {name: ContractABI(self.chain.suite, a.abi) for name, a in artifacts.items()}
        self.emitters: dict[bytes, str] = {}
        self.names: dict[str, str] = {"0x" + k.address.hex(): name for name, k in self.keys.items()}
        self.names[ZERO] = "zero"
        suite = self.chain.suite
        self.names.update({"0x" + suite.hash(b"MINTER_ROLE").hex(): "MINTER_ROLE", "0x" + "00" * 32: "DEFAULT_ADMIN_ROLE"})
        for name, ids in (("IERC165", IERC165), ("IAccessControl", IACCESS_CONTROL), ("IERC721", IERC721),
                          ("IERC721Metadata", IERC721_METADATA)):
            self.names["0x" + interface_id(suite_name, ids).hex()] = name
        self.addresses: dict[str, bytes] = {name: k.address for name, k in self.keys.items()}
        self.lines: list[tuple[Any, ...]] = []

    def name(self, value: Any) -> Any:
        if isinstance(value, bytes):
            value = "0x" + value.hex()
        if isinstance(value, str) and value.startswith("0x"):
            return self.names.get(value.lower(), value)
        if isinstance(value, (list, tuple)):
            return tuple(self.name(v) for v in value)
        if isinstance(value, dict):
            return {k: self.name(v) for k, v in value.items()}
        return value

    def deploy(self, contract: str, by: str = "alice") -> bytes:
        receipt = self.chain.deploy(self.keys[by], self.artifacts[contract])
        assert receipt.status == Status.SUCCESS, (contract, receipt.status)
        self.addresses[contract] = receipt.contract_address
        self.names["0x" + receipt.contract_address.hex()] = contract
        self.emitters[receipt.contract_address] = contract
        self.lines.append(("deploy", contract, self.events(receipt.logs)))
        return receipt.contract_address

    def events(self, logs: Any) -> list[tuple[Any, ...]]:
        """Each log decoded with the ABI of the contract that emitted it (ERC20's and ERC721's Transfer share a topic)."""
        decoded = []
        for log in logs:
            event = self.abis[self.emitters[log.address]].decode_log(log.address, log.topics, log.data)
            assert event is not None, log
            decoded.append((self.name(event.address), event.name, self.name(event.args)))
        return decoded

    def args(self, args: tuple[Any, ...]) -> list[Any]:
        return [self.addresses[a] if isinstance(a, str) and a in self.addresses else a for a in args]

    def send(self, by: str, contract: str, function: str, *args: Any) -> tuple[Any, ...]:
        data = self.abis[contract].encode_call(function, *self.args(args))
        receipt = self.chain.send(self.keys[by], self.addresses[contract], data)
        if receipt.status == Status.SUCCESS:
            line = ("send", by, contract, function, "ok", self.events(receipt.logs))
        else:
            decoded = self.abis[contract].decode_error(receipt.output)
            assert decoded is not None, (function, receipt.status, receipt.output.hex())
            line = ("send", by, contract, function, "reverted", self.name(decoded))
        self.lines.append(line)
        return line

    def call(self, contract: str, function: str, *args: Any) -> Any:
        abi = self.abis[contract]
        status, output = self.chain.call(self.addresses[contract], abi.encode_call(function, *self.args(args)))
        if status == Status.SUCCESS:
            result = self.name(abi.decode_output(function, output))
        else:
            result = ("reverted", self.name(abi.decode_error(output)))
        self.lines.append(("call", contract, function, self.name(list(args)), result))
        return result


def run_coin(s: Script) -> None:
    s.deploy("Coin")
    for view in ("name", "symbol", "decimals", "totalSupply", "MINTER_ROLE", "DEFAULT_ADMIN_ROLE"):
        s.call("Coin", view)
    s.send("alice", "Coin", "mint", "bob", 1000)
    s.send("bob", "Coin", "mint", "bob", 1)  # AccessControlUnauthorizedAccount
    s.send("bob", "Coin", "transfer", "carol", 100)
    s.send("bob", "Coin", "transfer", "carol", 10**9)  # ERC20InsufficientBalance
    s.send("bob", "Coin", "transfer", ZERO, 1)  # ERC20InvalidReceiver
    s.send("bob", "Coin", "approve", "alice", 50)
    s.call("Coin", "allowance", "bob", "alice")
    s.send("alice", "Coin", "transferFrom", "bob", "carol", 30)
    s.send("alice", "Coin", "transferFrom", "bob", "carol", 100)  # ERC20InsufficientAllowance
    minter = s.chain.suite.hash(b"MINTER_ROLE")
    s.send("alice", "Coin", "grantRole", minter, "bob")
    s.call("Coin", "hasRole", minter, "bob")
    s.send("bob", "Coin", "mint", "dave", 5)
    s.send("bob", "Coin", "grantRole", minter, "carol")  # not the role's admin
    s.send("alice", "Coin", "revokeRole", minter, "bob")
    s.call("Coin", "hasRole", minter, "bob")
    s.send("bob", "Coin", "renounceRole", minter, "alice")  # AccessControlBadConfirmation
    s.send("alice", "Coin", "renounceRole", minter, "alice")
    s.call("Coin", "getRoleAdmin", minter)
    for ids in (IACCESS_CONTROL, IERC165, IERC721):
        s.call("Coin", "supportsInterface", interface_id(s.suite_name, ids))
    s.call("Coin", "supportsInterface", b"\xff" * 4)
    for who in ("alice", "bob", "carol", "dave"):
        s.call("Coin", "balanceOf", who)
    s.call("Coin", "totalSupply")


def run_card(s: Script) -> None:
    s.deploy("Card")
    s.deploy("Receiver")
    s.deploy("Refuser")
    s.call("Card", "name")
    s.call("Card", "symbol")
    for ids in (IERC721, IERC721_METADATA, IERC165, IACCESS_CONTROL):
        s.call("Card", "supportsInterface", interface_id(s.suite_name, ids))
    s.send("bob", "Card", "mint", "bob", 1)
    s.send("bob", "Card", "mint", "bob", 1)  # ERC721InvalidSender
    s.call("Card", "ownerOf", 1)
    s.call("Card", "ownerOf", 99)  # ERC721NonexistentToken
    s.call("Card", "balanceOf", "bob")
    s.call("Card", "tokenURI", 1)
    s.send("bob", "Card", "approve", "carol", 1)
    s.call("Card", "getApproved", 1)
    s.send("carol", "Card", "approve", "dave", 1)  # ERC721InvalidApprover
    s.send("carol", "Card", "transferFrom", "bob", "carol", 1)
    s.send("carol", "Card", "setApprovalForAll", "alice", True)
    s.call("Card", "isApprovedForAll", "carol", "alice")
    s.send("alice", "Card", "safeTransferFrom(address,address,uint256)", "carol", "Receiver", 1)
    s.send("bob", "Card", "mint", "bob", 2)
    s.send("bob", "Card", "safeTransferFrom(address,address,uint256,bytes)", "bob", "Receiver", 2, b"hi")
    s.send("bob", "Card", "mint", "bob", 3)
    s.send("bob", "Card", "safeTransferFrom(address,address,uint256)", "bob", "Refuser", 3)  # ERC721InvalidReceiver
    s.send("dave", "Card", "transferFrom", "bob", "dave", 3)  # ERC721InsufficientApproval
    s.send("bob", "Card", "mint", "Refuser", 4)  # ERC721InvalidReceiver
    for token in (1, 2, 3):
        s.call("Card", "ownerOf", token)
    s.call("Card", "balanceOf", "Receiver")


@pytest.fixture(scope="module")
def transcripts(openzeppelin: dict[str, dict[str, Artifact]]) -> dict[str, list[tuple[Any, ...]]]:
    result = {}
    for suite_name, artifacts in openzeppelin.items():
        script = Script(suite_name, artifacts)
        run_coin(script)
        run_card(script)
        result[suite_name] = script.lines
    return result


def test_sm_transcript_equals_standard(transcripts: dict[str, list[tuple[Any, ...]]]) -> None:
    for standard, sm in zip(transcripts["standard"], transcripts["sm"], strict=True):
        assert sm == standard


def test_standard_transcript_is_what_the_standards_say(transcripts: dict[str, list[tuple[Any, ...]]]) -> None:
    lines = transcripts["standard"]
    text = "\n".join(map(repr, lines))
    reverted = [line[-1][0] for line in lines if line[0] == "send" and line[4] == "reverted"]
    assert reverted == ["AccessControlUnauthorizedAccount", "ERC20InsufficientBalance", "ERC20InvalidReceiver",
                        "ERC20InsufficientAllowance", "AccessControlUnauthorizedAccount", "AccessControlBadConfirmation",
                        "ERC721InvalidSender", "ERC721InvalidApprover", "ERC721InvalidReceiver",
                        "ERC721InsufficientApproval", "ERC721InvalidReceiver"], text
    assert ("call", "Coin", "MINTER_ROLE", (), ("MINTER_ROLE",)) in lines
    assert ("send", "bob", "Coin", "mint", "reverted",
            ("AccessControlUnauthorizedAccount", {"account": "bob", "neededRole": "MINTER_ROLE"})) in lines
    assert ("send", "bob", "Coin", "transfer", "ok", [("Coin", "Transfer", {"from": "bob", "to": "carol", "value": 100})]) in lines
    balances = [line[-1][0] for line in lines if line[:3] == ("call", "Coin", "balanceOf")]
    assert balances == [0, 1000 - 100 - 30, 130, 5]
    supports = [line[-1][0] for line in lines if line[2] == "supportsInterface"]
    assert supports == [True, True, False, False, True, True, True, False]
    received = [e for line in lines if line[0] == "send" for e in (line[-1] if line[4] == "ok" else ())
                if e[1] == "Accepted"]
    assert received == [("Receiver", "Accepted", {"operator": "alice", "from": "carol", "tokenId": 1, "data": "0x"}),
                        ("Receiver", "Accepted", {"operator": "bob", "from": "bob", "tokenId": 2, "data": "0x6869"})]
    owners = [line[-1] for line in lines if line[:3] == ("call", "Card", "ownerOf")]
    assert owners == [("bob",), ("reverted", ("ERC721NonexistentToken", {"tokenId": 99})),
                      ("Receiver",), ("Receiver",), ("bob",)]


def test_sm_build_uses_sm3_everywhere(openzeppelin: dict[str, dict[str, Artifact]]) -> None:
    """Role constants folded from keccak256("MINTER_ROLE") and the selectors are SM3's in the sm build,
    which is as small as the standard one (no reason strings: solc's constant optimiser could stay on)."""
    sm = get_suite("sm")
    coin = openzeppelin["sm"]["Coin"]
    for name, artifact in openzeppelin["sm"].items():  # solc's constant optimiser kept: the standard build's size
        assert len(artifact.runtime) == len(openzeppelin["standard"][name].runtime), name
    assert sm.hash(b"MINTER_ROLE") in coin.runtime
    for entry in coin.abi:
        if entry["type"] == "function":
            abi = ContractABI(sm, [entry])
            assert abi.functions[entry["name"]].selector in coin.runtime, entry["name"]
