"""One interface, two crypto suites, chosen per chain.

A chain is either ``standard`` (secp256k1 + Keccak-256, like Ethereum) or ``sm`` (SM2 + SM3, the
Chinese national standards). Everything above this module — transactions, consensus messages,
addresses, contract selectors — asks the chain's suite and never names an algorithm itself.

Signatures are byte strings whose layout depends on the suite:

* standard: 65 bytes ``r ‖ s ‖ v`` — the public key is *recovered* from it;
* sm:      128 bytes ``r ‖ s ‖ public key`` — SM2 has no recovery, so the key travels with it.
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from functools import lru_cache

from chain.crypto import secp256k1, sm2
from chain.crypto.hashing import keccak256, sm3
from chain.errors import CryptoError, InvalidSignature


class CryptoSuite(ABC):
    """Hash, keys, signatures and addresses of one suite."""

    name: str
    signature_size: int
    curve_order: int

    @abstractmethod
    def hash(self, data: bytes) -> bytes:
        """The suite's 32-byte hash."""

    @abstractmethod
    def public_key(self, secret: int) -> bytes:
        """64-byte public key x‖y of a private key."""

    @abstractmethod
    def check_public_key(self, public_key: bytes) -> None:
        """Raise CryptoError unless public_key is a 64-byte point on the suite's curve."""

    @abstractmethod
    def sign(self, secret: int, msg_hash: bytes) -> bytes:
        """Signature of a 32-byte hash."""

    @abstractmethod
    def recover(self, msg_hash: bytes, signature: bytes) -> bytes:
        """Public key of the signer; InvalidSignature if the signature does not verify."""

    @abstractmethod
    def verify(self, public_key: bytes, msg_hash: bytes, signature: bytes) -> bool:
        """True iff signature is public_key's over msg_hash; CryptoError if malformed."""

    def generate_private_key(self) -> int:
        """A fresh private key from the OS CSPRNG."""
        return secrets.randbelow(self.curve_order - 2) + 1

    def address(self, public_key: bytes) -> bytes:
        """Account address: the last 20 bytes of hash(64-byte public key)."""
        self.check_public_key(public_key)
        return self.hash(bytes(public_key))[-20:]

    def __repr__(self) -> str:
        return f"<CryptoSuite {self.name}>"


class StandardSuite(CryptoSuite):
    """secp256k1 ECDSA with recoverable signatures, and Keccak-256."""

    name = "standard"
    signature_size = secp256k1.SIGNATURE_SIZE
    curve_order = secp256k1.N

    def hash(self, data: bytes) -> bytes:
        return keccak256(data)

    def public_key(self, secret: int) -> bytes:
        return secp256k1.public_key(secret)

    def check_public_key(self, public_key: bytes) -> None:
        secp256k1.check_public_key(public_key)

    def sign(self, secret: int, msg_hash: bytes) -> bytes:
        return secp256k1.sign(secret, msg_hash)

    def recover(self, msg_hash: bytes, signature: bytes) -> bytes:
        return secp256k1.recover(msg_hash, signature)

    def verify(self, public_key: bytes, msg_hash: bytes, signature: bytes) -> bool:
        return secp256k1.verify(public_key, msg_hash, signature)


class SMSuite(CryptoSuite):
    """SM2 signatures (default user ID 1234567812345678) and SM3, with a selectable SM2 backend."""

    name = "sm"
    signature_size = 128
    curve_order = sm2.N

    def __init__(self, backend: sm2.SM2Backend | None = None) -> None:
        self.backend = backend or sm2.get_backend()

    def hash(self, data: bytes) -> bytes:
        return sm3(data)

    def public_key(self, secret: int) -> bytes:
        sm2.check_private_key(secret)
        return self._public_key(secret)

    @lru_cache(maxsize=1024)
    def _public_key(self, secret: int) -> bytes:
        return self.backend.public_key(secret)

    def check_public_key(self, public_key: bytes) -> None:
        sm2.check_public_key(public_key)

    def split_signature(self, signature: bytes) -> tuple[int, int, bytes]:
        """(r, s, public key) of a 128-byte SM signature, range- and curve-checked."""
        if not isinstance(signature, (bytes, bytearray)) or len(signature) != self.signature_size:
            raise CryptoError(f"SM signature must be {self.signature_size} bytes (r‖s‖public key)")
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:64], "big")
        sm2.check_signature_values(r, s)
        public_key = bytes(signature[64:])
        sm2.check_public_key(public_key)
        return r, s, public_key

    def sign(self, secret: int, msg_hash: bytes) -> bytes:
        if len(msg_hash) != 32:
            raise CryptoError("the sm suite signs a 32-byte hash")
        public_key = self.public_key(secret)
        r, s = self.backend.sign(secret, public_key, msg_hash)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big") + public_key

    def recover(self, msg_hash: bytes, signature: bytes) -> bytes:
        r, s, public_key = self.split_signature(signature)
        if len(msg_hash) != 32 or not self.backend.verify(public_key, msg_hash, r, s):
            raise InvalidSignature("SM2 signature does not verify")
        return public_key

    def verify(self, public_key: bytes, msg_hash: bytes, signature: bytes) -> bool:
        sm2.check_public_key(public_key)
        r, s, carried = self.split_signature(signature)
        if carried != bytes(public_key) or len(msg_hash) != 32:
            return False
        return self.backend.verify(public_key, msg_hash, r, s)


SUITE_NAMES = ("standard", "sm")


@lru_cache(maxsize=None)
def get_suite(name: str, sm2_backend: str | None = None) -> CryptoSuite:
    """The suite called name ('standard' or 'sm'); sm2_backend picks 'tongsuo' or 'gmssl'."""
    if name == "standard":
        return StandardSuite()
    if name == "sm":
        return SMSuite(sm2.get_backend(sm2_backend))
    raise CryptoError(f"unknown crypto suite {name!r}; choose from {list(SUITE_NAMES)}")
