"""Length-prefixed frames: how one message is cut out of a TCP byte stream.

    frame = length (4 bytes, big-endian) ‖ payload (length bytes)

TCP delivers bytes, not messages: a read may return half a frame or three and a half. The decoder
below is sans-IO — feed it whatever arrived, take out the whole frames — so the rules can be tested
without sockets. A length above the limit is a protocol violation: the link is dropped at once,
before the peer can make us buffer it.
"""

from __future__ import annotations

from chain.errors import NetworkError

HEADER_SIZE = 4
# 32 MiB + the kind byte: room for the largest engine message (a sync response of a few full
# blocks, chain.consensus.pbft.messages.MAX_MESSAGE_SIZE), far below memory trouble.
MAX_FRAME_SIZE = 32 * 1024 * 1024 + 1


class FrameTooLarge(NetworkError):
    """A peer announced a frame above the size limit."""


def encode_frame(payload: bytes, max_size: int = MAX_FRAME_SIZE) -> bytes:
    """The frame carrying payload; refuses to build one the receiver would reject."""
    if len(payload) > max_size:
        raise FrameTooLarge(f"frame of {len(payload)} bytes exceeds the {max_size}-byte limit")
    return len(payload).to_bytes(HEADER_SIZE, "big") + payload


class FrameDecoder:
    """Cuts frames out of a byte stream fed in arbitrary pieces."""

    def __init__(self, max_size: int = MAX_FRAME_SIZE) -> None:
        self.max_size = max_size
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every frame now complete (FrameTooLarge on an oversize one)."""
        self._buffer.extend(data)
        frames: list[bytes] = []
        while len(self._buffer) >= HEADER_SIZE:
            length = int.from_bytes(self._buffer[:HEADER_SIZE], "big")
            # Check the announced length before waiting for the body, so no one can make us buffer it.
            if length > self.max_size:
                raise FrameTooLarge(f"peer announced a {length}-byte frame; the limit is {self.max_size}")
            if len(self._buffer) < HEADER_SIZE + length:
                break
            frames.append(bytes(self._buffer[HEADER_SIZE : HEADER_SIZE + length]))
            del self._buffer[: HEADER_SIZE + length]
        return frames

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a whole frame."""
        return len(self._buffer)
