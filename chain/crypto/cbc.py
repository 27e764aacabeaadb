"""CBC mode with PKCS#7 padding over any 128-bit block cipher (SM4 or AES), through OpenSSL.

Key files are encrypted with SM4 in the sm suite and AES-128 in the standard one; the mode and the
padding are the same, so they are written once here and the cipher is the only thing that differs.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, CipherAlgorithm, modes

from chain.errors import CryptoError

BLOCK_SIZE = 16


def _cipher(algorithm: CipherAlgorithm, iv: bytes) -> Cipher[modes.CBC]:
    # the IV is one block; anything else is a malformed input, not a crash
    if len(iv) != BLOCK_SIZE:
        raise CryptoError(f"CBC IV must be {BLOCK_SIZE} bytes, got {len(iv)}")
    return Cipher(algorithm, modes.CBC(iv))


def encrypt(algorithm: CipherAlgorithm, iv: bytes, plaintext: bytes) -> bytes:
    """CBC encryption of plaintext padded to whole blocks (PKCS#7)."""
    padder = padding.PKCS7(BLOCK_SIZE * 8).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = _cipher(algorithm, iv).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def decrypt(algorithm: CipherAlgorithm, iv: bytes, ciphertext: bytes) -> bytes:
    """Inverse of encrypt; a wrong key shows up as bad padding, reported as CryptoError."""
    # whole blocks only, at least the one that carries the padding
    if len(ciphertext) == 0 or len(ciphertext) % BLOCK_SIZE:
        raise CryptoError(f"CBC ciphertext length must be a positive multiple of {BLOCK_SIZE}")
    decryptor = _cipher(algorithm, iv).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(BLOCK_SIZE * 8).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise CryptoError("CBC padding is invalid (wrong key or corrupt data)") from exc
