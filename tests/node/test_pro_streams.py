"""Streams over the Pro local link (chain.node.pro_streams), without processes: the window holds a
sender back until the receiver consumes, a sender that ignores it is cut off, and the core's
ends read and write as the session code expects. Also the FORWARD pair's rpc side and the group0
core's polling for other groups' receipts (chain.node.pro_receipts)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any, cast

import pytest

from chain.channel.server import RECEIPT_HORIZON, ChannelServer
from chain.network.framing import FrameDecoder
from chain.node.local_link import (
    KIND_FORWARD, KIND_FORWARDED, KIND_REQUEST, KIND_STREAM_ACK, KIND_STREAM_CLOSE, KIND_STREAM_DATA,
    MAX_LOCAL_FRAME, LocalProtocolError, core_socket, frame,
)
from chain.node.pro_receipts import MAX_WATCHED, ReceiptPoller
from chain.node.pro_rpc import CoreClient
from chain.node.pro_streams import (
    MAX_CLIENT_DATA, STREAM_WINDOW, ByteStream, Inbox, MessageStream, RelayEnd, StreamOpen, close_reason,
    numbered, split_number,
)


class Wire:
    """What one end sends on the link, as (kind, stream number, rest)."""

    def __init__(self) -> None:
        self.frames: list[tuple[int, int, bytes]] = []

    def send(self, kind: int, body: bytes) -> bool:
        number, rest = split_number(body)
        self.frames.append((kind, number, rest))
        return True

    def kinds(self) -> list[int]:
        return [kind for kind, _, _ in self.frames]


def test_an_inbox_acknowledges_what_is_read_and_refuses_a_sender_past_the_window() -> None:
    async def scenario() -> None:
        wire = Wire()
        inbox = Inbox(wire.send, 3)
        inbox.feed(b"abcdef")
        assert await inbox.take(4) == b"abcd" and await inbox.take() == b"ef"
        assert [(k, n, int.from_bytes(r, "big")) for k, n, r in wire.frames] == [(KIND_STREAM_ACK, 3, 4), (KIND_STREAM_ACK, 3, 2)]
        for _ in range((STREAM_WINDOW + MAX_CLIENT_DATA) // (1 << 20)):
            inbox.feed(b"x" * (1 << 20))
        with pytest.raises(LocalProtocolError):
            inbox.feed(b"x" * (1 << 20))
        inbox.end()

    asyncio.run(scenario())


def test_a_core_stream_waits_for_acks_then_goes_on_and_a_close_ends_it() -> None:
    async def scenario() -> None:
        wire = Wire()
        stream = ByteStream(wire.send, 5, StreamOpen("channel", "127.0.0.1"))
        stream.write(b"y" * STREAM_WINDOW)  # a whole window unacknowledged: drain must wait
        draining = asyncio.ensure_future(stream.drain())
        await asyncio.sleep(0.01)
        assert not draining.done()
        stream.on_frame(KIND_STREAM_ACK, (STREAM_WINDOW // 2).to_bytes(8, "big"))
        await asyncio.wait_for(draining, 1)
        stream.on_frame(KIND_STREAM_DATA, b"hello")
        assert await stream.read(100) == b"hello"
        stream.on_frame(KIND_STREAM_CLOSE, b"")
        assert await stream.read(100) == b"" and stream.is_closing()
        stream.write(b"after close")  # goes nowhere
        assert wire.kinds() == [KIND_STREAM_DATA, KIND_STREAM_ACK]

    asyncio.run(scenario())


def test_a_message_stream_yields_messages_and_closes_with_its_code() -> None:
    async def scenario() -> None:
        wire = Wire()
        stream = MessageStream(wire.send, 9, StreamOpen("ws", "127.0.0.1"))
        stream.on_frame(KIND_STREAM_DATA, b'{"id": 1}')
        stream.on_frame(KIND_STREAM_CLOSE, b"")
        assert [m.data async for m in stream] == [b'{"id": 1}']
        with pytest.raises(ConnectionResetError):
            await stream.send_str("late")
        other = MessageStream(wire.send, 10, StreamOpen("ws", "127.0.0.1"))
        await other.close(code=1008, message=b"too slow")
        assert wire.frames[-1][0] == KIND_STREAM_CLOSE and close_reason(wire.frames[-1][2]) == (1008, "too slow")

    asyncio.run(scenario())


def test_a_relay_end_stops_reading_the_client_while_the_core_has_a_window_unacknowledged() -> None:
    async def scenario() -> None:
        wire = Wire()
        end = RelayEnd(wire.send, 1)
        reads = 0

        async def receive() -> bytes | None:
            nonlocal reads
            reads += 1
            return b"z" * (STREAM_WINDOW // 4)

        delivered: list[bytes] = []

        async def deliver(data: bytes) -> None:
            delivered.append(data)

        relaying = asyncio.ensure_future(end.relay(receive, deliver))
        await asyncio.sleep(0.05)
        assert reads == 4  # a window's worth, then it waits for the core
        end.on_frame(KIND_STREAM_ACK, (STREAM_WINDOW // 4).to_bytes(8, "big"))
        end.on_frame(KIND_STREAM_DATA, b"pushed")
        await asyncio.sleep(0.05)
        assert reads == 5 and delivered == [b"pushed"]
        end.on_frame(KIND_STREAM_CLOSE, b'{"code": 1008, "reason": "too slow"}')
        await asyncio.wait_for(relaying, 1)
        assert end.closed_by_core == (1008, "too slow")
        assert KIND_STREAM_CLOSE not in wire.kinds()  # the core closed it: nothing to say back

    asyncio.run(scenario())


@pytest.mark.parametrize("body", [b"", b"[]", b'{"what": "ssh", "source": "x"}', b'{"what": "ws"}', b"{" * 2000])
def test_a_stream_open_that_is_not_the_documented_json_is_refused(body: bytes) -> None:
    with pytest.raises(LocalProtocolError):
        StreamOpen.decode(body)


def test_the_rpc_side_drops_a_core_link_that_breaks_the_protocol_and_ends_its_streams(tmp_path: Path) -> None:
    """A "core" that sends a malformed ACK: the rpc side closes that link; the session on it ends
    (its client would be disconnected) instead of hanging, and nothing raises."""
    async def scenario() -> None:
        async def fake_core(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1000)  # the hello and the STREAM_OPEN
            writer.write(frame(KIND_STREAM_DATA, numbered(1, b"ok")) + frame(KIND_STREAM_ACK, numbered(1, b"\x01")))
            await writer.drain()
            await reader.read(1000)

        with contextlib.chdir(tmp_path):
            server = await asyncio.start_unix_server(fake_core, core_socket("group0"))
            client = CoreClient("group0")
            end = await client.open_stream("ws", "127.0.0.1")
            delivered: list[bytes] = []

            async def receive() -> bytes | None:
                await asyncio.sleep(10)  # a client that says nothing
                return None

            async def deliver(data: bytes) -> None:
                delivered.append(data)

            await asyncio.wait_for(end.relay(receive, deliver), 5)
            assert delivered == [b"ok"] and end.ended
            await client.close()
            server.close()

    asyncio.run(scenario())


def test_the_rpc_side_answers_a_cores_forward_as_over_http(tmp_path: Path) -> None:
    """A core hands a request back (FORWARD n ‖ body): the rpc side answers it with its HTTP answer
    (FORWARDED n ‖ JSON), under the core's number."""
    async def scenario() -> None:
        got: list[bytes] = []
        answered: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        async def fake_core(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            decoder = FrameDecoder(MAX_LOCAL_FRAME)
            body = b'{"jsonrpc":"2.0","id":3,"method":"getBlockNumber","params":[2]}'
            writer.write(frame(KIND_FORWARD, (7).to_bytes(8, "big") + body))
            while not answered.done():
                for payload in decoder.feed(await reader.read(1000)):
                    if payload[0] == KIND_FORWARDED:
                        answered.set_result(payload[1:])

        async def http_answer(body: bytes) -> Any:
            got.append(body)
            return {"jsonrpc": "2.0", "id": 3, "result": "0x5"}

        with contextlib.chdir(tmp_path):
            server = await asyncio.start_unix_server(fake_core, core_socket("group0"))
            client = CoreClient("group0", http_answer)
            asking = asyncio.ensure_future(client.ask(b"{}", KIND_REQUEST))  # links it (a core never answers)
            answer = await asyncio.wait_for(answered, 5)
            assert answer[:8] == (7).to_bytes(8, "big") and json.loads(answer[8:])["result"] == "0x5"
            assert got == [b'{"jsonrpc":"2.0","id":3,"method":"getBlockNumber","params":[2]}']
            asking.cancel()
            await client.close()
            server.close()

    asyncio.run(scenario())


class Awaiting:
    """The ChannelServer side a ReceiptPoller uses: who waits, what was pushed or given up."""

    def __init__(self, hashes: list[str]) -> None:
        self.waiting = set(hashes)
        self.pushed: dict[str, Any] = {}
        self.given_up: list[str] = []

    def is_awaited(self, tx_hash: str) -> bool:
        return tx_hash in self.waiting

    def push_receipt(self, tx_hash: str, receipt: Any) -> None:
        self.waiting.discard(tx_hash)
        self.pushed[tx_hash] = receipt

    def stop_waiting(self, tx_hash: str) -> None:
        self.waiting.discard(tx_hash)
        self.given_up.append(tx_hash)


def test_another_groups_receipt_is_polled_for_pushed_and_given_up_past_its_horizon() -> None:
    """One batch per group per round; a receipt found is pushed; a transaction nobody waits for any
    more, or whose group went RECEIPT_HORIZON blocks past the first head seen, is forgotten; at most
    MAX_WATCHED are watched."""
    async def scenario() -> None:
        committed, pending, orphan = "0xaa", "0xbb", "0xcc"
        channel = Awaiting([committed, pending])  # nobody waits for orphan
        head = [10]
        asked: list[list[dict[str, Any]]] = []

        async def ask(body: bytes) -> Any:
            batch = json.loads(body)
            asked.append(batch)
            answers: list[dict[str, Any]] = [{"id": 0, "result": hex(head[0])}]
            for item in batch[1:]:
                found = item["params"][1] == committed
                answers.append({"id": item["id"], "result": {"transactionHash": committed} if found else None})
            return answers

        poller = ReceiptPoller(cast(ChannelServer, channel), ask)
        for tx_hash in (committed, pending, orphan):
            poller.watch(tx_hash, 2)
        await poller.poll()
        assert len(asked) == 1 and [item["method"] for item in asked[0]] == ["getBlockNumber"] + ["getTransactionReceipt"] * 2
        assert channel.pushed == {committed: {"transactionHash": committed}} and channel.given_up == [orphan]
        assert list(poller.watched) == [pending]
        head[0] = 10 + RECEIPT_HORIZON  # at the horizon: it may still commit
        await poller.poll()
        assert list(poller.watched) == [pending]
        head[0] += 1  # past it: its blockLimit is behind, it never will
        await poller.poll()
        assert not poller.watched and channel.given_up == [orphan, pending]
        for i in range(MAX_WATCHED + 5):
            poller.watch(hex(i), 2)
        assert len(poller.watched) == MAX_WATCHED
        await poller.stop()

    asyncio.run(scenario())
