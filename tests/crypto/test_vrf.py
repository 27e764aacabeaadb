"""The chain's VRF (FISCO BCOS 3.x / WeDPR curve25519): proofs verify, and nothing else does.

Beyond the round trip, `wedpr_prove` below rebuilds WeDPR's prover from its published source with
a *random* nonce, as WeDPR draws it: our verifier must accept such proofs, or a FISCO node's
proof would be refused here.
"""

from __future__ import annotations

import hashlib
import secrets

import pytest

from chain.crypto import edwards25519 as ed
from chain.crypto import ristretto255 as ristretto
from chain.crypto import vrf
from chain.crypto.hashing import keccak256

SECRET = vrf.secret_from_node_key(0x5EC12E7)
ALPHA = b"block 42"


def sha3_scalar(data: bytes) -> int:
    return int.from_bytes(hashlib.sha3_512(data).digest(), "little") % ed.L


def wedpr_prove(secret: bytes, alpha: bytes, k: int) -> bytes:
    """WedprCurve25519Vrf::prove, transcribed from WeDPR-Lab-Crypto: any nonce k gives a valid proof."""
    x = sha3_scalar(secret)
    public = ristretto.encode(ed.multiply(x, ed.BASE))
    h = ristretto.from_uniform_bytes(hashlib.sha3_512(public + alpha).digest())
    gamma = ristretto.encode(ed.multiply(x, h))
    u = ristretto.encode(ed.multiply(k, ed.BASE))
    v = ristretto.encode(ed.multiply(k, h))
    c = sha3_scalar(public + alpha + public + gamma + u + v)
    s = (k - c * x) % ed.L
    return gamma + c.to_bytes(32, "little") + s.to_bytes(32, "little")


@pytest.fixture(scope="module")
def proof() -> bytes:
    return vrf.prove(SECRET, ALPHA)


def test_a_proof_verifies_and_gives_its_hash(proof: bytes) -> None:
    beta = vrf.verify(vrf.public_key(SECRET), proof, ALPHA)
    assert beta is not None and len(beta) == 32 and len(proof) == 96
    assert beta == vrf.proof_to_hash(proof)


def test_keys_and_outputs_follow_the_documented_formulas(proof: bytes) -> None:
    """public key = enc(SHA3-512(secret)·G); beta = Keccak-256(enc(8·x·H)) — computed independently."""
    x = sha3_scalar(SECRET)
    public = ristretto.encode(ed.multiply(x, ed.BASE))
    assert vrf.public_key(SECRET) == public
    h = ristretto.from_uniform_bytes(hashlib.sha3_512(public + ALPHA).digest())
    assert vrf.proof_to_hash(proof) == keccak256(ristretto.encode(ed.multiply(8 * x, h)))


def test_proofs_are_reproducible_and_the_output_unique(proof: bytes) -> None:
    """Our nonce is derived, so a run replays byte for byte; WeDPR's random nonce changes the proof
    but never the output."""
    assert vrf.prove(SECRET, ALPHA) == proof
    other = wedpr_prove(SECRET, ALPHA, secrets.randbelow(ed.L))
    assert other != proof
    assert vrf.verify(vrf.public_key(SECRET), other, ALPHA) == vrf.proof_to_hash(proof)


def test_different_inputs_and_keys_give_different_outputs(proof: bytes) -> None:
    assert vrf.proof_to_hash(vrf.prove(SECRET, b"block 43")) != vrf.proof_to_hash(proof)
    assert vrf.proof_to_hash(vrf.prove(vrf.secret_from_node_key(7), ALPHA)) != vrf.proof_to_hash(proof)


def test_node_secret_is_the_key_as_fisco_passes_it() -> None:
    assert vrf.secret_from_node_key(1) == b"\x00" * 31 + b"\x01"


def test_wrong_alpha_is_refused(proof: bytes) -> None:
    assert vrf.verify(vrf.public_key(SECRET), proof, b"block 43") is None


def test_wrong_key_is_refused(proof: bytes) -> None:
    assert vrf.verify(vrf.public_key(vrf.secret_from_node_key(7)), proof, ALPHA) is None


@pytest.mark.parametrize("index", [0, 31, 32, 40, 62, 64, 80, 95])
def test_a_tampered_proof_is_refused(proof: bytes, index: int) -> None:
    tampered = bytearray(proof)
    tampered[index] ^= 0x01
    assert vrf.verify(vrf.public_key(SECRET), bytes(tampered), ALPHA) is None


def test_c_must_be_the_reduced_challenge(proof: bytes) -> None:
    c = int.from_bytes(proof[32:64], "little")
    shifted = proof[:32] + (c + ed.L).to_bytes(32, "little") + proof[64:]
    assert vrf.verify(vrf.public_key(SECRET), shifted, ALPHA) is None


def test_bit_255_of_c_and_s_is_ignored_as_fisco_does(proof: bytes) -> None:
    """dalek's Scalar::from_bits drops bit 255; a proof FISCO accepts must be accepted here too."""
    for index in (63, 95):
        flipped = bytearray(proof)
        flipped[index] ^= 0x80
        assert vrf.verify(vrf.public_key(SECRET), bytes(flipped), ALPHA) == vrf.proof_to_hash(proof)


def test_identity_public_key_is_refused() -> None:
    """x = 0: Gamma is the identity and anyone can build a proof that passes the equations."""
    public = ristretto.encode(ed.IDENTITY)
    h = ristretto.from_uniform_bytes(hashlib.sha3_512(public + ALPHA).digest())
    k = 12345
    u, v = ristretto.encode(ed.multiply(k, ed.BASE)), ristretto.encode(ed.multiply(k, h))
    gamma = ristretto.encode(ed.IDENTITY)
    c = sha3_scalar(public + ALPHA + public + gamma + u + v)
    forged = gamma + c.to_bytes(32, "little") + k.to_bytes(32, "little")
    assert vrf.verify(public, forged, ALPHA) is None


@pytest.mark.parametrize("public", [b"", b"\x01" * 31, b"\x01" * 33, "ff" * 32, b"\xff" * 32,
                                    bytes.fromhex("26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371")])
def test_malformed_public_keys_give_none(proof: bytes, public: bytes) -> None:
    assert vrf.verify(public, proof, ALPHA) is None


def test_a_proof_with_a_byte_too_many_is_refused(proof: bytes) -> None:
    assert vrf.verify(vrf.public_key(SECRET), proof + b"\x00", ALPHA) is None


@pytest.mark.parametrize("bad", [b"", b"\x00", b"\x00" * 95, b"\xff" * 96, None, "00" * 96, 96])
def test_short_or_garbage_proofs_give_none(bad: object) -> None:
    assert vrf.verify(vrf.public_key(SECRET), bad, ALPHA) is None  # type: ignore[arg-type]


def test_a_gamma_that_is_not_a_point_is_refused(proof: bytes) -> None:
    not_a_point = bytes.fromhex("26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371")
    assert vrf.verify(vrf.public_key(SECRET), not_a_point + proof[32:], ALPHA) is None


def test_non_bytes_alpha_gives_none(proof: bytes) -> None:
    assert vrf.verify(vrf.public_key(SECRET), proof, "block 42") is None  # type: ignore[arg-type]


def test_proof_to_hash_refuses_what_is_not_a_proof() -> None:
    with pytest.raises(ValueError):
        vrf.proof_to_hash(b"\x00" * 95)
    with pytest.raises(ValueError):
        vrf.proof_to_hash(b"\xff" * 96)


def test_a_remembered_verification_gives_the_same_answers(proof: bytes) -> None:
    public = vrf.public_key(SECRET)
    vrf.forget_verifications()
    first = vrf.verify(public, proof, ALPHA), vrf.verify(public, proof, b"other")
    assert first == (vrf.verify(public, proof, ALPHA), vrf.verify(public, proof, b"other"))
    assert first[0] is not None and first[1] is None
