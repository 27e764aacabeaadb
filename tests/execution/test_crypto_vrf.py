"""Crypto 0x100a's curve25519VRFVerify, called through the executor as FISCO 3.x declares it:

    curve25519VRFVerify(bytes message, bytes publicKey, bytes proof) returns (bool, uint256)

(true, beta as a big-endian uint256) for a right proof; (false, 0) for a wrong or malformed one —
never a revert, so a contract can branch on the answer.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import chain.contracts as contract_sources

from chain.abi.codec import decode_args, encode_call
from chain.crypto import vrf
from chain.crypto.keys import KeyPair
from chain.crypto.suite import get_suite
from chain.execution import gas
from chain.execution.local import LocalChain
from chain.execution.precompiled import CRYPTO_ADDRESS
from chain.execution.precompiled.crypto import VRF_VERIFY_GAS
from chain.ledger.status import Status

pytestmark = pytest.mark.timeout(60)

SIGNATURE = "curve25519VRFVerify(bytes,bytes,bytes)"
SEALER_SECRET = vrf.secret_from_node_key(0x5EA1E2)
ALPHA = (42).to_bytes(8, "big")  # what a FISCO sealer proves over: the block number, big-endian


@pytest.fixture(scope="module")
def proof() -> bytes:
    return vrf.prove(SEALER_SECRET, ALPHA)


def verify_call(chain: LocalChain, message: bytes, public: bytes, proof: bytes) -> bytes:
    return encode_call(chain.suite, SIGNATURE, message, public, proof)


def test_a_valid_proof_returns_true_and_the_vrf_output(chain: LocalChain, proof: bytes) -> None:
    status, output = chain.call(CRYPTO_ADDRESS, verify_call(chain, ALPHA, vrf.public_key(SEALER_SECRET), proof))
    assert status == Status.SUCCESS
    assert decode_args(["bool", "uint256"], output) == (True, int.from_bytes(vrf.proof_to_hash(proof), "big"))


def test_an_invalid_proof_returns_false_and_zero(chain: LocalChain, proof: bytes) -> None:
    public = vrf.public_key(SEALER_SECRET)
    tampered = proof[:40] + bytes([proof[40] ^ 1]) + proof[41:]
    for message, key, candidate in [(ALPHA, public, tampered),  # a flipped bit in c
                                    ((43).to_bytes(8, "big"), public, proof),  # another block
                                    (ALPHA, vrf.public_key(b"another node"), proof),  # another key
                                    (ALPHA, b"\x01\x02", proof), (ALPHA, public, b"garbage")]:
        status, output = chain.call(CRYPTO_ADDRESS, verify_call(chain, message, key, candidate))
        assert (status, decode_args(["bool", "uint256"], output)) == (Status.SUCCESS, (False, 0))


def test_a_transaction_gets_the_answer_in_its_receipt(chain: LocalChain, user: KeyPair, proof: bytes) -> None:
    public = vrf.public_key(SEALER_SECRET)
    good = chain.send(user, CRYPTO_ADDRESS, verify_call(chain, ALPHA, public, proof))
    assert good.status == Status.SUCCESS
    assert decode_args(["bool", "uint256"], good.output)[0] is True
    assert good.gas_used > VRF_VERIFY_GAS  # the flat cost, the message's hashing and the intrinsic gas
    bad = chain.send(user, CRYPTO_ADDRESS, verify_call(chain, b"", public, proof))
    assert (bad.status, decode_args(["bool", "uint256"], bad.output)) == (Status.SUCCESS, (False, 0))


def test_too_little_gas_stops_the_verification(chain: LocalChain, user: KeyPair, proof: bytes) -> None:
    data = verify_call(chain, ALPHA, vrf.public_key(SEALER_SECRET), proof)
    receipt = chain.send(user, CRYPTO_ADDRESS, data, gas_limit=21_000 + 16 * len(data) + VRF_VERIFY_GAS // 2)
    assert receipt.status == Status.OUT_OF_GAS


def test_the_message_is_charged_per_hashed_word(chain: LocalChain, user: KeyPair, proof: bytes) -> None:
    public = vrf.public_key(SEALER_SECRET)
    short, long = verify_call(chain, b"m", public, proof), verify_call(chain, b"m" * 1000, public, proof)
    used_short = chain.send(user, CRYPTO_ADDRESS, short).gas_used
    used_long = chain.send(user, CRYPTO_ADDRESS, long).gas_used
    extra_calldata = gas.intrinsic_gas(long, False) - gas.intrinsic_gas(short, False)
    assert used_long - used_short == extra_calldata + gas.hash_gas(1000) - gas.hash_gas(1)


DRAW = """// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;
import "./Crypto.sol";
contract Draw {
    Crypto constant CRYPTO = Crypto(address(0x100a));
    function draw(bytes calldata message, bytes calldata publicKey, bytes calldata proof)
        external view returns (bool, uint256) {
        return CRYPTO.curve25519VRFVerify(message, publicKey, proof);
    }
}
"""


def test_a_contract_calls_it_through_the_interface_file(chain: LocalChain, user: KeyPair, proof: bytes) -> None:
    """Through sources/system/Crypto.sol — in the sm suite the call's selector must be rewritten to SM3."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Solidity needs node and npm (solc-js)")
    from chain.sdk.compiler import compile_solidity

    interface = (Path(contract_sources.__file__).parent / "sources" / "system" / "Crypto.sol").read_text()
    artifact = compile_solidity({"Crypto.sol": interface, "Draw.sol": DRAW}, get_suite(chain.suite.name))["Draw"]
    address = chain.deploy(user, artifact).contract_address
    public = vrf.public_key(SEALER_SECRET)
    for message, expected in [(ALPHA, (True, int.from_bytes(vrf.proof_to_hash(proof), "big"))),
                              (b"another block", (False, 0))]:
        status, output = chain.call(address, encode_call(chain.suite, "draw(bytes,bytes,bytes)", message, public, proof))
        assert (status, decode_args(["bool", "uint256"], output)) == (Status.SUCCESS, expected)
