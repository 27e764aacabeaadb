"""SM2 digital signatures (GB/T 32918) behind a small backend interface.

Two backends compute the same thing:

* ``tongsuo`` — Tongsuo (OpenSSL fork with the SM suite) through ``tongsuopy``: ~0.4 ms a verify.
* ``gmssl``  — pure Python, ~40x slower, kept as the fallback and as an independent reference.

The rule both follow, written out here so it can be read: the signer's identity is bound into the
signed value through Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA), and the value signed is
e = SM3(Z_A ‖ M).  gmssl draws its nonce with ``random.choice`` (not a CSPRNG), so we always hand it
a nonce from ``secrets``.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Protocol

from chain.crypto.hashing import sm3
from chain.errors import CryptoError

if TYPE_CHECKING:  # imported for real inside the backend, which is unavailable without the library
    from gmssl.sm2 import CryptSM2
    from tongsuopy.crypto.asymciphers.ec import EllipticCurvePrivateKey, EllipticCurvePublicKey

# The recommended curve sm2p256v1 (GB/T 32918.5).
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

DEFAULT_USER_ID = b"1234567812345678"
_CURVE_BYTES = b"".join(v.to_bytes(32, "big") for v in (A, B, GX, GY))  # a ‖ b ‖ xG ‖ yG, as Z_A hashes them


def is_on_curve(x: int, y: int) -> bool:
    """True when (x, y) satisfies y² = x³ + ax + b over F_p with both coordinates reduced."""
    if not (0 <= x < P and 0 <= y < P):
        return False
    return (y * y - (x * x * x + A * x + B)) % P == 0


def check_public_key(public_key: bytes) -> tuple[int, int]:
    """Parse a 64-byte x‖y public key; reject a wrong length or a point off the curve."""
    if not isinstance(public_key, (bytes, bytearray)) or len(public_key) != 64:
        raise CryptoError("SM2 public key must be 64 bytes (x‖y)")
    x = int.from_bytes(public_key[:32], "big")
    y = int.from_bytes(public_key[32:], "big")
    if not is_on_curve(x, y):
        raise CryptoError("SM2 public key is not a point on the curve")
    return x, y


def check_private_key(secret: int) -> None:
    """A private key is an integer in [1, n-2] (n-1 would make (1+d) non-invertible)."""
    if not isinstance(secret, int) or not (1 <= secret <= N - 2):
        raise CryptoError("SM2 private key out of range [1, n-2]")


def check_signature_values(r: int, s: int) -> None:
    """r and s must both lie in [1, n-1] (GB/T 32918.2 §7.1, step B1/B2)."""
    if not (1 <= r < N and 1 <= s < N):
        raise CryptoError("SM2 signature r or s out of range [1, n-1]")


def z_a(public_key: bytes, user_id: bytes = DEFAULT_USER_ID) -> bytes:
    """Z_A: the hash that binds the signer's identity and the curve into every signature."""
    check_public_key(public_key)
    entl = (len(user_id) * 8).to_bytes(2, "big")
    return sm3(entl + user_id + _CURVE_BYTES + bytes(public_key))


def signed_value(public_key: bytes, message: bytes, user_id: bytes = DEFAULT_USER_ID) -> bytes:
    """e = SM3(Z_A ‖ M): the 32 bytes actually signed."""
    return sm3(z_a(public_key, user_id) + message)


class SM2Backend(Protocol):
    """What a provider of SM2 arithmetic must offer. Inputs are already range-checked."""

    name: str

    def public_key(self, secret: int) -> bytes:
        """The 64-byte public key x‖y of a private key."""
        ...

    def sign(self, secret: int, public_key: bytes, message: bytes) -> tuple[int, int]:
        """(r, s) over message with the default user ID and a fresh CSPRNG nonce."""
        ...

    def verify(self, public_key: bytes, message: bytes, r: int, s: int) -> bool:
        """True when (r, s) is a signature of message by public_key."""
        ...


class TongsuoBackend:
    """SM2 through Tongsuo (native); its nonces come from OpenSSL's CSPRNG."""

    name = "tongsuo"

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
        from tongsuopy.crypto import hashes
        from tongsuopy.crypto.asymciphers import ec

        self._ec = ec
        self._algorithm = ec.ECDSA(hashes.SM3())
        # bound once here rather than imported on every sign and verify (a block verifies one per tx)
        self._decode_dss, self._encode_dss = decode_dss_signature, encode_dss_signature

    @lru_cache(maxsize=1024)
    def _private(self, secret: int) -> EllipticCurvePrivateKey:
        return self._ec.derive_private_key(secret, self._ec.SM2())

    @lru_cache(maxsize=4096)
    def _public(self, public_key: bytes) -> EllipticCurvePublicKey:
        x = int.from_bytes(public_key[:32], "big")
        y = int.from_bytes(public_key[32:], "big")
        return self._ec.EllipticCurvePublicNumbers(x, y, self._ec.SM2()).public_key()

    def public_key(self, secret: int) -> bytes:
        numbers = self._private(secret).public_key().public_numbers()
        return numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big")

    def sign(self, secret: int, public_key: bytes, message: bytes) -> tuple[int, int]:
        der = self._private(secret).sign(message, self._algorithm)
        return self._decode_dss(der)

    def verify(self, public_key: bytes, message: bytes, r: int, s: int) -> bool:
        try:
            self._public(bytes(public_key)).verify(self._encode_dss(r, s), message, self._algorithm)
        except Exception:  # tongsuopy raises its own InvalidSignature; anything else is a failure too
            return False
        return True


class GmsslBackend:
    """SM2 in pure Python (gmssl). We compute e ourselves and pass gmssl a nonce from `secrets`."""

    name = "gmssl"

    def __init__(self) -> None:
        from gmssl import sm2

        self._sm2 = sm2

    def _crypt(self, secret: int | None, public_key: bytes) -> CryptSM2:
        private_hex = f"{secret:064x}" if secret is not None else ""
        crypt = self._sm2.CryptSM2(private_key=private_hex, public_key="")
        # Set after construction: gmssl's constructor runs public_key.lstrip("04"), which also eats
        # the leading '0'/'4' digits of x, so a key whose x begins with byte 0x04 (1 in 256) never verified.
        crypt.public_key = bytes(public_key).hex()
        return crypt

    def public_key(self, secret: int) -> bytes:
        crypt = self._crypt(secret, b"")
        point = crypt._kg(secret, crypt.ecc_table["g"])  # scalar multiplication d·G
        # d·G is the point at infinity only for d = 0 mod n, which no private key is
        if point is None:
            raise CryptoError("SM2 private key is a multiple of the curve order")
        return bytes.fromhex(point)

    def sign_with_nonce(self, secret: int, public_key: bytes, message: bytes, k: int) -> tuple[int, int] | None:
        """Sign with a caller-chosen nonce k; None if this k is unusable (r = 0, r + k = n, s = 0)."""
        e = signed_value(public_key, message)
        result = self._crypt(secret, public_key).sign(e, f"{k:064x}")
        if result is None:
            return None
        r, s = int(result[:64], 16), int(result[64:], 16)
        if r == 0 or s == 0:
            return None
        return r, s

    def sign(self, secret: int, public_key: bytes, message: bytes) -> tuple[int, int]:
        while True:
            k = secrets.randbelow(N - 1) + 1
            signature = self.sign_with_nonce(secret, public_key, message, k)
            if signature is not None:
                return signature

    def verify(self, public_key: bytes, message: bytes, r: int, s: int) -> bool:
        e = signed_value(public_key, message)
        try:
            return bool(self._crypt(None, public_key).verify(f"{r:064x}{s:064x}", e))
        except Exception:  # gmssl can fail arithmetically on degenerate inputs: that is "not valid"
            return False


_BACKENDS: dict[str, Callable[[], SM2Backend]] = {"tongsuo": TongsuoBackend, "gmssl": GmsslBackend}


def available_backends() -> list[str]:
    """Names of the SM2 backends that import on this machine, fastest first."""
    names = []
    for name, cls in _BACKENDS.items():
        try:
            cls()
        except ImportError:
            continue
        names.append(name)
    return names


@lru_cache(maxsize=None)
def get_backend(name: str | None = None) -> SM2Backend:
    """The named backend, or (default) `$CHAIN_SM2_BACKEND`, or the fastest that imports."""
    name = name or os.environ.get("CHAIN_SM2_BACKEND") or None
    if name is not None:
        if name not in _BACKENDS:
            raise CryptoError(f"unknown SM2 backend {name!r}; choose from {sorted(_BACKENDS)}")
        return _BACKENDS[name]()
    for cls in _BACKENDS.values():
        try:
            return cls()
        except ImportError:
            continue
    raise CryptoError("no SM2 backend available: install tongsuopy or gmssl")
