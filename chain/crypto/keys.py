"""Private key files: plain PEM (SEC1 ``EC PRIVATE KEY``) and a password-protected form.

Plain files use the standard SEC1 structure, so OpenSSL-family tools can read them:

    ECPrivateKey ::= SEQUENCE { version INTEGER 1, privateKey OCTET STRING,
                                parameters [0] OID of the curve, publicKey [1] BIT STRING }

The encrypted form is our own small, documented envelope (a PEM block holding JSON): the password
is stretched with scrypt, the key is encrypted with SM4-CBC (sm suite) or AES-128-CBC (standard),
and an HMAC over the ciphertext tells a wrong password apart from a good one before decrypting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as chmac
from cryptography.hazmat.primitives.ciphers import algorithms

from chain.crypto import cbc, sm4
from chain.crypto.suite import CryptoSuite, get_suite
from chain.errors import CryptoError, KeyFileError

CURVE_OIDS = {
    "standard": "1.3.132.0.10",  # secp256k1
    "sm": "1.2.156.10197.1.301",  # sm2p256v1
}
PLAIN_LABEL = "EC PRIVATE KEY"
ENCRYPTED_LABEL = "CHAIN ENCRYPTED PRIVATE KEY"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


@dataclass(frozen=True)
class KeyPair:
    """A private key with what follows from it; repr never shows the secret."""

    suite_name: str
    secret: int = field(repr=False)

    @property
    def suite(self) -> CryptoSuite:
        return get_suite(self.suite_name)

    @property
    def public_key(self) -> bytes:
        return self.suite.public_key(self.secret)

    @property
    def address(self) -> bytes:
        return self.suite.address(self.public_key)

    def sign(self, msg_hash: bytes) -> bytes:
        return self.suite.sign(self.secret, msg_hash)

    @classmethod
    def generate(cls, suite_name: str) -> KeyPair:
        return cls(suite_name, get_suite(suite_name).generate_private_key())


# --- a minimal DER codec for the one fixed structure above -----------------------------------

def _der(tag: int, body: bytes) -> bytes:
    length = len(body)
    if length < 0x80:
        return bytes([tag, length]) + body
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(encoded)]) + encoded + body


def _oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray([parts[0] * 40 + parts[1]])
    for value in parts[2:]:
        chunk = [value & 0x7F]
        value >>= 7
        while value:
            chunk.append(0x80 | (value & 0x7F))
            value >>= 7
        body.extend(reversed(chunk))
    return _der(0x06, bytes(body))


def _read(data: bytes, pos: int, tag: int) -> tuple[bytes, int]:
    """Read one TLV with the expected tag at pos; return (body, next position)."""
    if pos + 2 > len(data) or data[pos] != tag:
        raise KeyFileError(f"corrupt key: expected DER tag 0x{tag:02x} at byte {pos}")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4 or pos + n > len(data):
            raise KeyFileError("corrupt key: bad DER length")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise KeyFileError("corrupt key: DER value runs past the end")
    return data[pos : pos + length], pos + length


def encode_sec1(key: KeyPair) -> bytes:
    """DER of the SEC1 ECPrivateKey for key."""
    body = (
        _der(0x02, b"\x01")
        + _der(0x04, key.secret.to_bytes(32, "big"))
        + _der(0xA0, _oid(CURVE_OIDS[key.suite_name]))
        + _der(0xA1, _der(0x03, b"\x00\x04" + key.public_key))
    )
    return _der(0x30, body)


def decode_sec1(der: bytes) -> KeyPair:
    """Parse and check a SEC1 ECPrivateKey: known curve, key in range, public key consistent."""
    body, end = _read(der, 0, 0x30)
    if end != len(der):
        raise KeyFileError("corrupt key: trailing bytes after the key")
    version, pos = _read(body, 0, 0x02)
    if version != b"\x01":
        raise KeyFileError("corrupt key: unsupported ECPrivateKey version")
    secret_bytes, pos = _read(body, pos, 0x04)
    params, pos = _read(body, pos, 0xA0)
    suite_name = next((name for name, oid in CURVE_OIDS.items() if _oid(oid) == params), None)
    if suite_name is None:
        raise KeyFileError("key is on a curve this chain does not use (need secp256k1 or sm2p256v1)")
    if len(secret_bytes) != 32:
        raise KeyFileError("corrupt key: private key must be 32 bytes")
    try:
        key = KeyPair(suite_name, int.from_bytes(secret_bytes, "big"))
        public_key = key.public_key
    except CryptoError as exc:
        raise KeyFileError(f"corrupt key: {exc}") from exc
    if pos < len(body):
        wrapped, _ = _read(body, pos, 0xA1)
        bits, _ = _read(wrapped, 0, 0x03)
        if bits != b"\x00\x04" + public_key:
            raise KeyFileError("corrupt key: stored public key does not match the private key")
    return key


# --- PEM armour --------------------------------------------------------------------------------

def _pem(label: str, data: bytes) -> str:
    b64 = base64.b64encode(data).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def _unpem(text: str) -> tuple[str, bytes]:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) < 3 or not lines[0].startswith("-----BEGIN ") or not lines[-1].startswith("-----END "):
        raise KeyFileError("not a PEM file")
    label = lines[0][len("-----BEGIN ") : -5]
    if lines[-1] != f"-----END {label}-----":
        raise KeyFileError("PEM BEGIN and END labels differ")
    try:
        return label, base64.b64decode("".join(lines[1:-1]), validate=True)
    except ValueError as exc:
        raise KeyFileError("corrupt PEM: bad base64") from exc


# --- encryption envelope -----------------------------------------------------------------------

def _derive(password: str, salt: bytes) -> tuple[bytes, bytes]:
    material = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return material[:16], material[16:]


def _cipher(suite_name: str, key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    """SM4-CBC in the sm suite, AES-128-CBC in the standard one; PKCS#7 padding in both."""
    if suite_name == "sm":
        return sm4.encrypt_cbc(key, iv, data) if encrypt else sm4.decrypt_cbc(key, iv, data)
    return cbc.encrypt(algorithms.AES(key), iv, data) if encrypt else cbc.decrypt(algorithms.AES(key), iv, data)


def _mac(suite_name: str, key: bytes, data: bytes) -> bytes:
    """HMAC-SM3 in the sm suite, HMAC-SHA256 in the standard one."""
    if suite_name == "sm":
        h = chmac.HMAC(key, hashes.SM3())
        h.update(data)
        return h.finalize()
    return hmac.new(key, data, hashlib.sha256).digest()


def dumps_private_key(key: KeyPair, password: str | None = None) -> str:
    """PEM text of key; encrypted when a password is given."""
    der = encode_sec1(key)
    if password is None:
        return _pem(PLAIN_LABEL, der)
    salt, iv = secrets.token_bytes(16), secrets.token_bytes(16)
    enc_key, mac_key = _derive(password, salt)
    ciphertext = _cipher(key.suite_name, enc_key, iv, der, encrypt=True)
    envelope = {
        "version": 1,
        "suite": key.suite_name,
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": salt.hex()},
        "cipher": "sm4-cbc" if key.suite_name == "sm" else "aes-128-cbc",
        "iv": iv.hex(),
        "ciphertext": ciphertext.hex(),
        "mac": _mac(key.suite_name, mac_key, iv + ciphertext).hex(),
    }
    return _pem(ENCRYPTED_LABEL, json.dumps(envelope, sort_keys=True).encode())


def loads_private_key(text: str, password: str | None = None) -> KeyPair:
    """Parse PEM text; KeyFileError for a corrupt file, a missing or a wrong password."""
    label, data = _unpem(text)
    if label == PLAIN_LABEL:
        return decode_sec1(data)
    if label != ENCRYPTED_LABEL:
        raise KeyFileError(f"unsupported PEM block {label!r}")
    if password is None:
        raise KeyFileError("this key file is encrypted: a password is needed")
    try:
        envelope = json.loads(data)
        suite_name = envelope["suite"]
        salt = bytes.fromhex(envelope["kdf"]["salt"])
        iv = bytes.fromhex(envelope["iv"])
        ciphertext = bytes.fromhex(envelope["ciphertext"])
        mac = bytes.fromhex(envelope["mac"])
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyFileError(f"corrupt encrypted key file: {exc}") from exc
    if suite_name not in CURVE_OIDS:
        raise KeyFileError(f"corrupt encrypted key file: unknown suite {suite_name!r}")
    enc_key, mac_key = _derive(password, salt)
    if not hmac.compare_digest(_mac(suite_name, mac_key, iv + ciphertext), mac):
        raise KeyFileError("wrong password (or the key file was altered)")
    try:
        der = _cipher(suite_name, enc_key, iv, ciphertext, encrypt=False)
    except CryptoError as exc:
        raise KeyFileError(f"corrupt encrypted key file: {exc}") from exc
    key = decode_sec1(der)
    if key.suite_name != suite_name:
        raise KeyFileError("corrupt encrypted key file: suite does not match the key inside")
    return key


def save_private_key(path: str | os.PathLike[str], key: KeyPair, password: str | None = None) -> None:
    """Write key to path (mode 0600), refusing to overwrite an existing file."""
    target = Path(path)
    if target.exists():
        raise KeyFileError(f"{target} already exists; refusing to overwrite a key")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(dumps_private_key(key, password))


def load_private_key(path: str | os.PathLike[str], password: str | None = None) -> KeyPair:
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc}") from exc
    return loads_private_key(text, password)
