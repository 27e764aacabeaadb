"""The chain CA and node TLS certificates: who may open a P2P link, and as which node.

A chain has its own certificate authority. Every node gets a TLS key and a certificate signed by
that CA; the certificate names the node (common name = node directory name) and carries its
*consensus* node id — the 64-byte public key it signs PBFT messages with — in a subject
alternative name ``urn:chain:node:<128 hex digits>``. So the TLS layer answers "is this one of
our chain's machines?" (the CA signature) and the node id extension answers "which node?".

TLS keys are deliberately separate from consensus keys: the consensus key is on secp256k1 or SM2,
which Python's ``ssl`` module cannot use, while TLS uses ECDSA P-256, which every OpenSSL speaks.
The P2P hello then proves the peer also holds the consensus key the certificate names.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature as _X509InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chain.errors import CertificateError

NODE_ID_URI_PREFIX = "urn:chain:node:"
NODE_ID_SIZE = 64
CA_VALIDITY_DAYS = 3650
NODE_VALIDITY_DAYS = 3650
TLS_CURVE = ec.SECP256R1()


@dataclass(frozen=True)
class Issued:
    """A private key and its certificate, as PEM text ready to write."""

    key_pem: bytes
    cert_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)


def _now() -> datetime.datetime:
    # Back-date by an hour so clocks a little behind still accept a freshly built chain.
    return datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def generate_ca(common_name: str = "chain CA") -> Issued:
    """A self-signed CA certificate that may sign node certificates and nothing below them."""
    key = ec.generate_private_key(TLS_CURVE)
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "chain"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])
    start = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=CA_VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(_key_pem(key), cert.public_bytes(serialization.Encoding.PEM))


def _ca_signer(ca: Issued) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise CertificateError("the chain CA key must be an EC key")
    return ca_key, ca.certificate


def _leaf_builder(ca_cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, common_name: str) -> x509.CertificateBuilder:
    """What every certificate the chain CA issues has: its name, validity, not a CA, client and server use.

    Every holder is both a TLS server and a TLS client (nodes accept and dial links; the channel
    port's certificate pair serves the node and the SDK alike).
    """
    start = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "chain"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=NODE_VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    )


def issue_node_certificate(ca: Issued, node_name: str, node_id: bytes, ip: str = "127.0.0.1") -> Issued:
    """A TLS key and certificate for one node, signed by the chain CA and naming its node id."""
    if len(node_id) != NODE_ID_SIZE:
        raise CertificateError(f"a node id is a {NODE_ID_SIZE}-byte public key, got {len(node_id)} bytes")
    ca_key, ca_cert = _ca_signer(ca)
    key = ec.generate_private_key(TLS_CURVE)
    alt_names: list[x509.GeneralName] = [
        x509.UniformResourceIdentifier(NODE_ID_URI_PREFIX + node_id.hex()),
        x509.DNSName(node_name),
    ]
    try:
        alt_names.append(x509.IPAddress(ipaddress.ip_address(ip)))
    except ValueError:
        alt_names.append(x509.DNSName(ip))
    cert = (
        _leaf_builder(ca_cert, key, node_name)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),  # the key that signs it
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return Issued(_key_pem(key), cert.public_bytes(serialization.Encoding.PEM))


def load_certificate(data: bytes) -> x509.Certificate:
    """A certificate from PEM or DER bytes; CertificateError if it is neither."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise CertificateError(f"not a certificate: {exc}") from exc


def node_id_of(cert: x509.Certificate) -> bytes:
    """The consensus node id a node certificate carries; CertificateError if it has none or several."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound as exc:
        raise CertificateError("certificate has no subject alternative name, so no node id") from exc
    ids = [uri for uri in san.get_values_for_type(x509.UniformResourceIdentifier) if uri.startswith(NODE_ID_URI_PREFIX)]
    # Exactly one identity per certificate, or a peer could pick whichever suits it.
    if len(ids) != 1:
        raise CertificateError(f"certificate must carry exactly one node id, found {len(ids)}")
    hex_id = ids[0][len(NODE_ID_URI_PREFIX):]
    try:
        node_id = bytes.fromhex(hex_id)
    except ValueError as exc:
        raise CertificateError("certificate node id is not hex") from exc
    # A node id is a 64-byte public key.
    if len(node_id) != NODE_ID_SIZE:
        raise CertificateError(f"certificate node id must be {NODE_ID_SIZE} bytes, got {len(node_id)}")
    return node_id


def node_name_of(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def check_issued_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> None:
    """Raise CertificateError unless cert was signed by ca_cert (the chain CA)."""
    # The issuer name must be the CA's subject, or the signature check below is meaningless.
    if cert.issuer != ca_cert.subject:
        raise CertificateError("certificate was not issued by the chain CA (issuer name differs)")
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, _X509InvalidSignature) as exc:
        raise CertificateError(f"certificate signature does not verify under the chain CA: {exc}") from exc


def write_private(path: Path, data: bytes) -> None:
    """Write key material readable by the owner only; refuse to overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


CHANNEL_CURVE = ec.SECP256K1()


def issue_channel_certificate(ca: Issued, common_name: str) -> Issued:
    """A TLS key and certificate for FISCO's channel port (the node's side or an SDK's).

    On secp256k1, as FISCO 2.x's ECDSA chains issue them: its SDKs offer only that curve
    (python-sdk ``ECDH_curve = "secp256k1"``), and a TLS 1.2 server may use only a certificate on a
    curve the client offered. It names no node id: an SDK certificate can never pass the P2P hello.
    """
    ca_key, ca_cert = _ca_signer(ca)
    key = ec.generate_private_key(CHANNEL_CURVE)
    cert = _leaf_builder(ca_cert, key, common_name).sign(ca_key, hashes.SHA256())
    return Issued(_key_pem(key), cert.public_bytes(serialization.Encoding.PEM))
