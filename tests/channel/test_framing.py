"""ChannelMessage framing against FISCO's documented layout (tests/channel/fisco_frames.py)."""

from __future__ import annotations

import pytest

from chain.channel.amop import RelayError, decode_relay, parse_topic_report, Relay
from chain.channel.framing import (
    HEADER_SIZE, BadFrame, ChannelMessage, MessageDecoder, pack_topic, unpack_topic,
)
from tests.channel import fisco_frames as ff


def test_encoding_is_fiscos_and_decodes_in_any_pieces() -> None:
    message = ChannelMessage(0x12, b"s" * 32, 0, b'{"id":1}')
    assert HEADER_SIZE == ff.HEAD == 42
    assert message.encode() == ff.pack(0x12, b'{"id":1}', seq=b"s" * 32)
    stream = message.encode() * 3
    decoder = MessageDecoder()
    got = [m for i in range(0, len(stream), 5) for m in decoder.feed(stream[i:i + 5])]
    assert got == [message] * 3


def test_length_shorter_than_header_is_refused() -> None:
    with pytest.raises(BadFrame, match="shorter"):
        MessageDecoder().feed((41).to_bytes(4, "big") + bytes(60))


def test_oversize_refused_before_the_body_arrives() -> None:
    with pytest.raises(BadFrame, match="exceeds"):
        MessageDecoder(max_size=1000).feed((1001).to_bytes(4, "big"))


def test_seq_must_be_32_bytes() -> None:
    with pytest.raises(BadFrame):
        ChannelMessage(0x12, b"short", 0, b"").encode()


def test_amop_topic_payload_is_fiscos() -> None:
    assert pack_topic("t1", b"hi") == ff.amop("t1", b"hi")
    assert unpack_topic(ff.amop("t1", b"hi")) == ("t1", b"hi")
    for bad in (b"", b"\x01x", b"\x09ab"):  # no topic; header past the data
        with pytest.raises(BadFrame):
            unpack_topic(bad)


def test_topic_report_bounded_list_of_strings() -> None:
    assert parse_topic_report(b'["_block_notify_1","a"]') == ["_block_notify_1", "a"]
    for bad in (b"{}", b'[1]', b'[""]', b"not json", ('["t%d"' % 0 + "".join(f',"t{i}"' for i in range(1, 300)) + "]").encode()):
        with pytest.raises(BadFrame):
            parse_topic_report(bad)


def test_relay_round_trip_and_refusals() -> None:
    relay = Relay("response", b"q" * 32, 101, b"data")
    assert decode_relay(relay.encode()) == relay
    for bad in (b"x", b'{"op":"other"}', b'{"op":"request","seq":"00","data":""}', b'{"op":"topics","topics":[3]}',
                b'{"op":"response","seq":"' + b"00" * 32 + b'","data":"","result":-1}'):
        with pytest.raises(RelayError):
            decode_relay(bad)
