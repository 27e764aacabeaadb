"""Recoverable secp256k1 ECDSA (the 'standard' suite), through coincurve (libsecp256k1).

Signatures are 65 bytes r‖s‖v with v the recovery id (0 or 1); the transaction layer adds 27
as FISCO BCOS 2.x and Ethereum do. s is kept in the lower half of the order (EIP-2), so a
signature has exactly one valid encoding and cannot be malleated into a second transaction hash.

coincurve is called directly (it is what eth-keys calls underneath): eth-keys' wrapper objects and
checks cost more than the curve arithmetic itself — signing 6x, recovering 1.5x slower — and a
simulation signs and recovers hundreds of thousands of times. A node signs with few keys, so the
libsecp256k1 key object of each is built once.
"""

from __future__ import annotations

from functools import lru_cache

import coincurve

from chain.errors import CryptoError, InvalidSignature

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
SIGNATURE_SIZE = 65


def is_on_curve(x: int, y: int) -> bool:
    """y² = x³ + 7 over F_p."""
    if not (0 <= x < P and 0 <= y < P):
        return False
    return (y * y - x * x * x - 7) % P == 0


def check_public_key(public_key: bytes) -> None:
    """Reject anything but a 64-byte x‖y point on secp256k1."""
    if not isinstance(public_key, (bytes, bytearray)) or len(public_key) != 64:
        raise CryptoError("secp256k1 public key must be 64 bytes (x‖y)")
    x = int.from_bytes(public_key[:32], "big")
    y = int.from_bytes(public_key[32:], "big")
    if not is_on_curve(x, y):
        raise CryptoError("secp256k1 public key is not a point on the curve")


def check_private_key(secret: int) -> None:
    if not isinstance(secret, int) or not (1 <= secret < N):
        raise CryptoError("secp256k1 private key out of range [1, n-1]")


def split_signature(signature: bytes) -> tuple[int, int, int]:
    """(r, s, v) of a 65-byte signature, range-checked; a malformed one raises CryptoError."""
    if not isinstance(signature, (bytes, bytearray)) or len(signature) != SIGNATURE_SIZE:
        raise CryptoError(f"secp256k1 signature must be {SIGNATURE_SIZE} bytes (r‖s‖v)")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if not (1 <= r < N and 1 <= s < N):
        raise CryptoError("secp256k1 signature r or s out of range [1, n-1]")
    if s > N // 2:
        raise CryptoError("secp256k1 signature s is in the upper half of the order (malleable)")
    if v not in (0, 1):
        raise CryptoError(f"secp256k1 recovery id must be 0 or 1, got {v}")
    return r, s, v


@lru_cache(maxsize=256)
def _private_key(secret: int) -> coincurve.PrivateKey:
    check_private_key(secret)
    return coincurve.PrivateKey(secret.to_bytes(32, "big"))


def public_key(secret: int) -> bytes:
    check_private_key(secret)
    return _private_key(secret).public_key.format(compressed=False)[1:]


def sign(secret: int, msg_hash: bytes) -> bytes:
    """Deterministic (RFC 6979) recoverable signature of a 32-byte hash, s in the lower half."""
    check_private_key(secret)
    if len(msg_hash) != 32:
        raise CryptoError("secp256k1 signs a 32-byte hash")
    return _private_key(secret).sign_recoverable(bytes(msg_hash), hasher=None)


def recover(msg_hash: bytes, signature: bytes) -> bytes:
    """The 64-byte public key that produced signature over msg_hash.

    A malformed signature is a CryptoError; a well-formed one from which no key can be recovered
    is an InvalidSignature, so callers tell the two apart by type, not by message."""
    split_signature(signature)
    if len(msg_hash) != 32:
        raise CryptoError("secp256k1 signs a 32-byte hash")
    try:
        recovered = coincurve.PublicKey.from_signature_and_message(bytes(signature), bytes(msg_hash), hasher=None)
        return recovered.format(compressed=False)[1:]
    except (ValueError, TypeError) as exc:
        raise InvalidSignature(f"cannot recover a public key from this signature: {exc}") from exc


def verify(public_key_bytes: bytes, msg_hash: bytes, signature: bytes) -> bool:
    check_public_key(public_key_bytes)
    try:
        return recover(msg_hash, signature) == bytes(public_key_bytes)
    except InvalidSignature:
        return False
