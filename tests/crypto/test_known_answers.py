"""Known-answer tests from the published standards."""

from __future__ import annotations

import pytest

from chain.crypto import keccak256, sm2, sm3, sm4
from chain.crypto.suite import SMSuite


def test_sm3_abc_gbt32905_a1() -> None:
    assert sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_sm3_abcd_times_16_gbt32905_a2() -> None:
    assert sm3(b"abcd" * 16).hex() == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


SM4_KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


def test_sm4_single_block_gbt32907_example_1() -> None:
    cipher = sm4.encrypt_block(SM4_KEY, SM4_KEY)
    assert cipher.hex().upper() == "681EDF34D206965E86B3E94F536E4246"
    assert sm4.decrypt_block(SM4_KEY, cipher) == SM4_KEY


def test_sm4_million_iterations_gbt32907_example_2() -> None:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    # One encryptor object keeps the key schedule; the standard's example encrypts 1,000,000 times.
    encryptor = Cipher(algorithms.SM4(SM4_KEY), modes.ECB()).encryptor()
    block = SM4_KEY
    for _ in range(1_000_000):
        block = encryptor.update(block)
    assert block.hex().upper() == "595298C7C6FD271F0402F804C33D3F66"
    # and the readable one-block function agrees with the fast loop on the first step
    assert sm4.encrypt_block(SM4_KEY, SM4_KEY) == Cipher(algorithms.SM4(SM4_KEY), modes.ECB()).encryptor().update(SM4_KEY)


def test_keccak256_empty() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


# GB/T 32918.5 (GM/T 0003.5) Annex A: signature example on the recommended curve.
ANNEX_D = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
ANNEX_PUB = bytes.fromhex(
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
ANNEX_K = 0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21
ANNEX_R = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
ANNEX_S = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA


@pytest.mark.parametrize("backend", sm2.available_backends())
def test_sm2_annex_public_key(backend: str) -> None:
    assert sm2.get_backend(backend).public_key(ANNEX_D) == ANNEX_PUB


def test_sm2_annex_z_and_e() -> None:
    assert sm2.z_a(ANNEX_PUB).hex().upper() == "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"
    assert sm2.signed_value(ANNEX_PUB, b"message digest").hex().upper() == (
        "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
    )


def test_sm2_annex_signature_with_injected_k() -> None:
    backend = sm2.GmsslBackend()
    assert backend.sign_with_nonce(ANNEX_D, ANNEX_PUB, b"message digest", ANNEX_K) == (ANNEX_R, ANNEX_S)


@pytest.mark.parametrize("backend", sm2.available_backends())
def test_sm2_annex_signature_verifies_in_every_backend(backend: str) -> None:
    impl = sm2.get_backend(backend)
    assert impl.verify(ANNEX_PUB, b"message digest", ANNEX_R, ANNEX_S)
    assert not impl.verify(ANNEX_PUB, b"message digesT", ANNEX_R, ANNEX_S)
    suite = SMSuite(impl)
    assert suite.public_key(ANNEX_D) == ANNEX_PUB
