"""Block execution: ordering, failure isolation, deterministic state roots, malformed input."""

from __future__ import annotations

import pytest

from chain.abi.codec import ContractABI, decode_revert_reason
from chain.contracts import load_artifact
from chain.crypto.keys import KeyPair
from chain.execution.evm import contract_address
from chain.execution.executor import EVMExecutor
from chain.execution.local import LocalChain
from chain.ledger.merkle import receipts_root
from chain.ledger.status import Status

pytestmark = pytest.mark.timeout(60)


def asset_chain(chain: LocalChain, admin: KeyPair, holder: KeyPair, amount: int) -> tuple[ContractABI, bytes]:
    artifact = load_artifact("Asset", chain.suite.name)
    address = chain.deploy(admin, artifact).contract_address
    abi = ContractABI(chain.suite, artifact.abi)
    assert chain.send(admin, address, abi.encode_call("issue", holder.address, amount)).ok
    return abi, address


def balance(chain: LocalChain, abi: ContractABI, address: bytes, owner: bytes) -> int:
    return abi.decode_output("balanceOf", chain.call(address, abi.encode_call("balanceOf", owner))[1])[0]


def test_deploy_address_rule(chain: LocalChain, admin: KeyPair) -> None:
    artifact = load_artifact("HelloWorld", chain.suite.name)
    tx = chain.transaction(admin, b"", artifact.bytecode)
    [receipt] = chain.run_block([tx]).receipts
    assert receipt.contract_address == contract_address(chain.suite, admin.address, tx.nonce)
    # the same transaction again (a replay the pool would have refused) cannot overwrite the contract
    [again] = chain.run_block([tx]).receipts
    assert again.status == Status.ADDRESS_ALREADY_USED


def test_failing_transaction_in_the_middle_of_a_block(chain: LocalChain, admin: KeyPair, user: KeyPair) -> None:
    abi, address = asset_chain(chain, admin, user, 100)
    other = KeyPair(chain.suite.name, 0xC0C0)
    txs = [
        chain.transaction(user, address, abi.encode_call("transfer", other.address, 10)),
        chain.transaction(user, address, abi.encode_call("transfer", other.address, 1000)),  # fails
        chain.transaction(user, address, abi.encode_call("transfer", other.address, 5)),
    ]
    result = chain.run_block(txs)
    assert [r.status for r in result.receipts] == [Status.SUCCESS, Status.REVERT_INSTRUCTION, Status.SUCCESS]
    assert [r.transaction_index for r in result.receipts] == [0, 1, 2]
    assert [r.transaction_hash for r in result.receipts] == [tx.hash(chain.suite) for tx in txs]
    assert decode_revert_reason(chain.suite, result.receipts[1].output) == "insufficient balance"
    assert result.receipts[1].logs == ()
    assert len(result.receipts[0].logs) == len(result.receipts[2].logs) == 1
    assert balance(chain, abi, address, user.address) == 85
    assert balance(chain, abi, address, other.address) == 15
    assert result.block.header.receipts_root == receipts_root(chain.suite, result.receipts)
    assert result.block.header.gas_used == sum(r.gas_used for r in result.receipts)
    assert all(r.gas_used > 21_000 for r in result.receipts)


def test_state_root_moves_exactly_when_state_changes(chain: LocalChain, admin: KeyPair) -> None:
    artifact = load_artifact("HelloWorld", chain.suite.name)
    abi = ContractABI(chain.suite, artifact.abi)
    address = chain.deploy(admin, artifact).contract_address
    root = chain.head.header.state_root

    chain.send(admin, address, abi.encode_call("set", "first"))
    assert chain.head.header.state_root != root
    root = chain.head.header.state_root

    same = chain.run_block([chain.transaction(admin, address, abi.encode_call("set", "first"))])
    assert same.receipts[0].ok and same.changes == {}  # writing the value already there is no change
    assert chain.head.header.state_root == root

    failed = chain.run_block([chain.transaction(admin, address, abi.encode_call("set", ""))])
    assert not failed.receipts[0].ok and failed.changes == {}
    assert chain.head.header.state_root == root

    back = chain.run_block([  # a change undone later in the same block is no change either
        chain.transaction(admin, address, abi.encode_call("set", "second")),
        chain.transaction(admin, address, abi.encode_call("set", "first")),
    ])
    assert back.changes == {} and chain.head.header.state_root == root


def test_same_block_same_result_on_two_executors(suite_name: str, admin: KeyPair, user: KeyPair) -> None:
    chain = LocalChain(suite_name, admins=[admin.address])
    abi, address = asset_chain(chain, admin, user, 50)
    block_state = chain.state.snapshot()
    parent = chain.head
    txs = [chain.transaction(user, address, abi.encode_call("transfer", admin.address, n), nonce=n) for n in (1, 2, 3)]
    first = chain.run_block(txs)
    other = EVMExecutor(chain.suite).execute(first.block.with_execution(
        receipts_root=parent.header.receipts_root, state_root=parent.header.state_root, gas_used=0,
    ), block_state, parent.header.state_root)
    assert other.block.header == first.block.header
    assert other.receipts == first.receipts
    assert other.changes == first.changes
    assert block_state.get("evm_storage", next(iter(first.changes))[1]) != first.changes[next(iter(first.changes))]


def test_identical_runs_give_identical_roots(suite_name: str) -> None:
    def run() -> bytes:
        admin = KeyPair(suite_name, 7)
        chain = LocalChain(suite_name, admins=[admin.address])
        artifact = load_artifact("Asset", suite_name)
        abi = ContractABI(chain.suite, artifact.abi)
        tx = chain.transaction(admin, b"", artifact.bytecode, nonce=1)
        address = chain.run_block([tx], timestamp=1000).receipts[0].contract_address
        issue = chain.transaction(admin, address, abi.encode_call("issue", admin.address, 9), nonce=2)
        chain.run_block([issue], timestamp=2000)
        return chain.head.header.state_root  # (sm signatures are randomised, so tx hashes differ)

    assert run() == run()


def test_malformed_transactions_fail_without_crashing(chain: LocalChain, admin: KeyPair) -> None:
    abi_address = chain.deploy(admin, load_artifact("HelloWorld", chain.suite.name)).contract_address
    root = chain.head.header.state_root
    txs = [
        chain.transaction(admin, abi_address, b"\x01\x02"),  # no such function, not even a selector
        chain.transaction(admin, abi_address, b"\xff" * 100),
        chain.transaction(admin, b"", b"\xfe"),  # init code that is an invalid instruction
        chain.transaction(admin, b"", b"\x5b\x60\x00\x56", gas_limit=300_000),  # an endless loop: out of gas
        chain.transaction(admin, abi_address, b"", gas_limit=1000),  # below intrinsic gas
        chain.transaction(admin, abi_address, b"", value=1),  # no coin to transfer
    ]
    unsigned = chain.transaction(admin, abi_address, b"")
    from dataclasses import replace
    txs.append(replace(unsigned, v=99, r=1, s=1))  # a signature that cannot be valid
    result = chain.run_block(txs)
    assert [r.status for r in result.receipts] == [
        Status.REVERT_INSTRUCTION, Status.REVERT_INSTRUCTION, Status.BAD_INSTRUCTION, Status.OUT_OF_GAS,
        Status.OUT_OF_GAS_INTRINSIC, Status.NOT_ENOUGH_CASH, Status.INVALID_SIGNATURE,
    ]
    assert result.changes == {} and chain.head.header.state_root == root


def test_gas_limit_follows_system_config(suite_name: str, admin: KeyPair) -> None:
    chain = LocalChain(suite_name, admins=[admin.address], system_config={"tx_gas_limit": "100000"})
    # deploying Asset needs more than 100k gas: the chain's limit wins over the transaction's
    receipt = chain.deploy(admin, load_artifact("Asset", suite_name))
    assert receipt.status == Status.OUT_OF_GAS
    assert receipt.gas_used == 100_000


def test_call_is_read_only_and_checks_its_addresses(chain: LocalChain, admin: KeyPair) -> None:
    artifact = load_artifact("HelloWorld", chain.suite.name)
    abi = ContractABI(chain.suite, artifact.abi)
    address = chain.deploy(admin, artifact).contract_address
    rows = len(chain.state)
    status, output = chain.call(address, abi.encode_call("set", "not stored"))  # a write, as a query
    assert status == Status.SUCCESS
    assert len(chain.state) == rows
    assert abi.decode_output("get", chain.call(address, abi.encode_call("get"))[1]) == ("Hello, World!",)
    assert chain.call(b"", b"")[0] == Status.CALL_ADDRESS_ERROR
    assert chain.call(address[:19], b"")[0] == Status.CALL_ADDRESS_ERROR
    assert chain.call(b"\x42" * 20, b"\x01\x02\x03\x04") == (Status.SUCCESS, b"")  # no code: nothing runs
