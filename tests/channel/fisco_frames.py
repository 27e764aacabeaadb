"""A minimal channel client written from FISCO's documented frame format, independent of chain.channel.

FISCO-BCOS-DOC 2.x, design/protocol_description.md, "ChannelMessage": length uint32 (whole
message), type uint16, seq 32 bytes, result int32, data; big-endian (python-sdk: ``"!IH32sI"``).
AMOP data: header length uint8 (= len(topic) + 1), topic, content. Block notify data: "group,number".
"""

from __future__ import annotations

import socket
import ssl
import struct
import uuid
import warnings
from pathlib import Path

FMT = "!IH32sI"
HEAD = struct.calcsize(FMT)


def pack(type_: int, data: bytes, seq: bytes | None = None, result: int = 0) -> bytes:
    seq = seq or uuid.uuid1().hex.encode()
    return struct.pack(FMT, HEAD + len(data), type_, seq, result) + data


def connect(host: str, port: int, sdk_dir: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLSocket:
    """As the python-sdk does (client/ssl_sock_wrap.py SSLSockWrap): TLS 1.2, ECDH secp256k1, the chain
    CA, the SDK certificate, CERT_REQUIRED, no host name check."""
    with warnings.catch_warnings():  # PROTOCOL_TLSv1_2 is deprecated, and exactly what python-sdk uses
        warnings.simplefilter("ignore", DeprecationWarning)
        context = ssl.SSLContext(ssl.PROTOCOL_TLSv1_2)
    context.check_hostname = False
    context.load_verify_locations(str(sdk_dir / "ca.crt"))
    context.load_cert_chain(str(cert or sdk_dir / "sdk.crt"), str(key or sdk_dir / "sdk.key"))
    context.set_ecdh_curve("secp256k1")
    context.verify_mode = ssl.CERT_REQUIRED
    sock = context.wrap_socket(socket.create_connection((host, port), timeout=10))
    return sock


def read_message(sock: ssl.SSLSocket, want_type: int | None = None) -> tuple[int, bytes, int, bytes]:
    """(type, seq, result, data) of the next message (of want_type, skipping pushes of other types)."""
    while True:
        head = _read_exactly(sock, HEAD)
        length, type_, seq, result = struct.unpack(FMT, head)
        data = _read_exactly(sock, length - HEAD)
        if want_type is None or type_ == want_type:
            return type_, seq, result, data


def _read_exactly(sock: ssl.SSLSocket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed by the node")
        out += chunk
    return out


def amop(topic: str, content: bytes) -> bytes:
    return struct.pack("!B", len(topic) + 1) + topic.encode() + content


def amop_empty_topic(content: bytes) -> bytes:
    """python-sdk's event-log registration payload: pack_amop_topic_message("", json)."""
    return struct.pack("!b", 1) + content
