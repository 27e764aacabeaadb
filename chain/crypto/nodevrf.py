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

Jacobian coordinates with Python integers (no inversion per step; a verification's two double
multiplications share their doublings): a proof or a verification takes a few tens of ms; a chain
makes one per epoch, and `verify` remembers its answers.
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


Jacobian = tuple[int, int, int]  # (X, Y, Z) for the affine (X/Z², Y/Z³); Z = 0 is the point at infinity
_INFINITY: Jacobian = (1, 1, 0)


def _jdouble(c: Curve, pt: Jacobian) -> Jacobian:
    x, y, z = pt
    if z == 0 or y == 0:
        return _INFINITY
    p = c.p
    yy = y * y % p
    s = 4 * x * yy % p
    zz = z * z % p
    m = (3 * x * x + c.a * zz * zz) % p
    x3 = (m * m - 2 * s) % p
    return x3, (m * (s - x3) - 8 * yy * yy) % p, 2 * y * z % p


def _jadd(c: Curve, p1: Jacobian, p2: Jacobian) -> Jacobian:
    if p1[2] == 0:
        return p2
    if p2[2] == 0:
        return p1
    p = c.p
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    z1z1, z2z2 = z1 * z1 % p, z2 * z2 % p
    u1, u2 = x1 * z2z2 % p, x2 * z1z1 % p
    s1, s2 = y1 * z2 * z2z2 % p, y2 * z1 * z1z1 % p
    if u1 == u2:
        return _jdouble(c, p1) if s1 == s2 else _INFINITY
    h, r = (u2 - u1) % p, (s2 - s1) % p
    hh = h * h % p
    hhh, v = h * hh % p, u1 * hh % p
    x3 = (r * r - hhh - 2 * v) % p
    return x3, (r * (v - x3) - s1 * hhh) % p, h * z1 * z2 % p


def _affine(c: Curve, pt: Jacobian) -> Point:
    x, y, z = pt
    if z == 0:
        return None
    zinv = pow(z, -1, c.p)
    zinv2 = zinv * zinv % c.p
    return x * zinv2 % c.p, y * zinv2 * zinv % c.p


def _mul2(c: Curve, k1: int, p1: Point, k2: int, p2: Point) -> Point:
    """k1·p1 + k2·p2 with one chain of doublings (Shamir's trick), in Jacobian coordinates."""
    j1: Jacobian = _INFINITY if p1 is None else (p1[0], p1[1], 1)
    j2: Jacobian = _INFINITY if p2 is None else (p2[0], p2[1], 1)
    both = _jadd(c, j1, j2)
    k1, k2 = k1 % c.n, k2 % c.n
    acc = _INFINITY
    for bit in range(max(k1.bit_length(), k2.bit_length()) - 1, -1, -1):
        acc = _jdouble(c, acc)
        b1, b2 = (k1 >> bit) & 1, (k2 >> bit) & 1
        if b1 or b2:
            acc = _jadd(c, acc, both if b1 and b2 else j1 if b1 else j2)
    return _affine(c, acc)


def _mul(c: Curve, k: int, point: Point) -> Point:
    return _mul2(c, k, point, 0, None)


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


def _beta(c: Curve, hash_fn: Hash, gamma: Point) -> bytes:
    return hash_fn(c.suite_string + b"\x03" + _encode(gamma) + b"\x00")


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
    return _beta(c, hash_fn, gamma)


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
    u = _mul2(c, s, c.g, c.n - challenge, y_point)  # s·G − c·Y
    v = _mul2(c, s, h_point, c.n - challenge, gamma)  # s·H − c·Gamma
    if u is None or v is None:
        return None
    # the challenge recomputed from U = s·G − c·Y and V = s·H − c·Gamma must be the proof's
    if _challenge(c, hash_fn, y_point, h_point, gamma, u, v) != challenge:
        return None
    return _beta(c, hash_fn, gamma)
