"""The P2P host: listens, dials, admits peers and moves engine messages between them.

One ``Host`` per node process. It knows nothing of PBFT: it delivers each received message as
``(sender node id, bytes)`` to a callback and sends bytes to a node id on request. Its rules:

* **Admission.** A link counts only after (1) mutual TLS with a certificate from the chain CA,
  (2) a valid hello from the node id in that certificate (``chain.network.hello``), and (3) that
  node id is in the chain's node list (a callback, since the list lives in state). Anything else
  is dropped and logged; a bad peer never stops the host.
* **Framing.** Every frame is ``kind (1 byte) ‖ body``; kind 0 is the hello (first frame only),
  kind 1 an engine message of the chain's first group, kind 2 an AMOP relay message (to the node's
  channel server), kind 3 an engine message of another group: ``group id (8 bytes) ‖ message``.
  Oversize frames, unknown kinds and a second hello drop the link.
* **Groups.** The hello says which other groups each side serves. A group's messages go only to
  the peers that serve it, and one arrives only at that group's engine: a frame of a group this
  node does not serve, or that the peer did not announce, is refused (a counted log line, the
  link stays), never handed to another group's engine.
* **One link per peer.** Both sides may dial each other at once; then the link dialed by the
  smaller node id wins, on both sides alike. A new link dialed by the same side replaces the old
  one (the old is usually the dead half of a restart).
* **Reconnect.** Every configured endpoint has a dial loop with exponential back-off
  (``initial``, ×2, capped at ``maximum``), reset after a link comes up.
* **Bounded handshakes.** The host accepts TCP itself and asks ``chain.network.admission`` whether
  each connection may wait in the handshake: per-address caps, slots kept for the addresses in
  the peer list, stale connections replaced first. A client must speak within
  ``first_bytes_timeout`` and finish TLS and the hello within ``handshake_timeout``. Refusals are
  logged as counts per address and interval (``chain.network.refusals``), not one line each.
* **Back-pressure.** A peer that stops reading while we keep writing is dropped once its unsent
  bytes pass ``max_write_buffer``, instead of letting our memory grow without bound.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any, Callable, Coroutine

from chain.crypto.certs import load_certificate, node_id_of
from chain.crypto.keys import KeyPair
from chain.errors import ChainError, NetworkError
from chain.network.admission import EVICTED, AdmissionLimits, AdmissionPolicy, Pending
from chain.network.framing import MAX_FRAME_SIZE, FrameDecoder, FrameTooLarge, encode_frame
from chain.network.hello import ChainIdentity, Hello, HelloRejected, check_hello, make_hello
from chain.network.refusals import RefusalLog
from chain.network.tls import TlsFiles, accept_tls, client_context, server_context, wait_first_bytes

KIND_HELLO = 0
KIND_MESSAGE = 1
KIND_RELAY = 2  # an AMOP relay message between nodes' channel servers (chain.channel.amop), not for the engine
KIND_GROUP_MESSAGE = 3  # an engine message of a group other than the first: group id (8 bytes) ‖ message
GROUP_ID_SIZE = 8
READ_CHUNK = 256 * 1024
STABLE_LINK_SECONDS = 1.0  # a link that lasted this long resets the reconnect back-off
LISTEN_BACKLOG = 128
ACCEPT_BATCH = 64  # connections taken off the listen queue per wake-up, as asyncio's own servers do
ACCEPT_RETRY_SECONDS = 1.0  # pause after running out of file descriptors (asyncio's ACCEPT_RETRY_DELAY)
OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
HANDSHAKE_ERRORS = (ChainError, OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ssl.SSLError)

log = logging.getLogger("chain.network")

MessageHandler = Callable[[bytes, bytes], None]
GroupMessageHandler = Callable[[int, bytes, bytes], None]  # (group id, sender node id, message)
PeerHandler = Callable[[bytes, bool], None]


def _event(level: int, name: str, **fields: object) -> None:
    log.log(level, name, extra={"fields": fields})


def source_address(ip: str) -> str:
    """The address a connection counts against: an IPv4-mapped IPv6 address is its IPv4 one."""
    try:
        address = ipaddress.ip_address(ip.split("%")[0])
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def parse_endpoint(endpoint: str) -> tuple[str, int]:
    """'ip:port' → (ip, port); NetworkError when malformed."""
    host, sep, port = endpoint.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise NetworkError(f"bad endpoint {endpoint!r}: expected ip:port")
    return host.strip("[]"), int(port)


@dataclass(frozen=True)
class PeerInfo:
    """A configured endpoint or a linked node, as the transport knows it; the RPC layers decide how
    it is spelled in JSON (FISCO 2.x, 3.x and web3 each differ)."""

    endpoint: str  # "ip:port"
    node_id: bytes | None  # None: configured but never linked, so its node id is not known
    connected: bool
    groups: tuple[int, ...] = ()  # the other groups (2.x ids) a linked peer announced, when both serve them


@dataclass(frozen=True)
class NetworkConfig:
    listen_ip: str
    listen_port: int
    peers: tuple[str, ...]  # endpoints "ip:port" to dial
    max_frame_size: int = MAX_FRAME_SIZE
    handshake_timeout: float = 3.0  # TLS and hello, once the client has spoken
    backoff_initial: float = 0.2
    backoff_maximum: float = 5.0
    max_write_buffer: int = 64 * 1024 * 1024
    max_pending_handshakes: int = 64  # inbound connections not yet admitted, in all
    max_pending_per_source: int = 4  # ... from one address outside the peer list
    reserved_for_peers: int = 16  # ... of max_pending_handshakes kept for the peer list's addresses
    first_bytes_timeout: float = 1.0  # a client silent this long after connecting is closed
    stale_after: float = 1.0  # a handshake pending this long may be replaced by a newer connection
    refusal_log_interval: float = 10.0  # refusals from one address: one line per interval, counted

    def admission_limits(self) -> AdmissionLimits:
        return AdmissionLimits(
            max_pending=self.max_pending_handshakes,
            max_pending_per_source=self.max_pending_per_source,
            reserved_for_peers=self.reserved_for_peers,
            silent_grace=min(0.2, self.first_bytes_timeout),
            stale_after=self.stale_after,
        )


@dataclass(eq=False)
class Link:
    """One admitted, authenticated connection to a peer."""

    node_id: bytes
    endpoint: str  # the peer's address as seen by us
    dialer: bytes  # node id of the side that opened the TCP connection
    listen_port: int  # the port the peer says it listens on
    reader: asyncio.StreamReader = field(repr=False)
    writer: asyncio.StreamWriter = field(repr=False)
    closed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    groups: frozenset[int] = frozenset()  # the other groups (2.x ids) the peer's hello announced

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()


class Host:
    def __init__(
        self,
        *,
        key: KeyPair,
        identity: ChainIdentity,
        tls: TlsFiles,
        config: NetworkConfig,
        is_admitted: Callable[[bytes], bool],
        on_message: MessageHandler,
        on_peer: PeerHandler | None = None,
        on_relay: MessageHandler | None = None,
        on_group_message: GroupMessageHandler | None = None,
    ) -> None:
        self.key = key
        self.node_id = key.public_key
        self.identity = identity
        self.config = config
        self.is_admitted = is_admitted
        self.on_message = on_message
        self.on_peer = on_peer
        self.on_relay = on_relay
        self.on_group_message = on_group_message
        self.groups = frozenset(group_id for group_id, _ in identity.groups)  # besides the first
        self._own_cert_der = tls.own_cert_der()
        self._server_ctx = server_context(tls)
        self._client_ctx = client_context(tls)
        self._links: dict[bytes, Link] = {}
        self._endpoint_node: dict[str, bytes] = {}  # what node we last found at each dialed endpoint
        self._changed = asyncio.Event()
        self._listener: socket.socket | None = None
        self._bound_port = config.listen_port  # the real one once listening (config may say 0)
        self._tasks: set[asyncio.Task[None]] = set()
        self._running = False
        peer_addresses = [source_address(parse_endpoint(endpoint)[0]) for endpoint in config.peers]
        self._admission = AdmissionPolicy(config.admission_limits(), peer_addresses)
        self._refusals = RefusalLog(
            lambda level, name, fields: log.log(level, name, extra={"fields": fields}),
            interval=config.refusal_log_interval,
        )
        self.stats = {
            "dropped_links": 0, "rejected_tls": 0, "rejected_hello": 0, "frames_in": 0, "frames_out": 0,
            "accepted": 0, "refused": 0, "evicted": 0, "silent": 0,
        }

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.config.listen_ip else socket.AF_INET
        # SO_REUSEADDR (set by create_server) lets a restarted node bind while old links linger.
        self._listener = socket.create_server(
            (self.config.listen_ip, self.config.listen_port), family=family, backlog=LISTEN_BACKLOG
        )
        self._listener.setblocking(False)
        self._bound_port = int(self._listener.getsockname()[1])
        self._running = True
        asyncio.get_running_loop().add_reader(self._listener.fileno(), self._accept_ready)
        _event(logging.INFO, "p2p_listening", address=f"{self.config.listen_ip}:{self.listen_port}")
        self._spawn(self._flush_refusals())
        for endpoint in self.config.peers:
            self._spawn(self._dial_loop(endpoint))

    @property
    def listen_port(self) -> int:
        return self._bound_port

    @property
    def pending_handshakes(self) -> int:
        """Inbound connections accepted but not yet admitted as links."""
        return self._admission.pending

    async def stop(self) -> None:
        self._running = False
        if self._listener is not None:
            asyncio.get_running_loop().remove_reader(self._listener.fileno())
            self._listener.close()
            self._listener = None
        for link in list(self._links.values()):
            link.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._refusals.flush(asyncio.get_running_loop().time(), force=True)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- sending ---------------------------------------------------------------------------

    def connected(self, group: int | None = None) -> list[bytes]:
        """Node ids of peers with a live link, sorted (with a group other than the first: those serving it,
        if this node does too)."""
        return sorted(node_id for node_id, link in self._links.items() if self._shares(link, group))

    def _shared_groups(self, link: Link | None) -> tuple[int, ...]:
        return () if link is None else tuple(sorted(link.groups & self.groups))

    def _shares(self, link: Link, group: int | None) -> bool:
        """Whether link may carry messages of group (None: the first group, every link's)."""
        return group is None or (group in self.groups and group in link.groups)

    def send(self, node_id: bytes, payload: bytes, group: int | None = None) -> bool:
        """Queue payload (an engine message of the first group, or of `group`) to one peer; False when
        it is not connected or does not serve that group (the engine copes with loss)."""
        link = self._links.get(node_id)
        if link is None or link.writer.is_closing() or not self._shares(link, group):
            return False
        frame = self._engine_frame(payload, group)
        return frame is not None and self._write_frame(link, frame)

    def broadcast(self, payload: bytes, group: int | None = None) -> int:
        """Queue payload to every connected peer (of `group`, when given); how many it went to."""
        frame = self._engine_frame(payload, group)  # framed once, whatever the number of peers
        if frame is None:
            return 0
        return sum(1 for link in list(self._links.values()) if self._shares(link, group) and self._write_frame(link, frame))

    def _engine_frame(self, payload: bytes, group: int | None) -> bytes | None:
        if group is None:
            return self._message_frame(payload)
        return self._message_frame(group.to_bytes(GROUP_ID_SIZE, "big") + payload, KIND_GROUP_MESSAGE)

    def send_relay(self, node_id: bytes, payload: bytes) -> bool:
        """Queue an AMOP relay message to one peer; False when it is not connected."""
        link = self._links.get(node_id)
        if link is None or link.writer.is_closing():
            return False
        frame = self._message_frame(payload, KIND_RELAY)
        return frame is not None and self._write_frame(link, frame)

    def _message_frame(self, payload: bytes, kind: int = KIND_MESSAGE) -> bytes | None:
        """The frame carrying an engine message; None (logged) when it is above the limit every
        receiver enforces, so sending it would only get our links dropped."""
        try:
            return encode_frame(bytes([kind]) + payload, self.config.max_frame_size)
        except FrameTooLarge as exc:
            _event(logging.ERROR, "message_too_large", reason=str(exc))
            return None

    def _write_frame(self, link: Link, frame: bytes) -> bool:
        transport = link.writer.transport
        # A peer that does not read is dropped rather than buffered for without limit.
        if transport.get_write_buffer_size() + len(frame) > self.config.max_write_buffer:
            _event(logging.WARNING, "peer_dropped", peer=link.node_id.hex()[:16], reason="write buffer full")
            link.close()
            return False
        link.writer.write(frame)
        self.stats["frames_out"] += 1
        return True

    # --- peer information ------------------------------------------------------------------

    def peer_info(self) -> list[PeerInfo]:
        """Every configured endpoint and every linked node, by endpoint."""
        rows: dict[str, PeerInfo] = {}
        for endpoint in self.config.peers:
            node = self._endpoint_node.get(endpoint)
            link = self._links.get(node) if node is not None else None
            rows[endpoint] = PeerInfo(endpoint, node, link is not None, self._shared_groups(link))
        for node_id, link in self._links.items():
            host, _ = parse_endpoint(link.endpoint)
            endpoint = f"{host}:{link.listen_port}"
            if endpoint not in rows:
                rows[endpoint] = PeerInfo(endpoint, node_id, True, self._shared_groups(link))
        return sorted(rows.values(), key=lambda row: row.endpoint)

    # --- accepting and dialing -------------------------------------------------------------

    def _accept_ready(self) -> None:
        """The listening socket is readable: take the queued connections and admit or refuse each."""
        assert self._listener is not None
        for _ in range(ACCEPT_BATCH):
            try:
                sock, address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue  # the client gave up while queued
            except OSError as exc:
                now = asyncio.get_running_loop().time()
                if exc.errno not in OUT_OF_RESOURCES:
                    self._refusals.note("*", now, "accept_failed", str(exc))  # one connection lost; go on
                    continue
                # Out of descriptors: the queue must wait, or we would spin on the same error.
                self._refusals.note("*", now, "accept_paused", f"{exc.strerror}; accepting again in {ACCEPT_RETRY_SECONDS} s")
                self._pause_accepting()
                return
            self._admit(sock, address)

    def _pause_accepting(self) -> None:
        assert self._listener is not None
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._listener.fileno())

        def resume() -> None:
            if self._running and self._listener is not None:
                loop.add_reader(self._listener.fileno(), self._accept_ready)

        loop.call_later(ACCEPT_RETRY_SECONDS, resume)

    def _admit(self, sock: socket.socket, address: tuple[str, int]) -> None:
        """Decide, before any TLS work, whether this connection may wait in the handshake."""
        sock.setblocking(False)
        now = asyncio.get_running_loop().time()
        source = source_address(address[0])
        endpoint = f"{address[0]}:{address[1]}"
        self.stats["accepted"] += 1
        if not self._running:
            sock.close()
            return
        admission = self._admission.admit(source, now, endpoint)
        if admission.evict is not None:
            self.stats["evicted"] += 1
            victim = admission.evict
            if victim.close is not None:
                victim.close()
            self._refuse(victim, "connection_evicted", f"{EVICTED} ({admission.reason})", now)
        if admission.pending is None:
            self.stats["refused"] += 1
            sock.close()
            self._refusals.note(source, now, "connection_refused", admission.reason, endpoint=endpoint, direction="in")
            return
        task: asyncio.Task[None] = asyncio.ensure_future(self._inbound(sock, admission.pending))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        admission.pending.close = task.cancel

    def _refuse(self, pending: Pending, event: str, reason: str, now: float | None = None) -> None:
        when = asyncio.get_running_loop().time() if now is None else now
        self._refusals.note(pending.source, when, event, reason, endpoint=pending.endpoint, direction="in")

    async def _flush_refusals(self) -> None:
        while self._running:
            await asyncio.sleep(self.config.refusal_log_interval / 5)
            self._refusals.flush(asyncio.get_running_loop().time())

    async def _inbound(self, sock: socket.socket, pending: Pending) -> None:
        try:
            admitted = await self._inbound_handshake(sock, pending)
        finally:
            self._admission.release(pending)
        if admitted is not None:
            link, decoder, leftovers = admitted
            await self._serve(link, decoder, leftovers)

    async def _inbound_handshake(
        self, sock: socket.socket, pending: Pending
    ) -> tuple[Link, FrameDecoder, list[bytes]] | None:
        """First bytes, TLS, hello: the link if all pass in time, else None (logged, closed)."""
        writer: asyncio.StreamWriter | None = None
        tls_started = False  # from then on the TLS transport owns the socket and closes it
        try:
            # In TLS the client speaks first; a silent one is only holding a slot.
            if not await wait_first_bytes(sock, self.config.first_bytes_timeout):
                self.stats["silent"] += 1
                self.stats["rejected_tls"] += 1
                self._refuse(pending, "tls_rejected", f"sent nothing within {self.config.first_bytes_timeout} s")
                sock.close()
                return None
            self._admission.mark_talking(pending)
            started = asyncio.get_running_loop().time()
            tls_started = True
            try:
                reader, writer = await accept_tls(sock, self._server_ctx, self.config.handshake_timeout)
            except (ssl.SSLError, OSError, asyncio.TimeoutError, ConnectionError) as exc:
                # Not one of ours: garbage, plain TCP, another CA, no certificate, or too slow.
                # (asyncio has closed the transport, which closes the socket once its alert is out.)
                self.stats["rejected_tls"] += 1
                self._refuse(pending, "tls_rejected", str(exc) or type(exc).__name__)
                return None
            decoder = FrameDecoder(self.config.max_frame_size)
            left = self.config.handshake_timeout - (asyncio.get_running_loop().time() - started)
            try:
                link, leftovers = await asyncio.wait_for(
                    self._handshake(reader, writer, decoder, pending.endpoint, False), max(left, 0.01)
                )
            except HANDSHAKE_ERRORS as exc:
                self.stats["rejected_hello"] += 1
                self._refuse(pending, "peer_rejected", str(exc) or type(exc).__name__)
                writer.close()
                return None
            return link, decoder, leftovers
        except asyncio.CancelledError:
            # Replaced by a newer connection, or the host is stopping.
            if writer is not None:
                writer.close()
            elif not tls_started:
                sock.close()
            raise

    async def _dial_loop(self, endpoint: str) -> None:
        host, port = parse_endpoint(endpoint)
        backoff = self.config.backoff_initial
        while self._running:
            known = self._endpoint_node.get(endpoint)
            if known is not None and known in self._links:
                # Already linked to that node (perhaps by its own dial): wait for a change.
                self._changed.clear()
                await self._changed.wait()
                continue
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(
                        host, port, ssl=self._client_ctx, ssl_handshake_timeout=self.config.handshake_timeout
                    ),
                    timeout=self.config.handshake_timeout * 2,
                )
            except (OSError, ssl.SSLError, asyncio.TimeoutError, ConnectionError) as exc:
                _event(logging.DEBUG, "dial_failed", endpoint=endpoint, retry_in_s=round(backoff, 2), reason=str(exc) or type(exc).__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.config.backoff_maximum)
                continue
            started = asyncio.get_running_loop().time()
            admitted = await self._run_link(reader, writer, endpoint, outbound=True)
            lasted = asyncio.get_running_loop().time() - started
            # Only a link that held up resets the back-off: a peer that accepts TLS and then hangs
            # up at once (say, it no longer admits us) must not be redialled in a tight loop.
            if admitted and lasted >= STABLE_LINK_SECONDS:
                backoff = self.config.backoff_initial
            else:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.config.backoff_maximum)

    async def _run_link(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, endpoint: str, *, outbound: bool
    ) -> bool:
        """A dialed link: hello, admission, then the read loop until it ends. True if admitted."""
        decoder = FrameDecoder(self.config.max_frame_size)
        try:
            link, leftovers = await asyncio.wait_for(
                self._handshake(reader, writer, decoder, endpoint, outbound), self.config.handshake_timeout
            )
        except HANDSHAKE_ERRORS as exc:
            self.stats["rejected_hello"] += 1
            _event(logging.WARNING, "peer_rejected", endpoint=endpoint, direction="out" if outbound else "in",
                   reason=str(exc) or type(exc).__name__)
            writer.close()
            return False
        if outbound:
            self._endpoint_node[endpoint] = link.node_id
        await self._serve(link, decoder, leftovers)
        return True

    async def _serve(self, link: Link, decoder: FrameDecoder, leftovers: list[bytes]) -> None:
        """The read loop of an admitted link, until it ends."""
        if not self._register(link):
            link.close()
            return
        try:
            for frame in leftovers:
                self._handle_frame(link, frame)
            while not link.reader.at_eof():
                data = await link.reader.read(READ_CHUNK)
                if not data:
                    break
                for frame in decoder.feed(data):
                    self._handle_frame(link, frame)
        except NetworkError as exc:
            self.stats["dropped_links"] += 1
            _event(logging.WARNING, "peer_dropped", peer=link.node_id.hex()[:16], endpoint=link.endpoint, reason=str(exc))
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            _event(logging.INFO, "link_error", peer=link.node_id.hex()[:16], reason=str(exc) or type(exc).__name__)
        finally:
            link.close()
            self._unregister(link)

    async def _handshake(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        decoder: FrameDecoder,
        endpoint: str,
        outbound: bool,
    ) -> tuple[Link, list[bytes]]:
        ssl_object = writer.get_extra_info("ssl_object")
        peer_der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        # Mutual TLS guarantees a certificate; its absence means this is not a TLS link at all.
        if not peer_der:
            raise NetworkError("no peer certificate on the link")
        cert_node_id = node_id_of(load_certificate(peer_der))
        # Talking to ourselves (a peer list naming our own endpoint) is useless.
        if cert_node_id == self.node_id:
            raise HelloRejected("the peer is this node itself")
        ours = make_hello(self.key, self.identity, self.listen_port, self._own_cert_der, peer_der)
        self._write_raw(writer, KIND_HELLO, ours.encode())
        frames: list[bytes] = []
        while not frames:
            data = await reader.read(READ_CHUNK)
            if not data:
                raise NetworkError("peer closed the link during the hello")
            frames = decoder.feed(data)
        first, rest = frames[0], frames[1:]
        # The first frame must be the hello.
        if first[:1] != bytes([KIND_HELLO]):
            raise HelloRejected("the first frame is not a hello")
        hello = Hello.decode(first[1:])
        check_hello(hello, self.key.suite, self.identity, cert_node_id, peer_der, self._own_cert_der)
        # Only nodes of the chain's node list (sealers and observers) may take part.
        if not self.is_admitted(hello.node_id):
            raise HelloRejected(f"node {hello.node_id.hex()[:16]}… is not in the chain's node list")
        dialer = self.node_id if outbound else hello.node_id
        link = Link(hello.node_id, endpoint, dialer, hello.listen_port, reader, writer,
                    groups=frozenset(group_id for group_id, _ in hello.groups))
        return link, rest

    def _write_raw(self, writer: asyncio.StreamWriter, kind: int, body: bytes) -> None:
        writer.write(encode_frame(bytes([kind]) + body, self.config.max_frame_size))

    def _register(self, link: Link) -> bool:
        """Make link the peer's link unless an existing one wins; False if link lost."""
        existing = self._links.get(link.node_id)
        if existing is not None and existing.dialer != link.dialer:
            winner = min(self.node_id, link.node_id)
            if existing.dialer == winner:
                _event(logging.DEBUG, "duplicate_link_closed", peer=link.node_id.hex()[:16])
                return False
        self._links[link.node_id] = link
        if existing is not None:
            existing.close()
        else:
            _event(logging.INFO, "peer_connected", peer=link.node_id.hex()[:16], endpoint=link.endpoint,
                   direction="out" if link.dialer == self.node_id else "in")
            if self.on_peer is not None:
                self.on_peer(link.node_id, True)
        self._changed.set()
        return True

    def _unregister(self, link: Link) -> None:
        link.closed.set()
        if self._links.get(link.node_id) is link:
            del self._links[link.node_id]
            _event(logging.INFO, "peer_disconnected", peer=link.node_id.hex()[:16])
            if self.on_peer is not None:
                self.on_peer(link.node_id, False)
        self._changed.set()

    def _handle_frame(self, link: Link, frame: bytes) -> None:
        self.stats["frames_in"] += 1
        # Relay messages go to the channel server, when this node runs one.
        if frame[:1] == bytes([KIND_RELAY]) and self.on_relay is not None:
            try:
                self.on_relay(link.node_id, frame[1:])
            except ChainError as exc:
                _event(logging.INFO, "relay_refused", peer=link.node_id.hex()[:16], reason=str(exc))
            return
        if frame[:1] == bytes([KIND_GROUP_MESSAGE]):
            self._handle_group_frame(link, frame[1:])
            return
        # Only engine messages may follow the hello.
        if frame[:1] != bytes([KIND_MESSAGE]):
            raise NetworkError(f"unexpected frame kind {frame[:1].hex() or 'empty'} after the hello")
        try:
            self.on_message(link.node_id, frame[1:])
        except ChainError as exc:
            # The engine refused the message; the link itself is fine.
            _event(logging.INFO, "message_refused", peer=link.node_id.hex()[:16], reason=str(exc))

    def _handle_group_frame(self, link: Link, body: bytes) -> None:
        """An engine message of another group: to that group's engine only, if both sides serve it."""
        group = int.from_bytes(body[:GROUP_ID_SIZE], "big")
        reason = None
        # A frame too short to name a group names none.
        if len(body) < GROUP_ID_SIZE:
            reason = "a group frame shorter than its group id"
        # A group this node does not serve has no engine here: its messages are nobody's business.
        elif group not in self.groups or self.on_group_message is None:
            reason = f"group {group} is not served by this node"
        # The peer said in its signed hello which groups it serves; it may not speak for another.
        elif group not in link.groups:
            reason = f"the peer did not announce group {group} in its hello"
        if reason is not None:
            peer = link.node_id.hex()[:16]  # logged in full the first time, then counted (a peer may repeat it)
            self._refusals.note(peer, asyncio.get_running_loop().time(), "group_frame_refused", reason,
                                peer=peer, group=group)
            return
        assert self.on_group_message is not None
        try:
            self.on_group_message(group, link.node_id, body[GROUP_ID_SIZE:])
        except ChainError as exc:
            _event(logging.INFO, "message_refused", peer=link.node_id.hex()[:16], group=group, reason=str(exc))
