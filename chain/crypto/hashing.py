"""The two hash functions of the two suites.

SM3 (GB/T 32905) comes from OpenSSL through `cryptography` (about 3 µs a call instead of ~700 µs in
pure Python); Keccak-256 is Ethereum's pre-standard SHA-3, which is *not* hashlib's sha3_256. It
comes from safe-pysha3's C code (~1 µs a call): eth-hash's pycryptodome backend spends ~20 µs a
call building objects, a fifth of a whole simulation's time in the standard suite.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from sha3 import keccak_256


def sm3(data: bytes) -> bytes:
    """SM3 digest (32 bytes)."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def keccak256(data: bytes) -> bytes:
    """Keccak-256 digest (32 bytes), as used by Ethereum and FISCO BCOS standard mode."""
    return keccak_256(data).digest()
