"""Recoverable secp256k1 ECDSA (the 'standard' suite), through eth-keys with coincurve.

Signatures are 65 bytes r‖s‖v with v the recovery id (0 or 1); the transaction layer adds 27
as FISCO BCOS 2.x and Ethereum do. s is kept in the lower half of the order (EIP-2), so a
signature has exactly one valid encoding and cannot be malleated into a second transaction hash.
"""

from __future__ import annotations

from eth_keys import keys
from eth_keys.exceptions import BadSignature, ValidationError

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


def public_key(secret: int) -> bytes:
    check_private_key(secret)
    return keys.PrivateKey(secret.to_bytes(32, "big")).public_key.to_bytes()


def sign(secret: int, msg_hash: bytes) -> bytes:
    """Deterministic (RFC 6979) recoverable signature of a 32-byte hash."""
    check_private_key(secret)
    if len(msg_hash) != 32:
        raise CryptoError("secp256k1 signs a 32-byte hash")
    return keys.PrivateKey(secret.to_bytes(32, "big")).sign_msg_hash(msg_hash).to_bytes()


def recover(msg_hash: bytes, signature: bytes) -> bytes:
    """The 64-byte public key that produced signature over msg_hash.

    A malformed signature is a CryptoError; a well-formed one from which no key can be recovered
    is an InvalidSignature, so callers tell the two apart by type, not by message."""
    split_signature(signature)
    if len(msg_hash) != 32:
        raise CryptoError("secp256k1 signs a 32-byte hash")
    try:
        return keys.Signature(bytes(signature)).recover_public_key_from_msg_hash(msg_hash).to_bytes()
    except (BadSignature, ValidationError, ValueError) as exc:
        raise InvalidSignature(f"cannot recover a public key from this signature: {exc}") from exc


def verify(public_key_bytes: bytes, msg_hash: bytes, signature: bytes) -> bool:
    check_public_key(public_key_bytes)
    try:
        return recover(msg_hash, signature) == bytes(public_key_bytes)
    except InvalidSignature:
        return False
