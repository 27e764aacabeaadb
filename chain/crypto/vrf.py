"""The chain's VRF: FISCO BCOS 3.x's curve25519 VRF (WeDPR), so proofs cross between the chains.

A verifiable random function gives the holder of a secret key a pseudo-random output (beta) for
any input (alpha) *and* a proof that beta is the one right output for that key and input. FISCO's
rPBFT uses it to choose the next epoch's working sealers: nobody can predict a sealer's draw before
it publishes it, and nobody can fake one. This chain's rPBFT uses `chain.crypto.nodevrf` instead,
on the node's own curve, because a curve25519 key cannot be tied to a node id (see there); this one
serves contracts, through precompile 0x100a, and proofs made with FISCO's tools.

FISCO BCOS 3.x computes it with WeDPR-Lab-Crypto's ``WedprCurve25519Vrf`` (crate
wedpr_l_crypto_vrf_curve25519, on curve25519-dalek's Ristretto), through the C calls
``wedpr_curve25519_vrf_derive_public_key / _prove_utf8 / _verify_utf8 / _proof_to_hash``. The
algorithm is only written down in that source; this module follows it step for step:

    x      = SHA3-512(secret) mod L              the secret is any byte string (FISCO: the node key)
    Y      = x·G                                 G the Ristretto255 generator; public key = enc(Y)
    H      = from_uniform_bytes(SHA3-512(enc(Y) ‖ alpha))
    Gamma  = x·H
    k      = a nonce;  U = k·G,  V = k·H
    c      = SHA3-512(enc(Y) ‖ alpha ‖ enc(Y) ‖ enc(Gamma) ‖ enc(U) ‖ enc(V)) mod L
    s      = k − c·x mod L
    proof  = enc(Gamma) ‖ c ‖ s                  96 bytes, scalars little-endian
    verify:  U' = c·Y + s·G,  V' = c·Gamma + s·H,  accept iff c = SHA3-512(… U' ‖ V') mod L
    beta   = Keccak-256(enc(8·Gamma))            32 bytes; FISCO's precompile returns it as uint256

Differences, all invisible to a FISCO verifier: WeDPR draws k at random; we derive it from x and
H (like RFC 8032), so a run is reproducible — the same seed gives the same proofs. We refuse the
identity as a public key (x = 0: anyone could "prove" for it); WeDPR accepts it. As in dalek's
``Scalar::from_bits``, bit 255 of c and s is ignored and s need not be reduced: a proof FISCO
accepts, we accept. No proof produced by WeDPR itself was available to test against (its own test
prints the hash and says "TODO: add the expected value"); the parts are checked against their
standards instead — Ristretto255 against RFC 9496's vectors, SHA3-512 and Keccak-256 against
theirs — and the composition follows the source above.

The IETF VRF (RFC 9381, ECVRF-EDWARDS25519-SHA512-TAI) is in `chain.crypto.ecvrf`, with the same
four functions and its published test vectors; its proofs are not FISCO's.
"""

from __future__ import annotations

import functools
import hashlib

from chain.crypto import edwards25519 as ed
from chain.crypto import ristretto255 as ristretto
from chain.crypto.hashing import keccak256

PROOF_LEN = 96  # Gamma ‖ c ‖ s
PUBLIC_KEY_LEN = 32
BETA_LEN = 32
_LOW_255_BITS = (1 << 255) - 1


def _sha3_512(*parts: bytes) -> bytes:
    return hashlib.sha3_512(b"".join(parts)).digest()


def _scalar(*parts: bytes) -> int:
    """dalek's Scalar::hash_from_bytes::<Sha3_512>: the 64-byte digest, little-endian, mod L."""
    return int.from_bytes(_sha3_512(*parts), "little") % ed.L


def _to_bytes(scalar: int) -> bytes:
    return scalar.to_bytes(32, "little")


def secret_from_node_key(secret: int) -> bytes:
    """A node's VRF secret: its signing key's 32 bytes, big-endian, exactly as FISCO passes them.

    FISCO's VRFBasedSealer hands ``keyPair->secretKey()`` to WeDPR, so a node needs no second key
    file and its VRF public key can be recomputed by anyone holding its key (``chain build`` makes
    none). It is safe: WeDPR hashes the bytes with SHA3-512 into a Ristretto255 scalar, a different
    hash on a different curve from the SM2/secp256k1 signatures, so a VRF key says nothing about
    the signing key beyond what the proofs themselves reveal.
    """
    return secret.to_bytes(32, "big")


def public_key(secret: bytes) -> bytes:
    """The 32-byte public key of a VRF secret (any byte string; a node uses `secret_from_node_key`)."""
    return ristretto.encode(ed.multiply_base(_scalar(secret)))


def _hash_to_point(public: bytes, alpha: bytes) -> ed.Point:
    """dalek's RistrettoPoint::hash_from_bytes::<Sha3_512>(public ‖ alpha)."""
    return ristretto.from_uniform_bytes(_sha3_512(public, alpha))


def prove(secret: bytes, alpha: bytes) -> bytes:
    """A 96-byte proof that beta = proof_to_hash(proof) is this key's output for `alpha`."""
    x = _scalar(secret)
    public = ristretto.encode(ed.multiply_base(x))
    h_point = _hash_to_point(public, alpha)
    gamma = ristretto.encode(ed.multiply(x, h_point))
    k = _scalar(b"chain vrf nonce", _to_bytes(x), ristretto.encode(h_point))
    u = ristretto.encode(ed.multiply_base(k))
    v = ristretto.encode(ed.multiply(k, h_point))
    c = _scalar(public, alpha, public, gamma, u, v)
    s = (k - c * x) % ed.L
    return gamma + _to_bytes(c) + _to_bytes(s)


def forget_verifications() -> None:
    """Empty `verify`'s memory (benchmarks measure real verifications)."""
    _verified.cache_clear()


def proof_to_hash(proof: bytes) -> bytes:
    """beta = Keccak-256(enc(8·Gamma)). Checks only the proof's form; use `verify` for its truth."""
    gamma = ristretto.decode(proof[:32]) if len(proof) == PROOF_LEN else None
    if gamma is None:
        raise ValueError("not a curve25519 VRF proof: 96 bytes starting with a Ristretto255 point")
    return keccak256(ristretto.encode(ed.multiply(8, gamma)))


def verify(public: bytes, proof: bytes, alpha: bytes) -> bytes | None:
    """beta when `proof` shows that the owner of `public` computed it for `alpha`; None otherwise.

    Never raises: keys, proofs and inputs come from peers and from contracts.
    """
    if not isinstance(public, bytes) or not isinstance(proof, bytes) or not isinstance(alpha, bytes):
        return None
    return _verified(public, proof, alpha)


@functools.lru_cache(maxsize=1024)
def _verified(public: bytes, proof: bytes, alpha: bytes) -> bytes | None:
    """`verify` proper, remembered: in the simulator every node of the process checks the same
    rotation proof, and the answer is a pure function of the three byte strings."""
    y_point = ristretto.decode(public)
    # the public key must be a Ristretto255 element (WeDPR's is_valid_public_key) ...
    if y_point is None:
        return None
    # ... and not the identity, the key of x = 0 for which anyone can produce a "proof"
    if ristretto.is_identity(y_point):
        return None
    # the proof is Gamma ‖ c ‖ s, 96 bytes, and Gamma must be a Ristretto255 element
    if len(proof) != PROOF_LEN:
        return None
    gamma = ristretto.decode(proof[:32])
    if gamma is None:
        return None
    c = int.from_bytes(proof[32:64], "little") & _LOW_255_BITS  # dalek's Scalar::from_bits
    s = int.from_bytes(proof[64:96], "little") & _LOW_255_BITS
    h_point = _hash_to_point(public, alpha)
    u = ed.add(ed.multiply(c, y_point), ed.multiply_base(s))
    v = ed.multiply_double(c, gamma, s, h_point)
    expected = _scalar(public, alpha, public, proof[:32], ristretto.encode(u), ristretto.encode(v))
    # the challenge recomputed from U = c·Y + s·G and V = c·Gamma + s·H must be the proof's c
    if c != expected:
        return None
    return keccak256(ristretto.encode(ed.multiply(8, gamma)))
