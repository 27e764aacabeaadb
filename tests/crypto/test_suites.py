"""Both suites: sign/verify/recover, addresses, cross-backend interop and bad input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.crypto import sm2
from chain.crypto.suite import CryptoSuite, SMSuite, StandardSuite, get_suite
from chain.errors import CryptoError, InvalidSignature

SUITES = [StandardSuite()] + [SMSuite(sm2.get_backend(name)) for name in sm2.available_backends()]
IDS = [s.name if isinstance(s, StandardSuite) else f"sm-{s.backend.name}" for s in SUITES]


@pytest.fixture(params=SUITES, ids=IDS)
def suite(request: pytest.FixtureRequest) -> CryptoSuite:
    return request.param


def test_sign_verify_recover(suite: CryptoSuite) -> None:
    secret = suite.generate_private_key()
    public_key = suite.public_key(secret)
    msg_hash = suite.hash(b"hello")
    signature = suite.sign(secret, msg_hash)
    assert len(signature) == suite.signature_size
    assert suite.verify(public_key, msg_hash, signature)
    assert suite.recover(msg_hash, signature) == public_key


def test_signature_never_verifies_for_other_message_key_or_flipped_bit(suite: CryptoSuite) -> None:
    secret = suite.generate_private_key()
    public_key = suite.public_key(secret)
    other_public_key = suite.public_key(suite.generate_private_key())
    msg_hash = suite.hash(b"pay alice 10")
    signature = suite.sign(secret, msg_hash)
    assert not suite.verify(public_key, suite.hash(b"pay alice 11"), signature)
    assert not suite.verify(other_public_key, msg_hash, signature)
    for bit in (0, 8 * 17 + 3, 8 * 40 + 1):  # inside r, inside s, and early/late bytes
        flipped = bytearray(signature)
        flipped[bit // 8] ^= 1 << (bit % 8)
        try:
            assert not suite.verify(public_key, msg_hash, bytes(flipped))
        except CryptoError:
            pass  # a flip that makes the signature malformed is refused loudly: also correct
        flipped_hash = bytearray(msg_hash)
        flipped_hash[bit % 32] ^= 1
        assert not suite.verify(public_key, bytes(flipped_hash), signature)


def test_address_is_last_20_bytes_of_hash_of_public_key(suite: CryptoSuite) -> None:
    public_key = suite.public_key(suite.generate_private_key())
    assert suite.address(public_key) == suite.hash(public_key)[12:]


def test_known_standard_address() -> None:
    # The well-known Ethereum test key 0x...01 has this address.
    suite = get_suite("standard")
    assert suite.address(suite.public_key(1)).hex() == "7e5f4552091a69125d5dfcb7b8c2659029395bdf"


@pytest.mark.skipif(len(sm2.available_backends()) < 2, reason="needs both SM2 backends")
def test_sm2_backends_interoperate() -> None:
    tongsuo, gmssl = SMSuite(sm2.TongsuoBackend()), SMSuite(sm2.GmsslBackend())
    secret = tongsuo.generate_private_key()
    assert tongsuo.public_key(secret) == gmssl.public_key(secret)
    public_key = tongsuo.public_key(secret)
    msg_hash = tongsuo.hash(b"interop")
    assert gmssl.verify(public_key, msg_hash, tongsuo.sign(secret, msg_hash))
    assert tongsuo.verify(public_key, msg_hash, gmssl.sign(secret, msg_hash))


@pytest.mark.parametrize("backend", sm2.available_backends())
def test_sm_key_whose_x_begins_with_byte_04_signs_and_verifies(backend: str) -> None:
    # Private key 307's public x begins 04 04: gmssl's lstrip("04") once ate those digits, so 1 key
    # in 256 never verified under the gmssl backend (a flaky CI failure with random keys).
    suite = SMSuite(sm2.get_backend(backend))
    public_key = suite.public_key(307)
    assert public_key[:2] == b"\x04\x04"
    msg_hash = suite.hash(b"leading 04")
    assert suite.verify(public_key, msg_hash, suite.sign(307, msg_hash))


@settings(max_examples=25, deadline=None)
@given(message=st.binary(max_size=64), other=st.binary(max_size=64))
def test_property_sm_signature_binds_message(message: bytes, other: bytes) -> None:
    suite = get_suite("sm")
    secret = 0x1234567890ABCDEF
    h1, h2 = suite.hash(message), suite.hash(other)
    signature = suite.sign(secret, h1)
    assert suite.verify(suite.public_key(secret), h2, signature) == (h1 == h2)


# --- bad input ---------------------------------------------------------------------------------

def test_wrong_length_signatures_raise(suite: CryptoSuite) -> None:
    public_key = suite.public_key(suite.generate_private_key())
    msg_hash = suite.hash(b"x")
    for bad in (b"", b"\x01" * 64, b"\x01" * (suite.signature_size + 1), "not bytes"):
        with pytest.raises(CryptoError):
            suite.verify(public_key, msg_hash, bad)  # type: ignore[arg-type]
        with pytest.raises(CryptoError):
            suite.recover(msg_hash, bad)  # type: ignore[arg-type]


def test_r_or_s_out_of_range_raise(suite: CryptoSuite) -> None:
    secret = suite.generate_private_key()
    public_key = suite.public_key(secret)
    msg_hash = suite.hash(b"x")
    good = suite.sign(secret, msg_hash)
    n = suite.curve_order
    for r, s in ((0, 1), (1, 0), (n, 1), (1, n), (2**256 - 1, 1)):
        bad = r.to_bytes(32, "big") + s.to_bytes(32, "big") + good[64:]
        with pytest.raises(CryptoError):
            suite.verify(public_key, msg_hash, bad)


def test_points_not_on_curve_raise(suite: CryptoSuite) -> None:
    off_curve = (1).to_bytes(32, "big") + (1).to_bytes(32, "big")
    msg_hash = suite.hash(b"x")
    with pytest.raises(CryptoError):
        suite.address(off_curve)
    signature = suite.sign(suite.generate_private_key(), msg_hash)
    with pytest.raises(CryptoError):
        suite.verify(off_curve, msg_hash, signature)
    if isinstance(suite, SMSuite):  # the carried key must be on the curve too
        with pytest.raises(CryptoError):
            suite.recover(msg_hash, signature[:64] + off_curve)


def test_malformed_keys_raise(suite: CryptoSuite) -> None:
    for bad_secret in (0, -1, suite.curve_order, 2**300):
        with pytest.raises(CryptoError):
            suite.public_key(bad_secret)
    for bad_public in (b"", b"\x04" + b"\x00" * 64, b"\x00" * 63):
        with pytest.raises(CryptoError):
            suite.check_public_key(bad_public)


def test_recover_of_forged_signature_raises_invalid_signature() -> None:
    suite = get_suite("sm")
    secret = suite.generate_private_key()
    msg_hash = suite.hash(b"x")
    signature = suite.sign(secret, msg_hash)
    forged = signature[:64] + suite.public_key(suite.generate_private_key())
    with pytest.raises(InvalidSignature):
        suite.recover(msg_hash, forged)


def test_unknown_suite_and_backend() -> None:
    with pytest.raises(CryptoError):
        get_suite("rsa")
    with pytest.raises(CryptoError):
        sm2.get_backend("nope")


def test_gmssl_backend_refuses_a_secret_whose_public_key_is_the_point_at_infinity() -> None:
    # d = n gives d·G = O, which gmssl returns as None: an error, not a TypeError from bytes.fromhex
    with pytest.raises(CryptoError, match="multiple of the curve order"):
        sm2.GmsslBackend().public_key(sm2.N)
