"""Streams over a Pro node's local link: a client's long-lived session relayed by the rpc process.

The rpc process is a Pro node's only client endpoint, yet the channel port, the JSON-RPC ``/ws``
route and the web3 websocket are sessions, not request/answer pairs: the node pushes blocks,
receipts, logs and AMOP messages into them whenever it likes. So the rpc process accepts the
connection (and terminates the channel's TLS), opens a numbered *stream* to group0's core
(STREAM_OPEN), and from then on only copies: what the client sends goes to the core as STREAM_DATA,
what the core sends goes to the client; either side ends it with STREAM_CLOSE
(``chain.node.local_link`` has the frame table).

In the core a stream looks like a socket to code that already exists: ``ByteStream`` is the
reader/writer pair ``chain.channel.server.ChannelServer.serve_session`` reads and writes, and
``MessageStream`` is the websocket ``chain.rpc.ws.serve_socket`` serves (for /ws and for web3).
No session logic lives here or in the rpc process.

Flow control is TCP's, by window: a side sends at most ``STREAM_WINDOW`` bytes of DATA the other has
not acknowledged (STREAM_ACK, sent once consumed: read by the session in the core, written to the
client by the rpc process). A client that floods stops being read; a client that does not read
makes the core's writes wait, so the channel session's bounded queue fills and the session is
dropped, exactly as on an Air node's port — nothing is buffered without bound on either side.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Callable

from aiohttp import WSMessage, WSMsgType

from chain.node.local_link import (
    KIND_STREAM_ACK, KIND_STREAM_CLOSE, KIND_STREAM_DATA, MAX_LOCAL_FRAME, LocalProtocolError, json_object,
)

STREAM_NUMBER_SIZE = 8
ACK_SIZE = 8  # a STREAM_ACK's count of bytes consumed
STREAM_WINDOW = 1 << 20  # bytes of DATA in flight per stream and direction
MAX_STREAMS = 1024  # open streams on one rpc link (the channel alone allows 256 sessions)
WHATS = ("channel", "ws", "web3")
MAX_STREAM_DATA = MAX_LOCAL_FRAME - STREAM_NUMBER_SIZE - 1  # the largest DATA body a frame can carry
# The largest DATA the rpc process sends: a client's websocket message (at most the JSON-RPC body
# limit, chain.rpc.server.MAX_BODY_SIZE) or one read of a channel connection (256 KiB).
MAX_CLIENT_DATA = 4 << 20
CLOSE_NORMAL = 1000  # websocket close codes, also what a channel stream's CLOSE says
CLOSE_GOING_AWAY = 1001

Send = Callable[[int, bytes], bool]  # (kind, body) on the link -> sent?


@dataclass(frozen=True)
class StreamOpen:
    what: str  # "channel" | "ws" | "web3"
    source: str  # the client's address, for the session's logs and refusal counts

    def encode(self) -> bytes:
        return json.dumps({"what": self.what, "source": self.source}).encode()

    @classmethod
    def decode(cls, body: bytes) -> StreamOpen:
        data = json_object(body, "STREAM_OPEN")
        if data.get("what") not in WHATS or not isinstance(data.get("source"), str):
            raise LocalProtocolError(f"STREAM_OPEN needs a 'what' in {WHATS} and a 'source'")
        return cls(data["what"], data["source"][:100])


def numbered(number: int, rest: bytes = b"") -> bytes:
    return number.to_bytes(STREAM_NUMBER_SIZE, "big") + rest


def split_number(body: bytes) -> tuple[int, bytes]:
    """(stream number, the rest) of a STREAM_* body; LocalProtocolError if it has no number."""
    if len(body) < STREAM_NUMBER_SIZE:
        raise LocalProtocolError(f"a stream frame of {len(body)} bytes has no stream number")
    return int.from_bytes(body[:STREAM_NUMBER_SIZE], "big"), body[STREAM_NUMBER_SIZE:]


def ack_body(number: int, count: int) -> bytes:
    """A STREAM_ACK body: stream `number` has consumed `count` more bytes of DATA."""
    return numbered(number, count.to_bytes(ACK_SIZE, "big"))


def ack_count(rest: bytes) -> int:
    if len(rest) != ACK_SIZE:
        raise LocalProtocolError(f"STREAM_ACK carries an {ACK_SIZE}-byte count, not {len(rest)} bytes")
    return int.from_bytes(rest, "big")


def close_body(code: int = CLOSE_NORMAL, reason: str = "") -> bytes:
    return json.dumps({"code": code, "reason": reason[:120]}).encode()


def close_reason(rest: bytes) -> tuple[int, str]:
    """The (code, reason) of a STREAM_CLOSE; a body that is not the documented JSON reads as a plain close."""
    try:
        data = json.loads(rest) if rest else {}
        code, reason = int(data.get("code", CLOSE_NORMAL)), str(data.get("reason", ""))
    except (ValueError, UnicodeDecodeError, AttributeError, TypeError):
        return CLOSE_NORMAL, ""
    return (code if 1000 <= code < 5000 else CLOSE_NORMAL), reason[:120]


class Credit:
    """One direction of a stream: the sender waits while STREAM_WINDOW bytes are unacknowledged."""

    def __init__(self) -> None:
        self.unacked = 0
        self._room = asyncio.Event()
        self._room.set()

    def sent(self, count: int) -> None:
        self.unacked += count
        if self.unacked >= STREAM_WINDOW:
            self._room.clear()

    def acked(self, count: int) -> None:
        self.unacked = max(0, self.unacked - count)
        if self.unacked < STREAM_WINDOW:
            self._room.set()

    def release(self) -> None:
        """The stream is closed: nobody waits any longer."""
        self._room.set()

    async def wait(self) -> None:
        await self._room.wait()


class Inbox:
    """DATA received on a stream and not yet consumed; consuming it acknowledges it to the sender."""

    def __init__(self, send: Send, number: int) -> None:
        self._send = send
        self._number = number
        self._pieces: deque[bytes] = deque()
        self._arrived = asyncio.Event()
        self.unread = 0
        self.ended = False

    def feed(self, data: bytes) -> None:
        """A DATA body; LocalProtocolError if the sender ignored the window (a bound, not a guess)."""
        if self.ended:
            return
        self.unread += len(data)
        if self.unread > STREAM_WINDOW + MAX_CLIENT_DATA:
            raise LocalProtocolError(f"stream {self._number}: {self.unread} bytes sent past the window")
        self._pieces.append(data)
        self._arrived.set()

    def end(self) -> None:
        self.ended = True
        self._arrived.set()

    async def take(self, limit: int = -1) -> bytes | None:
        """The next piece (at most `limit` bytes of it), acknowledged; None once ended and empty."""
        while not self._pieces:
            if self.ended:
                return None
            self._arrived.clear()
            await self._arrived.wait()
        piece = self._pieces.popleft()
        if 0 < limit < len(piece):
            piece, rest = piece[:limit], piece[limit:]
            self._pieces.appendleft(rest)
        self.unread -= len(piece)
        self._send(KIND_STREAM_ACK, ack_body(self._number, len(piece)))
        return piece


# --- the core's end ---------------------------------------------------------------------------------


class CoreStream:
    """The core's end of one stream: DATA in (Inbox), DATA out under the window, one CLOSE."""

    def __init__(self, send: Send, number: int, opened: StreamOpen) -> None:
        self._send = send
        self.number = number
        self.what = opened.what
        self.source = opened.source
        self.inbox = Inbox(send, number)
        self.credit = Credit()
        self.ended = False  # closed by either side

    def on_frame(self, kind: int, rest: bytes) -> None:
        if kind == KIND_STREAM_DATA:
            self.inbox.feed(rest)
        elif kind == KIND_STREAM_ACK:
            self.credit.acked(ack_count(rest))
        elif kind == KIND_STREAM_CLOSE:
            self.ended = True  # the client is gone: nothing more to send it
            self.inbox.end()
            self.credit.release()

    def _out(self, data: bytes) -> bool:
        if self.ended:
            return False
        if len(data) > MAX_STREAM_DATA or not self._send(KIND_STREAM_DATA, numbered(self.number, data)):
            self.end(CLOSE_GOING_AWAY, "cannot relay")
            return False
        self.credit.sent(len(data))
        return True

    def end(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Close from this side (once): the rpc process closes the client's connection."""
        if not self.ended:
            self.ended = True
            self._send(KIND_STREAM_CLOSE, numbered(self.number, close_body(code, reason)))
        self.inbox.end()
        self.credit.release()


class ByteStream(CoreStream):
    """A channel session's transport (chain.channel.server.SessionReader and SessionWriter)."""

    async def read(self, n: int = -1) -> bytes:
        return await self.inbox.take(n) or b""

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        for start in range(0, len(data), MAX_STREAM_DATA):
            if not self._out(bytes(view[start:start + MAX_STREAM_DATA])):
                return

    async def drain(self) -> None:
        await self.credit.wait()

    def close(self) -> None:
        self.end()

    def is_closing(self) -> bool:
        return self.ended


class MessageStream(CoreStream):
    """A websocket's messages (chain.rpc.ws.MessageSocket): what /ws and the web3 socket are served on."""

    @property
    def closed(self) -> bool:
        return self.ended

    async def send_str(self, data: str) -> None:
        if self.ended or not self._out(data.encode()):
            raise ConnectionResetError("the stream is closed")  # what aiohttp raises for a closing socket
        await self.credit.wait()

    async def close(self, *, code: int = CLOSE_NORMAL, message: bytes = b"") -> bool:
        was_open = not self.ended
        self.end(code, message.decode(errors="replace"))
        return was_open

    def abort(self) -> None:
        self.end(CLOSE_GOING_AWAY, "aborted")

    def __aiter__(self) -> AsyncIterator[WSMessage]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[WSMessage]:
        while (data := await self.inbox.take()) is not None:
            yield WSMessage(WSMsgType.BINARY, data, None)


# --- the rpc process's end --------------------------------------------------------------------------


class RelayEnd:
    """The rpc process's end of one stream: the client's bytes or messages to the core, the core's back."""

    def __init__(self, send: Send, number: int) -> None:
        self._send = send
        self.number = number
        self.credit = Credit()
        self._incoming: asyncio.Queue[bytes | None] = asyncio.Queue()  # bounded by the core's window
        self.closed_by_core: tuple[int, str] | None = None
        self.ended = False

    def on_frame(self, kind: int, rest: bytes) -> None:
        if kind == KIND_STREAM_DATA:
            if not self.ended:
                self._incoming.put_nowait(rest)
        elif kind == KIND_STREAM_ACK:
            self.credit.acked(ack_count(rest))
        elif kind == KIND_STREAM_CLOSE:
            self.closed_by_core = close_reason(rest)
            self.lost()

    def lost(self) -> None:
        """The core closed the stream, or its link is gone."""
        self.ended = True
        self._incoming.put_nowait(None)
        self.credit.release()

    async def relay(self, receive: Callable[[], Awaitable[bytes | None]],
                    deliver: Callable[[bytes], Awaitable[None]]) -> None:
        """Copy until either side ends: receive() (None: the client is gone) to the core, the core's
        DATA to deliver(); then CLOSE to the core if it did not close first."""
        up = asyncio.ensure_future(self._up(receive))
        down = asyncio.ensure_future(self._down(deliver))
        try:
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (up, down):
                task.cancel()
            await asyncio.gather(up, down, return_exceptions=True)
            if not self.ended:
                self.ended = True
                self._send(KIND_STREAM_CLOSE, numbered(self.number, close_body()))

    async def _up(self, receive: Callable[[], Awaitable[bytes | None]]) -> None:
        while not self.ended:
            await self.credit.wait()
            if self.ended:
                return
            data = await receive()
            if data is None or self.ended:
                return
            if len(data) > MAX_CLIENT_DATA or not self._send(KIND_STREAM_DATA, numbered(self.number, data)):
                return
            self.credit.sent(len(data))

    async def _down(self, deliver: Callable[[bytes], Awaitable[None]]) -> None:
        while (data := await self._incoming.get()) is not None:
            await deliver(data)
            self._send(KIND_STREAM_ACK, ack_body(self.number, len(data)))
