"""edwards25519: the twisted Edwards curve under Ed25519, Ristretto255 and both of our VRFs.

    -x² + y² = 1 + d·x²·y²   over GF(p), p = 2²⁵⁵ − 19, d = −121665/121666

The group of points has order 8·L (L a 253-bit prime): the factor 8 (the *cofactor*) is why the
VRFs multiply by 8 or move to Ristretto255, which hides it. Points are kept in extended
coordinates (X : Y : Z : T) with x = X/Z, y = Y/Z, x·y = T/Z, so adding needs no inversion
(RFC 8032 §5.1.4). The arithmetic is plain Python integers, written to be read next to RFC 8032
and RFC 9496; it is not constant-time — a teaching chain, not a wallet. It was chosen over a
library because none on the index exposes point arithmetic *and* is kept (``cryptography`` hides
points, PyNaCl's low-level ops are not installed here, ``pure25519`` is unmaintained since 2018).
"""

from __future__ import annotations

from typing import NamedTuple

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493  # order of the prime-order subgroup
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)  # a square root of −1 mod p
_D2 = 2 * D % P


class Point(NamedTuple):
    """A point in extended coordinates; equal points can have different coordinates (see `equal`)."""

    X: int
    Y: int
    Z: int
    T: int


IDENTITY = Point(0, 1, 1, 0)
_BASE_Y = 4 * pow(5, P - 2, P) % P


def inverse(a: int) -> int:
    return pow(a, P - 2, P)


def is_negative(a: int) -> bool:
    """RFC 9496's sign of a field element: its low bit once reduced."""
    return a % P & 1 == 1


def add(p1: Point, p2: Point) -> Point:
    """RFC 8032 §5.1.4 (a = −1): complete — also right for doubling and the identity."""
    a = (p1.Y - p1.X) * (p2.Y - p2.X) % P
    b = (p1.Y + p1.X) * (p2.Y + p2.X) % P
    c = _D2 * p1.T % P * p2.T % P
    d = 2 * p1.Z * p2.Z % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return Point(e * f % P, g * h % P, f * g % P, e * h % P)


def double(p1: Point) -> Point:
    a = p1.X * p1.X % P
    b = p1.Y * p1.Y % P
    c = 2 * p1.Z * p1.Z % P
    h = a + b
    e = h - (p1.X + p1.Y) ** 2
    g = a - b
    f = c + g
    return Point(e * f % P, g * h % P, f * g % P, e * h % P)


def negate(p1: Point) -> Point:
    return Point(-p1.X % P, p1.Y, p1.Z, -p1.T % P)


def subtract(p1: Point, p2: Point) -> Point:
    return add(p1, negate(p2))


def _multiples(p1: Point) -> list[Point]:
    """0·P, 1·P, ..., 15·P: the table a 4-bit window looks digits up in."""
    table = [IDENTITY, p1]
    for _ in range(14):
        table.append(add(table[-1], p1))
    return table


def multiply(k: int, p1: Point) -> Point:
    """k·P with a 4-bit window: 16 precomputed multiples, then four doublings per hex digit of k."""
    return multiply_double(k, p1, 0, IDENTITY)


def multiply_double(a: int, p1: Point, b: int, p2: Point) -> Point:
    """a·P + b·Q sharing one chain of doublings (Straus): a verifier's U and V at the cost of ~1.2 products."""
    a %= 8 * L  # the whole group's order: right for points outside the prime-order subgroup too
    b %= 8 * L
    table_a = _multiples(p1)
    table_b = _multiples(p2) if b else table_a
    result = IDENTITY
    for shift in range((max(a, b).bit_length() + 3) // 4 * 4 - 4, -4, -4):
        result = double(double(double(double(result))))
        digit_a, digit_b = (a >> shift) & 15, (b >> shift) & 15
        if digit_a:
            result = add(result, table_a[digit_a])
        if digit_b:
            result = add(result, table_b[digit_b])
    return result


def equal(p1: Point, p2: Point) -> bool:
    """Same affine point: X1/Z1 = X2/Z2 and Y1/Z1 = Y2/Z2, compared without inverting."""
    return (p1.X * p2.Z - p2.X * p1.Z) % P == 0 and (p1.Y * p2.Z - p2.Y * p1.Z) % P == 0


def is_identity(p1: Point) -> bool:
    return equal(p1, IDENTITY)


def _affine(x: int, y: int) -> Point:
    return Point(x % P, y % P, 1, x * y % P)


def _recover_x(y: int, sign: int) -> int | None:
    """RFC 8032 §5.1.3 step 2-4: x from y and the sign bit, or None when no point has this y."""
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if (v * x * x - u) % P != 0:
        if (v * x * x + u) % P != 0:
            return None  # u/v is not a square: no x
        x = x * SQRT_M1 % P
    if x == 0 and sign == 1:
        return None  # −0 is not an encoding
    if x & 1 != sign:
        x = P - x
    return x


BASE = _affine(_recover_x(_BASE_Y, 0) or 0, _BASE_Y)


class _BaseTable:
    """2⁴ⁱ·j·B for every 4-bit digit position: k·B is then 64 additions and no doublings."""

    def __init__(self) -> None:
        self.rows: list[list[Point]] = []
        power = BASE
        for _ in range(64):
            row = [IDENTITY, power]
            for _ in range(14):
                row.append(add(row[-1], power))
            self.rows.append(row)
            power = double(double(double(double(power))))

    def multiply(self, k: int) -> Point:
        k %= L
        result = IDENTITY
        for row in self.rows:
            digit = k & 15
            if digit:
                result = add(result, row[digit])
            k >>= 4
        return result


_base_table: _BaseTable | None = None


def multiply_base(k: int) -> Point:
    """k·B for the standard base point, through a table built on first use (~20 ms)."""
    global _base_table
    if _base_table is None:
        _base_table = _BaseTable()
    return _base_table.multiply(k)


def encode(p1: Point) -> bytes:
    """RFC 8032 §5.1.2: y in 255 bits little-endian, the low bit of x in the top bit."""
    z_inverse = inverse(p1.Z)
    x, y = p1.X * z_inverse % P, p1.Y * z_inverse % P
    return (y | (x & 1) << 255).to_bytes(32, "little")


def decode(data: bytes) -> Point | None:
    """RFC 8032 §5.1.3: the point a 32-byte string names, or None (wrong length, y ≥ p, no x)."""
    if len(data) != 32:
        return None
    value = int.from_bytes(data, "little")
    y, sign = value & ((1 << 255) - 1), value >> 255
    # y must be a canonical field element: one point, one encoding
    if y >= P:
        return None
    x = _recover_x(y, sign)
    return None if x is None else _affine(x, y)
