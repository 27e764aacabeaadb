"""ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381 §5.5): the standard VRF, kept as the reference.

The chain's own VRF (`chain.crypto.vrf`) is FISCO BCOS's, so that proofs cross between the two
chains; this module is the IETF one, with the same four functions, checked against RFC 9381's
published examples 16–18 (tests/crypto/test_vrf_rfc9381.py). A classroom can set the two side by
side: same idea (a Chaum–Pedersen proof that log_B(Y) = log_H(Gamma)), different group
(edwards25519 with the cofactor cleared by hand vs. Ristretto255), hash (SHA-512 vs. SHA3-512)
and output (64-byte SHA-512 vs. 32-byte Keccak-256). Its proofs are *not* accepted by FISCO.

Keys are Ed25519 keys (RFC 8032): the secret is a 32-byte seed, the public key its Ed25519 key.
Verification runs with ``validate_key`` on (a small-order public key is rejected).
"""

from __future__ import annotations

import hashlib

from chain.crypto import edwards25519 as ed

SUITE = b"\x03"  # ECVRF-EDWARDS25519-SHA512-TAI
C_LEN = 16  # the challenge is truncated to 128 bits
PROOF_LEN = 32 + C_LEN + 32  # Gamma ‖ c ‖ s


def _sha512(*parts: bytes) -> bytes:
    return hashlib.sha512(b"".join(parts)).digest()


def _secret_scalar(secret: bytes) -> tuple[int, bytes]:
    """RFC 8032 §5.1.5: the clamped scalar x and the second half of SHA-512(seed) for nonces."""
    if len(secret) != 32:
        raise ValueError("an ECVRF secret is a 32-byte Ed25519 seed")
    digest = _sha512(secret)
    x = int.from_bytes(digest[:32], "little")
    x &= (1 << 254) - 8
    x |= 1 << 254
    return x, digest[32:]


def public_key(secret: bytes) -> bytes:
    return ed.encode(ed.multiply_base(_secret_scalar(secret)[0]))


def encode_to_curve(salt: bytes, alpha: bytes) -> ed.Point:
    """§5.4.1.1 try-and-increment: hash with a counter until 32 bytes decode to a point, times 8."""
    for counter in range(256):
        candidate = ed.decode(_sha512(SUITE, b"\x01", salt, alpha, bytes([counter]), b"\x00")[:32])
        if candidate is not None:
            return ed.multiply(8, candidate)
    raise ValueError("no point found in 256 tries")  # probability about 2⁻²⁵⁶


def _challenge(*points: ed.Point) -> int:
    """§5.4.3: c = the first 16 bytes of SHA-512 over the five points (Y, H, Gamma, U, V)."""
    digest = _sha512(SUITE, b"\x02", *(ed.encode(point) for point in points), b"\x00")
    return int.from_bytes(digest[:C_LEN], "little")


def prove(secret: bytes, alpha: bytes) -> bytes:
    """§5.1: pi = Gamma ‖ c ‖ s with Gamma = x·H, k from the secret and H (§5.4.2.2, no randomness)."""
    x, nonce_key = _secret_scalar(secret)
    y_point = ed.multiply_base(x)
    h_point = encode_to_curve(ed.encode(y_point), alpha)
    gamma = ed.multiply(x, h_point)
    k = int.from_bytes(_sha512(nonce_key, ed.encode(h_point)), "little") % ed.L
    c = _challenge(y_point, h_point, gamma, ed.multiply_base(k), ed.multiply(k, h_point))
    s = (k + c * x) % ed.L
    return ed.encode(gamma) + c.to_bytes(C_LEN, "little") + s.to_bytes(32, "little")


def proof_to_hash(proof: bytes) -> bytes:
    """§5.2: beta = SHA-512(suite ‖ 0x03 ‖ 8·Gamma ‖ 0x00), 64 bytes. Checks the form, not the proof."""
    gamma = ed.decode(proof[:32]) if len(proof) == PROOF_LEN else None
    if gamma is None:
        raise ValueError("not an ECVRF proof")
    return _sha512(SUITE, b"\x03", ed.encode(ed.multiply(8, gamma)), b"\x00")


def verify(public: bytes, proof: bytes, alpha: bytes) -> bytes | None:
    """§5.3: beta when `proof` shows that `public`'s owner computed it for `alpha`, else None."""
    if not isinstance(public, bytes) or not isinstance(proof, bytes) or not isinstance(alpha, bytes):
        return None
    y_point = ed.decode(public)
    # the public key must be a point, and not of small order (validate_key), or anyone could prove
    if y_point is None or ed.is_identity(ed.multiply(8, y_point)):
        return None
    # the proof must be 80 bytes whose Gamma is a point and whose s is a reduced scalar
    if len(proof) != PROOF_LEN:
        return None
    gamma = ed.decode(proof[:32])
    c = int.from_bytes(proof[32:32 + C_LEN], "little")
    s = int.from_bytes(proof[32 + C_LEN:], "little")
    if gamma is None or s >= ed.L:
        return None
    h_point = encode_to_curve(public, alpha)
    u = ed.subtract(ed.multiply_base(s), ed.multiply(c, y_point))
    v = ed.multiply_double(s, h_point, c, ed.negate(gamma))
    # the challenge recomputed from U = s·B − c·Y and V = s·H − c·Gamma must be the proof's own
    if _challenge(y_point, h_point, gamma, u, v) != c:
        return None
    return proof_to_hash(proof)
