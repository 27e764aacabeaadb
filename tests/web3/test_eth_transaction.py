"""Ethereum transactions signed by eth-account: decoding, the pool's Ethereum rules, the executor's nonces."""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from chain.abi.codec import ContractABI
from chain.contracts import load_artifact
from chain.crypto.keys import KeyPair
from chain.crypto.suite import get_suite
from chain.errors import InvalidSignature, LedgerError, TxRejected
from chain.execution.local import LocalChain
from chain.ledger.accounts import account_nonce
from chain.ledger.block import Block
from chain.ledger.eth_transaction import MAX_ETH_TX_SIZE, EthTransaction
from chain.ledger.genesis import GenesisConfig, open_chain
from chain.ledger.status import Status
from chain.ledger.store import Store
from chain.ledger.transaction import Transaction
from chain.txpool import TxPool
from tests.ledger.builders import extend

CHAIN_ID = 20200
SUITE = get_suite("standard")
ACCOUNT = Account.from_key(b"\x01" * 32)
TO = "0x" + "11" * 20


def signed(account: Any = ACCOUNT, **fields: Any) -> EthTransaction:
    tx = {"nonce": 0, "gasPrice": 0, "gas": 100_000, "to": TO, "value": 0, "data": b"\x01", "chainId": CHAIN_ID}
    tx.update(fields)
    if fields.get("type") == 2:
        tx.pop("gasPrice")
        tx.setdefault("maxFeePerGas", 0)
        tx.setdefault("maxPriorityFeePerGas", 0)
    decoded = Transaction.decode(bytes(account.sign_transaction(tx).raw_transaction))
    assert isinstance(decoded, EthTransaction)
    return decoded


# --- decoding -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", [{}, {"type": 1, "accessList": [{"address": TO, "storageKeys": ["0x" + "00" * 31 + "01"]}]},
                                  {"type": 2}])
def test_eth_account_encodings_decode_with_ethereum_hash_and_sender(kind: dict[str, Any]) -> None:
    st = ACCOUNT.sign_transaction({"nonce": 3, "gas": 90_000, "to": TO, "value": 0, "data": b"\x05",
                                   "chainId": CHAIN_ID, **({"gasPrice": 0} if kind.get("type") != 2 else
                                                           {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}), **kind})
    tx = Transaction.decode(bytes(st.raw_transaction))
    assert isinstance(tx, EthTransaction)
    assert tx.encode() == bytes(st.raw_transaction)
    assert tx.hash(SUITE) == bytes(st.hash)
    assert "0x" + tx.sender(SUITE).hex() == ACCOUNT.address.lower()
    assert (tx.nonce, tx.gas_limit, tx.chain_id, tx.data) == (3, 90_000, CHAIN_ID, b"\x05")


def test_a_block_carries_both_kinds_and_decodes_each_as_its_own() -> None:
    from tests.ledger.builders import key_for, make_block, make_tx
    fisco = make_tx(key_for(SUITE))
    block = make_block(SUITE, None, [fisco, signed()])
    again = Block.decode(block.encode())
    assert [type(tx) for tx in again.transactions] == [Transaction, EthTransaction]
    assert again.hash(SUITE) == block.hash(SUITE)


def test_pre_eip155_legacy_is_refused() -> None:
    tx = signed()
    fields = rlp.decode(tx.encode())
    fields[6] = b"\x1b"  # v = 27: no chain id in the signature
    with pytest.raises(LedgerError, match="EIP-155"):
        Transaction.decode(rlp.encode(fields))


def test_high_s_signature_is_refused() -> None:
    tx = signed()
    fields = rlp.decode(tx.encode())
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    fields[8] = (n - int.from_bytes(fields[8], "big")).to_bytes(32, "big")  # the other valid s (EIP-2)
    fields[6] = (int.from_bytes(fields[6], "big") ^ 1).to_bytes(2, "big")
    with pytest.raises(InvalidSignature, match="EIP-2"):
        Transaction.decode(rlp.encode(fields)).sender(SUITE)


def test_unknown_type_is_refused() -> None:
    with pytest.raises(LedgerError, match="unsupported type"):
        Transaction.decode(b"\x03" + signed(type=2).encode()[1:])


# --- the pool -------------------------------------------------------------------------------

@pytest.fixture
def store() -> Store:
    config = GenesisConfig(chain_id=1, group_id=1, suite="standard",
                           sealers=((KeyPair("standard", 99).public_key, 1),))
    return open_chain(":memory:", config)


def pool_for(store: Store) -> TxPool:
    return TxPool(SUITE, store, chain_id=1, group_id=1, eth_chain_id=CHAIN_ID)


def refusal(pool: TxPool, tx: Transaction) -> TxRejected:
    with pytest.raises(TxRejected) as info:
        pool.submit(tx)
    return info.value


def test_pool_admits_sequential_nonces_of_each_kind(store: Store) -> None:
    pool = pool_for(store)
    for nonce, kind in enumerate([{}, {"type": 1}, {"type": 2}]):
        pool.submit(signed(nonce=nonce, **kind))
    assert len(pool) == 3
    assert [tx.nonce for tx in pool.select(10)] == [0, 1, 2]


def test_pool_refuses_wrong_chain_id(store: Store) -> None:
    error = refusal(pool_for(store), signed(chainId=1))
    assert error.status == Status.INVALID_CHAIN_ID and "invalid chain id" in str(error)


def test_pool_refuses_when_ethereum_is_not_enabled(store: Store) -> None:
    pool = TxPool(SUITE, store, chain_id=1, group_id=1)
    assert refusal(pool, signed()).status == Status.TRANSACTION_REFUSED


def test_pool_refuses_value(store: Store) -> None:
    error = refusal(pool_for(store), signed(value=1))
    assert error.status == Status.NOT_ENOUGH_CASH and "no native coin" in str(error)


def test_pool_refuses_oversize(store: Store) -> None:
    error = refusal(pool_for(store), signed(data=b"\x01" * MAX_ETH_TX_SIZE, gas=5_000_000))
    assert "oversized data" in str(error)


def test_pool_refuses_bad_signature(store: Store) -> None:
    fields = rlp.decode(signed().encode())
    fields[7] = b""  # r = 0: no signature
    assert refusal(pool_for(store), Transaction.decode(rlp.encode(fields))).status == Status.INVALID_SIGNATURE


def test_pool_refuses_gas_over_tx_gas_limit(store: Store) -> None:
    assert refusal(pool_for(store), signed(gas=10**12)).status == Status.BLOCK_GAS_LIMIT_REACHED


def test_pool_nonce_gap_pending_duplicate_and_too_low(store: Store) -> None:
    pool = pool_for(store)
    assert "nonce too high" in str(refusal(pool, signed(nonce=64)))  # too far ahead of state nonce 0
    waiting = signed(nonce=1)
    assert pool.submit(waiting) == waiting.hash(SUITE)  # a gap: it waits, outside the pool proper
    assert len(pool) == 0 and pool.ready == 0 and pool.select(10) == []
    assert "already pending" in str(refusal(pool, signed(nonce=1, data=b"\x09")))
    assert refusal(pool, waiting).status == Status.ALREADY_KNOWN
    pool.submit(signed(nonce=0))  # fills the gap: both are now in the pool, in nonce order
    assert [tx.nonce for tx in pool.select(10)] == [0, 1]
    assert "already pending" in str(refusal(pool, signed(nonce=0, data=b"\x02")))
    # the account's nonce in state is 5: nonce 4 was used
    extend(store, changes={("evm_account", bytes.fromhex(ACCOUNT.address[2:])): rlp.encode([5, 0])})
    assert account_nonce(store, bytes.fromhex(ACCOUNT.address[2:])) == 5
    assert "nonce too low" in str(refusal(pool_for(store), signed(nonce=4)))


def test_a_waiting_nonce_enters_the_pool_when_a_commit_fills_its_gap(store: Store) -> None:
    pool = pool_for(store)
    first, waiting = signed(nonce=0), signed(nonce=1)
    pool.submit(waiting)
    assert len(pool) == 0
    sender = bytes.fromhex(ACCOUNT.address[2:])
    pool.remove_committed(extend(store, [first], changes={("evm_account", sender): rlp.encode([1, 0])}))
    assert pool.pending() == [waiting]


def test_pool_forgets_committed_and_lower_nonces(store: Store) -> None:
    pool = pool_for(store)
    txs = [signed(nonce=n) for n in range(3)]
    for tx in txs:
        pool.submit(tx)
    block = extend(store, [txs[1]])
    pool.remove_committed(block)
    assert [tx.nonce for tx in pool.pending()] == [2]


def test_proposal_with_a_repeated_ethereum_transaction_is_refused(store: Store) -> None:
    pool = pool_for(store)
    tx = signed()
    with pytest.raises(TxRejected):
        pool.verify_proposal([tx, tx], 1)
    with pytest.raises(TxRejected):
        pool.verify_proposal([signed(chainId=5)], 1)
    pool.verify_proposal([tx], 1)


# --- the executor ---------------------------------------------------------------------------

def test_deploy_lands_at_ethereums_address_and_nonces_run_in_order() -> None:
    chain = LocalChain("standard")
    artifact = load_artifact("HelloWorld", "standard")
    abi = ContractABI(SUITE, artifact.abi)
    deploy = signed(nonce=0, to="", data=abi.encode_deploy(artifact.bytecode), gas=3_000_000)
    receipt = chain.run_block([deploy]).receipts[0]
    sender = bytes.fromhex(ACCOUNT.address[2:])
    assert receipt.status == Status.SUCCESS
    assert receipt.contract_address == keccak(rlp.encode([sender, 0]))[-20:]
    assert account_nonce(chain.state, sender) == 1
    set_call = abi.encode_call("set", "hi")
    # a used nonce and a future one run nothing; the next one runs, and a failing one still uses its nonce
    used = signed(nonce=0, to=to_checksum_address(receipt.contract_address), data=set_call, gas=300_000)
    future = signed(nonce=5, to=to_checksum_address(receipt.contract_address), data=set_call, gas=300_000)
    good = signed(nonce=1, to=to_checksum_address(receipt.contract_address), data=set_call, gas=300_000)
    failing = signed(nonce=2, to=to_checksum_address(receipt.contract_address), data=set_call, gas=21_500)
    statuses = [r.status for r in chain.run_block([used, future, good, failing]).receipts]
    assert statuses == [Status.NONCE_CHECK_FAIL, Status.NONCE_CHECK_FAIL, Status.SUCCESS, Status.OUT_OF_GAS]
    assert account_nonce(chain.state, sender) == 3
    status, output = chain.call(receipt.contract_address, abi.encode_call("get"))
    assert status == Status.SUCCESS and abi.decode_output("get", output) == ("hi",)


def test_admin_rules_apply_to_ethereum_senders() -> None:
    admin = Account.from_key(b"\x02" * 32)
    chain = LocalChain("standard", admins=(bytes.fromhex(admin.address[2:]),))
    system = ContractABI(SUITE, load_artifact_system())
    data = system.encode_call("setValueByKey", "tx_count_limit", "7")
    outsider = chain.run_block([signed(to=to_checksum_address(b"\x00" * 18 + b"\x10\x00"), data=data, gas=1_000_000)]).receipts[0]
    insider = chain.run_block([signed(admin, to=to_checksum_address(b"\x00" * 18 + b"\x10\x00"), data=data, gas=1_000_000)]).receipts[0]
    assert outsider.status != Status.SUCCESS and insider.status == Status.SUCCESS


def load_artifact_system() -> list[dict[str, Any]]:
    return [{"type": "function", "name": "setValueByKey", "stateMutability": "nonpayable",
             "inputs": [{"name": "key", "type": "string"}, {"name": "value", "type": "string"}],
             "outputs": [{"name": "", "type": "int32"}]}]


def test_mangled_ethereum_encodings_are_refused_cleanly() -> None:
    """Whatever bytes arrive (RPC, gossip, a block), decoding ends in a transaction or a LedgerError."""
    import random
    rng = random.Random(15)
    samples = [signed().encode(), signed(type=1).encode(), signed(type=2).encode()]
    for _ in range(600):
        raw = bytearray(rng.choice(samples))
        for _ in range(rng.randint(1, 4)):
            choice = rng.random() if raw else 1.0
            if choice < 0.5:
                raw[rng.randrange(len(raw))] = rng.randrange(256)
            elif choice < 0.75:
                del raw[rng.randrange(len(raw)):]
            else:
                raw.insert(rng.randrange(len(raw) + 1), rng.randrange(256))
        try:
            tx = Transaction.decode(bytes(raw))
        except LedgerError:
            continue
        try:
            tx.sender(SUITE)
        except InvalidSignature:
            pass
