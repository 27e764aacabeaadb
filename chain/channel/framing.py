"""FISCO 2.x ``ChannelMessage`` framing, as its SDKs write it (python-sdk ``client/channelpack.py``).

    message = length (uint32) ‖ type (uint16) ‖ seq (32 bytes) ‖ result (int32) ‖ data
              (big-endian; length counts the whole message, header included: 42 + len(data))

``seq`` pairs a response with its request (the python-sdk writes a uuid1 as 32 hex characters);
pushes the node starts itself (block numbers) carry 32 ASCII zeros. ``result`` is 0 or one of
FISCO's channel error codes. The decoder is sans-IO: feed it bytes, take out whole messages; a
length below the header or above the limit is a protocol violation and the connection is closed
before the peer can make us buffer it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from chain.errors import NetworkError

HEADER = struct.Struct("!IH32si")
HEADER_SIZE = HEADER.size  # 42
SEQ_SIZE = 32
SEQ_ZERO = b"0" * SEQ_SIZE  # node-initiated pushes (python-sdk: ChannelPack.get_seq_zero)
MAX_MESSAGE_SIZE = (4 << 20) + 1024  # the HTTP server's body limit (chain.rpc.server), plus room for the header


class ChannelType(IntEnum):
    """Message types (python-sdk ``ChannelPack``, FISCO-BCOS 2.x ``ChannelMessageType``)."""

    RPC = 0x12
    HEARTBEAT = 0x13
    HANDSHAKE = 0x14
    REGISTER_EVENT_LOG = 0x15
    AMOP_REQUEST = 0x30
    AMOP_RESPONSE = 0x31
    TOPIC_REPORT = 0x32
    AMOP_MULTICAST = 0x35
    REQUEST_TOPIC_CERT = 0x37  # node → publisher: verify this subscriber of a private topic (and its empty ack)
    UPDATE_TOPIC_STATUS = 0x38  # publisher → node: the verdict {checkResult, nodeId, topic}
    TX_COMMITTED = 0x1000
    BLOCK_NOTIFY = 0x1001
    EVENT_LOG_PUSH = 0x1002


class ChannelResult(IntEnum):
    """FISCO's ``ChannelERRORCODE`` (ChannelRPCServer.h), carried in ``result``."""

    OK = 0
    REMOTE_PEER_UNAVAILABLE = 100  # no node has an SDK listening on the topic
    REMOTE_CLIENT_PEER_UNAVAILABLE = 101  # the chosen node's SDK went away
    TIMEOUT = 102  # the listening SDK did not answer in time
    REJECT_AMOP_REQ_FOR_OVER_BANDWIDTHLIMIT = 103  # the node holds too many open requests already


class BadFrame(NetworkError):
    """A message that cannot be a ChannelMessage: the connection is closed."""


@dataclass(frozen=True)
class ChannelMessage:
    type: int
    seq: bytes
    result: int
    data: bytes

    def encode(self) -> bytes:
        # A seq of any other size would shift every field after it for the receiver.
        if len(self.seq) != SEQ_SIZE:
            raise BadFrame(f"seq must be {SEQ_SIZE} bytes, got {len(self.seq)}")
        return HEADER.pack(HEADER_SIZE + len(self.data), self.type, self.seq, self.result) + self.data

    def reply(self, data: bytes, result: int = 0, type: int | None = None) -> ChannelMessage:
        """The answer to this message: same seq (that is how the SDK finds its request)."""
        return ChannelMessage(self.type if type is None else type, self.seq, result, data)


class MessageDecoder:
    """Cuts ChannelMessages out of a TLS byte stream fed in arbitrary pieces."""

    def __init__(self, max_size: int = MAX_MESSAGE_SIZE) -> None:
        self.max_size = max_size
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[ChannelMessage]:
        self._buffer.extend(data)
        messages: list[ChannelMessage] = []
        while len(self._buffer) >= 4:
            length = int.from_bytes(self._buffer[:4], "big")
            # The length counts the header: anything shorter cannot be a message.
            if length < HEADER_SIZE:
                raise BadFrame(f"message length {length} is shorter than the {HEADER_SIZE}-byte header")
            # Checked before waiting for the body, so no one can make us buffer it.
            if length > self.max_size:
                raise BadFrame(f"message of {length} bytes exceeds the {self.max_size}-byte limit")
            if len(self._buffer) < length:
                break
            _, type_, seq, result = HEADER.unpack_from(self._buffer, 0)
            messages.append(ChannelMessage(type_, bytes(seq), result, bytes(self._buffer[HEADER_SIZE:length])))
            del self._buffer[:length]
        return messages


def pack_topic(topic: str, content: bytes) -> bytes:
    """An AMOP payload: header length (1 byte, = len(topic) + 1) ‖ topic ‖ content."""
    raw = topic.encode()
    # The one-byte header length bounds the topic (python-sdk packs it as a signed char).
    if not 0 < len(raw) < 127:
        raise BadFrame("an AMOP topic is 1 to 126 bytes")
    return bytes([len(raw) + 1]) + raw + content


def unpack_topic(data: bytes) -> tuple[str, bytes]:
    """(topic, content) of an AMOP payload; BadFrame when the header does not fit."""
    # A header length of 0 or 1 names no topic; beyond the data it names bytes that are not there.
    if not data or data[0] < 2 or data[0] > len(data):
        raise BadFrame("AMOP payload without a topic")
    try:
        topic = data[1:data[0]].decode()
    except UnicodeDecodeError:
        raise BadFrame("AMOP topic is not UTF-8") from None
    return topic, data[data[0]:]
