"""SM4 block cipher (GB/T 32907) through OpenSSL, plus CBC with PKCS#7 padding for key files."""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from chain.crypto import cbc
from chain.errors import CryptoError

BLOCK_SIZE = cbc.BLOCK_SIZE
KEY_SIZE = 16


def _check_key(key: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise CryptoError(f"SM4 key must be {KEY_SIZE} bytes, got {len(key)}")


def encrypt_block(key: bytes, block: bytes) -> bytes:
    """Encrypt exactly one 16-byte block (ECB of one block): the primitive the standard's examples use."""
    _check_key(key)
    if len(block) != BLOCK_SIZE:
        raise CryptoError(f"SM4 block must be {BLOCK_SIZE} bytes, got {len(block)}")
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def decrypt_block(key: bytes, block: bytes) -> bytes:
    """Decrypt exactly one 16-byte block."""
    _check_key(key)
    if len(block) != BLOCK_SIZE:
        raise CryptoError(f"SM4 block must be {BLOCK_SIZE} bytes, got {len(block)}")
    decryptor = Cipher(algorithms.SM4(key), modes.ECB()).decryptor()
    return decryptor.update(block) + decryptor.finalize()


def encrypt_cbc(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """SM4-CBC with PKCS#7 padding."""
    _check_key(key)
    return cbc.encrypt(algorithms.SM4(key), iv, plaintext)


def decrypt_cbc(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """Inverse of encrypt_cbc; a wrong key shows up as bad padding, reported as CryptoError."""
    _check_key(key)
    return cbc.decrypt(algorithms.SM4(key), iv, ciphertext)
