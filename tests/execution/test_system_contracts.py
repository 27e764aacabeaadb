"""System contracts: governance through SystemConfig and Consensus, KV tables, Crypto."""

from __future__ import annotations

import pytest

from chain.abi.codec import decode_args, decode_revert_reason, encode_call
from chain.crypto.hashing import keccak256, sm3
from chain.crypto.keys import KeyPair
from chain.crypto.suite import get_suite
from chain.execution import governance
from chain.execution.local import LocalChain
from chain.execution.precompiled import (
    CONSENSUS_ADDRESS, CRYPTO_ADDRESS, KV_TABLE_ADDRESS, SYSTEM_CONFIG_ADDRESS, TABLE_MANAGER_ADDRESS,
)
from chain.ledger import system
from chain.ledger.status import Status

pytestmark = pytest.mark.timeout(60)


def node_ids(suite_name: str, count: int, start: int = 100) -> list[bytes]:
    suite = get_suite(suite_name)
    return [suite.public_key(start + i) for i in range(count)]


def send_governance(chain: LocalChain, key: KeyPair, tx: object) -> object:
    from chain.ledger.transaction import sign_transaction

    return chain.run_block([sign_transaction(tx, key)]).receipts[0]  # type: ignore[arg-type]


def test_config_change_takes_effect_at_the_next_block(chain: LocalChain, admin: KeyPair) -> None:
    number = chain.number + 1
    tx = governance.set_config_tx(chain.suite, system.TX_COUNT_LIMIT, 321, block_limit=number + 100)
    receipt = send_governance(chain, admin, tx)
    assert receipt.status == Status.SUCCESS
    assert decode_args(["int32"], receipt.output) == (0,)
    assert system.get_config_int(chain.state, system.TX_COUNT_LIMIT, number) == 1000
    assert system.get_config_int(chain.state, system.TX_COUNT_LIMIT, number + 1) == 321
    status, output = chain.call(SYSTEM_CONFIG_ADDRESS, encode_call(chain.suite, "getValueByKey(string)", "tx_count_limit"))
    assert status == Status.SUCCESS
    assert decode_args(["string", "int256"], output) == ("321", number + 1)


def test_config_values_are_range_checked(chain: LocalChain, admin: KeyPair) -> None:
    bad = [("tx_gas_limit", "99999"), ("tx_count_limit", "0"), ("tx_count_limit", "-1"),
           ("consensus_leader_period", "x"), ("no_such_key", "1")]
    root = chain.head.header.state_root
    for key, value in bad:
        receipt = chain.send(admin, SYSTEM_CONFIG_ADDRESS, encode_call(chain.suite, "setValueByKey(string,string)", key, value))
        assert receipt.status == Status.PRECOMPILED_ERROR, (key, value)
        assert decode_revert_reason(chain.suite, receipt.output)
    assert chain.head.header.state_root == root


def test_non_admin_governance_is_permission_denied(chain: LocalChain, user: KeyPair) -> None:
    root = chain.head.header.state_root
    calls = [
        (SYSTEM_CONFIG_ADDRESS, encode_call(chain.suite, "setValueByKey(string,string)", "tx_count_limit", "5")),
        (CONSENSUS_ADDRESS, encode_call(chain.suite, "addSealer(string,uint256)", node_ids(chain.suite.name, 1)[0].hex(), 1)),
    ]
    for address, data in calls:
        receipt = chain.send(user, address, data)
        assert receipt.status == Status.PERMISSION_DENIED
        assert "not a governance admin" in (decode_revert_reason(chain.suite, receipt.output) or "")
    assert chain.head.header.state_root == root


def test_added_sealer_votes_from_the_next_block(suite_name: str, admin: KeyPair) -> None:
    sealers = node_ids(suite_name, 4)
    chain = LocalChain(suite_name, admins=[admin.address], sealers=sealers)
    newcomer = node_ids(suite_name, 1, start=900)[0]
    number = chain.number + 1
    tx = governance.add_sealer_tx(chain.suite, newcomer, 2, block_limit=number + 100)
    assert send_governance(chain, admin, tx).status == Status.SUCCESS
    assert newcomer not in system.consensus_nodes(chain.state, number).sealer_ids
    after = system.consensus_nodes(chain.state, number + 1)
    assert newcomer in after.sealer_ids and len(after.sealers) == 5
    assert after.weights[after.index_of(newcomer)] == 2  # type: ignore[index]

    weight = governance.set_weight_tx(chain.suite, newcomer, 7, block_limit=number + 100)
    assert send_governance(chain, admin, weight).status == Status.SUCCESS
    now = system.consensus_nodes(chain.state, chain.number + 1)
    assert now.weights[now.index_of(newcomer)] == 7  # type: ignore[index]

    demote = governance.add_observer_tx(chain.suite, newcomer, block_limit=number + 100)
    assert send_governance(chain, admin, demote).status == Status.SUCCESS
    assert newcomer in [n.node_id for n in system.consensus_nodes(chain.state, chain.number + 1).observers]


def test_sealer_count_safety_rules(suite_name: str, admin: KeyPair) -> None:
    sealers = node_ids(suite_name, 4)
    chain = LocalChain(suite_name, admins=[admin.address], sealers=sealers)
    limit = chain.number + 100
    # 4 -> 3 sealers: only with the force variant
    refused = send_governance(chain, admin, governance.remove_node_tx(chain.suite, sealers[0], block_limit=limit))
    assert refused.status == Status.PRECOMPILED_ERROR
    assert "force" in (decode_revert_reason(chain.suite, refused.output) or "")
    for node in sealers[:3]:
        forced = send_governance(chain, admin, governance.remove_node_tx(chain.suite, node, block_limit=limit, force=True))
        assert forced.status == Status.SUCCESS
    # the last sealer, never
    last = send_governance(chain, admin, governance.remove_node_tx(chain.suite, sealers[3], block_limit=limit, force=True))
    assert last.status == Status.PRECOMPILED_ERROR
    assert system.consensus_nodes(chain.state, chain.number + 1).sealer_ids == (sealers[3],)


def test_consensus_rejects_malformed_node_ids(chain: LocalChain, admin: KeyPair) -> None:
    for node in ["", "zz" * 64, "ab" * 63, "00" * 64]:
        receipt = chain.send(admin, CONSENSUS_ADDRESS, encode_call(chain.suite, "addSealer(string,uint256)", node, 1))
        assert receipt.status == Status.PRECOMPILED_ERROR, node
    receipt = chain.send(admin, CONSENSUS_ADDRESS, encode_call(
        chain.suite, "addSealer(string,uint256)", node_ids(chain.suite.name, 1)[0].hex(), 0))
    assert receipt.status == Status.PRECOMPILED_ERROR  # weight 0


def test_malformed_call_data_to_system_contracts(chain: LocalChain, admin: KeyPair) -> None:
    root = chain.head.header.state_root
    for address in (SYSTEM_CONFIG_ADDRESS, CONSENSUS_ADDRESS, TABLE_MANAGER_ADDRESS, KV_TABLE_ADDRESS, CRYPTO_ADDRESS):
        for data in (b"", b"\x01", b"\xde\xad\xbe\xef", encode_call(chain.suite, "setValueByKey(string,string)", "a", "b")[:40]):
            receipt = chain.send(admin, address, data)
            assert receipt.status == Status.PRECOMPILED_ERROR, (address.hex(), data.hex())
    assert chain.head.header.state_root == root


def test_kv_table_rows(chain: LocalChain, user: KeyPair) -> None:
    create = encode_call(chain.suite, "createKVTable(string,string,string)", "t_people", "name", "job")
    assert chain.send(user, TABLE_MANAGER_ADDRESS, create).status == Status.SUCCESS
    assert chain.send(user, TABLE_MANAGER_ADDRESS, create).status == Status.PRECOMPILED_ERROR  # exists
    bad_name = encode_call(chain.suite, "createKVTable(string,string,string)", "no spaces", "k", "v")
    assert chain.send(user, TABLE_MANAGER_ADDRESS, bad_name).status == Status.PRECOMPILED_ERROR

    put = encode_call(chain.suite, "set(string,string,string)", "t_people", "ada", "engineer")
    receipt = chain.send(user, KV_TABLE_ADDRESS, put)
    assert receipt.status == Status.SUCCESS and decode_args(["int32"], receipt.output) == (1,)
    missing_table = encode_call(chain.suite, "set(string,string,string)", "t_nobody", "k", "v")
    assert chain.send(user, KV_TABLE_ADDRESS, missing_table).status == Status.PRECOMPILED_ERROR

    get = encode_call(chain.suite, "get(string,string)", "t_people", "ada")
    status, output = chain.call(KV_TABLE_ADDRESS, get)
    assert (status, decode_args(["bool", "string"], output)) == (Status.SUCCESS, (True, "engineer"))
    status, output = chain.call(KV_TABLE_ADDRESS, encode_call(chain.suite, "get(string,string)", "t_people", "bob"))
    assert decode_args(["bool", "string"], output) == (False, "")


def test_crypto_contract(chain: LocalChain, user: KeyPair) -> None:
    data = b"classroom"
    status, output = chain.call(CRYPTO_ADDRESS, encode_call(chain.suite, "sm3(bytes)", data))
    assert (status, output) == (Status.SUCCESS, sm3(data))
    status, output = chain.call(CRYPTO_ADDRESS, encode_call(chain.suite, "keccak256Hash(bytes)", data))
    assert (status, output) == (Status.SUCCESS, keccak256(data))

    sm = get_suite("sm")
    signer = KeyPair("sm", 0x5EC12E7)
    message = sm3(b"a message")
    signature = signer.sign(message)
    verify = encode_call(chain.suite, "sm2Verify(bytes32,bytes,bytes32,bytes32)",
                         message, signer.public_key, signature[:32], signature[32:64])
    status, output = chain.call(CRYPTO_ADDRESS, verify)
    assert decode_args(["bool", "address"], output) == (True, "0x" + sm.address(signer.public_key).hex())
    forged = encode_call(chain.suite, "sm2Verify(bytes32,bytes,bytes32,bytes32)",
                         sm3(b"another"), signer.public_key, signature[:32], signature[32:64])
    assert decode_args(["bool", "address"], chain.call(CRYPTO_ADDRESS, forged)[1]) == (False, "0x" + "00" * 20)
    garbage = encode_call(chain.suite, "sm2Verify(bytes32,bytes,bytes32,bytes32)", message, b"\x01\x02", b"\x00" * 32, b"\x00" * 32)
    assert decode_args(["bool", "address"], chain.call(CRYPTO_ADDRESS, garbage)[1])[0] is False


def test_the_sm_rewrite_knows_every_system_contract_method() -> None:
    """The compiler's hand-written list of system signatures (rewritten to SM3 selectors in every
    contract) must be exactly what the system contracts declare, or a call through an interface
    file would keep its Keccak selector on an sm chain."""
    from chain.execution.precompiled import system_contracts
    from chain.sdk.compiler import SYSTEM_SIGNATURES

    declared = {spec.signature for contract in system_contracts(get_suite("sm")).values()
                for spec, _, _ in contract.methods.values()}
    assert sorted(SYSTEM_SIGNATURES) == sorted(declared)
