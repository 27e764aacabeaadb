"""Key files: plain and encrypted PEM, and their failure modes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from chain.cli.main import app
from chain.crypto.keys import KeyPair, dumps_private_key, load_private_key, loads_private_key, save_private_key
from chain.errors import KeyFileError


@pytest.mark.parametrize("suite_name", ["standard", "sm"])
def test_plain_round_trip(tmp_path: Path, suite_name: str) -> None:
    key = KeyPair.generate(suite_name)
    save_private_key(tmp_path / "k.pem", key)
    assert load_private_key(tmp_path / "k.pem") == key
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
    with pytest.raises(KeyFileError):
        save_private_key(tmp_path / "k.pem", key)  # never overwrite a key


@pytest.mark.parametrize("suite_name", ["standard", "sm"])
def test_encrypted_round_trip_and_wrong_password(suite_name: str) -> None:
    key = KeyPair.generate(suite_name)
    text = dumps_private_key(key, "correct horse")
    assert str(key.secret) not in text and f"{key.secret:064x}" not in text
    assert loads_private_key(text, "correct horse") == key
    with pytest.raises(KeyFileError, match="wrong password"):
        loads_private_key(text, "wrong horse")
    with pytest.raises(KeyFileError, match="password is needed"):
        loads_private_key(text)


def test_standard_key_file_is_readable_by_openssl() -> None:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = KeyPair.generate("standard")
    loaded = load_pem_private_key(dumps_private_key(key).encode(), password=None)
    assert loaded.private_numbers().private_value == key.secret  # type: ignore[union-attr]


def test_sm_key_file_is_readable_by_tongsuo() -> None:
    serialization = pytest.importorskip("tongsuopy.crypto.serialization")
    key = KeyPair.generate("sm")
    loaded = serialization.load_pem_private_key(dumps_private_key(key).encode(), password=None)
    assert loaded.private_numbers().private_value == key.secret


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "-----BEGIN EC PRIVATE KEY-----\n!!!!\n-----END EC PRIVATE KEY-----\n",
        "-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n",
        "-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n",
        "-----BEGIN CHAIN ENCRYPTED PRIVATE KEY-----\ne30=\n-----END CHAIN ENCRYPTED PRIVATE KEY-----\n",
    ],
)
def test_corrupt_files_raise_key_file_error(text: str) -> None:
    with pytest.raises(KeyFileError):
        loads_private_key(text, "pw")


def test_truncated_and_tampered_key_files() -> None:
    key = KeyPair.generate("sm")
    text = dumps_private_key(key)
    lines = text.splitlines()
    with pytest.raises(KeyFileError):
        loads_private_key("\n".join([lines[0], lines[1][:20], lines[-1]]))
    encrypted = dumps_private_key(key, "pw")
    import base64
    import json

    body = json.loads(base64.b64decode("".join(encrypted.splitlines()[1:-1])))
    body["ciphertext"] = ("00" if body["ciphertext"][:2] != "00" else "11") + body["ciphertext"][2:]
    from chain.crypto.keys import ENCRYPTED_LABEL, _pem

    with pytest.raises(KeyFileError):
        loads_private_key(_pem(ENCRYPTED_LABEL, json.dumps(body).encode()), "pw")


def test_keygen_cli(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["keygen", "--suite", "standard", "-o", str(tmp_path / "a.pem")])
    assert result.exit_code == 0, result.output
    key = load_private_key(tmp_path / "a.pem")
    assert f"0x{key.address.hex()}" in result.output
    bad = CliRunner().invoke(app, ["keygen", "--suite", "rsa", "-o", str(tmp_path / "b.pem")])
    assert bad.exit_code != 0 and "unknown suite" in bad.output


@pytest.mark.parametrize("suite_name", ["standard", "sm"])
@pytest.mark.parametrize("iv, ciphertext", [(b"\x00" * 8, None), (None, b"\x00" * 20)])
def test_envelope_written_with_the_password_but_malformed_is_a_key_file_error(
    suite_name: str, iv: bytes | None, ciphertext: bytes | None
) -> None:
    """The MAC only proves the writer knew the password: a wrong-size IV or a ragged ciphertext
    under a valid MAC must still be refused as a corrupt file, not crash the loader."""
    import base64
    import json

    from chain.crypto import keys

    text = dumps_private_key(KeyPair.generate(suite_name), "pw")
    envelope = json.loads(base64.b64decode("".join(text.strip().splitlines()[1:-1])))
    salt = bytes.fromhex(envelope["kdf"]["salt"])
    new_iv = iv if iv is not None else bytes.fromhex(envelope["iv"])
    new_ciphertext = ciphertext if ciphertext is not None else bytes.fromhex(envelope["ciphertext"])
    _, mac_key = keys._derive("pw", salt)
    envelope.update(iv=new_iv.hex(), ciphertext=new_ciphertext.hex(),
                    mac=keys._mac(suite_name, mac_key, new_iv + new_ciphertext).hex())
    forged = keys._pem(keys.ENCRYPTED_LABEL, json.dumps(envelope).encode())
    with pytest.raises(KeyFileError, match="corrupt encrypted key file"):
        loads_private_key(forged, "pw")
