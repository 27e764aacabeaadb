"""Mutual-TLS contexts for P2P links: both ends must show a certificate from the chain CA.

There is no host-name check: nodes are identified by the node id inside their certificate (see
``chain.crypto.certs``), not by DNS names, and a node's address may change between runs.
"""

from __future__ import annotations

import asyncio
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


async def upgrade_to_tls(writer: asyncio.StreamWriter, context: ssl.SSLContext, handshake_timeout: float) -> None:
    """Run the server side of the TLS handshake on an accepted plain-TCP stream.

    The host accepts plain TCP first so it can count (and bound) connections still in their
    handshake. Python 3.11 has ``StreamWriter.start_tls`` for this; on 3.10 we do what it does:
    ``loop.start_tls`` on the transport, then point the writer and its protocol at the new one.
    """
    if hasattr(writer, "start_tls"):  # Python 3.11+
        await writer.start_tls(context, ssl_handshake_timeout=handshake_timeout)
        return
    loop = asyncio.get_running_loop()  # pragma: no cover - Python 3.10
    protocol = writer.transport.get_protocol()
    await writer.drain()
    transport = await loop.start_tls(
        writer.transport, protocol, context, server_side=True, ssl_handshake_timeout=handshake_timeout
    )
    if transport is None:
        raise ConnectionError("the connection closed during the TLS handshake")
    writer._transport = transport  # type: ignore[attr-defined]  # what 3.11's start_tls sets
    protocol._transport = transport  # type: ignore[attr-defined]  # StreamReaderProtocol._replace_writer
    protocol._over_ssl = True  # type: ignore[attr-defined]
