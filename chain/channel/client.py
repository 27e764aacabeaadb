"""A channel-protocol client (what FISCO's SDKs do in "channel" mode), for chain.sdk and the console.

Blocking and threaded, like the python-sdk: one thread reads ChannelMessages and hands each to the
request waiting on its seq, or, for pushes, to a queue (block numbers, AMOP messages). The node's
answers to AMOP requests an application receives are sent with ``respond``.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import json
import queue
import socket
import ssl
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from chain.channel.framing import BadFrame, ChannelMessage, ChannelType, MessageDecoder, pack_topic, unpack_topic
from chain.channel.private_topic import (
    VERIFY_CHANNEL, VERIFY_FAILED, VERIFY_OK, cert_prefix, private_name, push_channel,
)
from chain.channel.tls import channel_client_context
from chain.crypto.keys import KeyPair
from chain.crypto.suite import get_suite
from chain.errors import ChainError

TIMEOUT_S = 10.0


class ChannelError(ChainError):
    """The channel said no: a refused connection, a JSON-RPC error, or an AMOP result code."""

    def __init__(self, message: str, result: int = 0) -> None:
        super().__init__(message)
        self.result = result


def new_seq() -> bytes:
    return uuid.uuid4().hex.encode()  # 32 ASCII characters, as the python-sdk makes them


class ChannelClient:
    def __init__(self, host: str, port: int, *, ca_cert: Path, cert: Path, key: Path, timeout: float = TIMEOUT_S) -> None:
        context = channel_client_context(ca_cert, cert, key)
        raw = socket.create_connection((host, port), timeout=timeout)
        try:
            self.sock = context.wrap_socket(raw)
        except (ssl.SSLError, OSError) as exc:
            raw.close()
            raise ChannelError(f"channel TLS handshake with {host}:{port} failed: {exc}") from exc
        self.sock.settimeout(None)
        self.timeout = timeout
        self._send_lock = threading.Lock()
        self._waiting: dict[bytes, concurrent.futures.Future[ChannelMessage]] = {}
        self._ids = itertools.count(1)
        self.blocks: queue.Queue[int] = queue.Queue()  # block numbers pushed by the node
        self.amop: queue.Queue[ChannelMessage] = queue.Queue()  # AMOP requests/multicasts for our topics
        self.event_logs: queue.Queue[dict[str, Any]] = queue.Queue()  # 0x1002 pushes: {filterID, result, logs}
        self.closed = threading.Event()
        self._group_id = 1
        self._public_topics: list[str] = []
        self._signing: dict[str, KeyPair] = {}  # our challenge topic -> the key we prove ourselves with
        self._deciding: dict[str, tuple[str, list[bytes]]] = {}  # private topic we publish -> (suite, allowed keys)
        self.verdicts: queue.Queue[tuple[str, str, bool]] = queue.Queue()  # (topic, nodeId, approved) we sent
        self._reader = threading.Thread(target=self._read, name="channel-reader", daemon=True)
        self._reader.start()

    @classmethod
    def from_chain_dir(cls, directory: str | Path, host: str, port: int) -> ChannelClient:
        """Connect with the SDK certificate `chain build` wrote to DIR/sdk/."""
        sdk = Path(directory) / "sdk"
        return cls(host, port, ca_cert=sdk / "ca.crt", cert=sdk / "sdk.crt", key=sdk / "sdk.key")

    # --- plumbing ----------------------------------------------------------------------------

    def send(self, message: ChannelMessage) -> None:
        with self._send_lock:
            self.sock.sendall(message.encode())

    def request(self, type_: int, data: bytes) -> ChannelMessage:
        """Send and wait for the message with the same seq."""
        seq = new_seq()
        future: concurrent.futures.Future[ChannelMessage] = concurrent.futures.Future()
        self._waiting[seq] = future
        try:
            self.send(ChannelMessage(type_, seq, 0, data))
            return future.result(self.timeout)
        except concurrent.futures.TimeoutError:
            raise ChannelError(f"no answer to channel message {type_:#x} in {self.timeout} s") from None
        finally:
            self._waiting.pop(seq, None)

    def _read(self) -> None:
        decoder = MessageDecoder()
        try:
            while True:
                data = self.sock.recv(256 * 1024)
                if not data:
                    return
                for message in decoder.feed(data):
                    future = self._waiting.get(message.seq)
                    if future is not None and not future.done() and message.type != ChannelType.BLOCK_NOTIFY:
                        future.set_result(message)
                    elif message.type == ChannelType.BLOCK_NOTIFY:
                        self.blocks.put(int(message.data.decode().split(",")[1]))
                    elif message.type == ChannelType.AMOP_REQUEST and self._answer_challenge(message):
                        pass
                    elif message.type == ChannelType.REQUEST_TOPIC_CERT:
                        threading.Thread(target=self._judge, args=(message,), name="channel-verify",
                                         daemon=True).start()
                    elif message.type in (ChannelType.AMOP_REQUEST, ChannelType.AMOP_MULTICAST):
                        self.amop.put(message)
                    elif message.type == ChannelType.EVENT_LOG_PUSH:
                        self.event_logs.put(json.loads(message.data))
        except (OSError, ValueError, IndexError, BadFrame):
            return
        finally:
            self.closed.set()
            for future in list(self._waiting.values()):
                if not future.done():
                    future.set_exception(ChannelError("channel connection closed"))

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._reader.join(timeout=2)

    def __enter__(self) -> ChannelClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the protocol ------------------------------------------------------------------------

    def handshake(self) -> dict[str, Any]:
        answer = self.request(ChannelType.HANDSHAKE, json.dumps(
            {"minimumSupport": 1, "maximumSupport": 1, "clientType": "chain.sdk"}).encode())
        return dict(json.loads(answer.data))

    def heartbeat(self) -> bytes:
        return self.request(ChannelType.HEARTBEAT, b"0").data

    def rpc(self, method: str, params: list[Any]) -> Any:
        """A JSON-RPC call over the channel: same methods and shapes as HTTP."""
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        answer = json.loads(self.request(ChannelType.RPC, json.dumps(body).encode()).data)
        if "error" in answer:
            raise ChannelError(f"{method}: {answer['error']}")
        return answer["result"]

    def subscribe(self, topics: list[str], group_id: int = 1) -> None:
        """Listen on these AMOP topics (and ask for block numbers, as the python-sdk does)."""
        self._public_topics, self._group_id = list(topics), group_id
        self._report_topics()

    def _report_topics(self) -> None:
        private: list[str] = []
        for topic in self._deciding:
            private += [topic, push_channel(topic)]
        for cert_topic in self._signing:
            private += [cert_topic[len(VERIFY_CHANNEL):].rsplit("_", 1)[0], cert_topic]
        topics = [f"_block_notify_{self._group_id}", *self._public_topics, *dict.fromkeys(private)]
        self.send(ChannelMessage(ChannelType.TOPIC_REPORT, new_seq(), 0, json.dumps(topics).encode()))

    # --- private topics (chain.channel.private_topic) ----------------------------------------

    def subscribe_private(self, name: str, key: KeyPair) -> str:
        """Listen on private topic `name`, proving we hold `key` to each publisher that asks; its full name."""
        topic = private_name(name)
        self._signing[cert_prefix(topic) + uuid.uuid4().hex] = key
        self._report_topics()
        return topic

    def publish_private_topic(self, name: str, public_keys: list[bytes], suite: str = "standard") -> str:
        """Declare private topic `name`: only subscribers holding one of these keys get our messages on it."""
        topic = private_name(name)
        self._deciding[topic] = (suite, [bytes(k) for k in public_keys])
        self._report_topics()
        return topic

    def _answer_challenge(self, message: ChannelMessage) -> bool:
        """A publisher's random value on one of our challenge topics: answer with our signature of it."""
        try:
            topic, value = unpack_topic(message.data)
        except BadFrame:
            return False
        key = self._signing.get(topic)
        if key is None:
            return False
        signature = key.sign(key.suite.hash(value))
        self.send(message.reply(pack_topic(topic, signature), type=ChannelType.AMOP_RESPONSE))
        return True

    def _judge(self, message: ChannelMessage) -> None:
        """The node asks (0x37) about a subscriber: challenge it, check its signature, tell the node (0x38)."""
        try:
            self.send(message.reply(b""))  # FISCO's SDKs acknowledge first
            request = json.loads(message.data)
            topic, node_id, cert_topic = request["topic"], request["nodeId"], request["topicForCert"]
            if topic not in self._deciding:
                return
            suite_name, allowed = self._deciding[topic]
            value = uuid.uuid4().hex.encode()  # a fresh random value: an old signature proves nothing
            approved = False
            try:
                answer = self.request(ChannelType.AMOP_REQUEST, pack_topic(cert_topic, value))
                signature = _amop_content(answer.data, cert_topic)
                suite = get_suite(suite_name)
                digest = suite.hash(value)
                approved = answer.result == 0 and any(_verifies(suite, key, digest, signature) for key in allowed)
            except ChannelError:
                approved = False
            verdict = {"checkResult": VERIFY_OK if approved else VERIFY_FAILED, "nodeId": node_id, "topic": topic}
            self.send(ChannelMessage(ChannelType.UPDATE_TOPIC_STATUS, new_seq(), 0, json.dumps(verdict).encode()))
            self.verdicts.put((topic, node_id, approved))
        except (OSError, ValueError, KeyError, TypeError):
            return

    def publish(self, topic: str, content: bytes) -> bytes:
        """A unicast AMOP request: the answer of the one SDK that got it; ChannelError with FISCO's
        result code (100 nobody listens, 101 listener gone, 102 timeout) otherwise."""
        answer = self.request(ChannelType.AMOP_REQUEST, pack_topic(topic, content))
        if answer.result != 0:
            raise ChannelError(f"AMOP {topic!r}: result {answer.result}", answer.result)
        return answer.data

    def register_event_log(self, *, from_block: str = "latest", to_block: str = "latest",
                           addresses: list[str] | None = None, topics: list[Any] | None = None,
                           group_id: int = 1) -> str:
        """Ask the node to push matching event logs (FISCO's 0x15); the filter id pushes carry."""
        filter_id = uuid.uuid4().hex
        request = {"fromBlock": from_block, "toBlock": to_block, "addresses": addresses or [],
                   "topics": topics or [], "groupID": str(group_id), "filterID": filter_id}
        answer = self.request(ChannelType.REGISTER_EVENT_LOG, b"\x01" + json.dumps(request).encode())
        body = json.loads(answer.data[answer.data[0]:]) if answer.data else {}
        if body.get("result") != 0:
            raise ChannelError(f"event-log filter refused: {body}", int(body.get("result", -1)))
        return filter_id

    def multicast(self, topic: str, content: bytes) -> None:
        self.send(ChannelMessage(ChannelType.AMOP_MULTICAST, new_seq(), 0, pack_topic(topic, content)))

    def next_amop(self, timeout: float = TIMEOUT_S) -> tuple[ChannelMessage, str, bytes]:
        message = self.amop.get(timeout=timeout)
        topic, content = unpack_topic(message.data)
        return message, topic, content

    def respond(self, request: ChannelMessage, content: bytes) -> None:
        """Answer an AMOP request we received (same seq, type 0x31)."""
        self.send(request.reply(content, type=ChannelType.AMOP_RESPONSE))


def _amop_content(data: bytes, topic: str) -> bytes:
    """An AMOP answer's content: java-sdk wraps it in the topic header, others send it bare."""
    try:
        got, content = unpack_topic(data)
    except BadFrame:
        return data
    return content if got == topic else data


def _verifies(suite: Any, public_key: bytes, digest: bytes, signature: bytes) -> bool:
    try:
        return bool(suite.verify(public_key, digest, signature))
    except (ValueError, ChainError):  # a malformed key or signature verifies nothing
        return False


# --- what the console's channel commands do (subscribeBlocks, subscribeTopic, publish) -------------

class ChannelEndpoint:
    """Where a tool reaches a node's channel port, and the SDK certificate it shows there."""

    def __init__(self, host: str, port: int, sdk_dir: Path) -> None:
        self.host, self.port, self.sdk_dir = host, port, Path(sdk_dir)

    def connect(self) -> ChannelClient:
        return ChannelClient(self.host, self.port, ca_cert=self.sdk_dir / "ca.crt", cert=self.sdk_dir / "sdk.crt",
                             key=self.sdk_dir / "sdk.key")


def watch_blocks(endpoint: ChannelEndpoint, count: int, seconds: float) -> list[int]:
    """The block numbers the node pushes, until `count` of them or `seconds` have passed."""
    numbers: list[int] = []
    with endpoint.connect() as client:
        client.subscribe([])
        deadline = time.monotonic() + seconds
        while len(numbers) < count and (left := deadline - time.monotonic()) > 0:
            try:
                numbers.append(client.blocks.get(timeout=left))
            except queue.Empty:
                break
    return numbers


def watch_topic(endpoint: ChannelEndpoint, topic: str, count: int, seconds: float,
                reply: bytes = b"received") -> list[tuple[str, bytes]]:
    """Listen on an AMOP topic: ("request"|"multicast", content) per message; requests get `reply`."""
    got: list[tuple[str, bytes]] = []
    with endpoint.connect() as client:
        client.subscribe([topic])
        deadline = time.monotonic() + seconds
        while len(got) < count and (left := deadline - time.monotonic()) > 0:
            try:
                message, _, content = client.next_amop(timeout=left)
            except queue.Empty:
                break
            if message.type == ChannelType.AMOP_REQUEST:
                client.respond(message, reply)
                got.append(("request", content))
            else:
                got.append(("multicast", content))
    return got


def publish_once(endpoint: ChannelEndpoint, topic: str, content: bytes, multicast: bool = False) -> bytes | None:
    """Send one AMOP message; the listener's answer (None for a multicast, which has none)."""
    with endpoint.connect() as client:
        if multicast:
            client.multicast(topic, content)
            client.heartbeat()  # answered after the multicast was read: it has left before we hang up
            return None
        return client.publish(topic, content)
