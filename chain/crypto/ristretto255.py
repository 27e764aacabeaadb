"""Ristretto255 (RFC 9496): a prime-order group built on edwards25519, as FISCO's VRF uses it.

edwards25519 has 8·L points; protocols that forget the cofactor 8 get subtle bugs (two encodings
of "the same" key, small-order points slipping through). Ristretto255 fixes this once: it groups
the edwards25519 points into classes of 4 that differ by a 4-torsion point, gives each class one
canonical 32-byte encoding, and so offers a group of prime order L. Points are still
`edwards25519.Point` values and add the same way; only *encoding*, *decoding*, *equality* and
*hashing to a point* change. WeDPR's curve25519 VRF (the one FISCO BCOS 3.x runs) is built on
curve25519-dalek's Ristretto, which follows this RFC.
"""

from __future__ import annotations

from chain.crypto.edwards25519 import D, IDENTITY, P, SQRT_M1, Point, add, is_negative

# RFC 9496 §4.1 constants, derived here from their definitions rather than pasted
ONE_MINUS_D_SQ = (1 - D * D) % P
D_MINUS_ONE_SQ = (D - 1) * (D - 1) % P


def _abs(a: int) -> int:
    a %= P
    return P - a if a & 1 else a


def sqrt_ratio_m1(u: int, v: int) -> tuple[bool, int]:
    """RFC 9496 §4.2: (True, √(u/v)) when u/v is a square, else (False, √(i·u/v)); root non-negative."""
    r = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    check = v * r * r % P
    correct_sign = check == u % P
    flipped_sign = check == -u % P
    flipped_sign_i = check == -u * SQRT_M1 % P
    if flipped_sign or flipped_sign_i:
        r = r * SQRT_M1 % P
    return correct_sign or flipped_sign, _abs(r)


# √(a·d − 1) with a = −1: RFC 9496 fixes the odd ("negative") one of the two roots
SQRT_AD_MINUS_ONE = P - sqrt_ratio_m1(-D - 1, 1)[1]
INVSQRT_A_MINUS_D = sqrt_ratio_m1(1, -1 - D)[1]  # 1/√(a − d)


def decode(data: bytes) -> Point | None:
    """RFC 9496 §4.3.1: the group element of a 32-byte encoding, or None for any invalid string."""
    if len(data) != 32:
        return None
    s = int.from_bytes(data, "little")
    # s must be canonical (< p, top bit clear) and non-negative: exactly one encoding per element
    if s >= P or is_negative(s):
        return None
    ss = s * s % P
    u1 = (1 - ss) % P
    u2 = (1 + ss) % P
    u2_sqr = u2 * u2 % P
    v = (-(D * u1 * u1) - u2_sqr) % P
    was_square, invsqrt = sqrt_ratio_m1(1, v * u2_sqr)
    den_x = invsqrt * u2 % P
    den_y = invsqrt * den_x * v % P
    x = _abs(2 * s * den_x)
    y = u1 * den_y % P
    t = x * y % P
    # the string must name a real point in the canonical coset representative
    if not was_square or is_negative(t) or y == 0:
        return None
    return Point(x, y, 1, t)


def encode(point: Point) -> bytes:
    """RFC 9496 §4.3.2: the one canonical encoding of the element's class."""
    x0, y0, z0, t0 = point
    u1 = (z0 + y0) * (z0 - y0) % P
    u2 = x0 * y0 % P
    _, invsqrt = sqrt_ratio_m1(1, u1 * u2 * u2)
    den1 = invsqrt * u1 % P
    den2 = invsqrt * u2 % P
    z_inv = den1 * den2 * t0 % P
    rotate = is_negative(t0 * z_inv)
    if rotate:
        x, y = y0 * SQRT_M1 % P, x0 * SQRT_M1 % P
        den_inv = den1 * INVSQRT_A_MINUS_D % P
    else:
        x, y = x0, y0
        den_inv = den2
    if is_negative(x * z_inv):
        y = -y % P
    s = _abs(den_inv * (z0 - y))
    return s.to_bytes(32, "little")


def equal(p1: Point, p2: Point) -> bool:
    """RFC 9496 §4.3.3: same class — the four edwards25519 points of a class compare equal."""
    return (p1.X * p2.Y - p1.Y * p2.X) % P == 0 or (p1.Y * p2.Y - p1.X * p2.X) % P == 0


def is_identity(point: Point) -> bool:
    return equal(point, IDENTITY)


def _map(t: int) -> Point:
    """RFC 9496 §4.3.4 MAP: a field element to a group element (Elligator 2 on the Jacobi quartic)."""
    r = SQRT_M1 * t * t % P
    u = (r + 1) * ONE_MINUS_D_SQ % P
    v = (-1 - r * D) * (r + D) % P
    was_square, s = sqrt_ratio_m1(u, v)
    s_prime = -_abs(s * t) % P
    if not was_square:
        s = s_prime
    c = -1 if was_square else r
    n = (c * (r - 1) * D_MINUS_ONE_SQ - v) % P
    w0 = 2 * s * v % P
    w1 = n * SQRT_AD_MINUS_ONE % P
    w2 = (1 - s * s) % P
    w3 = (1 + s * s) % P
    return Point(w0 * w3 % P, w2 * w1 % P, w1 * w3 % P, w0 * w2 % P)


def from_uniform_bytes(data: bytes) -> Point:
    """RFC 9496 §4.3.4: 64 uniformly random bytes to an element (curve25519-dalek's from_uniform_bytes)."""
    if len(data) != 64:
        raise ValueError("from_uniform_bytes needs exactly 64 bytes")
    mask = (1 << 255) - 1
    t1 = (int.from_bytes(data[:32], "little") & mask) % P
    t2 = (int.from_bytes(data[32:], "little") & mask) % P
    return add(_map(t1), _map(t2))
