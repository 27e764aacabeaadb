"""A Pro node's core process for one group: consensus, execution and storage (docs/nodes.md "Pro form").

FISCO BCOS 3.x Pro runs a node's scheduling, execution and storage per group in their own service,
behind an RPC service and a Gateway service the groups share. Here the core is the very
``GroupNode`` an Air node runs per group (``chain.node.group``) — store, pool, replica thread,
timers — with two things around it instead of a P2P host and an HTTP server:

* ``GatewayLink`` stands in for the host: SEND and BROADCAST frames to the gateway process, ENGINE
  frames from it, and the gateway's view of the peers (PEERS) for getPeers and getSyncStatus. The
  core dials the gateway and dials again until it answers (the gateway may start later or restart);
  while no gateway is linked its messages go nowhere, which the replica already copes with
  (whatever progress needs is sent again, DESIGN principle 7).
* the JSON-RPC method logic (``chain.rpc.server.handle_body_async``) runs here, on REQUEST frames
  the rpc process forwards: the answer is the one an Air node would give, because it is the same code.
* group0's core also serves what an Air node serves for group0 besides JSON-RPC, on what the rpc
  process relays (``chain.node.pro_streams``): Ethereum JSON-RPC bodies (WEB3, answered by
  ``chain.web3.server.handle_async``), and streams — a channel session served by the very
  ``ChannelServer`` of an Air node (``serve_session``; its AMOP relays to other nodes go through the
  gateway as RELAY frames, and its peers come from PEERS), a ``/ws`` socket served by
  ``chain.rpc.ws``, a web3 websocket served by ``chain.web3.server``. A channel request naming
  another group (or listing every group) is handed back to the rpc process (FORWARD), which answers
  it as over HTTP (FORWARDED); receipts of other groups' transactions are polled for that way
  (``chain.node.pro_receipts``), so the channel serves every group as an Air node's does.

The core also tells the gateway the group's node list in force (NODES), at start and after each
block that changes it: the gateway admits peers by it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import logging
from pathlib import Path
from typing import Any

from chain.channel.amop import RelayError
from chain.channel.server import ChannelServer, submitted_hash
from chain.crypto.keys import load_private_key
from chain.errors import ConfigError
from chain.ledger.genesis import FIRST_GROUP_NAME
from chain.network.host import PeerInfo
from chain.node.config import NodeConfig, check_groups
from chain.node.group import GroupNode
from chain.node.local_link import (
    GATEWAY_SOCKET, KIND_BROADCAST, KIND_ENGINE, KIND_FORWARD, KIND_FORWARDED, KIND_NAMES, KIND_NODES, KIND_PEERS, KIND_RELAY, KIND_REQUEST,
    KIND_RESPONSE, KIND_SEND, KIND_STREAM_ACK, KIND_STREAM_CLOSE, KIND_STREAM_DATA, KIND_STREAM_OPEN, KIND_WEB3,
    NODE_ID_SIZE, REQUEST_NUMBER_SIZE, LocalHello, LocalLink, LocalProtocolError, core_socket, dial, listen, read_hello,
)
from chain.node.logging import event
from chain.node.node import CALL_WORKERS
from chain.node.pro_receipts import ReceiptPoller
from chain.node.pro_rpc import ANSWER_TIMEOUT_S, GroupRouter, down_answer
from chain.node.pro_streams import (
    CLOSE_GOING_AWAY, MAX_STREAMS, ByteStream, CoreStream, MessageStream, StreamOpen, close_body, numbered,
    split_number,
)
from chain.rpc.methods import RpcContext
from chain.rpc.server import handle_body_async, parse_body
from chain.rpc.ws import WsConnection, close_sockets, serve_socket

log = logging.getLogger("chain.node")

REDIAL_S = 0.2  # how soon a core dials the gateway again (a local socket: cheap to try)


class GatewayLink:
    """The P2P layer as a core sees it (chain.node.group.PeerLinks): the gateway process."""

    def __init__(self) -> None:
        self.link: LocalLink | None = None
        self._peers: list[PeerInfo] = []
        self._linked: list[bytes] = []
        self.on_peer: Any = None  # (node id, linked?) when a peer links or unlinks: the channel's AMOP adverts

    def send(self, node_id: bytes, payload: bytes, group: int | None = None) -> bool:
        link = self.link
        return link is not None and link.send(KIND_SEND, node_id + payload)

    def broadcast(self, payload: bytes, group: int | None = None) -> int:
        link = self.link
        return len(self._linked) if link is not None and link.send(KIND_BROADCAST, payload) else 0

    def send_relay(self, node_id: bytes, payload: bytes) -> bool:
        """An AMOP relay message to one peer, through the gateway (chain.channel.server's relay_send)."""
        link = self.link
        return link is not None and node_id in self._linked and link.send(KIND_RELAY, node_id + payload)

    def connected(self, group: int | None = None) -> list[bytes]:
        """The peers linked to the gateway that serve this core's group (the gateway filtered them)."""
        return list(self._linked) if self.link is not None else []

    def peer_info(self) -> list[PeerInfo]:
        return list(self._peers)

    def update(self, body: bytes) -> None:
        """A PEERS frame: the gateway's peers; LocalProtocolError if it is not the documented JSON."""
        try:
            data = json.loads(body)
            peers = [PeerInfo(row["endpoint"], bytes.fromhex(row["nodeId"]) if row["nodeId"] else None,
                              bool(row["connected"]), tuple(int(g) for g in row["groups"])) for row in data["peers"]]
            linked = [bytes.fromhex(node_id) for node_id in data["linked"]]
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            raise LocalProtocolError(f"PEERS is not the documented JSON: {exc}") from None
        before, self._peers, self._linked = self._linked, peers, linked
        self._tell(before, linked)

    def _tell(self, before: list[bytes], after: list[bytes]) -> None:
        if self.on_peer is not None:
            for node_id in after:
                if node_id not in before:
                    self.on_peer(node_id, True)
            for node_id in before:
                if node_id not in after:
                    self.on_peer(node_id, False)

    def lost(self) -> None:
        self.link = None
        before, self._linked = self._linked, []
        self._tell(before, [])
        self._peers = [PeerInfo(p.endpoint, p.node_id, False, ()) for p in self._peers]


class ProCore:
    """One group's core process: a GroupNode between the gateway and the rpc process."""

    def __init__(self, node_dir: str | Path, group: str, config: NodeConfig | None = None) -> None:
        self.directory = Path(node_dir).resolve()
        self.config = config or NodeConfig.load(self.directory)
        names = self.config.group_names
        if group not in names:
            raise ConfigError(f"{self.config.node.name} does not serve {group} (it serves {', '.join(names)})")
        check_groups(self.directory, self.config, names)
        key = load_private_key(self.directory / self.config.node.key_file)
        self.group = GroupNode(self.directory, self.config, group, key, tagged=len(names) > 1)
        self.gateway = GatewayLink()
        self.group.attach(self.gateway)
        self.group.on_commit.append(self._after_commit)
        self.context = RpcContext(self.group)  # the same method table an Air node serves
        # group0's core serves the channel, /ws and web3 sessions the rpc process relays (as Air serves group0)
        self.channel: ChannelServer | None = None
        self.receipts: ReceiptPoller | None = None
        self.router = GroupRouter(self.directory, self.config)  # which requests are another core's
        self._rpc_links: list[LocalLink] = []  # the rpc processes linked, newest last: FORWARD goes there
        self._forwarded: dict[int, tuple[LocalLink, asyncio.Future[bytes]]] = {}
        self._forward_numbers = itertools.count(1)
        self.web3: Any = None  # chain.web3.methods.Web3Context when [web3_rpc] is enabled
        self._sockets: set[Any] = set()  # the websockets being served, closed on stop
        if group == FIRST_GROUP_NAME:
            section = self.config.channel  # the port is the rpc process's: getChannelStatus reports it
            self.channel = ChannelServer(self.group, listen_ip=section.listen_ip, listen_port=section.listen_port,
                                         context=None, group_id=self.group.group_id,
                                         relay_send=self.gateway.send_relay, connected_peers=self.gateway.connected,
                                         answer=self._channel_answer)
            self.receipts = ReceiptPoller(self.channel, self._ask_rpc)
            # getChannelStatus (chain.channel.status) reads the node API's `channel`, as on an Air node
            setattr(self.group, "channel", self.channel)
            self.group.on_commit.append(self.channel.notify_block)
            self.gateway.on_peer = self.channel.on_peer
            if self.config.web3_rpc.enabled and self.group.suite.name == "standard":
                from chain.web3.methods import Web3Context
                self.web3 = Web3Context(self.group, self.config.web3_rpc.chain_id, self.group.log_service)
        self._nodes_sent: list[bytes] = []
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._running = False

    @property
    def name(self) -> str:
        return self.group.group_name

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(
            max_workers=CALL_WORKERS, thread_name_prefix=f"{self.config.node.name}-{self.name}-rpc"))
        self._running = True
        self.group.start(loop)
        self._server = await listen(core_socket(self.name), self._serve_rpc, f"core {self.name}")
        self._spawn(self._gateway_loop())
        if self.channel is not None:
            self.channel.start_background()
        self.group.start_ticking()
        event(log, "core_started", group=self.name, head=self.group.store.head_number(),
              socket=core_socket(self.name))

    async def stop(self) -> None:
        self._running = False
        if self._server is not None:
            self._server.close()
        if self.gateway.link is not None:
            self.gateway.link.close()
        await close_sockets(self._sockets)
        if self.channel is not None:
            await self.channel.stop()
        if self.receipts is not None:
            await self.receipts.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.group.stop()
        self.group.close()
        Path(core_socket(self.name)).unlink(missing_ok=True)
        event(log, "core_stopped", group=self.name)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- the gateway -----------------------------------------------------------------------

    async def _gateway_loop(self) -> None:
        """Dial the gateway, serve the link until it drops, dial again (the gateway may restart)."""
        while self._running:
            try:
                link = await dial(GATEWAY_SOCKET, LocalHello("core", self.name), f"core {self.name} -> gateway")
            except OSError:
                await asyncio.sleep(REDIAL_S)
                continue
            self.gateway.link = link
            self._nodes_sent = []
            self._send_nodes()
            event(log, "gateway_linked", group=self.name)
            try:
                await self._from_gateway(link)
            except LocalProtocolError as exc:
                event(log, "gateway_link_refused", logging.WARNING, group=self.name, reason=str(exc))
            finally:
                link.close()
                self.gateway.lost()
                event(log, "gateway_unlinked", logging.WARNING, group=self.name)
            await asyncio.sleep(REDIAL_S)

    async def _from_gateway(self, link: LocalLink) -> None:
        async for kind, body in link.frames():
            if kind == KIND_ENGINE and len(body) > NODE_ID_SIZE:
                self.group.on_message(body[:NODE_ID_SIZE], body[NODE_ID_SIZE:])
            elif kind == KIND_PEERS:
                self.gateway.update(body)
            elif kind == KIND_RELAY and len(body) > NODE_ID_SIZE and self.channel is not None:
                try:
                    self.channel.on_relay(body[:NODE_ID_SIZE], body[NODE_ID_SIZE:])
                except RelayError as exc:  # a peer's bad relay message: dropped, as an Air host drops it
                    event(log, "relay_refused", peer=body[:8].hex(), reason=str(exc))
            else:  # the gateway sends nothing else
                raise LocalProtocolError(f"a gateway does not send {KIND_NAMES.get(kind, kind)} ({len(body)} bytes)")

    def _after_commit(self, number: int) -> None:
        self._send_nodes()

    def _send_nodes(self) -> None:
        """Tell the gateway the group's node list when it changed (it admits peers by it)."""
        nodes = self.group.node_ids()
        if nodes != self._nodes_sent and self.gateway.link is not None and self.gateway.link.send(KIND_NODES, b"".join(nodes)):
            self._nodes_sent = nodes

    # --- the rpc process -------------------------------------------------------------------

    async def _serve_rpc(self, link: LocalLink) -> None:
        """One rpc process's link: each REQUEST (and WEB3) answered concurrently; streams served
        until either side closes them, all of them closed when the link goes."""
        hello = await read_hello(link)
        # Only an rpc process asking for this very group: anything else is a wiring mistake.
        if hello.role != "rpc" or hello.group != self.name:
            raise LocalProtocolError(f"core {self.name} serves rpc for {self.name}, not {hello.role} for {hello.group}")
        link.name = f"rpc -> core {self.name}"
        streams: dict[int, CoreStream] = {}
        self._rpc_links.append(link)
        try:
            async for kind, body in link.frames():
                if kind in (KIND_REQUEST, KIND_WEB3) and len(body) >= REQUEST_NUMBER_SIZE:
                    self._spawn(self._answer(link, kind, body[:REQUEST_NUMBER_SIZE], body[REQUEST_NUMBER_SIZE:]))
                elif kind == KIND_FORWARDED and len(body) >= REQUEST_NUMBER_SIZE:
                    waiting = self._forwarded.get(int.from_bytes(body[:REQUEST_NUMBER_SIZE], "big"))
                    # only the link it was asked on answers it (else one that timed out: dropped)
                    if waiting is not None and waiting[0] is link and not waiting[1].done():
                        waiting[1].set_result(body[REQUEST_NUMBER_SIZE:])
                elif kind == KIND_STREAM_OPEN:
                    self._open_stream(link, streams, *split_number(body))
                elif kind in (KIND_STREAM_DATA, KIND_STREAM_ACK, KIND_STREAM_CLOSE):
                    number, rest = split_number(body)
                    stream = streams.get(number)
                    if stream is not None:  # else one that just ended here: its CLOSE is on its way
                        stream.on_frame(kind, rest)
                else:
                    raise LocalProtocolError(f"an rpc process does not send {KIND_NAMES.get(kind, kind)} ({len(body)} bytes)")
        finally:
            self._rpc_links.remove(link)
            for asked_on, future in self._forwarded.values():  # nothing handed back there waits for ever
                if asked_on is link and not future.done():
                    future.set_exception(ConnectionError("the rpc process closed the link"))
            for stream in list(streams.values()):  # the rpc process is gone: so are its clients
                stream.on_frame(KIND_STREAM_CLOSE, b"")

    def _open_stream(self, link: LocalLink, streams: dict[int, CoreStream], number: int, body: bytes) -> None:
        if number in streams:
            raise LocalProtocolError(f"stream {number} is open already")
        opened = StreamOpen.decode(body)
        served = opened.what == "channel" and self.channel is not None or opened.what == "ws" \
            or opened.what == "web3" and self.web3 is not None
        if not served or len(streams) >= MAX_STREAMS:
            why = f"{opened.what} is not served by core {self.name}" if not served else f"{MAX_STREAMS} streams open"
            event(log, "stream_refused", logging.WARNING, group=self.name, what=opened.what, reason=why)
            link.send(KIND_STREAM_CLOSE, numbered(number, close_body(CLOSE_GOING_AWAY, why)))
            return
        stream: CoreStream = ByteStream(link.send, number, opened) if opened.what == "channel" \
            else MessageStream(link.send, number, opened)
        streams[number] = stream
        self._spawn(self._serve_stream(streams, stream))

    async def _serve_stream(self, streams: dict[int, CoreStream], stream: CoreStream) -> None:
        """The session code an Air node runs for this kind of connection, on the stream."""
        try:
            if isinstance(stream, ByteStream):
                assert self.channel is not None
                await self.channel.serve_session(stream, stream, stream.source)
            elif isinstance(stream, MessageStream) and stream.what == "ws":
                await serve_socket(stream, self._sockets, WsConnection(self.context, stream, stream.abort))
            elif isinstance(stream, MessageStream):
                from chain.web3.server import Web3Connection
                await serve_socket(stream, self._sockets, Web3Connection(self.web3, stream))
        except Exception:  # a bug ends this session only
            log.exception("stream %s (%s) failed", stream.number, stream.what)
        finally:
            stream.end()
            streams.pop(stream.number, None)

    async def _answer(self, link: LocalLink, kind: int, number: bytes, request: bytes) -> None:
        if kind == KIND_WEB3:
            answer = await self._answer_web3(request)
        else:
            answer = await handle_body_async(self.context, request)
        text = b"" if answer is None else json.dumps(answer, separators=(",", ":")).encode()
        link.send(KIND_RESPONSE, number + text)

    # --- the channel's requests for other groups ----------------------------------------------

    async def _channel_answer(self, body: bytes) -> Any:
        """A channel request's answer: this core's own (group0, no group, an unknown one), or, for one
        naming another group of the node or listing them all, the rpc process's (FORWARD)."""
        if len(self.router.ids) == 1 or not self.router.for_other_cores(body):
            return await handle_body_async(self.context, body)
        answer = await self._ask_rpc(body)
        tx_hash = submitted_hash(body, answer)
        if tx_hash is not None and self.receipts is not None:  # admitted by another group: its receipt is polled for
            request = json.loads(body)
            self.receipts.watch(tx_hash, self.router.ids[self.router.group_of(request)])
        return answer

    async def _ask_rpc(self, body: bytes) -> Any:
        """The answer the rpc process gives `body` as over HTTP; FISCO's -32000 when it cannot."""
        link = next((link for link in reversed(self._rpc_links) if not link.closed), None)
        number = next(self._forward_numbers)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        try:
            if link is None:
                raise ConnectionError("no rpc process linked")
            self._forwarded[number] = (link, future)
            if not link.send(KIND_FORWARD, number.to_bytes(REQUEST_NUMBER_SIZE, "big") + body):
                raise ConnectionError("the link to the rpc process is closed")
            text = await asyncio.wait_for(future, ANSWER_TIMEOUT_S)
            return json.loads(text) if text else None
        except (ConnectionError, asyncio.TimeoutError, ValueError) as exc:
            event(log, "forward_failed", logging.WARNING, group=self.name, reason=str(exc) or type(exc).__name__)
            try:
                request = parse_body(body)
            except ValueError:
                request = {"id": None}
            return down_answer(request)
        finally:
            self._forwarded.pop(number, None)

    async def _answer_web3(self, body: bytes) -> Any:
        if self.web3 is None:
            return {"jsonrpc": "2.0", "id": None,
                    "error": {"code": -32601, "message": f"core {self.name} serves no web3 endpoint"}}
        from chain.web3.server import handle_async
        return await handle_async(self.web3, body)
