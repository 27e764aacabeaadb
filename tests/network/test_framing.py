from __future__ import annotations

import pytest

from chain.network.framing import FrameDecoder, FrameTooLarge, encode_frame


def test_frames_survive_any_split_of_the_stream() -> None:
    payloads = [b"", b"a", b"hello world" * 50, bytes(range(256))]
    stream = b"".join(encode_frame(p) for p in payloads)
    for chunk in (1, 3, 7, 64, len(stream)):
        decoder = FrameDecoder()
        got: list[bytes] = []
        for start in range(0, len(stream), chunk):
            got.extend(decoder.feed(stream[start : start + chunk]))
        assert got == payloads
        assert decoder.pending == 0


def test_partial_frame_waits_for_the_rest() -> None:
    decoder = FrameDecoder()
    frame = encode_frame(b"abcdef")
    assert decoder.feed(frame[:5]) == []
    assert decoder.pending == 5
    assert decoder.feed(frame[5:]) == [b"abcdef"]


def test_oversize_header_is_refused_before_the_body_arrives() -> None:
    decoder = FrameDecoder(max_size=1000)
    with pytest.raises(FrameTooLarge):
        decoder.feed((1001).to_bytes(4, "big"))  # only the header: no need to wait for 1001 bytes


def test_frame_at_the_limit_is_accepted() -> None:
    decoder = FrameDecoder(max_size=1000)
    assert decoder.feed(encode_frame(b"x" * 1000, max_size=1000)) == [b"x" * 1000]


def test_sender_refuses_to_build_an_oversize_frame() -> None:
    with pytest.raises(FrameTooLarge):
        encode_frame(b"x" * 11, max_size=10)
