"""Crypto (0x100a): the hash functions, SM2 verification and the VRF check for contracts, in both suites.

    sm3(bytes data) returns (bytes32)
    keccak256Hash(bytes data) returns (bytes32)
    sm2Verify(bytes32 message, bytes publicKey, bytes32 r, bytes32 s) returns (bool valid, address signer)
    curve25519VRFVerify(bytes message, bytes publicKey, bytes proof) returns (bool valid, uint256 random)

Both hashes are available whatever the chain's suite, so a contract can check data produced
elsewhere. ``sm2Verify`` checks an SM2 signature (default user id 1234567812345678) over the
32-byte message the signer signed, and returns the signer's SM3-based address when it verifies,
(false, 0x0) otherwise — a malformed key or signature is simply "not valid", never an exception.

``curve25519VRFVerify`` is FISCO 3.x's check of a VRF proof (the one rPBFT sealers publish, see
`chain.crypto.vrf`): (true, beta read as a big-endian uint256) when the proof is right for the key
and message, (false, 0) for anything else, malformed input included — as FISCO's
CryptoPrecompiled does. FISCO charges it only memory gas (3 per 32-byte word of input); here it
costs a flat 30,000 like sm2Verify plus the hashing of the message, because a verification is
three scalar multiplications (~25 ms in Python), and a near-free one would let one transaction
keep every node busy for minutes.
"""

from __future__ import annotations

from chain.crypto import vrf
from chain.crypto.hashing import keccak256, sm3
from chain.crypto.suite import get_suite
from chain.errors import CryptoError
from chain.execution import gas
from chain.execution.precompiled.base import CallContext, SystemContract, method, system_address

ZERO_ADDRESS = b"\x00" * 20
VRF_VERIFY_GAS = gas.PRECOMPILED_SM2_VERIFY  # the same order of work: a few scalar multiplications


class CryptoContract(SystemContract):
    address = system_address(0x100A)
    name = "Crypto"

    @method("sm3(bytes)", ("bytes32",), gas=0)
    def sm3(self, call: CallContext, data: bytes) -> tuple[bytes]:
        call.charge(gas.hash_gas(len(data)))
        return (sm3(data),)

    @method("keccak256Hash(bytes)", ("bytes32",), gas=0)
    def keccak256_hash(self, call: CallContext, data: bytes) -> tuple[bytes]:
        call.charge(gas.hash_gas(len(data)))
        return (keccak256(data),)

    @method("sm2Verify(bytes32,bytes,bytes32,bytes32)", ("bool", "address"), gas=gas.PRECOMPILED_SM2_VERIFY)
    def sm2_verify(self, call: CallContext, message: bytes, public_key: bytes, r: bytes, s: bytes) -> tuple[bool, bytes]:
        sm = get_suite("sm")
        # a 64-byte uncompressed point x‖y (a leading 0x04 is accepted and dropped)
        if len(public_key) == 65 and public_key[0] == 4:
            public_key = public_key[1:]
        try:
            valid = sm.verify(public_key, message, r + s + public_key)
        except CryptoError:
            valid = False
        if not valid:
            return False, ZERO_ADDRESS
        return True, sm.address(public_key)

    @method("curve25519VRFVerify(bytes,bytes,bytes)", ("bool", "uint256"), gas=VRF_VERIFY_GAS)
    def curve25519_vrf_verify(self, call: CallContext, message: bytes, public_key: bytes,
                              proof: bytes) -> tuple[bool, int]:
        call.charge(gas.hash_gas(len(message)))
        beta = vrf.verify(public_key, proof, message)
        if beta is None:
            return False, 0
        return True, int.from_bytes(beta, "big")
