"""Checked-in transaction vectors: our own per-suite fixtures and a published FISCO BCOS 2.x one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rlp
from eth_keys import keys as eth_keys

from chain.crypto import sm2
from chain.crypto.suite import SMSuite, get_suite
from chain.errors import InvalidSignature
from chain.ledger.transaction import Transaction

FIXTURES = json.loads((Path(__file__).parents[1] / "fixtures" / "transactions.json").read_text())["transactions"]

# A FISCO BCOS 2.x SM (guomi) transaction as published in the FISCO-BCOS repository's unit tests
# (test/unittests/libethcore/TransactionTest.cpp, the "2.0.0-rc2" FISCO_GM sample): a contract
# deployment with the 13-field layout, v = the sender's 64-byte public key, which here starts with
# a zero byte — the case that shows v is written as a fixed 64-byte string, not a trimmed integer.
FISCO_2X_SM_TX = (
    "f904a8a00148abbf95a2cd7851a238a393cd0b37e98c6b7602d86765633dc58ca5a27d538411e1a3008411e1"
    "a300830314f08080b903ed608060405234801561001057600080fd5b506040805190810160405280600d8152"
    "6020017f48656c6c6f2c20576f726c6421000000000000000000000000000000000000008152506000908051"
    "906020019061005c929190610062565b50610107565b82805460018160011615610100020316600290049060"
    "0052602060002090601f016020900481019282601f106100a357805160ff19168380011785556100d1565b82"
    "8001600101855582156100d1579182015b828111156100d05782518255916020019190600101906100b5565b"
    "5b5090506100de91906100e2565b5090565b61010491905b8082111561010057600081600090555060010161"
    "00e8565b5090565b90565b6102d7806101166000396000f30060806040526004361061004c576000357c0100"
    "000000000000000000000000000000000000000000000000000000900463ffffffff168063299f7f9d146100"
    "515780633590b49f146100e1575b600080fd5b34801561005d57600080fd5b5061006661014a565b60405180"
    "80602001828103825283818151815260200191508051906020019080838360005b838110156100a657808201"
    "518184015260208101905061008b565b50505050905090810190601f1680156100d357808203805160018360"
    "20036101000a031916815260200191505b509250505060405180910390f35b3480156100ed57600080fd5b50"
    "610148600480360381019080803590602001908201803590602001908080601f016020809104026020016040"
    "51908101604052809392919081815260200183838082843782019150505050505091929192905050506101ec"
    "565b005b606060008054600181600116156101000203166002900480601f0160208091040260200160405190"
    "810160405280929190818152602001828054600181600116156101000203166002900480156101e25780601f"
    "106101b7576101008083540402835291602001916101e2565b820191906000526020600020905b8154815290"
    "600101906020018083116101c557829003601f168201915b5050505050905090565b80600090805190602001"
    "90610202929190610206565b5050565b82805460018160011615610100020316600290049060005260206000"
    "2090601f016020900481019282601f1061024757805160ff1916838001178555610275565b82800160010185"
    "558215610275579182015b82811115610274578251825591602001919060010190610259565b5b5090506102"
    "829190610286565b5090565b6102a891905b808211156102a457600081600090555060010161028c565b5090"
    "565b905600a165627a7a723058200e531208a19ed0dffece0f39430f0289ccaf453693b7f502c0d96ddafd58"
    "e9840029010180b8400049d746344c4b535ed9462ac52c12d059e94946a663a4aa91d02af8df0e8e8336a2d3"
    "2e1ee7745ca2769ea70e5f86cb2ec315f77bbf8de3a90c32ce2125ea8fa035fcfcd60f0ee3b088b673e70334"
    "bb56fbed5edc57555393621edb8c0ccdbee2a0075b746d47379a6a32534f792e75eb0f86d20ef77240f0b4ca"
    "78747e4e81b53f"
)


@pytest.mark.parametrize("vector", FIXTURES, ids=[v["suite"] for v in FIXTURES])
def test_fixture_decodes_to_its_sender_and_hash(vector: dict[str, str]) -> None:
    suite = get_suite(vector["suite"])
    raw = bytes.fromhex(vector["raw"])
    tx = Transaction.decode(raw)
    assert tx.encode() == raw
    assert tx.hash(suite).hex() == vector["hash"] == suite.hash(raw).hex()
    assert tx.signing_hash(suite).hex() == vector["signing_hash"]
    assert tx.sender_public_key(suite).hex() == vector["public_key"]
    assert tx.sender(suite).hex() == vector["address"]
    # the key in the file is the one that signed
    assert suite.public_key(int(vector["private_key"], 16)).hex() == vector["public_key"]


def test_standard_fixture_against_eth_keys() -> None:
    """An independent implementation agrees on the signing hash, the signer and the address."""
    vector = next(v for v in FIXTURES if v["suite"] == "standard")
    fields = rlp.decode(bytes.fromhex(vector["raw"]))
    assert len(fields) == 13
    suite = get_suite("standard")
    assert suite.hash(rlp.encode(fields[:10])).hex() == vector["signing_hash"]  # first ten fields, as 2.x
    v, r, s = (int.from_bytes(f, "big") for f in fields[10:])
    signature = eth_keys.Signature(vrs=(v - 27, r, s))
    public = signature.recover_public_key_from_msg_hash(bytes.fromhex(vector["signing_hash"]))
    assert public.to_bytes().hex() == vector["public_key"]
    assert public.to_canonical_address().hex() == vector["address"]
    assert eth_keys.PrivateKey(bytes.fromhex(vector["private_key"])).public_key == public


def test_sm_fixture_against_every_sm2_backend() -> None:
    vector = next(v for v in FIXTURES if v["suite"] == "sm")
    tx = Transaction.decode(bytes.fromhex(vector["raw"]))
    for backend in sm2.available_backends():
        suite = SMSuite(sm2.get_backend(backend))
        assert tx.signing_hash(suite).hex() == vector["signing_hash"]
        assert suite.verify(bytes.fromhex(vector["public_key"]), tx.signing_hash(suite), tx.signature_bytes(suite))


def test_published_fisco_2x_sm_transaction() -> None:
    raw = bytes.fromhex(FISCO_2X_SM_TX)
    suite = get_suite("sm")
    tx = Transaction.decode(raw)
    assert tx.encode() == raw  # byte-for-byte the same encoding as FISCO BCOS
    assert tx.is_create and tx.chain_id == 1 and tx.group_id == 1 and tx.extra_data == b""
    assert tx.gas_price == tx.gas_limit == 300_000_000
    assert tx.block_limit == 0x0314F0
    assert tx.data[:4] == bytes.fromhex("60806040")  # solc init code
    public_key = tx.sender_public_key(suite)  # the SM2 signature (with Z_A) verifies
    assert public_key[0] == 0  # the leading zero byte that must survive the round trip
    assert tx.sender(suite) == suite.hash(public_key)[-20:]
    assert tx.hash(suite) == suite.hash(raw)
    # flipping any byte of the signed fields breaks it
    fields = rlp.decode(raw)
    fields[3] = (0x0314F1).to_bytes(3, "big")
    with pytest.raises(InvalidSignature):
        Transaction.decode(rlp.encode(fields)).sender(suite)


def test_field_by_field_layout_matches_the_2x_sdk_order() -> None:
    """Build the 13-field list by hand in the SDKs' order and compare with our encoder."""
    vector = next(v for v in FIXTURES if v["suite"] == "standard")
    tx = Transaction.decode(bytes.fromhex(vector["raw"]))
    by_hand = rlp.encode([
        tx.nonce, tx.gas_price, tx.gas_limit, tx.block_limit, tx.to, tx.value, tx.data,
        tx.chain_id, tx.group_id, tx.extra_data, tx.v, tx.r, tx.s,
    ])
    assert by_hand == tx.encode()
