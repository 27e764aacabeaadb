"""TLS for the channel port: mutual, TLS 1.2, ECDHE on secp256k1 (what FISCO 2.x SDKs speak).

Why not the P2P contexts (``chain.network.tls``)? Those use P-256 and allow TLS 1.3; the
unmodified python-sdk pins TLS 1.2 and offers secp256k1 only, so a node's channel side must have a
secp256k1 certificate and accept that curve. Both ends must show a certificate of the chain CA.

FISCO's *GM* channel (sm_crypto_channel) runs GM/T 0024 "TLCP" with SM2 double certificates
(signing + encryption), which needs a Tongsuo/BabaSSL TLS stack; Python's ``ssl`` (OpenSSL) does
not speak it. So this project's sm chains also use standard TLS on the channel port: what is
signed on-chain (transactions, blocks) is still SM2/SM3; only the transport differs.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from chain.errors import CertificateError

CHANNEL_ECDH_CURVE = "secp256k1"


def _context(purpose: ssl._SSLMethod, ca_cert: Path, cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(purpose)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_2  # secp256k1 is not a TLS 1.3 group
    context.check_hostname = False  # SDKs dial nodes by address; the CA is the whole check
    context.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: an SDK without a chain certificate is refused
    try:
        context.load_verify_locations(cafile=str(ca_cert))
        context.load_cert_chain(certfile=str(cert), keyfile=str(key))
        context.set_ecdh_curve(CHANNEL_ECDH_CURVE)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise CertificateError(f"cannot load channel TLS material: {exc}") from exc
    return context


def channel_server_context(ca_cert: Path, cert: Path, key: Path) -> ssl.SSLContext:
    return _context(ssl.PROTOCOL_TLS_SERVER, ca_cert, cert, key)


def channel_client_context(ca_cert: Path, cert: Path, key: Path) -> ssl.SSLContext:
    return _context(ssl.PROTOCOL_TLS_CLIENT, ca_cert, cert, key)
