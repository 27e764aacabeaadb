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
from chain.channel.tls import channel_client_context
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
        self.send(ChannelMessage(ChannelType.TOPIC_REPORT, new_seq(), 0,
                                 json.dumps([f"_block_notify_{group_id}", *topics]).encode()))

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


# --- what the console's channel commands do (subscribeBlocks, subscribeTopic, publish) -------------

class ChannelEndpoint:
    """Where a tool reaches a node's channel port, and the SDK certificate it shows there."""

    def __init__(self, host: str, port: int, sdk_dir: Path) -> None:
        self.host, self.port, self.sdk_dir = host, port, Path(sdk_dir)

    @classmethod
    def of_chain(cls, directory: str | Path, index: int = 0) -> ChannelEndpoint | None:
        """Node `index`'s channel port as DIR/sdk/nodes.toml lists it; None if the build fixed none."""
        from chain.node.builder import read_nodes

        listed = read_nodes(directory)[index].channel
        if listed is None:
            return None
        host, _, port = listed.rpartition(":")
        return cls(host.strip("[]"), int(port), Path(directory) / "sdk")

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
