"""AMOP private topics (chain.channel.private_topic): FISCO's challenge handshake, across two nodes in process.

Two channel servers on one event loop, linked as the P2P relay links them; SDKs are ChannelClients
(threads), as applications use them. A publisher at node A allows one key; subscribers at A and B.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from chain.channel.client import ChannelClient, new_seq
from chain.channel.framing import ChannelMessage, ChannelType, pack_topic, unpack_topic
from chain.channel.private_topic import private_name
from chain.channel.server import ChannelServer
from chain.channel.tls import channel_server_context
from chain.crypto.certs import generate_ca, issue_channel_certificate
from chain.crypto.keys import KeyPair

NODE_A, NODE_B = b"\xaa" * 64, b"\xbb" * 64


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


class TwoNodes:
    """Nodes A and B with channel ports, their relay wired directly (what chain.network.host carries)."""

    def __init__(self, pki: Path) -> None:
        self.pki = pki
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.a = self._run(self._make(NODE_A, NODE_B, lambda: self.b))
        self.b = self._run(self._make(NODE_B, NODE_A, lambda: self.a))
        self.loop.call_soon_threadsafe(self.a.on_peer, NODE_B, True)
        self.loop.call_soon_threadsafe(self.b.on_peer, NODE_A, True)

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _make(self, me: bytes, peer: bytes, other: Callable[[], ChannelServer]) -> ChannelServer:
        def relay_send(node: bytes, raw: bytes) -> bool:
            self.loop.call_soon(other().on_relay, me, raw)
            return True

        context = channel_server_context(self.pki / "ca.crt", self.pki / "node.crt", self.pki / "node.key")
        server = ChannelServer(None, listen_ip="127.0.0.1", listen_port=0, context=context, group_id=1,
                               relay_send=relay_send, connected_peers=lambda: [peer], node_id=me)
        await server.start()
        return server

    def sdk(self, server: ChannelServer) -> ChannelClient:
        return ChannelClient("127.0.0.1", server.listen_port, ca_cert=self.pki / "ca.crt",
                             cert=self.pki / "sdk.crt", key=self.pki / "sdk.key", timeout=5.0)

    def close(self) -> None:
        self._run(self.a.stop())
        self._run(self.b.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def nodes(pki: Path) -> Iterator[TwoNodes]:
    n = TwoNodes(pki)
    try:
        yield n
    finally:
        n.close()


def answering(client: ChannelClient, reply: bytes, seen: list[bytes]) -> threading.Thread:
    """An application that answers every AMOP request it gets with `reply` and notes multicasts."""
    def run() -> None:
        while not client.closed.is_set():
            try:
                message, _, content = client.next_amop(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(content)
            if message.type == ChannelType.AMOP_REQUEST:
                try:
                    client.respond(message, reply)
                except OSError:
                    return
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def verdicts(publisher: ChannelClient, count: int, seconds: float = 8.0) -> list[tuple[str, str, bool]]:
    got = []
    deadline = time.monotonic() + seconds
    while len(got) < count and time.monotonic() < deadline:
        try:
            got.append(publisher.verdicts.get(timeout=0.2))
        except queue.Empty:
            pass
    return got


def until(predicate: Callable[[], bool], seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def test_only_subscribers_holding_an_allowed_key_receive(nodes: TwoNodes) -> None:
    alice, bob, mallory = (KeyPair.generate("standard") for _ in range(3))
    publisher = nodes.sdk(nodes.a)
    at_a, at_b, intruder = nodes.sdk(nodes.a), nodes.sdk(nodes.b), nodes.sdk(nodes.b)
    try:
        seen_a: list[bytes] = []
        seen_b: list[bytes] = []
        seen_m: list[bytes] = []
        answering(at_a, b"bob", seen_a)
        answering(at_b, b"alice", seen_b)
        answering(intruder, b"mallory", seen_m)
        at_a.subscribe_private("orders", bob)
        at_b.subscribe_private("orders", alice)
        intruder.subscribe_private("orders", mallory)
        topic = publisher.publish_private_topic("orders", [alice.public_key, bob.public_key])
        judged = verdicts(publisher, 3)
        node_b = NODE_B.hex()
        # Two subscribers behind B: judged one after the other (a 0x38 names no challenge topic).
        assert sorted(approved for _, node, approved in judged if node == node_b) == [False, True]
        assert [approved for _, node, approved in judged if node == NODE_A.hex()] == [True]
        answers = {publisher.publish(topic, b"q%d" % i) for i in range(12)}
        assert answers == {b"alice", b"bob"}  # both approved subscribers, local and remote, are reached
        publisher.multicast(topic, b"to all")
        assert until(lambda: b"to all" in seen_a and b"to all" in seen_b)
        time.sleep(0.2)
        assert seen_m == []  # the unauthorised subscriber got neither a unicast nor the multicast
    finally:
        for client in (publisher, at_a, at_b, intruder):
            client.close()


class Replayer(ChannelClient):
    """A subscriber without the key that answers each challenge with a signature it saw once by an allowed key."""

    stolen: bytes = b""

    def _answer_challenge(self, message: ChannelMessage) -> bool:
        topic, _ = unpack_topic(message.data)
        if not topic.startswith("#!$VerifyChannel_"):
            return False
        self.send(message.reply(pack_topic(topic, self.stolen), type=ChannelType.AMOP_RESPONSE))
        return True


def test_a_forged_signature_is_refused(nodes: TwoNodes) -> None:
    alice = KeyPair.generate("standard")
    publisher = nodes.sdk(nodes.a)
    forger = Replayer("127.0.0.1", nodes.b.listen_port, ca_cert=nodes.pki / "ca.crt",
                      cert=nodes.pki / "sdk.crt", key=nodes.pki / "sdk.key", timeout=5.0)
    forger.stolen = alice.sign(alice.suite.hash(b"an old challenge"))  # valid, but for another value
    try:
        seen: list[bytes] = []
        answering(forger, b"forger", seen)
        forger.subscribe_private("orders", KeyPair.generate("standard"))
        topic = publisher.publish_private_topic("orders", [alice.public_key])
        assert [approved for _, _, approved in verdicts(publisher, 1)] == [False]
        with pytest.raises(Exception) as refused:
            publisher.publish(topic, b"secret")
        assert getattr(refused.value, "result", None) == 100  # nobody approved: FISCO's "no listener"
        publisher.multicast(topic, b"secret")
        time.sleep(0.3)
        assert seen == []
    finally:
        publisher.close()
        forger.close()


class SilentPublisher(ChannelClient):
    """A publisher that is asked (0x37) but has not judged yet: its challenge stays open."""

    asked: "queue.Queue[ChannelMessage]"

    def _judge(self, message: ChannelMessage) -> None:
        self.asked.put(message)


def test_a_subscriber_cannot_approve_itself(nodes: TwoNodes) -> None:
    """Only the publisher the node asked may send the verdict (0x38); anyone else's is ignored."""
    publisher = SilentPublisher("127.0.0.1", nodes.a.listen_port, ca_cert=nodes.pki / "ca.crt",
                                cert=nodes.pki / "sdk.crt", key=nodes.pki / "sdk.key", timeout=5.0)
    publisher.asked = queue.Queue()
    intruder = nodes.sdk(nodes.b)
    try:
        seen: list[bytes] = []
        answering(intruder, b"intruder", seen)
        intruder.subscribe_private("orders", KeyPair.generate("standard"))
        topic = publisher.publish_private_topic("orders", [KeyPair.generate("standard").public_key])
        asked = json.loads(publisher.asked.get(timeout=5).data)
        assert asked["nodeId"] == NODE_B.hex() and asked["topic"] == topic
        # While the publisher's challenge is open, the subscriber sends the verdict it would like.
        claim = {"checkResult": 0, "nodeId": NODE_B.hex(), "topic": topic}
        nodes_a_sdk = nodes.sdk(nodes.a)  # at the publisher's node too, where the challenge is held
        try:
            nodes_a_sdk.send(ChannelMessage(ChannelType.UPDATE_TOPIC_STATUS, new_seq(), 0, json.dumps(claim).encode()))
            assert until(lambda: nodes.a.stats["verify_ignored"] >= 1)
        finally:
            nodes_a_sdk.close()
        publisher.multicast(topic, b"secret")
        with pytest.raises(Exception) as refused:
            publisher.publish(topic, b"secret")
        assert getattr(refused.value, "result", None) == 100
        time.sleep(0.2)
        assert seen == []
    finally:
        publisher.close()
        intruder.close()


def test_sm_keys_sign_the_challenge_on_an_sm_chain(nodes: TwoNodes) -> None:
    allowed, other = KeyPair.generate("sm"), KeyPair.generate("sm")
    publisher, good, bad = nodes.sdk(nodes.a), nodes.sdk(nodes.b), nodes.sdk(nodes.a)
    try:
        seen_good: list[bytes] = []
        seen_bad: list[bytes] = []
        answering(good, b"good", seen_good)
        answering(bad, b"bad", seen_bad)
        good.subscribe_private("grades", allowed)
        bad.subscribe_private("grades", other)
        topic = publisher.publish_private_topic("grades", [allowed.public_key], suite="sm")
        assert sorted(approved for _, _, approved in verdicts(publisher, 2)) == [False, True]
        assert {publisher.publish(topic, b"q%d" % i) for i in range(4)} == {b"good"}
        assert seen_bad == []
    finally:
        for client in (publisher, good, bad):
            client.close()


def test_channel_status_lists_sessions_and_topics_without_challenge_suffixes(nodes: TwoNodes) -> None:
    from types import SimpleNamespace

    from chain.rpc.methods import RpcContext, dispatch

    listener, subscriber = nodes.sdk(nodes.a), nodes.sdk(nodes.a)
    try:
        listener.subscribe(["orders"])
        subscriber.subscribe_private("payroll", KeyPair.generate("standard"))
        context = RpcContext(SimpleNamespace(channel=nodes.a))
        assert until(lambda: len(dispatch(context, "getChannelStatus", [])["sessions"]) == 2
                     and len(dispatch(context, "getChannelStatus", [])["topics"]) == 3)
        status = dispatch(context, "getChannelStatus", [])
        assert status["port"] == nodes.a.listen_port
        assert status["topics"] == sorted(["orders", private_name("payroll"),
                                           "#!$VerifyChannel_" + private_name("payroll") + "_…"])
        assert all(len(s["topics"]) <= 2 for s in status["sessions"])
        assert until(lambda: "orders" in dispatch(RpcContext(SimpleNamespace(channel=nodes.b)), "getChannelStatus",
                                                  [])["peerTopics"].get(NODE_A.hex(), []))
    finally:
        listener.close()
        subscriber.close()
