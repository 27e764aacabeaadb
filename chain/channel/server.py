"""The node's channel port: FISCO 2.x SDKs connect here over mutual TLS and speak ChannelMessages.

What a connection (a *session*) may send, and what the node does:

* ``0x14`` handshake → the protocol version and node version (JSON);
* ``0x13`` heartbeat → answered at once (``"0"`` → ``"1"``, or ``{"heartBeat":0}`` → ``{"heartBeat":1}``);
* ``0x12`` a JSON-RPC request → the very answer HTTP would give (``chain.rpc.server``), same seq;
  for an accepted ``sendRawTransaction`` the node also pushes ``0x1000`` with the receipt (same seq)
  once the transaction is committed (the Java SDK waits for that push);
* ``0x1000`` a ``sendRawTransaction`` request the python-sdk sends this way when it wants the
  receipt: the only answer is ``0x1000``, with the receipt once committed, or with the JSON-RPC error
  at once;
* ``0x32`` the topics it listens on (replaces the previous list; ``_block_notify_<g>`` is python-sdk's
  way of asking for block numbers, which every session gets anyway);
* ``0x30`` an AMOP request on a topic → delivered to one listening SDK, here or behind another node
  (``chain.channel.amop``); its ``0x31`` answer comes back with the same seq, or the node answers
  ``0x31`` with FISCO's 100 (nobody listens), 101 (the listener went away) or 102 (timeout);
* ``0x35`` an AMOP multicast → delivered to every listening SDK at every node, no answer;
* private topics (``#!$TopicNeedVerify_…``, ``chain.channel.private_topic``): the node asks each
  publisher (``0x37``) about each subscriber, takes its verdict (``0x38``) only from the publisher it
  asked, and routes that publisher's messages on the topic only to the subscribers it approved;
* ``0x15`` an event-log filter (python-sdk ``register_eventlog_filter``: an AMOP-style payload with
  an empty topic, then JSON ``{fromBlock, toBlock, addresses, topics, groupID, filterID}``) →
  ``0x15`` with ``{"filterID", "result"}`` (0, or FISCO's -41000 for bad parameters), then ``0x1002``
  ``{"filterID", "result": 0, "logs": [...]}`` for the matching logs of each committed block (past
  ones first when fromBlock is behind the head), fed by the node's subscription hub (``chain.logs``).

On each committed block every session gets ``0x1001`` with ``"<groupId>,<number>"`` and seq zero.

Rules that keep the node at its pace whatever SDKs do: at most ``max_sessions`` sessions; each has
a bounded queue of messages to send and is dropped when it is full (a slow reader cannot make the
node buffer without limit, and a block notification never waits for it); a bad frame (length
below the header or above ``max_message_size``, an unknown type) closes the session; a TLS
handshake without a chain certificate is refused. Refusals are logged as counts per source
(``chain.network.refusals``), not one line each.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import ssl
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Protocol

from chain.channel.amop import ADVERTISE_S, BLOCK_NOTIFY_PREFIX, MAX_TOPICS, Relay, decode_relay, parse_topic_report
from chain.channel.private_topic import (
    CHALLENGE_S, VERIFY_CHANNEL, VERIFY_OK, cert_topics, is_private, parse_topic_status, published_private_topics,
    verify_request,
)
from chain.channel.framing import (
    MAX_MESSAGE_SIZE, SEQ_ZERO, BadFrame, ChannelMessage, ChannelResult, ChannelType, MessageDecoder, unpack_topic,
)
from chain.errors import ChainError
from chain.logs.query import filter_from_json, log_json
from chain.network.refusals import RefusalLog
from chain.rpc.methods import RpcContext, dispatch
from chain.rpc.server import handle_body_async
import chain.channel.status  # noqa: F401,E402  registers getChannelStatus wherever a node can serve it

log = logging.getLogger("chain.channel")

MAX_SESSIONS = 256
QUEUE_LIMIT = 1024  # messages waiting to be written to one SDK; beyond, it is dropped
RPC_IN_FLIGHT = 16  # requests of one session being answered at once; beyond, we stop reading it
HANDSHAKE_TIMEOUT_S = 5.0
AMOP_TIMEOUT_S = 5.0
MAX_PENDING_AMOP = 4096  # unicast requests awaiting an answer at this node; beyond, FISCO's 103  # an AMOP request unanswered this long gets 102 (TIMEOUT)
READ_CHUNK = 256 * 1024
MAX_FILTERS = 32  # event-log filters per session
EVENT_LOG_OK, EVENT_LOG_INVALID_PARAMS = 0, -41000  # FISCO 2.x EventLogFilter response codes
MAX_AWAITED = 1024  # transactions one session waits receipts for; beyond, no receipt push is promised
RECEIPT_HORIZON = 1000  # blocks after which a transaction can no longer commit (its blockLimit is past)
PROTOCOL_VERSION = 1  # the v1 frames and heartbeats the python-sdk speaks
NODE_VERSION = "chain 2.x-compatible channel"

RelaySend = Callable[[bytes, bytes], bool]  # (node id, relay bytes) → sent?
Answer = Callable[[bytes], Awaitable[Any]]  # a JSON-RPC body → its JSON answer (None: nothing to answer)


class SessionReader(Protocol):
    """Where a session's bytes come from: an asyncio.StreamReader, or a relayed stream."""

    async def read(self, n: int = -1) -> bytes: ...


class SessionWriter(Protocol):
    """Where a session's bytes go: an asyncio.StreamWriter, or a relayed stream."""

    def write(self, data: bytes) -> None: ...
    async def drain(self) -> None: ...
    def close(self) -> None: ...
    def is_closing(self) -> bool: ...


async def accept_tls(writer: asyncio.StreamWriter, context: ssl.SSLContext) -> str | None:
    """Upgrade an accepted connection to the channel's mutual TLS; why not (and closed), or None.
    Shared by this server and a Pro node's rpc process, which holds the channel port there."""
    try:
        await writer.start_tls(context, ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S)
    except (ssl.SSLError, OSError, ConnectionError, asyncio.TimeoutError) as exc:
        # No certificate of the chain CA, not TLS at all, or too slow: no session.
        writer.close()
        return f"{type(exc).__name__}: {exc}"
    return None


def _event(level: int, name: str, **fields: object) -> None:
    log.log(level, name, extra={"fields": fields})


class Session:
    """One SDK connection: its topics and its bounded queue of messages to write."""

    def __init__(self, server: ChannelServer, reader: SessionReader, writer: SessionWriter, source: str) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.source = source
        self.topics: frozenset[str] = frozenset()
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(server.queue_limit)
        self.in_flight = asyncio.Semaphore(RPC_IN_FLIGHT)
        self.awaited = 0  # transactions whose receipt this session waits for
        self.filters: dict[str, tuple[Any, bytes]] = {}  # filterID -> (chain.logs Subscription, registration seq)
        self.flush_queued = False
        self.closed = False

    def push(self, message: ChannelMessage) -> bool:
        """Queue message for this SDK without waiting; a full queue drops the session."""
        if self.closed:
            return False
        try:
            self.queue.put_nowait(message.encode())
            return True
        except asyncio.QueueFull:
            # The SDK does not read: drop it rather than buffer for it or slow the node down.
            self.server.stats["dropped_slow"] += 1
            _event(logging.WARNING, "sdk_dropped", source=self.source, reason="send queue full")
            self.close()
            return False

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.queue.put_nowait(None)
        except asyncio.QueueFull:
            pass
        self.writer.close()

    async def write_loop(self) -> None:
        try:
            while True:
                data = await self.queue.get()
                if data is None or self.writer.is_closing():
                    return
                self.writer.write(data)
                await self.writer.drain()
        except (OSError, ConnectionError, ssl.SSLError):
            pass
        finally:
            self.close()


Location = Session | bytes  # a subscriber's place: a session here, or the id of the node it is behind


@dataclass
class Challenge:
    """A subscriber a publisher was asked about (0x37) and has not judged yet."""

    location: Location
    cert_topic: str
    deadline: float


@dataclass
class PendingAmop:
    """A unicast AMOP request on its way: who asked (a session here or a peer node) and who was asked."""

    origin_session: Session | None
    origin_node: bytes | None
    target_session: Session | None
    target_node: bytes | None
    timer: asyncio.TimerHandle | None = field(default=None)


class ChannelServer:
    def __init__(self, api: Any, *, listen_ip: str, listen_port: int, context: ssl.SSLContext | None, group_id: int,
                 relay_send: RelaySend | None = None, connected_peers: Callable[[], list[bytes]] = list,
                 max_message_size: int = MAX_MESSAGE_SIZE, max_sessions: int = MAX_SESSIONS,
                 queue_limit: int = QUEUE_LIMIT, node_id: bytes | None = None, answer: Answer | None = None) -> None:
        self.ctx = RpcContext(api)
        # How a 0x12 / 0x13 body is answered: the node's method table (an Air node serves every group
        # there); a Pro node's core passes its own, which hands other groups' requests on.
        self.answer: Answer = answer or (lambda body: handle_body_async(self.ctx, body))
        self.node_id = node_id if node_id is not None else bytes(getattr(api, "node_id", b""))
        self.listen_ip = listen_ip
        self.context = context
        self.group_id = group_id
        self.relay_send = relay_send
        self.connected_peers = connected_peers
        self.max_message_size = max_message_size
        self.max_sessions = max_sessions
        self.queue_limit = queue_limit
        self._port = listen_port
        self._server: asyncio.base_events.Server | None = None
        self.sessions: set[Session] = set()
        self.peer_topics: dict[bytes, frozenset[str]] = {}
        self.pending: dict[bytes, PendingAmop] = {}
        # Private topics: publisher session -> {(topic, subscriber location, its challenge topic): approved?}
        self.approvals: dict[Session, dict[tuple[str, Location, str], bool]] = {}
        # (publisher session, subscriber's node id in hex, topic) -> the one open challenge
        self.challenges: dict[tuple[Session, str, str], Challenge] = {}
        # tx hash (0x-hex) -> (session, seq, block number when submitted): receipts to push on commit
        self.awaiting: dict[str, list[tuple[Session, bytes, int]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._refusals = RefusalLog(lambda level, name, fields: log.log(level, name, extra={"fields": fields}))
        self.stats = {"sessions": 0, "refused": 0, "bad_frames": 0, "dropped_slow": 0, "rpc": 0,
                      "block_notify": 0, "amop_in": 0, "amop_relayed": 0, "verify_requests": 0,
                      "verify_ignored": 0}

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.listen_ip, self._port, limit=READ_CHUNK)
        self._port = int(self._server.sockets[0].getsockname()[1])
        self.start_background()
        _event(logging.INFO, "channel_listening", address=f"{self.listen_ip}:{self._port}")

    def start_background(self) -> None:
        """What runs besides the port: AMOP advertisements and verification rounds. Alone, for a
        server whose sessions arrive through ``serve_session`` (a Pro node's core)."""
        self._spawn(self._advertise_loop())

    @property
    def listen_port(self) -> int:
        return self._port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in list(self.sessions):
            session.close()
        for pending in self.pending.values():
            if pending.timer is not None:
                pending.timer.cancel()
        self.pending.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._refusals.flush(0.0, force=True)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _refuse(self, source: str, event: str, reason: str) -> None:
        self.stats["refused"] += 1
        self._refusals.note(source, asyncio.get_running_loop().time(), event, reason, address=source)

    # --- sessions ----------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        source = str(peer[0]) if isinstance(peer, tuple) else "?"
        # A bounded number of SDKs: each holds a queue and a task.
        if len(self.sessions) >= self.max_sessions:
            self._refuse(source, "channel_refused", f"{self.max_sessions} sessions already")
            writer.close()
            return
        assert self.context is not None, "a server that listens has its certificate"
        refused = await accept_tls(writer, self.context)
        if refused is not None:
            self._refuse(source, "channel_tls_rejected", refused)
            return
        await self.serve_session(reader, writer, source)

    async def serve_session(self, reader: SessionReader, writer: SessionWriter, source: str) -> None:
        """Serve one SDK session until it ends, on any byte transport: a TLS connection of this
        server's port (``_accept``), or a stream a Pro node's rpc process relays (chain.node.pro_streams)."""
        if len(self.sessions) >= self.max_sessions:
            self._refuse(source, "channel_refused", f"{self.max_sessions} sessions already")
            writer.close()
            return
        session = Session(self, reader, writer, source)
        self.sessions.add(session)
        self.stats["sessions"] += 1
        _event(logging.INFO, "sdk_connected", source=source, sessions=len(self.sessions))
        writing = self._spawn(session.write_loop())
        try:
            await self._read_loop(session)
        finally:
            self.sessions.discard(session)
            topics = session.topics
            session.close()
            writing.cancel()
            self._forget_session(session)
            self._drop_filters(session)
            self.approvals.pop(session, None)
            if topics:
                self._advertise()
                self._verify_round()
            _event(logging.INFO, "sdk_disconnected", source=source, sessions=len(self.sessions))

    async def _read_loop(self, session: Session) -> None:
        decoder = MessageDecoder(self.max_message_size)
        while not session.closed:
            try:
                data = await session.reader.read(READ_CHUNK)
            except (OSError, ConnectionError, ssl.SSLError):
                return
            if not data:
                return
            try:
                for message in decoder.feed(data):
                    await self._handle(session, message)
            except BadFrame as exc:
                self.stats["bad_frames"] += 1
                self._refuse(session.source, "channel_bad_frame", str(exc))
                return
            except Exception:  # a bug: this session ends, the node and the other sessions go on
                log.exception("channel session failed")
                return

    async def _handle(self, session: Session, message: ChannelMessage) -> None:
        kind = message.type
        if kind == ChannelType.HEARTBEAT:
            session.push(message.reply(_heartbeat_answer(message.data)))
        elif kind == ChannelType.HANDSHAKE:
            answer = {"protocol": PROTOCOL_VERSION, "nodeVersion": NODE_VERSION}
            session.push(message.reply(json.dumps(answer).encode()))
        elif kind in (ChannelType.RPC, ChannelType.TX_COMMITTED):
            await session.in_flight.acquire()  # back-pressure: stop reading an SDK with too many open
            self._spawn(self._rpc(session, message))
        elif kind == ChannelType.TOPIC_REPORT:
            self._set_topics(session, parse_topic_report(message.data))
        elif kind == ChannelType.AMOP_REQUEST:
            self._amop_request(session, message)
        elif kind == ChannelType.AMOP_RESPONSE:
            self._amop_response_from_sdk(session, message)
        elif kind == ChannelType.AMOP_MULTICAST:
            self._amop_multicast(session, message)
        elif kind == ChannelType.REGISTER_EVENT_LOG:
            self._register_event_log(session, message)
        elif kind == ChannelType.REQUEST_TOPIC_CERT:
            pass  # a publisher's empty acknowledgement of our 0x37: its verdict comes as 0x38
        elif kind == ChannelType.UPDATE_TOPIC_STATUS:
            self._topic_status(session, message)
        else:
            # Anything else (including pushes only a node may send) is not a request we know.
            raise BadFrame(f"unknown channel message type {kind:#x}")

    async def _rpc(self, session: Session, message: ChannelMessage) -> None:
        try:
            self.stats["rpc"] += 1
            answer = await self.answer(message.data)
            body = b"" if answer is None else json.dumps(answer, separators=(",", ":")).encode()
            tx_hash = submitted_hash(message.data, answer)
            if tx_hash is not None and session.awaited < MAX_AWAITED:
                session.awaited += 1
                self.awaiting.setdefault(tx_hash, []).append((session, message.seq, self.ctx.api.store.head_number()))
            elif message.type == ChannelType.TX_COMMITTED:  # refused (or not a transaction): say so now
                session.push(message.reply(body))
            if message.type == ChannelType.RPC:
                session.push(message.reply(body))
        except Exception:  # a handler bug answers nothing to this request; the session and node go on
            log.exception("channel RPC failed")
        finally:
            session.in_flight.release()

    # --- pushes ------------------------------------------------------------------------------

    def notify_block(self, number: int) -> None:
        """Tell every connected SDK the new block number (python-sdk parses ``"<group>,<number>"``)."""
        message = ChannelMessage(ChannelType.BLOCK_NOTIFY, SEQ_ZERO, 0, f"{self.group_id},{number}".encode())
        for session in list(self.sessions):
            if session.push(message):
                self.stats["block_notify"] += 1
        if self.awaiting:
            try:
                self._push_receipts(number)
            except Exception:  # a bug here must not stop the commit path that called us
                log.exception("pushing receipts failed")

    def notify_group_block(self, group_id: int, number: int) -> None:
        """Another group of this node committed block `number`: push the receipts sessions wait for.

        An Air node's channel answers requests for every group it serves, so a transaction sent to
        group1 with ``0x13`` waits here like one of group0; only group0's blocks are announced (0x1001).
        """
        if self.awaiting:
            try:
                self._push_block_receipts(group_id, number)
            except Exception:  # a bug here must not stop the commit path that called us
                log.exception("pushing receipts failed")

    def _push_block_receipts(self, group_id: int, number: int) -> None:
        """``0x1000`` with the receipt, to each session waiting for a transaction of that group's block `number`."""
        block = dispatch(self.ctx, "getBlockByNumber", [group_id, hex(number), False])
        for tx_hash in (block or {}).get("transactions", []):
            if str(tx_hash).lower() in self.awaiting:
                self.push_receipt(str(tx_hash), dispatch(self.ctx, "getTransactionReceipt", [group_id, tx_hash]))

    def _push_receipts(self, number: int) -> None:
        """Receipts of group0's block `number`, then the end of waiting for what can no longer commit."""
        self._push_block_receipts(self.group_id, number)
        # Past its blockLimit a transaction can no longer commit: stop waiting for it.
        for tx_hash, waiting in list(self.awaiting.items()):
            kept = []
            for entry in waiting:
                if entry[2] + RECEIPT_HORIZON >= number and not entry[0].closed:
                    kept.append(entry)
                else:
                    entry[0].awaited -= 1
            if kept:
                self.awaiting[tx_hash] = kept
            else:
                del self.awaiting[tx_hash]

    def push_receipt(self, tx_hash: str, receipt: Any) -> None:
        """``0x1000`` with `receipt` to each session waiting for tx_hash (0x-hex), which it no longer
        waits for. Also for a receipt of another group found elsewhere (a Pro node's core)."""
        waiting = self.awaiting.pop(tx_hash.lower(), [])
        data = json.dumps(receipt, separators=(",", ":")).encode()
        for session, seq, _ in waiting:
            session.awaited -= 1
            session.push(ChannelMessage(ChannelType.TX_COMMITTED, seq, 0, data))

    def stop_waiting(self, tx_hash: str) -> None:
        """No receipt will come for tx_hash (0x-hex): its sessions stop counting it."""
        for session, _, _ in self.awaiting.pop(tx_hash.lower(), []):
            session.awaited -= 1

    def is_awaited(self, tx_hash: str) -> bool:
        """Whether a session still open waits for tx_hash's receipt."""
        return any(not entry[0].closed for entry in self.awaiting.get(tx_hash.lower(), []))

    # --- event-log push ----------------------------------------------------------------------

    def _register_event_log(self, session: Session, message: ChannelMessage) -> None:
        data = message.data
        # python-sdk wraps the JSON in an AMOP payload with an empty topic: header byte, topic, JSON.
        if not data or not 1 <= data[0] <= len(data):
            raise BadFrame("event-log registration without its header byte")
        filter_id: Any = ""  # what the SDK sent, checked below
        code, reason = EVENT_LOG_INVALID_PARAMS, ""
        try:
            request = json.loads(data[data[0]:])
            if not isinstance(request, dict):
                raise ValueError("not a JSON object")
            filter_id = request.get("filterID")
            # The SDK dispatches pushes by this id: a short string, unique in this session.
            if not isinstance(filter_id, str) or not 0 < len(filter_id) <= 64 or filter_id in session.filters:
                raise ValueError("filterID must be a new string of 1 to 64 characters")
            if len(session.filters) >= MAX_FILTERS:
                raise ValueError(f"at most {MAX_FILTERS} filters per connection")
            service = getattr(self.ctx.api, "log_service", None)
            if service is None:
                raise ValueError("this node keeps no log index")
            flt = filter_from_json({"fromBlock": request.get("fromBlock"), "toBlock": request.get("toBlock"),
                                    "address": request.get("addresses") or None, "topics": request.get("topics") or []})
            loop = asyncio.get_running_loop()
            subscription = service.hub.subscribe_logs(flt, notify=lambda: self._wake(loop, session))
            session.filters[filter_id] = (subscription, message.seq)
            code = EVENT_LOG_OK
        except (ValueError, UnicodeDecodeError, ChainError) as exc:
            reason = str(exc)
        answer = {"filterID": filter_id if isinstance(filter_id, str) else "", "result": code}
        if reason:
            answer["message"] = reason
        session.push(message.reply(b"\x01" + json.dumps(answer).encode()))
        if code == EVENT_LOG_OK:
            self._flush_filters(session)  # the past logs, when fromBlock is behind the head

    def _wake(self, loop: asyncio.AbstractEventLoop, session: Session) -> None:
        """The hub has logs for this session (called in the publishing thread): flush on the loop, once."""
        if session.flush_queued:
            return
        session.flush_queued = True
        try:
            loop.call_soon_threadsafe(self._flush_filters, session)
        except RuntimeError:  # the loop is closed
            pass

    def _flush_filters(self, session: Session) -> None:
        session.flush_queued = False
        for filter_id, (subscription, seq) in list(session.filters.items()):
            if subscription.closed:  # the hub dropped it (its queue filled): so do we
                del session.filters[filter_id]
                continue
            logs = [log_json(event) for event in subscription.take()]
            if logs and not session.closed:
                body = {"filterID": filter_id, "result": EVENT_LOG_OK, "logs": logs}
                session.push(ChannelMessage(ChannelType.EVENT_LOG_PUSH, seq, 0, json.dumps(body).encode()))

    def _drop_filters(self, session: Session) -> None:
        service = getattr(self.ctx.api, "log_service", None)
        for subscription, _ in session.filters.values():
            if service is not None:
                service.hub.unsubscribe(subscription.id)
        session.filters.clear()

    # --- AMOP: topics ------------------------------------------------------------------------

    def _set_topics(self, session: Session, topics: list[str]) -> None:
        amop = frozenset(t for t in topics if not t.startswith(BLOCK_NOTIFY_PREFIX))
        changed = amop != session.topics
        session.topics = amop
        if changed:
            self._advertise()
            self._verify_round()

    def local_topics(self) -> frozenset[str]:
        topics: set[str] = set()
        for session in self.sessions:
            topics |= session.topics
        return frozenset(sorted(topics)[:MAX_TOPICS])

    def _advertise(self, to: bytes | None = None) -> None:
        if self.relay_send is None:
            return
        raw = Relay("topics", topics=tuple(sorted(self.local_topics()))).encode()
        for node_id in ([to] if to is not None else self.connected_peers()):
            self.relay_send(node_id, raw)

    async def _advertise_loop(self) -> None:
        while True:
            await asyncio.sleep(ADVERTISE_S)
            self._advertise()  # again and again: a lost advertisement must not hide listeners for good
            self._verify_round()  # and challenges that timed out count as failed
            self._refusals.flush(asyncio.get_running_loop().time())

    def on_peer(self, node_id: bytes, connected: bool) -> None:
        if connected:
            self._advertise(node_id)
        else:
            self.peer_topics.pop(node_id, None)
            self._verify_round()
            for seq, pending in list(self.pending.items()):
                if pending.target_node == node_id:
                    self._answer_failed(seq, ChannelResult.REMOTE_CLIENT_PEER_UNAVAILABLE)

    # --- AMOP: unicast -----------------------------------------------------------------------

    def _amop_request(self, session: Session, message: ChannelMessage) -> None:
        topic, _ = unpack_topic(message.data)
        self.stats["amop_in"] += 1
        # Each open request holds a timer and an entry until answered: a bounded number of them.
        if len(self.pending) >= MAX_PENDING_AMOP:
            session.push(message.reply(b"", ChannelResult.REJECT_AMOP_REQ_FOR_OVER_BANDWIDTHLIMIT,
                                       ChannelType.AMOP_RESPONSE))
            return
        # The seq names the request until its answer: two open requests may not share one.
        if message.seq in self.pending:
            session.push(message.reply(b"", ChannelResult.REMOTE_PEER_UNAVAILABLE, ChannelType.AMOP_RESPONSE))
            return
        listeners = self._listeners(session, topic)
        if not listeners:  # FISCO: 100, no node has an SDK on this topic
            session.push(message.reply(b"", ChannelResult.REMOTE_PEER_UNAVAILABLE, ChannelType.AMOP_RESPONSE))
            return
        target, to = random.choice(listeners)
        if isinstance(target, Session):
            pending = PendingAmop(session, None, target, None)
            target.push(message)
        else:
            pending = PendingAmop(session, None, None, target)
            assert self.relay_send is not None
            self.stats["amop_relayed"] += 1
            if not self.relay_send(target, Relay("request", message.seq, 0, message.data, to=to).encode()):
                session.push(message.reply(b"", ChannelResult.REMOTE_PEER_UNAVAILABLE, ChannelType.AMOP_RESPONSE))
                return
        self._track(message.seq, pending)

    def _listeners(self, session: Session, topic: str) -> list[tuple[Location, str]]:
        """Where `session`'s message on `topic` may go: (location, challenge topic a relay names or "")."""
        if is_private(topic):  # only to the subscribers this very publisher approved
            return self._approved(session, topic)
        if topic.startswith(VERIFY_CHANNEL):
            # A publisher's challenge goes to the subscriber under test, not to whoever listens on its name.
            for (publisher, _, _), challenge in self.challenges.items():
                if publisher is session and challenge.cert_topic == topic:
                    return [(challenge.location, topic)]
        listeners: list[tuple[Location, str]] = [
            (s, "") for s in self.sessions if topic in s.topics and s is not session]
        listeners += [(node, "") for node, topics in self.peer_topics.items() if topic in topics]
        return listeners

    def _track(self, seq: bytes, pending: PendingAmop) -> None:
        loop = asyncio.get_running_loop()
        pending.timer = loop.call_later(AMOP_TIMEOUT_S, self._answer_failed, seq, ChannelResult.TIMEOUT)
        self.pending[seq] = pending

    def _amop_response_from_sdk(self, session: Session, message: ChannelMessage) -> None:
        pending = self.pending.get(message.seq)
        # Only the SDK that was asked may answer: another could not hijack someone else's request.
        if pending is None or pending.target_session is not session:
            _event(logging.DEBUG, "amop_response_unexpected", source=session.source)
            return
        self._deliver_response(message.seq, message.result, message.data)

    def _deliver_response(self, seq: bytes, result: int, data: bytes) -> None:
        pending = self.pending.pop(seq)
        if pending.timer is not None:
            pending.timer.cancel()
        answer = ChannelMessage(ChannelType.AMOP_RESPONSE, seq, result, data)
        if pending.origin_session is not None:
            pending.origin_session.push(answer)
        elif pending.origin_node is not None and self.relay_send is not None:
            self.relay_send(pending.origin_node, Relay("response", seq, result, data).encode())

    def _answer_failed(self, seq: bytes, result: ChannelResult) -> None:
        if seq in self.pending:
            self._deliver_response(seq, int(result), b"")

    def _forget_session(self, session: Session) -> None:
        for seq, pending in list(self.pending.items()):
            if pending.target_session is session:  # asked, and gone before answering
                self._answer_failed(seq, ChannelResult.REMOTE_CLIENT_PEER_UNAVAILABLE)
            elif pending.origin_session is session:  # the asker is gone: nobody to answer
                pending.origin_session = None

    # --- AMOP: multicast ---------------------------------------------------------------------

    def _amop_multicast(self, session: Session | None, message: ChannelMessage, to: str = "") -> None:
        topic, _ = unpack_topic(message.data)
        self.stats["amop_in"] += 1
        if is_private(topic):
            self._private_multicast(session, message, topic, to)
            return
        for other in list(self.sessions):
            if other is not session and topic in other.topics:
                other.push(message)
        if session is not None and self.relay_send is not None:  # from an SDK here: on to every node listening
            raw = Relay("multicast", message.seq, 0, message.data).encode()
            for node, topics in self.peer_topics.items():
                if topic in topics:
                    self.stats["amop_relayed"] += 1
                    self.relay_send(node, raw)

    def _private_multicast(self, session: Session | None, message: ChannelMessage, topic: str, to: str) -> None:
        if session is None:  # relayed: only the one subscriber the sending node approved
            for other in self._holders(topic, to):
                other.push(message)
            return
        for location, cert_topic in self._approved(session, topic):
            if isinstance(location, Session):
                location.push(message)
            elif self.relay_send is not None:
                self.stats["amop_relayed"] += 1
                self.relay_send(location, Relay("multicast", message.seq, 0, message.data, to=cert_topic).encode())

    def _holders(self, topic: str, to: str) -> list[Session]:
        """The sessions here a relayed message for challenge topic `to` may reach (none without one)."""
        if not to:
            return []
        return [s for s in self.sessions if to in s.topics and topic in s.topics]

    # --- AMOP: private topics ----------------------------------------------------------------

    def _candidates(self, topic: str) -> list[tuple[Location, str]]:
        """Every subscriber of private `topic` anywhere: (its session here or its node, its challenge topic)."""
        found: list[tuple[Location, str]] = [(s, c) for s in self.sessions for c in cert_topics(s.topics, topic)]
        found += [(node, c) for node, topics in self.peer_topics.items() for c in cert_topics(topics, topic)]
        return found

    def _node_hex(self, location: Location) -> str:
        return self.node_id.hex() if isinstance(location, Session) else location.hex()

    def _approved(self, publisher: Session, topic: str) -> list[tuple[Location, str]]:
        present = set(self._candidates(topic))
        return [(loc, cert) for (t, loc, cert), ok in self.approvals.get(publisher, {}).items()
                if ok and t == topic and (loc, cert) in present]

    def _verify_round(self) -> None:
        """Ask each publisher about each subscriber it has not judged; forget what is gone; time out."""
        try:
            now = asyncio.get_running_loop().time()
        except RuntimeError:
            return
        present: dict[str, set[tuple[Location, str]]] = {}  # topic -> its subscribers, computed once a round

        def subscribers(topic: str) -> set[tuple[Location, str]]:
            if topic not in present:
                present[topic] = set(self._candidates(topic))
            return present[topic]

        for key, challenge in list(self.challenges.items()):
            publisher, _, topic = key
            gone = publisher not in self.sessions or (challenge.location, challenge.cert_topic) not in subscribers(topic)
            if gone or challenge.deadline < now:
                del self.challenges[key]
                if not gone:  # no verdict in time: not approved (a new challenge topic may try again)
                    self.approvals.setdefault(publisher, {})[(topic, challenge.location, challenge.cert_topic)] = False
        for publisher in list(self.sessions):
            judged = self.approvals.setdefault(publisher, {})
            for topic in published_private_topics(publisher.topics):
                here = subscribers(topic)
                for stale in [k for k in judged if k[0] == topic and (k[1], k[2]) not in here]:
                    del judged[stale]  # that subscriber left: a newcomer with its name must prove itself again
                for location, cert_topic in sorted(here, key=lambda c: c[1]):
                    node_hex = self._node_hex(location)
                    if location is publisher or (topic, location, cert_topic) in judged \
                            or (publisher, node_hex, topic) in self.challenges:
                        continue
                    self.challenges[(publisher, node_hex, topic)] = Challenge(location, cert_topic, now + CHALLENGE_S)
                    self.stats["verify_requests"] += 1
                    publisher.push(ChannelMessage(ChannelType.REQUEST_TOPIC_CERT, new_seq(), 0,
                                                  verify_request(node_hex, topic, cert_topic)))

    def _topic_status(self, session: Session, message: ChannelMessage) -> None:
        status = parse_topic_status(message.data)
        challenge = self.challenges.pop((session, status.node_id, status.topic), None)
        # Only the publisher we asked may judge, and only the subscriber we asked about: a subscriber
        # cannot approve itself, and one publisher's verdict opens nothing for another.
        if challenge is None:
            self.stats["verify_ignored"] += 1
            _event(logging.INFO, "topic_status_ignored", source=session.source, topic=status.topic)
            return
        key = (status.topic, challenge.location, challenge.cert_topic)
        self.approvals.setdefault(session, {})[key] = status.check_result == VERIFY_OK
        _event(logging.INFO, "private_topic_verified", topic=status.topic, node=status.node_id,
               approved=status.check_result == VERIFY_OK)
        self._verify_round()  # the next subscriber behind that node, if any

    # --- AMOP: from peer nodes ---------------------------------------------------------------

    def on_relay(self, sender: bytes, raw: bytes) -> None:
        """A relay message from a peer node (RelayError when it does not parse; the host logs it)."""
        relay = decode_relay(raw)
        if relay.op == "topics":
            self.peer_topics[sender] = frozenset(relay.topics)
            self._verify_round()
        elif relay.op == "request":
            self._relayed_request(sender, relay)
        elif relay.op == "response":
            pending = self.pending.get(relay.seq)
            # Only the node that was asked may answer.
            if pending is not None and pending.target_node == sender:
                self._deliver_response(relay.seq, relay.result, relay.data)
        elif relay.op == "multicast":
            self._amop_multicast(None, ChannelMessage(ChannelType.AMOP_MULTICAST, relay.seq, 0, relay.data), relay.to)

    def _relayed_request(self, sender: bytes, relay: Relay) -> None:
        assert self.relay_send is not None
        try:
            topic, _ = unpack_topic(relay.data)
        except BadFrame:
            return
        if relay.to or is_private(topic):  # for one approved subscriber, or a challenge for one
            listeners = self._holders(topic, relay.to)
        else:
            listeners = [s for s in self.sessions if topic in s.topics]
        # Asked for a topic our SDKs no longer hold (or a seq already open here): FISCO's 101.
        if not listeners or relay.seq in self.pending or len(self.pending) >= MAX_PENDING_AMOP:
            answer = Relay("response", relay.seq, int(ChannelResult.REMOTE_CLIENT_PEER_UNAVAILABLE))
            self.relay_send(sender, answer.encode())
            return
        target = random.choice(listeners)
        target.push(ChannelMessage(ChannelType.AMOP_REQUEST, relay.seq, 0, relay.data))
        self._track(relay.seq, PendingAmop(None, sender, target, None))


def new_seq() -> bytes:
    return uuid.uuid4().hex.encode()


def submitted_hash(request_body: bytes, answer: Any) -> str | None:
    """The hash of the transaction a single sendRawTransaction request got admitted, else None."""
    if not isinstance(answer, dict) or not isinstance(answer.get("result"), str):
        return None
    try:
        request = json.loads(request_body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(request, dict) or request.get("method") != "sendRawTransaction":
        return None
    return str(answer["result"]).lower()


def _heartbeat_answer(data: bytes) -> bytes:
    """FISCO answers a v1 heartbeat ``"0"`` with ``"1"``, a v2+ ``{"heartBeat":0}`` with ``{"heartBeat":1}``."""
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return b"1"
    if isinstance(body, dict) and "heartBeat" in body:
        return b'{"heartBeat":1}'
    return b"1"
