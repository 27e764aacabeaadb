"""The two hash functions of the two suites.

SM3 (GB/T 32905) comes from OpenSSL through `cryptography` (about 3 µs a call instead of ~700 µs in
pure Python); Keccak-256 is Ethereum's pre-standard SHA-3, which is *not* hashlib's sha3_256.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from eth_hash.auto import keccak as _keccak


def sm3(data: bytes) -> bytes:
    """SM3 digest (32 bytes)."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def keccak256(data: bytes) -> bytes:
    """Keccak-256 digest (32 bytes), as used by Ethereum and FISCO BCOS standard mode."""
    return _keccak(data)
