"""A VRF on the node's own curve (secp256k1 or SM2), keyed by the node's consensus key.

rPBFT's rotation proof must be bound to the sealer that makes it, or the sealer could try many VRF
keys and keep the one whose output draws the working set it wants: the proof would stop nobody
from grinding. FISCO BCOS 3.x has two VRF types for its rotation transaction. With the default,
curve25519 (`chain.crypto.vrf`), the key is derived from the node key by hashing, and its
``checkVRFInfos`` checks only that it is a valid point — no verifier can tie it to the node id. With
``feature_rpbft_vrf_type_secp256k1`` the VRF runs on the node's curve with the node's own key, so
its public key *is* the node id and ``checkSealerPublicKey`` compares the two. This module is that
second kind, for both suites: the VRF secret is the node's signing secret and the public key its
64-byte node id, so every node checks a proof against the sealer list with no key to register.

The construction is RFC 9381's ECVRF with try-and-increment (the P-256 suite's structure, §5.5),
over the suite's curve and with the suite's 32-byte hash (Keccak-256 or SM3) as ``Hash``:

    H      = encode_to_curve_try_and_increment(Y, alpha)   x = Hash(suite ‖ 01 ‖ enc(Y) ‖ alpha ‖ ctr ‖ 00)
    Gamma  = x·H;   k = nonce;  U = k·G;  V = k·H
    c      = Hash(suite ‖ 02 ‖ enc(Y) ‖ enc(H) ‖ enc(Gamma) ‖ enc(U) ‖ enc(V) ‖ 00)[:16]
    s      = k + c·x mod n;     proof = enc(Gamma) ‖ c ‖ s            (33 + 16 + 32 = 81 bytes)
    verify:  U = s·G − c·Y,  V = s·H − c·Gamma,  accept iff c is recomputed
    beta   = Hash(suite ‖ 03 ‖ enc(Gamma) ‖ 00)                       (cofactor 1 on both curves)

enc is SEC1 compressed (02/03 ‖ x). The nonce is not RFC 6979's: k = Hash-derived 64 bytes from
the secret and H, reduced mod n (like RFC 8032), so proofs are reproducible and k is uniform. The
suite strings are ours (RFC 9381 defines no secp256k1 or SM2 suite), so these proofs are not
FISCO's byte for byte; the binding and the uniqueness (one valid beta per key and input) are the
point. Reusing the signing key is what FISCO's secp256k1 VRF does too: the VRF's hashes are
domain-separated by the suite string, and its nonce derivation differs from the signatures'.

Plain affine arithmetic with Python integers: a proof costs about 3 scalar multiplications and a
verification 4 (a few ms each); a chain makes one per epoch, and `verify` remembers its answers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

from chain.crypto import sm2
from chain.crypto import secp256k1
from chain.crypto.suite import CryptoSuite

Point = tuple[int, int] | None  # affine (x, y); None is the point at infinity
C_LEN = 16
PROOF_LEN = 33 + C_LEN + 32
BETA_LEN = 32


@dataclass(frozen=True)
class Curve:
    """A short Weierstrass curve y² = x³ + ax + b over F_p, of prime order n (cofactor 1)."""

    name: str
    p: int
    a: int
    b: int
    n: int
    g: tuple[int, int]
    suite_string: bytes


SECP256K1 = Curve("secp256k1", secp256k1.P, 0, 7, secp256k1.N,
                  (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
                   0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8),
                  b"chain-ecvrf-secp256k1-keccak256-tai")
SM2 = Curve("sm2", sm2.P, sm2.A, sm2.B, sm2.N, (sm2.GX, sm2.GY), b"chain-ecvrf-sm2-sm3-tai")
CURVES = {"standard": SECP256K1, "sm": SM2}  # by CryptoSuite.name

Hash = Callable[[bytes], bytes]


def _add(c: Curve, p1: Point, p2: Point) -> Point:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    x1, y1 = p1
    x2, y2 = p2
    if x1 == x2:
        if (y1 + y2) % c.p == 0:
            return None
        slope = (3 * x1 * x1 + c.a) * pow(2 * y1, -1, c.p) % c.p
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, c.p) % c.p
    x3 = (slope * slope - x1 - x2) % c.p
    return x3, (slope * (x1 - x3) - y1) % c.p


def _neg(c: Curve, point: Point) -> Point:
    return None if point is None else (point[0], (-point[1]) % c.p)


def _mul(c: Curve, k: int, point: Point) -> Point:
    result: Point = None
    addend = point
    k %= c.n
    while k:
        if k & 1:
            result = _add(c, result, addend)
        addend = _add(c, addend, addend)
        k >>= 1
    return result


def _on_curve(c: Curve, x: int, y: int) -> bool:
    return 0 <= x < c.p and 0 <= y < c.p and (y * y - x * x * x - c.a * x - c.b) % c.p == 0


def _encode(point: Point) -> bytes:
    """SEC1 compressed; the point at infinity never reaches here (keys and Gamma are checked)."""
    assert point is not None
    return bytes([2 + (point[1] & 1)]) + point[0].to_bytes(32, "big")


def _decode(c: Curve, data: bytes) -> Point:
    """A compressed point, or None if `data` is not one (both curves have p ≡ 3 mod 4)."""
    if len(data) != 33 or data[0] not in (2, 3):
        return None
    x = int.from_bytes(data[1:], "big")
    if x >= c.p:
        return None
    rhs = (x * x * x + c.a * x + c.b) % c.p
    y = pow(rhs, (c.p + 1) // 4, c.p)
    if y * y % c.p != rhs:
        return None
    if y & 1 != data[0] & 1:
        y = c.p - y
    return x, y


def _public_point(c: Curve, public: bytes) -> Point:
    """The 64-byte x‖y node id as a point, or None if it is not one of the curve's."""
    if len(public) != 64:
        return None
    x, y = int.from_bytes(public[:32], "big"), int.from_bytes(public[32:], "big")
    return (x, y) if _on_curve(c, x, y) else None


def _hash_to_curve(c: Curve, hash_fn: Hash, public: Point, alpha: bytes) -> Point:
    """RFC 9381 §5.4.1.1 try-and-increment: the first counter whose hash is an x of the curve."""
    prefix = c.suite_string + b"\x01" + _encode(public) + alpha
    for ctr in range(256):
        point = _decode(c, b"\x02" + hash_fn(prefix + bytes([ctr]) + b"\x00"))
        if point is not None:
            return point
    raise ValueError("no curve point in 256 tries")  # probability about 2^-256


def _challenge(c: Curve, hash_fn: Hash, *points: Point) -> int:
    data = c.suite_string + b"\x02" + b"".join(_encode(p) for p in points) + b"\x00"
    return int.from_bytes(hash_fn(data)[:C_LEN], "big")


def prove(suite: CryptoSuite, secret: int, alpha: bytes) -> bytes:
    """The 81-byte proof, by the node holding `secret`, of its VRF output for `alpha`."""
    c, hash_fn = CURVES[suite.name], suite.hash
    if not 0 < secret < c.n:
        raise ValueError("a VRF secret is a private key of the curve")
    y_point = _mul(c, secret, c.g)
    h_point = _hash_to_curve(c, hash_fn, y_point, alpha)
    gamma = _mul(c, secret, h_point)
    seed = c.suite_string + b"nonce" + secret.to_bytes(32, "big") + _encode(h_point)
    k = int.from_bytes(hash_fn(seed + b"\x00") + hash_fn(seed + b"\x01"), "big") % (c.n - 1) + 1
    challenge = _challenge(c, hash_fn, y_point, h_point, gamma, _mul(c, k, c.g), _mul(c, k, h_point))
    s = (k + challenge * secret) % c.n
    return _encode(gamma) + challenge.to_bytes(C_LEN, "big") + s.to_bytes(32, "big")


def proof_to_hash(suite: CryptoSuite, proof: bytes) -> bytes:
    """beta; checks only the proof's form — use `verify` for its truth."""
    c, hash_fn = CURVES[suite.name], suite.hash
    gamma = _decode(c, proof[:33]) if len(proof) == PROOF_LEN else None
    if gamma is None:
        raise ValueError(f"not a {c.name} VRF proof")
    return hash_fn(c.suite_string + b"\x03" + _encode(gamma) + b"\x00")


def verify(suite: CryptoSuite, public: bytes, proof: bytes, alpha: bytes) -> bytes | None:
    """beta if `proof` shows that the node whose id is `public` computed it for `alpha`; else None.

    Never raises on what peers send: keys, proofs and inputs of any shape give None.
    """
    if suite.name not in CURVES or not all(isinstance(v, bytes) for v in (public, proof, alpha)):
        return None
    return _verified(suite, public, proof, alpha)


@functools.lru_cache(maxsize=256)
def _verified(suite: CryptoSuite, public: bytes, proof: bytes, alpha: bytes) -> bytes | None:
    """`verify` proper, remembered: in the simulator every node checks the same rotation proof."""
    c, hash_fn = CURVES[suite.name], suite.hash
    y_point = _public_point(c, public)
    # the key must be a point of the curve (the node id of a sealer always is)
    if y_point is None or len(proof) != PROOF_LEN:
        return None
    gamma = _decode(c, proof[:33])
    challenge = int.from_bytes(proof[33:33 + C_LEN], "big")
    s = int.from_bytes(proof[33 + C_LEN:], "big")
    # Gamma a point, s a reduced scalar (one encoding per proof)
    if gamma is None or s >= c.n:
        return None
    h_point = _hash_to_curve(c, hash_fn, y_point, alpha)
    u = _add(c, _mul(c, s, c.g), _neg(c, _mul(c, challenge, y_point)))
    v = _add(c, _mul(c, s, h_point), _neg(c, _mul(c, challenge, gamma)))
    if u is None or v is None:
        return None
    # the challenge recomputed from U = s·G − c·Y and V = s·H − c·Gamma must be the proof's
    if _challenge(c, hash_fn, y_point, h_point, gamma, u, v) != challenge:
        return None
    return hash_fn(c.suite_string + b"\x03" + _encode(gamma) + b"\x00")
