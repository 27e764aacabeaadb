"""The local protocol between a Pro node's processes (docs/nodes.md "Pro form").

A Pro node is one gateway process (the P2P endpoint), one rpc process (the JSON-RPC endpoint) and
one core process per group (replica, pool, executor, store). They talk over Unix domain sockets in
the node directory, named relative to it (each process runs with the node directory as its working
directory, which also keeps the path under the 108-byte limit of a socket address):

    gateway.sock          the gateway listens; every core dials it
    core.<group>.sock     the core of <group> listens; the rpc process dials it

A frame is the P2P framing (``chain.network.framing``: 4-byte big-endian length ‖ payload) whose
payload is ``kind (1 byte) ‖ body``. The first frame on a link is HELLO, from the dialing side;
anything else first, an unknown kind, a kind the role may not send, an oversize frame or a hello
that is not JSON of the right shape closes that link (logged) and nothing else.

    kind  name       from -> to        body
    0     HELLO      dialer -> listener JSON {"version": 1, "role": "core"|"rpc", "group": "<name>"}
    1     ENGINE     gateway -> core    sender node id (64 bytes) ‖ engine message
    2     SEND       core -> gateway    receiver node id (64 bytes) ‖ engine message
    3     BROADCAST  core -> gateway    engine message (to every linked peer serving the group)
    4     PEERS      gateway -> core    JSON {"peers": [{endpoint, nodeId, connected, groups}], "linked": [hex]}
    5     NODES      core -> gateway    the group's node list in force, 64-byte node ids back to back
    6     REQUEST    rpc -> core        request number (8 bytes) ‖ JSON-RPC HTTP body
    7     RESPONSE   core -> rpc        request number (8 bytes) ‖ JSON answer ("" : nothing to answer)
    8     STREAM_OPEN  rpc -> core      stream number (8 bytes) ‖ JSON {"what": "channel"|"ws"|"web3", "source": "<client ip>"}
    9     STREAM_DATA  both             stream number ‖ bytes (channel: a piece of the TLS-decrypted byte
                                        stream; ws, web3: one websocket message)
    10    STREAM_ACK   both             stream number ‖ count (8 bytes): DATA bytes the receiver has consumed
    11    STREAM_CLOSE both             stream number ‖ JSON {"code": int, "reason": str} (or empty)
    12    WEB3       rpc -> core        request number (8 bytes) ‖ Ethereum JSON-RPC HTTP body; answered by RESPONSE
    13    RELAY      core <-> gateway   node id (64 bytes: the receiver, or the sender) ‖ AMOP relay message
    14    FORWARD    core -> rpc        request number (8 bytes) ‖ JSON-RPC body (a channel request naming
                                        another group, or a receipt poll for one: see below)
    15    FORWARDED  rpc -> core        request number (8 bytes) ‖ JSON answer ("" : nothing to answer)

Streams (``chain.node.pro_streams``) carry a client's long-lived session through the rpc process to
group0's core: a channel connection (the rpc process terminates its TLS), a JSON-RPC ``/ws`` socket
or a web3 websocket. The rpc process numbers them; each side may send at most ``STREAM_WINDOW``
bytes of DATA the other has not acknowledged (ACK), so a client or core that stops reading is held
back as a TCP peer would be, never buffered for. WEB3 and RELAY go to group0's core only (the
channel and the web3 endpoint serve group0, as in Air).

The channel serves every group, as in Air: group0's core answers a channel request naming another
group (or listing every group) by handing it back to the rpc process (FORWARD, on the link the rpc
process dialed), which answers it exactly as an HTTP request, from the core(s) it names, and sends
the answer back (FORWARDED). A transaction another group admitted for a session that waits for its
receipt is polled for the same way (``chain.node.pro_receipts``): group0's core hears of no other
group's commits.

The sockets are created owner-only (0600): whoever may write to them speaks for the node.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

from chain.errors import NetworkError
from chain.network.framing import MAX_FRAME_SIZE, FrameDecoder, FrameTooLarge, encode_frame
from chain.node.logging import event

log = logging.getLogger("chain.node.local")

PROTOCOL_VERSION = 1
KIND_HELLO = 0
KIND_ENGINE = 1
KIND_SEND = 2
KIND_BROADCAST = 3
KIND_PEERS = 4
KIND_NODES = 5
KIND_REQUEST = 6
KIND_RESPONSE = 7
KIND_STREAM_OPEN = 8
KIND_STREAM_DATA = 9
KIND_STREAM_ACK = 10
KIND_STREAM_CLOSE = 11
KIND_WEB3 = 12
KIND_RELAY = 13
KIND_FORWARD = 14
KIND_FORWARDED = 15
KIND_NAMES = {KIND_HELLO: "HELLO", KIND_ENGINE: "ENGINE", KIND_SEND: "SEND", KIND_BROADCAST: "BROADCAST",
              KIND_PEERS: "PEERS", KIND_NODES: "NODES", KIND_REQUEST: "REQUEST", KIND_RESPONSE: "RESPONSE",
              KIND_STREAM_OPEN: "STREAM_OPEN", KIND_STREAM_DATA: "STREAM_DATA", KIND_STREAM_ACK: "STREAM_ACK",
              KIND_STREAM_CLOSE: "STREAM_CLOSE", KIND_WEB3: "WEB3", KIND_RELAY: "RELAY",
              KIND_FORWARD: "FORWARD", KIND_FORWARDED: "FORWARDED"}
ROLES = ("core", "rpc")
NODE_ID_SIZE = 64
REQUEST_NUMBER_SIZE = 8
# An engine message plus a node id and the kind byte: what the P2P limit lets through, and no more.
MAX_LOCAL_FRAME = MAX_FRAME_SIZE + NODE_ID_SIZE + 1
MAX_HELLO_SIZE = 1024
HELLO_TIMEOUT_S = 2.0  # a dialer that says nothing this long is only holding a slot
MAX_WRITE_BUFFER = 64 * 1024 * 1024  # a process that stops reading is cut off rather than buffered for
READ_CHUNK = 256 * 1024
GATEWAY_SOCKET = "gateway.sock"


def core_socket(group: str) -> str:
    """The socket the core of `group` listens on (relative to the node directory)."""
    return f"core.{group}.sock"


class LocalProtocolError(NetworkError):
    """The other side broke the local protocol: its link is closed."""


def json_object(body: bytes, what: str) -> dict[str, Any]:
    """A small JSON object of the local protocol (a hello, a STREAM_OPEN), or LocalProtocolError."""
    if len(body) > MAX_HELLO_SIZE:
        raise LocalProtocolError(f"{what} of {len(body)} bytes (at most {MAX_HELLO_SIZE})")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LocalProtocolError(f"{what} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise LocalProtocolError(f"{what} must be a JSON object")
    return data


@dataclass(frozen=True)
class LocalHello:
    role: str  # "core" (to the gateway) or "rpc" (to a core)
    group: str  # the core's group: the one it serves, or the one the rpc process wants

    def encode(self) -> bytes:
        return json.dumps({"version": PROTOCOL_VERSION, "role": self.role, "group": self.group}).encode()

    @classmethod
    def decode(cls, body: bytes) -> LocalHello:
        # Each check: a hello we cannot read exactly is refused, never guessed at.
        data = json_object(body, "hello")
        if data.get("version") != PROTOCOL_VERSION:
            raise LocalProtocolError(f"hello must be an object of version {PROTOCOL_VERSION}")
        role, group = data.get("role"), data.get("group")
        if role not in ROLES or not isinstance(group, str):
            raise LocalProtocolError(f"hello needs a role in {ROLES} and a group name")
        return cls(role, group)


def frame(kind: int, body: bytes) -> bytes:
    return encode_frame(bytes([kind]) + body, MAX_LOCAL_FRAME)


def peers_body(rows: list[dict[str, Any]], linked: list[bytes]) -> bytes:
    return json.dumps({"peers": rows, "linked": [node_id.hex() for node_id in linked]}).encode()


class LocalLink:
    """One connected local socket: whole frames in, frames out, closed on any protocol error."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str) -> None:
        self.reader = reader
        self.writer = writer
        self.name = name  # for logs: "core group0", "rpc -> group1"...
        self._decoder = FrameDecoder(MAX_LOCAL_FRAME)
        self._frames: list[bytes] = []

    @property
    def closed(self) -> bool:
        return self.writer.is_closing()

    def send(self, kind: int, body: bytes) -> bool:
        """Queue one frame; False when the link is closed or was cut off for not reading."""
        if self.writer.is_closing():
            return False
        data = frame(kind, body)
        if self.writer.transport.get_write_buffer_size() + len(data) > MAX_WRITE_BUFFER:
            event(log, "local_link_dropped", logging.WARNING, link=self.name, reason="write buffer full")
            self.close()
            return False
        self.writer.write(data)
        return True

    async def receive(self) -> tuple[int, bytes] | None:
        """The next frame as (kind, body); None once the other side has closed the link.
        LocalProtocolError for an oversize or empty frame."""
        while not self._frames:
            try:
                data = await self.reader.read(READ_CHUNK)
            except (ConnectionError, OSError):
                return None
            if not data:
                return None
            try:
                self._frames.extend(self._decoder.feed(data))
            except FrameTooLarge as exc:
                raise LocalProtocolError(str(exc)) from None
        payload = self._frames.pop(0)
        if not payload:
            raise LocalProtocolError("empty frame (no kind byte)")
        return payload[0], payload[1:]

    async def frames(self) -> AsyncIterator[tuple[int, bytes]]:
        """Every frame as (kind, body) until the other side closes the link (``receive`` in a loop)."""
        while True:
            received = await self.receive()
            if received is None:
                return
            yield received

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()


async def read_hello(link: LocalLink) -> LocalHello:
    """The dialer's hello, within HELLO_TIMEOUT_S; LocalProtocolError otherwise."""
    try:
        first = await asyncio.wait_for(link.receive(), HELLO_TIMEOUT_S)
    except asyncio.TimeoutError:
        raise LocalProtocolError(f"no hello within {HELLO_TIMEOUT_S} s") from None
    if first is None:
        raise LocalProtocolError("closed before its hello")
    kind, body = first
    if kind != KIND_HELLO:
        raise LocalProtocolError(f"first frame is {KIND_NAMES.get(kind, kind)}, not HELLO")
    return LocalHello.decode(body)


def _remove_stale_socket(path: Path) -> None:
    """A socket file left by a process that was killed; anything that is not a socket is left alone."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise NetworkError(f"{path} exists and is not a socket; refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink(missing_ok=True)  # nobody listens: stale
        return
    finally:
        probe.close()
    raise NetworkError(f"another process already listens on {path}")


async def listen(path: str, on_link: Callable[[LocalLink], Awaitable[None]], name: str) -> asyncio.AbstractServer:
    """Listen on the Unix socket `path` (owner-only); each connection is handed to on_link, whose
    errors close that connection only."""
    _remove_stale_socket(Path(path))

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = LocalLink(reader, writer, name)
        try:
            await on_link(link)
        except LocalProtocolError as exc:
            event(log, "local_link_refused", logging.WARNING, socket=path, reason=str(exc))
        except Exception:  # a bug on one link must not take the process down
            log.exception("local link on %s failed", path)
        finally:
            link.close()

    old = os.umask(0o177)  # the socket file is created owner-only: no window where others may connect
    try:
        server = await asyncio.start_unix_server(accepted, path)
    finally:
        os.umask(old)
    return server


async def dial(path: str, hello: LocalHello, name: str) -> LocalLink:
    """Connect to the Unix socket `path` and say hello; OSError if nobody listens there."""
    reader, writer = await asyncio.open_unix_connection(path)
    link = LocalLink(reader, writer, name)
    link.send(KIND_HELLO, hello.encode())
    return link
