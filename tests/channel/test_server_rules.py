"""The channel server's rules, in process (no chain): slow SDKs, AMOP answers, throttled refusals."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from pathlib import Path
from typing import Any

import pytest

from chain.channel.amop import Relay
from chain.channel.framing import ChannelMessage, ChannelType, MessageDecoder, pack_topic
from chain.channel.server import ChannelServer, PendingAmop
from chain.channel.tls import channel_client_context, channel_server_context
from chain.crypto.certs import generate_ca, issue_channel_certificate

SEQ = b"q" * 32


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pki")
    ca = generate_ca("test CA")
    (root / "ca.crt").write_bytes(ca.cert_pem)
    for name in ("node", "sdk"):
        issued = issue_channel_certificate(ca, name)
        (root / f"{name}.crt").write_bytes(issued.cert_pem)
        (root / f"{name}.key").write_bytes(issued.key_pem)
    return root


def make_server(pki: Path, **options: Any) -> ChannelServer:
    context = channel_server_context(pki / "ca.crt", pki / "node.crt", pki / "node.key")
    return ChannelServer(None, listen_ip="127.0.0.1", listen_port=0, context=context, group_id=1, **options)


class Sdk:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.decoder = reader, writer, MessageDecoder()
        self.inbox: list[ChannelMessage] = []

    @classmethod
    async def connect(cls, pki: Path, server: ChannelServer) -> Sdk:
        context = channel_client_context(pki / "ca.crt", pki / "sdk.crt", pki / "sdk.key")
        sdk = cls(*await asyncio.open_connection("127.0.0.1", server.listen_port, ssl=context))
        await asyncio.sleep(0.05)  # the server registers the session
        return sdk

    async def send(self, message: ChannelMessage) -> None:
        self.writer.write(message.encode())
        await self.writer.drain()
        await asyncio.sleep(0.05)

    async def next(self, timeout: float = 3.0) -> ChannelMessage:
        while not self.inbox:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                raise ConnectionError("closed")
            self.inbox += self.decoder.feed(data)
        return self.inbox.pop(0)


def test_an_sdk_that_does_not_read_is_dropped_the_node_keeps_its_pace(pki: Path) -> None:
    async def run() -> None:
        server = make_server(pki, queue_limit=64)
        await server.start()
        try:
            fast = await Sdk.connect(pki, server)
            fast_session = next(iter(server.sessions))
            context = channel_client_context(pki / "ca.crt", pki / "sdk.crt", pki / "sdk.key")
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a reader that never reads
            sock.connect(("127.0.0.1", server.listen_port))
            sock.setblocking(False)
            _, slow_writer = await asyncio.open_connection(sock=sock, ssl=context, server_hostname="")
            await asyncio.sleep(0.05)
            slow_session = next(s for s in server.sessions if s is not fast_session)
            # A small send buffer on the node's side too, so the test fills it in a fraction of a second.
            slow_session.writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)

            async def keep_reading() -> None:
                while data := await fast.reader.read(1 << 20):
                    fast.inbox += fast.decoder.feed(data)
                    del fast.inbox[:-1]  # only the last one matters below

            reading = asyncio.ensure_future(keep_reading())
            started = time.monotonic()
            number = 0
            while not slow_session.closed and time.monotonic() - started < 20:
                for _ in range(50):  # fewer than the queue holds: a reading SDK keeps up
                    number += 1
                    server.notify_block(number)  # never waits, whoever is slow
                await asyncio.sleep(0)
            assert slow_session.closed and server.stats["dropped_slow"] == 1
            assert not fast_session.closed
            server.notify_block(number + 1)
            for _ in range(100):
                await asyncio.sleep(0.01)
                if fast.inbox and fast.inbox[-1].data == f"1,{number + 1}".encode():
                    break
            assert fast.inbox[-1].data == f"1,{number + 1}".encode()
            reading.cancel()
            slow_writer.close()
        finally:
            await server.stop()
    asyncio.run(run())


def test_only_the_asked_sdk_answers_an_amop_request(pki: Path) -> None:
    async def run() -> None:
        server = make_server(pki)
        await server.start()
        try:
            asker, listener = await Sdk.connect(pki, server), await Sdk.connect(pki, server)
            intruder = await Sdk.connect(pki, server)
            await listener.send(ChannelMessage(ChannelType.TOPIC_REPORT, SEQ, 0, b'["jobs"]'))
            await asker.send(ChannelMessage(ChannelType.AMOP_REQUEST, SEQ, 0, pack_topic("jobs", b"do it")))
            request = await listener.next()
            assert (request.type, request.seq) == (ChannelType.AMOP_REQUEST, SEQ)
            await intruder.send(request.reply(b"forged", type=ChannelType.AMOP_RESPONSE))
            await listener.send(request.reply(b"done", type=ChannelType.AMOP_RESPONSE))
            answer = await asker.next()
            assert (answer.type, answer.seq, answer.data) == (ChannelType.AMOP_RESPONSE, SEQ, b"done")
        finally:
            await server.stop()
    asyncio.run(run())


def test_only_the_asked_node_answers_a_relayed_request(pki: Path) -> None:
    async def run() -> None:
        sent: list[tuple[bytes, bytes]] = []
        server = make_server(pki, relay_send=lambda node, raw: sent.append((node, raw)) or True)
        await server.start()
        try:
            asker = await Sdk.connect(pki, server)
            server.on_relay(b"B" * 64, Relay("topics", topics=("jobs",)).encode())
            await asker.send(ChannelMessage(ChannelType.AMOP_REQUEST, SEQ, 0, pack_topic("jobs", b"x")))
            assert sent[-1][0] == b"B" * 64
            server.on_relay(b"C" * 64, Relay("response", SEQ, 0, b"forged").encode())
            server.on_relay(b"B" * 64, Relay("response", SEQ, 0, b"real").encode())
            assert (await asker.next()).data == b"real"
        finally:
            await server.stop()
    asyncio.run(run())


def test_a_listener_that_never_answers_gets_fiscos_timeout(pki: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("chain.channel.server.AMOP_TIMEOUT_S", 0.2)

    async def run() -> None:
        server = make_server(pki)
        await server.start()
        try:
            asker, listener = await Sdk.connect(pki, server), await Sdk.connect(pki, server)
            await listener.send(ChannelMessage(ChannelType.TOPIC_REPORT, SEQ, 0, b'["jobs"]'))
            await asker.send(ChannelMessage(ChannelType.AMOP_REQUEST, SEQ, 0, pack_topic("jobs", b"x")))
            answer = await asker.next()
            assert (answer.type, answer.result) == (ChannelType.AMOP_RESPONSE, 102)
        finally:
            await server.stop()
    asyncio.run(run())


def test_bad_frames_are_logged_as_counts_and_sessions_are_bounded(pki: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> None:
        server = make_server(pki, max_sessions=3)
        await server.start()
        try:
            for _ in range(20):
                sdk = await Sdk.connect(pki, server)
                sdk.writer.write((5).to_bytes(4, "big") + bytes(40))  # length below the header
                with pytest.raises((ConnectionError, OSError)):
                    await sdk.next()
                sdk.writer.close()
            assert server.stats["bad_frames"] == 20 and not server.sessions
            held = [await Sdk.connect(pki, server) for _ in range(3)]
            with pytest.raises((ConnectionError, OSError, ssl.SSLError)):  # the fourth is refused
                fourth = await Sdk.connect(pki, server)
                await fourth.next()
            assert len(server.sessions) == 3
            for sdk in held:
                sdk.writer.close()
        finally:
            await server.stop()
    with caplog.at_level(logging.WARNING, logger="chain.channel"):
        asyncio.run(run())
    lines = [r for r in caplog.records if r.getMessage() == "channel_bad_frame"]
    assert len(lines) == 1  # the first in full; the other 19 in one count line
    counted = [r for r in caplog.records if r.getMessage() == "connections_refused"]
    assert sum(r.fields["count"] for r in counted if r.fields["kind"] == "channel_bad_frame") == 19  # type: ignore[attr-defined]


def test_open_amop_requests_are_bounded_with_fiscos_103(pki: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("chain.channel.server.MAX_PENDING_AMOP", 3)

    async def run() -> None:
        server = make_server(pki)
        await server.start()
        try:
            asker, listener = await Sdk.connect(pki, server), await Sdk.connect(pki, server)
            await listener.send(ChannelMessage(ChannelType.TOPIC_REPORT, SEQ, 0, b'["jobs"]'))
            for i in range(4):  # the listener never answers: three stay open, the fourth is refused
                await asker.send(ChannelMessage(ChannelType.AMOP_REQUEST, b"%032d" % i, 0, pack_topic("jobs", b"x")))
            answer = await asker.next()
            assert (answer.seq, answer.result) == (b"%032d" % 3, 103)
            assert len(server.pending) == 3
        finally:
            await server.stop()
    asyncio.run(run())
