"""ECVRF-EDWARDS25519-SHA512-TAI against RFC 9381 Appendix B.3 (examples 16, 17 and 18).

The secret keys are RFC 8032's Ed25519 test seeds; pi and beta are the RFC's published values.
"""

from __future__ import annotations

import hashlib

import pytest

from chain.crypto import ecvrf
from chain.crypto import edwards25519 as ed

EXAMPLES = [
    pytest.param(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f"
        "26f8a57ccaed74ee1b190bed1f479d97"
        "27d2d0f9b005a6e456a35d4fb0daab1268a1b0db10836d9826a528ca76567805",
        "90cf1df3b703cce59e2a35b925d411164068269d7b2d29f3301c03dd757876ff"
        "66b71dda49d2de59d03450451af026798e8f81cd2e333de5cdf4f3e140fdd8ae",
        id="example-16"),
    pytest.param(
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "f3141cd382dc42909d19ec5110469e4feae18300e94f304590abdced48aed593"
        "3bf0864a62558b3ed7f2fea45c92a465"
        "301b3bbf5e3e54ddf2d935be3b67926da3ef39226bbc355bdc9850112c8f4b02",
        "eb4440665d3891d668e7e0fcaf587f1b4bd7fbfe99d0eb2211ccec90496310eb"
        "5e33821bc613efb94db5e5b54c70a848a0bef4553a41befc57663b56373a5031",
        id="example-17"),
    pytest.param(
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "9bc0f79119cc5604bf02d23b4caede71393cedfbb191434dd016d30177ccbf80"
        "96bb474e53895c362d8628ee9f9ea3c0"
        "e52c7a5c691b6c18c9979866568add7a2d41b00b05081ed0f58ee5e31b3a970e",
        "645427e5d00c62a23fb703732fa5d892940935942101e456ecca7bb217c61c45"
        "2118fec1219202a0edcf038bb6373241578be7217ba85a2687f7a0310b2df19f",
        id="example-18"),
]


@pytest.mark.parametrize("sk, pk, alpha, pi, beta", EXAMPLES)
def test_rfc9381_examples(sk: str, pk: str, alpha: str, pi: str, beta: str) -> None:
    secret, public, message = bytes.fromhex(sk), bytes.fromhex(pk), bytes.fromhex(alpha)
    assert ecvrf.public_key(secret).hex() == pk
    assert ecvrf.prove(secret, message).hex() == pi
    assert ecvrf.proof_to_hash(bytes.fromhex(pi)).hex() == beta
    verified = ecvrf.verify(public, bytes.fromhex(pi), message)
    assert verified is not None and verified.hex() == beta


SK, PK, ALPHA, PI = (bytes.fromhex(v) for v in EXAMPLES[1].values[:4])  # type: ignore[union-attr]


def test_wrong_alpha_and_wrong_key_are_refused() -> None:
    assert ecvrf.verify(PK, PI, b"\x73") is None
    other = bytes.fromhex(EXAMPLES[0].values[1])  # type: ignore[arg-type]
    assert ecvrf.verify(other, PI, ALPHA) is None


@pytest.mark.parametrize("index", [0, 31, 32, 47, 48, 79])
def test_a_tampered_proof_is_refused(index: int) -> None:
    tampered = bytearray(PI)
    tampered[index] ^= 0x01
    assert ecvrf.verify(PK, bytes(tampered), ALPHA) is None


def test_s_must_be_reduced() -> None:
    s = int.from_bytes(PI[48:], "little")
    assert ecvrf.verify(PK, PI[:48] + (s + ed.L).to_bytes(32, "little"), ALPHA) is None


def test_a_small_order_public_key_is_refused() -> None:
    """validate_key: with Y the identity, U = s·B whatever c is, so anyone can forge a proof."""
    public = ed.encode(ed.IDENTITY)
    gamma = ed.IDENTITY
    h = ecvrf.encode_to_curve(public, ALPHA)
    k = 424242
    digest = hashlib.sha512(ecvrf.SUITE + b"\x02" + public + ed.encode(h) + ed.encode(gamma)
                            + ed.encode(ed.multiply_base(k)) + ed.encode(ed.multiply(k, h)) + b"\x00").digest()
    forged = ed.encode(gamma) + digest[:16] + k.to_bytes(32, "little")
    assert ecvrf.verify(public, forged, ALPHA) is None


@pytest.mark.parametrize("bad", [b"", PI[:79], PI + b"\x00", b"\xff" * 80, None, 80])
def test_short_or_garbage_proofs_give_none(bad: object) -> None:
    assert ecvrf.verify(PK, bad, ALPHA) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("public", [b"", PK[:31], b"\xff" * 32, None])
def test_malformed_public_keys_give_none(public: object) -> None:
    assert ecvrf.verify(public, PI, ALPHA) is None  # type: ignore[arg-type]


def test_secret_must_be_a_32_byte_seed() -> None:
    with pytest.raises(ValueError):
        ecvrf.prove(b"\x01" * 31, ALPHA)


def test_a_gamma_that_is_not_a_point_is_refused() -> None:
    y = next(y for y in range(2, 100) if ed.decode(y.to_bytes(32, "little")) is None)
    assert ecvrf.verify(PK, y.to_bytes(32, "little") + PI[32:], ALPHA) is None
