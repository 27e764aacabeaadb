"""Mutual-TLS contexts for P2P links: both ends must show a certificate from the chain CA.

There is no host-name check: nodes are identified by the node id inside their certificate (see
``chain.crypto.certs``), not by DNS names, and a node's address may change between runs.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from chain.crypto.certs import load_certificate
from chain.errors import CertificateError


@dataclass(frozen=True)
class TlsFiles:
    """Where a node keeps its TLS material."""

    ca_cert: Path
    cert: Path
    key: Path

    def own_cert_der(self) -> bytes:
        try:
            return load_certificate(self.cert.read_bytes()).public_bytes(serialization.Encoding.DER)
        except OSError as exc:
            raise CertificateError(f"cannot read certificate {self.cert}: {exc}") from exc


def _context(purpose: ssl._SSLMethod, files: TlsFiles) -> ssl.SSLContext:
    context = ssl.SSLContext(purpose)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False  # identity is the node id in the certificate, checked after TLS
    context.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: no certificate, no link
    try:
        context.load_verify_locations(cafile=str(files.ca_cert))
        context.load_cert_chain(certfile=str(files.cert), keyfile=str(files.key))
    except (OSError, ssl.SSLError) as exc:
        raise CertificateError(f"cannot load TLS material: {exc}") from exc
    return context


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """For accepted links: requires and verifies the dialer's certificate."""
    return _context(ssl.PROTOCOL_TLS_SERVER, files)


def client_context(files: TlsFiles) -> ssl.SSLContext:
    """For dialed links: presents our certificate and verifies the listener's."""
    return _context(ssl.PROTOCOL_TLS_CLIENT, files)
