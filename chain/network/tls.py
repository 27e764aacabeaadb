"""Mutual-TLS contexts for P2P links: both ends must show a certificate from the chain CA.

There is no host-name check: nodes are identified by the node id inside their certificate (see
``chain.crypto.certs``), not by DNS names, and a node's address may change between runs.
"""

from __future__ import annotations

import asyncio
import socket
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


async def accept_tls(
    sock: socket.socket, context: ssl.SSLContext, handshake_timeout: float, limit: int = 2**16
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Run the server side of the TLS handshake on a socket the host accepted itself.

    The host accepts plain TCP sockets on its own (``chain.network.host``) so it can decide, per
    source address and before any TLS work, whether a connection may wait in the handshake at
    all; ``loop.connect_accepted_socket`` then wraps the admitted socket in TLS and streams, as
    ``asyncio.start_server`` would have (public API since Python 3.7).
    """
    loop = asyncio.get_running_loop()
    # asyncio turns Nagle's algorithm off only for sockets that say they are TCP, and a socket
    # accepted from ``socket.create_server`` says proto 0: without this, a message sent while the
    # previous one is unacknowledged waits for the peer's delayed ACK. Every link direction the
    # acceptor sends on was 20-35 ms late (median) under one closed-loop client (issue 18).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    transport, _ = await loop.connect_accepted_socket(
        lambda: protocol, sock, ssl=context, ssl_handshake_timeout=handshake_timeout
    )
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


async def wait_first_bytes(sock: socket.socket, timeout: float) -> bool:
    """Wait until the client sends something (or hangs up); False if it stays silent `timeout` s.

    In TLS the client speaks first, right after connecting: one that stays silent is not
    starting a handshake, it is only holding a socket.
    """
    loop = asyncio.get_running_loop()
    readable: asyncio.Future[None] = loop.create_future()

    def on_readable() -> None:
        if not readable.done():
            readable.set_result(None)

    loop.add_reader(sock.fileno(), on_readable)
    try:
        await asyncio.wait_for(readable, timeout)
        return True
    except asyncio.TimeoutError:
        return False
    finally:
        loop.remove_reader(sock.fileno())
