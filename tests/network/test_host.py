"""The P2P host over real sockets on 127.0.0.1: admission, framing limits, duplicates, reconnect."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest

from chain.bench.p2p_flood import IdleFlood
from chain.crypto.certs import Issued, generate_ca
from chain.network.framing import encode_frame
from chain.network.host import KIND_HELLO, KIND_MESSAGE, Host, NetworkConfig, PeerInfo
from chain.network.hello import make_hello
from chain.network.tls import client_context
from chain.node.ports import free_port_base

from tests.network.conftest import IDENTITY, NodeMaterial, write_node

pytestmark = pytest.mark.timeout(30)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[bytes, bytes]] = []

    def __call__(self, sender: bytes, payload: bytes) -> None:
        self.messages.append((sender, payload))


def make_host(me: NodeMaterial, members: list[NodeMaterial], peers: tuple[str, ...] = (), port: int = 0,
              inbox: Inbox | None = None, max_frame: int = 1 << 20) -> Host:
    allowed = {m.key.public_key for m in members}
    config = NetworkConfig("127.0.0.1", port, peers, max_frame_size=max_frame, handshake_timeout=2.0,
                           backoff_initial=0.05, backoff_maximum=0.4)
    return Host(key=me.key, identity=IDENTITY, tls=me.tls, config=config,
                is_admitted=lambda node: node in allowed, on_message=inbox or Inbox())


@contextlib.asynccontextmanager
async def running(host: Host) -> AsyncIterator[Host]:
    """A started host, stopped however the test ends."""
    await host.start()
    try:
        yield host
    finally:
        await host.stop()


def dial(host: Host) -> str:
    """The endpoint another host dials to reach `host`."""
    return f"127.0.0.1:{host.listen_port}"


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def run(coro: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(coro())


def test_two_hosts_exchange_messages(nodes: list[NodeMaterial]) -> None:
    async def scenario() -> None:
        inbox_a, inbox_b = Inbox(), Inbox()
        async with running(make_host(nodes[0], nodes, inbox=inbox_a)) as a, \
                running(make_host(nodes[1], nodes, peers=(dial(a),), inbox=inbox_b)) as b:
            await until(lambda: a.connected() == [nodes[1].key.public_key] and b.connected() == [nodes[0].key.public_key])
            assert b.peer_info() == [PeerInfo(dial(a), nodes[0].key.public_key, True)]  # configured, then linked
            assert [(p.node_id, p.connected) for p in a.peer_info()] == [(nodes[1].key.public_key, True)]  # dialled in
            assert a.send(nodes[1].key.public_key, b"ping")
            assert b.broadcast(b"pong") == 1
            await until(lambda: inbox_a.messages and inbox_b.messages)
            assert inbox_b.messages == [(nodes[0].key.public_key, b"ping")]
            assert inbox_a.messages == [(nodes[1].key.public_key, b"pong")]
            assert not a.send(nodes[2].key.public_key, b"nobody")  # not connected
            # A message above the frame limit is not sent at all: the receiver would drop the link.
            too_big = b"x" * (1 << 20)
            assert not a.send(nodes[1].key.public_key, too_big) and b.broadcast(too_big) == 0
            assert a.send(nodes[1].key.public_key, b"still linked")
            await until(lambda: len(inbox_b.messages) == 2)
            assert inbox_b.messages[1] == (nodes[0].key.public_key, b"still linked")

    run(scenario)


def test_both_ends_of_a_link_send_without_waiting_for_acks(nodes: list[NodeMaterial]) -> None:
    """TCP_NODELAY on the dialed and on the accepted socket: with Nagle's algorithm on, a small
    message sent while the previous one is unacknowledged waits for the peer's delayed ACK (tens of ms)."""
    async def scenario() -> None:
        async with running(make_host(nodes[0], nodes)) as a, running(make_host(nodes[1], nodes, peers=(dial(a),))) as b:
            await until(lambda: len(a.connected()) == 1 and len(b.connected()) == 1)
            for host in (a, b):  # a accepted the link, b dialed it
                (link,) = host._links.values()
                sock = link.writer.get_extra_info("socket")
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0

    run(scenario)


def test_mutual_dialing_leaves_one_link(nodes: list[NodeMaterial]) -> None:
    async def scenario() -> None:
        port_a = free_port_base(2)
        port_b = port_a + 1
        inbox = Inbox()
        a = make_host(nodes[0], nodes, peers=(f"127.0.0.1:{port_b}",), port=port_a)
        b = make_host(nodes[1], nodes, peers=(f"127.0.0.1:{port_a}",), port=port_b, inbox=inbox)
        await asyncio.gather(a.start(), b.start())  # both dial each other at once
        try:
            await until(lambda: len(a.connected()) == 1 and len(b.connected()) == 1)
            await asyncio.sleep(0.5)  # give any duplicate time to settle
            assert a.connected() == [nodes[1].key.public_key]
            assert b.connected() == [nodes[0].key.public_key]
            assert a.send(nodes[1].key.public_key, b"once")
            await until(lambda: bool(inbox.messages))
            await asyncio.sleep(0.1)
            assert inbox.messages == [(nodes[0].key.public_key, b"once")]
        finally:
            await b.stop()
            await a.stop()

    run(scenario)


def test_peer_with_certificate_from_another_ca_is_refused(tmp_path: Path, nodes: list[NodeMaterial]) -> None:
    stranger = write_node(tmp_path / "stranger", "node1", generate_ca("another chain"), key=nodes[1].key)

    async def scenario() -> None:
        async with running(make_host(nodes[0], nodes)) as a, \
                running(make_host(stranger, nodes, peers=(dial(a),))) as intruder:
            await until(lambda: a.stats["rejected_tls"] >= 1)
            assert a.connected() == [] and intruder.connected() == []

    run(scenario)


def test_node_outside_the_node_list_is_refused(tmp_path: Path, chain_ca: Issued, nodes: list[NodeMaterial]) -> None:
    outsider = write_node(tmp_path / "outsider", "node9", chain_ca)  # right CA, unknown node id

    async def scenario() -> None:
        async with running(make_host(nodes[0], nodes)) as a, \
                running(make_host(outsider, nodes + [outsider], peers=(dial(a),))):
            await until(lambda: a.stats["rejected_hello"] >= 1)
            assert a.connected() == []

    run(scenario)


def test_garbage_on_the_port_is_dropped_and_the_host_keeps_working(nodes: list[NodeMaterial]) -> None:
    async def scenario() -> None:
        async with running(make_host(nodes[0], nodes)) as a:
            for garbage in (b"GET / HTTP/1.1\r\n\r\n", bytes(range(256)) * 4, b"\x16\x03\x01\xff\xff" + b"\x00" * 64):
                reader, writer = await asyncio.open_connection("127.0.0.1", a.listen_port)
                writer.write(garbage)
                await writer.drain()
                assert await asyncio.wait_for(reader.read(), 5) is not None  # the host closes on us
                writer.close()
            await until(lambda: a.stats["rejected_tls"] >= 3)
            async with running(make_host(nodes[1], nodes, peers=(dial(a),))):
                await until(lambda: a.connected() == [nodes[1].key.public_key])

    run(scenario)


def test_oversize_frame_drops_the_link(nodes: list[NodeMaterial]) -> None:
    """An admitted peer that announces a frame above the limit loses its link."""

    async def scenario() -> None:
        inbox = Inbox()
        async with running(make_host(nodes[0], nodes, inbox=inbox, max_frame=4096)) as a:
            me = nodes[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", a.listen_port, ssl=client_context(me.tls))
            ssl_object: ssl.SSLObject = writer.get_extra_info("ssl_object")
            peer_der = ssl_object.getpeercert(binary_form=True)
            hello = make_hello(me.key, IDENTITY, 1, me.tls.own_cert_der(), peer_der)
            writer.write(encode_frame(bytes([KIND_HELLO]) + hello.encode()))
            writer.write(encode_frame(bytes([KIND_MESSAGE]) + b"fine"))
            await until(lambda: inbox.messages == [(me.key.public_key, b"fine")])
            writer.write((5000).to_bytes(4, "big") + b"x" * 100)  # announce 5000 > 4096
            await writer.drain()
            await until(lambda: a.connected() == [] and a.stats["dropped_links"] == 1)
            writer.close()

    run(scenario)


def test_dialer_reconnects_after_the_peer_restarts(nodes: list[NodeMaterial]) -> None:
    async def scenario() -> None:
        a = make_host(nodes[0], nodes)
        await a.start()
        port = a.listen_port
        b = make_host(nodes[1], nodes, peers=(f"127.0.0.1:{port}",))
        await b.start()
        try:
            await until(lambda: b.connected() == [nodes[0].key.public_key])
            await a.stop()
            await until(lambda: b.connected() == [])
            await asyncio.sleep(0.5)  # b keeps dialing a closed port, backing off
            a = make_host(nodes[0], nodes, port=port)
            await a.start()
            await until(lambda: b.connected() == [nodes[0].key.public_key] and a.connected() == [nodes[1].key.public_key])
        finally:
            await b.stop()
            await a.stop()

    run(scenario)


def test_a_peer_that_hangs_up_after_the_hello_is_not_redialled_in_a_tight_loop(nodes: list[NodeMaterial]) -> None:
    async def scenario() -> None:
        async with running(make_host(nodes[0], [nodes[0]])) as a, \
                running(make_host(nodes[1], nodes, peers=(dial(a),))):  # a admits no one else; b talks to a
            await asyncio.sleep(1.5)
            # back-off 0.05 s doubling to 0.4 s allows about 6 attempts in 1.5 s; a tight loop, hundreds
            assert 1 <= a.stats["rejected_hello"] <= 10
            assert a.connected() == []

    run(scenario)


def flooded_host(me: NodeMaterial, members: list[NodeMaterial], peers: tuple[str, ...] = (), port: int = 0,
                 **limits: Any) -> Host:
    allowed = {m.key.public_key for m in members}
    settings: dict[str, Any] = {"handshake_timeout": 2.0, "backoff_initial": 0.05, "backoff_maximum": 0.4, **limits}
    config = NetworkConfig("127.0.0.1", port, peers, **settings)
    return Host(key=me.key, identity=IDENTITY, tls=me.tls, config=config,
                is_admitted=lambda node: node in allowed, on_message=Inbox())


async def idle_connection(port: int, source: str = "127.0.0.1") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def closed_by_host(reader: asyncio.StreamReader, within: float) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), within) == b""
    except asyncio.TimeoutError:
        return False
    except OSError:
        return True


def test_a_silent_connection_is_closed_after_the_first_bytes_deadline(nodes: list[NodeMaterial]) -> None:
    async def scenario() -> None:
        async with running(flooded_host(nodes[0], nodes, first_bytes_timeout=0.3)) as a:
            reader, writer = await idle_connection(a.listen_port)
            started = asyncio.get_running_loop().time()
            assert await closed_by_host(reader, 1.5)  # not after the 2 s handshake deadline
            assert asyncio.get_running_loop().time() - started < 1.0
            writer.close()
            assert a.stats["silent"] == 1 and a.pending_handshakes == 0

    run(scenario)


def test_a_tls_handshake_that_stalls_is_closed_after_the_handshake_deadline(nodes: list[NodeMaterial]) -> None:
    async def scenario() -> None:
        async with running(flooded_host(nodes[0], nodes, handshake_timeout=0.5, first_bytes_timeout=5.0)) as a:
            reader, writer = await idle_connection(a.listen_port)
            writer.write(b"\x16\x03\x01")  # a TLS record header, and then nothing
            assert await closed_by_host(reader, 2.0)
            writer.close()
            await until(lambda: a.stats["rejected_tls"] == 1 and a.pending_handshakes == 0)
            assert a.stats["silent"] == 0

    run(scenario)


def test_idle_connections_cannot_pile_up_in_the_handshake(nodes: list[NodeMaterial]) -> None:
    async def scenario() -> None:
        async with running(flooded_host(nodes[0], nodes, max_pending_handshakes=2, first_bytes_timeout=5.0)) as a:
            idle = [await idle_connection(a.listen_port) for _ in range(2)]
            reader, writer = await idle_connection(a.listen_port)
            assert await closed_by_host(reader, 0.15)  # all full of young ones: refused at once
            writer.close()
            assert a.pending_handshakes == 2 and a.stats["refused"] == 1
            await asyncio.sleep(0.3)  # past the grace a silent client gets to speak
            newest = await idle_connection(a.listen_port)
            assert await closed_by_host(idle[0][0], 0.5)  # the oldest silent one made room
            assert not await closed_by_host(idle[1][0], 0.1) and not await closed_by_host(newest[0], 0.1)
            assert a.pending_handshakes == 2 and a.stats["evicted"] == 1
            for _, idle_writer in idle + [newest]:
                idle_writer.close()
            async with running(make_host(nodes[1], nodes, peers=(dial(a),))):
                await until(lambda: a.connected() == [nodes[1].key.public_key])

    run(scenario)


def test_idle_connections_from_a_peers_own_address_make_way_for_the_peer(nodes: list[NodeMaterial]) -> None:
    """On loopback an attacker shares the peers' address: its silent connections are replaced."""

    async def scenario() -> None:
        port_b = free_port_base(1)
        async with running(flooded_host(nodes[0], nodes, peers=(f"127.0.0.1:{port_b}",), first_bytes_timeout=10.0,
                                        backoff_initial=5.0)) as a:
            cap = max(a.config.max_pending_per_source, 2)
            idle = [await idle_connection(a.listen_port) for _ in range(cap)]
            await asyncio.sleep(0.3)
            assert a.pending_handshakes == cap
            # b dials a (a's own dial to b is waiting out its 5 s back-off); idle sockets would hold 10 s
            async with running(make_host(nodes[1], nodes, peers=(dial(a),), port=port_b)) as b:
                await until(lambda: b.connected() == [nodes[0].key.public_key], timeout=1.5)
            assert a.stats["evicted"] >= 1
            assert await closed_by_host(idle[0][0], 0.5)  # the oldest idle one was closed, not just forgotten
            for _, writer in idle:
                writer.close()

    run(scenario)


def test_strangers_stalling_in_tls_cannot_take_the_slots_kept_for_the_peers(nodes: list[NodeMaterial]) -> None:
    """Strangers that start a TLS handshake and stall are not replaced (here: not for 30 s); the
    two slots kept for the peer list's address are what lets the peer in."""

    async def scenario() -> None:
        port_b = free_port_base(1)
        async with running(flooded_host(nodes[0], nodes, peers=(f"127.0.0.1:{port_b}",), max_pending_handshakes=8,
                                        reserved_for_peers=2, stale_after=30.0, handshake_timeout=30.0,
                                        backoff_initial=30.0)) as a:  # a's own dial to b waits 30 s
            strangers = [await idle_connection(a.listen_port, f"127.0.0.{2 + i % 4}") for i in range(8)]
            for _, writer in strangers:
                writer.write(b"\x16")  # a TLS record begins... and never goes on
            await until(lambda: a.stats["accepted"] == 8)
            await asyncio.sleep(0.2)
            assert a.pending_handshakes == 6 and a.stats["refused"] == 2  # 8 - 2 kept
            async with running(make_host(nodes[1], nodes, peers=(dial(a),), port=port_b)) as b:
                await until(lambda: b.connected() == [nodes[0].key.public_key], timeout=1.5)
            for _, writer in strangers:
                writer.close()

    run(scenario)


@pytest.mark.parametrize("say", [b"", b"\x16"], ids=["silent", "stalling-tls"])
def test_strangers_flooding_both_ports_cannot_keep_a_restarted_peer_out(nodes: list[NodeMaterial], say: bytes) -> None:
    """100 connections per host from 50 other loopback addresses, each reopened at once; one host
    restarts meanwhile (production back-off: the flood reaches its port before its peer redials).
    Silent ones are replaced after their grace; ones that start TLS and stall are not (for a
    second), so against those the slots kept for the peer list's addresses are what lets b in."""

    async def scenario() -> None:
        port_a = free_port_base(2)
        port_b = port_a + 1
        backoff = {"backoff_initial": 0.2, "backoff_maximum": 5.0}
        a = flooded_host(nodes[0], nodes, peers=(f"127.0.0.1:{port_b}",), port=port_a, **backoff)
        b = flooded_host(nodes[1], nodes, peers=(f"127.0.0.1:{port_a}",), port=port_b, **backoff)
        flood = IdleFlood([("127.0.0.1", port_a), ("127.0.0.1", port_b)], per_target=100, say=say)
        async with running(a):
            await b.start()
            await until(lambda: a.connected() and b.connected())
            flood.start()
            try:
                await asyncio.sleep(1.0)  # every slot the flood can get is taken
                await b.stop()
                await asyncio.sleep(2.0)  # a keeps redialling, backing off
                b = flooded_host(nodes[1], nodes, peers=(f"127.0.0.1:{port_a}",), port=port_b, **backoff)
                async with running(b):
                    await until(lambda: bool(a.connected() and b.connected()), timeout=3.0)
            finally:
                stats = flood.stop()
        assert stats.thrown > 500, stats  # the flood was real
        assert a.stats["refused"] + a.stats["evicted"] + a.stats["silent"] > 100

    run(scenario)


def test_refusals_are_logged_as_counts_not_one_line_each(nodes: list[NodeMaterial], caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with running(flooded_host(nodes[0], nodes, max_pending_per_source=1, handshake_timeout=30.0,
                                        stale_after=30.0, refusal_log_interval=0.5)) as a:
            held = await idle_connection(a.listen_port, "127.0.0.5")
            held[1].write(b"\x16")  # the first byte of a TLS record: a handshake under way
            await until(lambda: a.stats["accepted"] == 1)
            await asyncio.sleep(0.1)
            started = asyncio.get_running_loop().time()
            for _ in range(200):  # all refused: the one slot of 127.0.0.5 holds a talking handshake
                reader, writer = await idle_connection(a.listen_port, "127.0.0.5")
                assert await closed_by_host(reader, 1.0)
                writer.close()
            await asyncio.sleep(0.8)  # the interval ends; the host flushes its counts
            elapsed.append(asyncio.get_running_loop().time() - started)
            assert a.stats["refused"] == 200
            held[1].close()

    elapsed: list[float] = []
    with caplog.at_level(logging.WARNING, logger="chain.network"):
        run(scenario)
    refused = [r for r in caplog.records if r.getMessage() in ("connection_refused", "connections_refused")]
    # One line in full, then one count per 0.5 s interval at most, adding up to the rest.
    assert refused[0].getMessage() == "connection_refused"
    counts = [r.fields for r in refused[1:]]  # type: ignore[attr-defined]
    assert all(r.getMessage() == "connections_refused" for r in refused[1:])
    assert 1 <= len(counts) <= 1 + elapsed[0] / 0.5
    assert all(c["source"] == "127.0.0.5" for c in counts) and sum(c["count"] for c in counts) == 199
