"""edwards25519 and Ristretto255, the groups under both VRFs, against their RFCs' published vectors."""

from __future__ import annotations

import hashlib

import pytest

from chain.crypto import edwards25519 as ed
from chain.crypto import ristretto255 as ristretto

# RFC 9496 Appendix A.1: the encodings of 0·B, 1·B, ..., 15·B
MULTIPLES = """
0000000000000000000000000000000000000000000000000000000000000000
e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76
6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919
94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259
da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57
e882b131016b52c1d3337080187cf768423efccbb517bb495ab812c4160ff44e
f64746d3c92b13050ed8d80236a7f0007c3b3f962f5ba793d19a601ebb1df403
44f53520926ec81fbd5a387845beb7df85a96a24ece18738bdcfa6a7822a176d
903293d8f2287ebe10e2374dc1a53e0bc887e592699f02d077d5263cdd55601c
02622ace8f7303a31cafc63f8fc48fdc16e1c8c8d234b2f0d6685282a9076031
20706fd788b2720a1ed2a5dad4952b01f413bcf0e7564de8cdc816689e2db95f
bce83f8ba5dd2fa572864c24ba1810f9522bc6004afe95877ac73241cafdab42
e4549ee16b9aa03099ca208c67adafcafa4c3f3e4e5303de6026e3ca8ff84460
aa52e000df2e16f55fb1032fc33bc42742dad6bd5a8fc0be0167436c5948501f
46376b80f409b29dc2b5f6f0c52591990896e5716f41477cd30085ab7f10301e
e0c418f7c8d9c4cdd7395b93ea124f3ad99021bb681dfc3302a9d99a2e53e64e
""".split()

# RFC 9496 Appendix A.2: strings that are not encodings, by the rule that rejects them
NEGATIVE = """
0100000000000000000000000000000000000000000000000000000000000000
01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f
ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20
c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562
""".split()
NON_SQUARE = """
26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371
4eac077a713c57b4f4397629a4145982c661f48044dd3f96427d40b147d9742f
de6a7b00deadc788eb6b6c8d20c0ae96c2f2019078fa604fee5b87d6e989ad7b
bcab477be20861e01e4a0e295284146a510150d9817763caf1a6f4b422d67042
""".split()
NEGATIVE_XY = """
3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e
a45fdc55c76448c049a1ab33f17023edfb2be3581e9c7aade8a6125215e04220
d483fe813c6ba647ebbfd3ec41adca1c6130c2beeee9d9bf065c8d151c5f396e
8a2e1d30050198c65a54483123960ccc38aef6848e1ec8f5f780e8523769ba32
""".split()
Y_IS_ZERO = ["ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"]  # s = −1

# RFC 9496 Appendix A.3: SHA-512 of these labels, mapped with from_uniform_bytes
LABELS = [
    (b"Ristretto is traditionally a short shot of espresso coffee",
     "3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46"),
    (b"made with the normal amount of ground coffee but extracted with",
     "f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b"),
    (b"about half the amount of water in the same amount of time",
     "006ccd2a9e6867e6a2c5cea83d3302cc9de128dd2a9a57dd8ee7b9d7ffe02826"),
    (b"by using a finer grind.", "f8f0c87cf237953c5890aec3998169005dae3eca1fbb04548c635953c817f92a"),
    (b"This produces a concentrated shot of coffee per volume.",
     "ae81e7dedf20a497e10c304a765c1767a42d6e06029758d2d7e8ef7cc4c41179"),
    (b"Just pulling a normal shot short will produce a weaker shot",
     "e2705652ff9f5e44d3e841bf1c251cf7dddb77d140870d1ab2ed64f1a9ce8628"),
    (b"and is not a Ristretto as some believe.", "80bd07262511cdde4863f8a7434cef696750681cb9510eea557088f76d9e5065"),
]


def test_ristretto_encodes_the_multiples_of_the_generator() -> None:
    point = ed.IDENTITY
    for k, expected in enumerate(MULTIPLES):
        assert ristretto.encode(point).hex() == expected
        assert ristretto.encode(ed.multiply(k, ed.BASE)).hex() == expected
        assert ristretto.encode(ed.multiply_base(k)).hex() == expected
        decoded = ristretto.decode(bytes.fromhex(expected))
        assert decoded is not None and ristretto.equal(decoded, point)
        point = ed.add(point, ed.BASE)


@pytest.mark.parametrize("encoding", [
    # non-canonical: s ≥ p (p itself, p + 1 with its low bit even, 2²⁵⁵ − 1) or the top bit set
    (ed.P).to_bytes(32, "little").hex(), (ed.P + 2).to_bytes(32, "little").hex(), "ff" * 32,
    (2 + (1 << 255)).to_bytes(32, "little").hex(),
])
def test_ristretto_refuses_non_canonical_encodings(encoding: str) -> None:
    assert ristretto.decode(bytes.fromhex(encoding)) is None


@pytest.mark.parametrize("encoding", NEGATIVE)
def test_ristretto_refuses_negative_field_elements(encoding: str) -> None:
    assert ristretto.decode(bytes.fromhex(encoding)) is None


@pytest.mark.parametrize("encoding", NON_SQUARE)
def test_ristretto_refuses_a_non_square_x2(encoding: str) -> None:
    assert ristretto.decode(bytes.fromhex(encoding)) is None


@pytest.mark.parametrize("encoding", NEGATIVE_XY)
def test_ristretto_refuses_a_negative_xy(encoding: str) -> None:
    assert ristretto.decode(bytes.fromhex(encoding)) is None


@pytest.mark.parametrize("encoding", Y_IS_ZERO)
def test_ristretto_refuses_y_zero(encoding: str) -> None:
    assert ristretto.decode(bytes.fromhex(encoding)) is None


@pytest.mark.parametrize("data", [b"", b"\x00" * 31, b"\x00" * 33])
def test_ristretto_refuses_wrong_lengths(data: bytes) -> None:
    assert ristretto.decode(data) is None


@pytest.mark.parametrize("label, expected", LABELS)
def test_ristretto_hash_to_group(label: bytes, expected: str) -> None:
    assert ristretto.encode(ristretto.from_uniform_bytes(hashlib.sha512(label).digest())).hex() == expected


def test_ristretto_equality_ignores_the_4_torsion() -> None:
    """Adding a point of order 4 keeps the element: same encoding, equal, though the coordinates differ."""
    order_4 = ed.Point(ed.SQRT_M1, 0, 1, 0)  # (√−1, 0): order 4 on edwards25519
    point = ed.multiply(7, ed.BASE)
    moved = ed.add(point, order_4)
    assert not ed.equal(point, moved)
    assert ristretto.equal(point, moved)
    assert ristretto.encode(moved) == ristretto.encode(point)


def test_edwards_base_point_and_ed25519_public_key() -> None:
    """RFC 8032 §7.1 test 1: the secret scalar of the seed times B is the published public key."""
    assert ed.encode(ed.BASE).hex() == "58" + "66" * 31
    digest = hashlib.sha512(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")).digest()
    scalar = (int.from_bytes(digest[:32], "little") & ((1 << 254) - 8)) | (1 << 254)
    expected = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    assert ed.encode(ed.multiply_base(scalar)).hex() == expected
    assert ed.encode(ed.multiply(scalar, ed.BASE)).hex() == expected


def test_edwards_decode_round_trips() -> None:
    for k in (1, 2, 3, 2**200 + 12345):
        point = ed.multiply(k, ed.BASE)
        decoded = ed.decode(ed.encode(point))
        assert decoded is not None and ed.equal(decoded, point)


def test_edwards_decode_refuses_non_canonical_y() -> None:
    # y = p + 1 would otherwise name the identity (y = 1) a second time
    assert ed.decode((ed.P + 1).to_bytes(32, "little")) is None
    assert ed.decode((1).to_bytes(32, "little")) is not None


def test_edwards_decode_refuses_negative_zero_x() -> None:
    # y = 1 has x = 0 only; with the sign bit set it is not an encoding
    assert ed.decode((1 | 1 << 255).to_bytes(32, "little")) is None


def test_edwards_decode_refuses_a_y_without_x() -> None:
    y = next(y for y in range(2, 100) if ed._recover_x(y, 0) is None)
    assert ed.decode(y.to_bytes(32, "little")) is None
    assert ed.decode(b"\x01" * 31) is None  # wrong length


def test_multiply_double_is_the_sum_of_two_products() -> None:
    h = ristretto.from_uniform_bytes(bytes(range(64)))
    for a, b in [(0, 0), (1, 0), (0, 5), (ed.L - 1, 2**255 - 19), (3 * ed.L + 7, 12345)]:
        expected = ed.add(ed.multiply(a, ed.BASE), ed.multiply(b, h))
        assert ed.equal(ed.multiply_double(a, ed.BASE, b, h), expected)
    assert ed.equal(ed.multiply_double(2, h, 3, h), ed.multiply(5, h))
