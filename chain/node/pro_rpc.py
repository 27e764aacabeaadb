"""A Pro node's rpc process: the node's only client endpoint (docs/nodes.md "Pro form").

FISCO BCOS 3.x Pro's RPC service takes clients' JSON-RPC and hands each request to the node of the
group it names; when that node is not there it answers ``NodeNotExistOrNotStarted`` (-32000). The
rpc process here does the same and nothing more: it listens on the node's JSON-RPC port, reads
which group a request names (the 2.x group id or the 3.x group name, exactly as
``chain.rpc.methods.select_group`` reads it) and forwards the HTTP body to that group's core over
``core.<group>.sock``. The core runs the method table an Air node runs and sends the answer back.

A request that names no group (getClientVersion...), names an unknown one or cannot be parsed goes
to group0's core, which answers it as an Air node would (-40001 for an unknown group, -32700...).
The methods listing the node's groups (getGroupList, getGroupInfoList) are asked of every core and
the answers merged, since each core knows its own group only.
A batch whose requests all name one group goes whole (its transactions are admitted together); a
batch mixing groups is split per request and the answers put back in order.

It is also the node's only endpoint for the sessions an Air node serves for group0 (FISCO 3.x Pro's
RPC service holds the SDKs' connections too), and again it only relays (``chain.node.pro_streams``):

* the channel port (when the node directory holds the channel certificate, as ``chain build`` writes
  it): it terminates the SDK's mutual TLS (``chain.channel.server.accept_tls``, the Air check) and
  relays the plain byte stream to group0's core, which serves it with the Air ``ChannelServer``
  (RPC, receipt and block pushes, event logs, AMOP — relayed to other nodes through the gateway);
* ``GET /ws`` on the JSON-RPC port: the websocket's messages relayed to group0's core, which serves
  them with ``chain.rpc.ws`` (subscribe blocks / logs);
* the web3 endpoint, when ``[web3_rpc]`` enables it: each POST body forwarded (WEB3) to group0's core,
  which answers with ``chain.web3``; its websocket (``eth_subscribe``) relayed as a stream.

What it keeps no state about: the ledger, the sessions. Killing it stops no consensus and drops the
SDKs' connections (they reconnect); a new one serves again as soon as it listens, dialing each core
on its first request for it. A ``/ws`` request naming another group (or listing every group) is
answered here as over HTTP; a channel request is read by group0's core, which hands one naming
another group back here (FORWARD) and gets the answer this process gives over HTTP (FORWARDED), so
the channel serves every group as an Air node's does. Web3 serves group0 only, as in Air.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import ssl
from pathlib import Path
from typing import Any, Awaitable, Callable

from aiohttp import WSMsgType, web

from chain.channel.server import MAX_SESSIONS, READ_CHUNK, accept_tls
from chain.channel.tls import channel_server_context
from chain.errors import ChainError
from chain.ledger.genesis import FIRST_GROUP_NAME, GenesisConfig, group_id_of
from chain.network.refusals import RefusalLog
from chain.node.config import NodeConfig, group_genesis_file
from chain.node.local_link import (
    KIND_FORWARD, KIND_FORWARDED, KIND_NAMES, KIND_REQUEST, KIND_RESPONSE, KIND_STREAM_ACK, KIND_STREAM_CLOSE, KIND_STREAM_DATA, KIND_STREAM_OPEN,
    KIND_WEB3, REQUEST_NUMBER_SIZE, LocalHello, LocalLink, LocalProtocolError, core_socket, dial,
)
from chain.node.logging import event
from chain.node.pro_streams import CLOSE_GOING_AWAY, RelayEnd, StreamOpen, numbered, split_number
from chain.rpc import params as p
from chain.rpc.errors import PARSE_ERROR, REQUEST_TOO_LARGE, RpcError
from chain.rpc.exposure import exposure_warning
from chain.rpc.methods import is_grouped, is_number_text
from chain.rpc.server import MAX_BATCH, MAX_BODY_SIZE, bound_port, parse_body
from chain.rpc.ws import close_sockets

log = logging.getLogger("chain.node")

NODE_NOT_STARTED = -32000  # FISCO 3.x JsonRpcError::NodeNotExistOrNotStarted
NODE_NOT_STARTED_MESSAGE = "Invalid request for the specified node of doesn't exist or doesn't started!"  # FISCO's words
ANSWER_TIMEOUT_S = 30.0
# Methods whose answer lists every group: each core knows only its own, so all are asked and merged.
LISTS_GROUPS = frozenset({"getGroupList", "getGroupInfoList"})
# Methods about the group their first parameter names without being "grouped": that group's core answers.
ASKS_ABOUT_A_GROUP = frozenset({"queryGroupStatus"})
# Requests a core may hand back at once (each an SDK's request: 256 sessions of 16 in flight each).
MAX_FORWARDS = 256 * 16  # a core that has not answered by then is treated as down for this request


class CoreDown(Exception):
    """The core of a group could not be reached, or dropped the request."""


Answerer = Callable[[bytes], Awaitable[Any]]  # an HTTP body -> the JSON value to answer (None: nothing)


class CoreClient:
    """The rpc process's link to one group's core: requests numbered, answers matched by number.
    A core may also hand a request back (FORWARD: group0's core, for a channel request naming another
    group): ``on_forward`` answers it as HTTP would, and the answer goes back as FORWARDED."""

    def __init__(self, group: str, on_forward: Answerer | None = None) -> None:
        self.group = group
        self.on_forward = on_forward
        self._forwards: set[asyncio.Task[None]] = set()
        self._link: LocalLink | None = None
        self._pending: dict[int, asyncio.Future[bytes]] = {}
        self._numbers = itertools.count(1)
        self._streams: dict[int, RelayEnd] = {}
        self._stream_numbers = itertools.count(1)
        self._connecting = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None

    async def ask(self, body: bytes, kind: int = KIND_REQUEST) -> bytes:
        """The core's answer to one HTTP body (b"": nothing to answer); CoreDown if it cannot give one.
        kind: REQUEST (JSON-RPC) or WEB3 (Ethereum JSON-RPC, group0's core)."""
        link = await self._connected()
        number = next(self._numbers)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[number] = future
        try:
            if not link.send(kind, number.to_bytes(REQUEST_NUMBER_SIZE, "big") + body):
                raise CoreDown(f"the link to {self.group}'s core is closed")
            return await asyncio.wait_for(future, ANSWER_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise CoreDown(f"{self.group}'s core did not answer within {ANSWER_TIMEOUT_S} s") from None
        finally:
            self._pending.pop(number, None)

    async def open_stream(self, what: str, source: str) -> RelayEnd:
        """A new stream to the core for a client's session; CoreDown if the core cannot be reached.
        The caller relays it (RelayEnd.relay) and then calls ``forget``."""
        link = await self._connected()
        number = next(self._stream_numbers)
        end = RelayEnd(link.send, number)
        self._streams[number] = end
        if not link.send(KIND_STREAM_OPEN, numbered(number, StreamOpen(what, source).encode())):
            self._streams.pop(number, None)
            raise CoreDown(f"the link to {self.group}'s core is closed")
        return end

    def forget(self, end: RelayEnd) -> None:
        self._streams.pop(end.number, None)

    async def _connected(self) -> LocalLink:
        async with self._connecting:  # one dial at a time; the others wait for its link
            if self._link is not None and not self._link.closed:
                return self._link
            try:
                link = await dial(core_socket(self.group), LocalHello("rpc", self.group), f"rpc -> core {self.group}")
            except OSError as exc:
                raise CoreDown(f"{self.group}'s core is not listening: {exc}") from None
            self._link = link
            self._reader = asyncio.ensure_future(self._read(link))
            event(log, "core_linked", group=self.group)
            return link

    async def _read(self, link: LocalLink) -> None:
        try:
            async for kind, body in link.frames():
                if kind in (KIND_STREAM_DATA, KIND_STREAM_ACK, KIND_STREAM_CLOSE):
                    number, rest = split_number(body)
                    end = self._streams.get(number)
                    if end is not None:  # else a session that just ended here
                        end.on_frame(kind, rest)
                    continue
                if kind == KIND_FORWARD and len(body) >= REQUEST_NUMBER_SIZE and self.on_forward is not None:
                    if len(self._forwards) >= MAX_FORWARDS:
                        raise LocalProtocolError(f"more than {MAX_FORWARDS} FORWARD requests unanswered")
                    task = asyncio.ensure_future(self._serve_forward(link, body[:REQUEST_NUMBER_SIZE],
                                                                     body[REQUEST_NUMBER_SIZE:]))
                    self._forwards.add(task)
                    task.add_done_callback(self._forwards.discard)
                    continue
                if kind != KIND_RESPONSE or len(body) < REQUEST_NUMBER_SIZE:
                    raise LocalProtocolError(f"a core answers RESPONSE, FORWARD and stream frames, not {KIND_NAMES.get(kind, kind)}")
                future = self._pending.get(int.from_bytes(body[:REQUEST_NUMBER_SIZE], "big"))
                if future is not None and not future.done():  # else the client has gone (timed out)
                    future.set_result(body[REQUEST_NUMBER_SIZE:])
        except LocalProtocolError as exc:
            event(log, "core_link_refused", logging.WARNING, group=self.group, reason=str(exc))
        finally:
            link.close()
            if self._link is link:
                self._link = None
            for future in self._pending.values():  # every request on this link is answered, none hangs
                if not future.done():
                    future.set_exception(CoreDown(f"{self.group}'s core closed the link"))
            for end in list(self._streams.values()):  # and every session on it ends (the clients reconnect)
                end.lost()
            self._streams.clear()
            event(log, "core_unlinked", logging.WARNING, group=self.group)

    async def _serve_forward(self, link: LocalLink, number: bytes, body: bytes) -> None:
        """A request the core hands back: answered as over HTTP (by whichever core its group names)."""
        assert self.on_forward is not None
        try:
            answer = await self.on_forward(body)
        except Exception:  # a bug answers nothing: the core's wait for it times out, nothing else stops
            log.exception("forwarded request failed")
            return
        text = b"" if answer is None else json.dumps(answer, separators=(",", ":")).encode()
        link.send(KIND_FORWARDED, number + text)

    async def close(self) -> None:
        if self._link is not None:
            self._link.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        for task in list(self._forwards):
            task.cancel()
        if self._forwards:
            await asyncio.gather(*self._forwards, return_exceptions=True)


def down_answer(request: Any) -> Any:
    """FISCO's answer for a request (or a batch) whose group's node is not running (None: nothing)."""
    if isinstance(request, list):
        return [a for a in (_down(item) for item in request) if a is not None] or None
    return _down(request)


def _down(request: Any) -> dict[str, Any] | None:
    """FISCO's answer for a request whose group's node is not running (None for a notification)."""
    if isinstance(request, dict) and "id" not in request:
        return None
    request_id = request.get("id") if isinstance(request, dict) else None
    safe = request_id if isinstance(request_id, (str, int, type(None))) and not isinstance(request_id, bool) else None
    return {"jsonrpc": "2.0", "id": safe, "error": RpcError(NODE_NOT_STARTED, NODE_NOT_STARTED_MESSAGE).to_json()}


class GroupRouter:
    """Which of a Pro node's cores answers a JSON-RPC request: read in the rpc process (every request)
    and in group0's core (whether a channel request is its own to answer, or to hand back)."""

    def __init__(self, node_dir: str | Path, config: NodeConfig | None = None) -> None:
        self.directory = Path(node_dir).resolve()
        self.config = config or NodeConfig.load(self.directory)
        names = self.config.group_names
        first = GenesisConfig.load(self.directory / group_genesis_file(self.config, FIRST_GROUP_NAME))
        # 2.x ids: group0's is its genesis's (1 unless built otherwise), group<K>'s is K + 1.
        self.ids = {name: first.group_id if name == FIRST_GROUP_NAME else group_id_of(name) for name in names}
        self.suite = first.suite

    def group_of(self, request: Any) -> str:
        """The group whose core answers `request`: the one its selector names, else group0's."""
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return FIRST_GROUP_NAME
        params = request.get("params")
        if not isinstance(params, list) or not params:
            return FIRST_GROUP_NAME
        if request["method"] in ASKS_ABOUT_A_GROUP:  # [groupId]: the core of that group knows it runs
            return self._named(params[0])
        if not is_grouped(request["method"], params):
            return FIRST_GROUP_NAME
        return self._named(params[0])

    def _named(self, selector: Any) -> str:
        """The group a 2.x id or 3.x name selects, if it is one of this node's; else group0."""
        if isinstance(selector, str) and not is_number_text(selector):  # 3.x: a group name
            return selector if selector in self.ids else FIRST_GROUP_NAME
        try:
            number = p.as_int(selector, "groupId")
        except RpcError:
            return FIRST_GROUP_NAME  # group0's core says what is wrong with it
        return next((name for name, group_id in self.ids.items() if group_id == number), FIRST_GROUP_NAME)

    def fans_out(self, request: Any) -> bool:
        """Whether request lists every group of the node: then every core is asked (each knows its own)."""
        return len(self.ids) > 1 and isinstance(request, dict) and request.get("method") in LISTS_GROUPS

    def for_other_cores(self, body: bytes) -> bool:
        """Whether a request (or a batch) names a group other than group0 or lists every group."""
        try:
            request = parse_body(body)
        except ValueError:
            return False  # group0's core answers the parse error
        items = request if isinstance(request, list) else [request]
        return any(self.group_of(item) != FIRST_GROUP_NAME or self.fans_out(item) for item in items)


class ProRpc(GroupRouter):
    """The JSON-RPC endpoint of a Pro node: forwards each request to its group's core."""

    def __init__(self, node_dir: str | Path, config: NodeConfig | None = None) -> None:
        super().__init__(node_dir, config)
        self.cores = {name: CoreClient(name, self.answer) for name in self.config.group_names}
        self._runner: web.AppRunner | None = None
        self._web3: web.AppRunner | None = None
        self._channel: asyncio.AbstractServer | None = None
        self._channel_context: ssl.SSLContext | None = None
        self._channel_clients: set[asyncio.Task[Any]] = set()
        self._sockets: set[web.WebSocketResponse] = set()  # client websockets, closed on stop
        self._refusals = RefusalLog(lambda level, name, fields: log.log(level, name, extra={"fields": fields}))
        self.channel_port: int | None = None
        self.web3_port: int | None = None

    async def answer(self, body: bytes) -> Any:
        """The JSON value to answer for one HTTP body (None: nothing), from the cores."""
        try:
            request = parse_body(body)
        except ValueError:  # group0's core answers the parse error, in its own words
            return await self._forward(FIRST_GROUP_NAME, body, {"id": None})
        if isinstance(request, list) and 0 < len(request) <= MAX_BATCH:
            groups = {self.group_of(item) for item in request}
            if len(groups) > 1 or any(self.fans_out(item) for item in request):
                # a batch mixing groups: each request to its own core(s), the answers in order
                answers = [await self._one(item, json.dumps(item).encode()) for item in request]
                return [a for a in answers if a is not None] or None
            return await self._forward(groups.pop(), body, request)
        return await self._one(request, body)

    async def _one(self, request: Any, body: bytes) -> Any:
        if self.fans_out(request):
            return await self._fan_out(request, body)
        return await self._forward(self.group_of(request), body, request)

    async def _fan_out(self, request: dict[str, Any], body: bytes) -> Any:
        """getGroupList / getGroupInfoList: every running core's answer, merged in group order (a
        core that is down is left out, as its group cannot be served; an error is answered as is)."""
        asked = [a for a in [await self._forward(name, body, request) for name in self.cores] if a is not None]
        answers = [a for a in asked if a.get("error", {}).get("code") != NODE_NOT_STARTED]
        if not answers:  # every core is down (or a notification: nothing to answer)
            return asked[0] if asked else None
        errors = [a for a in answers if "result" not in a]
        if errors:  # the request itself is wrong: every core says so alike
            return errors[0]
        merged = answers[0]
        for other in answers[1:]:
            if isinstance(merged["result"], list):  # 2.x getGroupList, 3.x getGroupInfoList
                merged["result"] = merged["result"] + other["result"]
            elif isinstance(merged["result"], dict) and "groupList" in merged["result"]:  # 3.x getGroupList
                merged["result"]["groupList"] = merged["result"]["groupList"] + other["result"]["groupList"]
        return merged

    async def _forward(self, group: str, body: bytes, request: Any) -> Any:
        try:
            text = await self.cores[group].ask(body)
        except CoreDown as exc:
            event(log, "rpc_core_down", logging.WARNING, group=group, reason=str(exc))
            return down_answer(request)
        return json.loads(text) if text else None

    # --- HTTP ------------------------------------------------------------------------------

    async def _post(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY_SIZE:
            return self._too_large()
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._too_large()
        answer = await self.answer(body)
        if answer is None:
            return web.Response(status=204)
        return web.Response(text=json.dumps(answer, separators=(",", ":")), content_type="application/json")

    @staticmethod
    def _too_large() -> web.Response:
        payload = {"jsonrpc": "2.0", "id": None,
                   "error": RpcError(REQUEST_TOO_LARGE, f"request body larger than {MAX_BODY_SIZE} bytes").to_json()}
        return web.Response(status=413, text=json.dumps(payload), content_type="application/json")

    @staticmethod
    async def _get(request: web.Request) -> web.Response:
        return web.Response(text="chain JSON-RPC (Pro rpc service): POST a JSON-RPC 2.0 request to this URL\n")

    # --- sessions relayed to group0's core (chain.node.pro_streams) -------------------------

    async def _relay_socket(self, request: web.Request, what: str) -> web.StreamResponse:
        """A client's websocket (/ws, or the web3 socket), relayed message by message to group0's core."""
        ws = web.WebSocketResponse(max_msg_size=MAX_BODY_SIZE, heartbeat=30.0)
        await ws.prepare(request)
        core = self.cores[FIRST_GROUP_NAME]
        try:
            end = await core.open_stream(what, request.remote or "?")
        except CoreDown as exc:
            event(log, "rpc_core_down", logging.WARNING, group=FIRST_GROUP_NAME, reason=str(exc))
            await ws.close(code=CLOSE_GOING_AWAY, message=b"core not running")
            return ws

        async def receive() -> bytes | None:
            while True:
                message = await ws.receive()
                if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    return None
                if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                data = str(message.data).encode() if message.type == WSMsgType.TEXT else bytes(message.data)
                if what == "ws" and self.for_other_cores(data):
                    # /ws serves every group on an Air node: a request for another group's core (or
                    # all of them) is answered here as over HTTP; subscriptions stay group0's
                    answer = await self.answer(data)
                    if answer is not None:
                        await ws.send_str(json.dumps(answer, separators=(",", ":")))
                    continue
                return data

        async def deliver(data: bytes) -> None:
            await ws.send_str(data.decode(errors="replace"))

        self._sockets.add(ws)
        try:
            await end.relay(receive, deliver)
        finally:
            core.forget(end)
            self._sockets.discard(ws)
            code, reason = end.closed_by_core or (1000, "")
            if not ws.closed:
                await ws.close(code=code, message=reason.encode())
        return ws

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        return await self._relay_socket(request, "ws")

    async def _channel_accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One SDK on the channel port: its TLS ends here, its bytes go to group0's core."""
        peer = writer.get_extra_info("peername")
        source = str(peer[0]) if isinstance(peer, tuple) else "?"
        now = asyncio.get_running_loop().time()
        # A bounded number of SDKs, as on an Air node's port (group0's core bounds its sessions too).
        if len(self._channel_clients) >= MAX_SESSIONS:
            self._refusals.note(source, now, "channel_refused", f"{MAX_SESSIONS} sessions already", address=source)
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None and self._channel_context is not None
        self._channel_clients.add(task)
        try:
            refused = await accept_tls(writer, self._channel_context)
            if refused is not None:
                self._refusals.note(source, now, "channel_tls_rejected", refused, address=source)
                return
            core = self.cores[FIRST_GROUP_NAME]
            try:
                end = await core.open_stream("channel", source)
            except CoreDown as exc:  # no core: no session (the SDK reconnects later)
                event(log, "rpc_core_down", logging.WARNING, group=FIRST_GROUP_NAME, reason=str(exc))
                return

            async def receive() -> bytes | None:
                try:
                    return await reader.read(READ_CHUNK) or None
                except (OSError, ConnectionError):
                    return None

            async def deliver(data: bytes) -> None:
                writer.write(data)
                await writer.drain()

            try:
                await end.relay(receive, deliver)
            finally:
                core.forget(end)
        finally:
            self._channel_clients.discard(task)
            writer.close()
            self._refusals.flush(asyncio.get_running_loop().time())

    async def _start_channel(self) -> None:
        section = self.config.channel
        cert = self.directory / section.cert
        if not cert.exists():
            event(log, "channel_disabled", logging.WARNING, reason=f"no channel certificate {section.cert}")
            return
        self._channel_context = channel_server_context(self.directory / section.ca_cert, cert, self.directory / section.key)
        self._channel = await asyncio.start_server(self._channel_accept, section.listen_ip, section.listen_port,
                                                   limit=READ_CHUNK)
        self.channel_port = int(self._channel.sockets[0].getsockname()[1])

    # --- web3 -----------------------------------------------------------------------------

    async def _web3_post(self, request: web.Request) -> web.Response:
        from chain.web3.server import error_answer, read_body
        body = await read_body(request)
        if isinstance(body, web.Response):
            return body
        try:
            text = await self.cores[FIRST_GROUP_NAME].ask(body, KIND_WEB3)
        except CoreDown as exc:
            event(log, "rpc_core_down", logging.WARNING, group=FIRST_GROUP_NAME, reason=str(exc))
            return web.json_response(error_answer(NODE_NOT_STARTED, NODE_NOT_STARTED_MESSAGE))
        return web.Response(text=text.decode(), content_type="application/json")

    async def _web3_get(self, request: web.Request) -> web.StreamResponse:
        from chain.web3.server import error_answer
        if not web.WebSocketResponse().can_prepare(request).ok:
            return web.json_response(error_answer(-32600, "POST a JSON-RPC request, or open a WebSocket"), status=405)
        return await self._relay_socket(request, "web3")

    async def _start_web3(self) -> None:
        """The web3 endpoint if [web3_rpc] enables it; an sm chain refuses, as an Air node does."""
        section = self.config.web3_rpc
        if not section.enabled:
            return
        if self.suite != "standard":
            raise ChainError(f"the web3 endpoint needs a standard-suite chain: this one uses {self.suite!r}; "
                             "turn [web3_rpc] enabled off")
        from chain.web3.server import MAX_BODY_SIZE as WEB3_MAX_BODY
        app = web.Application(client_max_size=WEB3_MAX_BODY)
        app.router.add_post("/", self._web3_post)
        app.router.add_get("/", self._web3_get)
        app.router.add_get("/ws", self._web3_get)
        app.on_shutdown.append(self._close_sockets)
        self._web3 = web.AppRunner(app, access_log=None)
        await self._web3.setup()
        await web.TCPSite(self._web3, section.listen_ip, section.listen_port).start()
        self.web3_port = bound_port(self._web3)

    async def _close_sockets(self, app: web.Application) -> None:
        await close_sockets(self._sockets)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        section = self.config.rpc
        warning = exposure_warning(section.listen_ip)
        if warning is not None:
            log.warning(warning)
        app = web.Application(client_max_size=MAX_BODY_SIZE)
        app.router.add_post("/", self._post)
        app.router.add_get("/", self._get)
        app.router.add_get("/ws", self._ws)
        app.on_shutdown.append(self._close_sockets)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, section.listen_ip, section.listen_port).start()
        await self._start_channel()
        await self._start_web3()
        event(log, "rpc_started", rpc=f"{section.listen_ip}:{section.listen_port}", groups=list(self.cores),
              channel=f"{self.config.channel.listen_ip}:{self.channel_port}" if self.channel_port else "off",
              web3=f"{self.config.web3_rpc.listen_ip}:{self.web3_port}" if self.web3_port else "off")

    async def stop(self) -> None:
        if self._channel is not None:
            self._channel.close()
        for task in list(self._channel_clients):
            task.cancel()
        if self._channel_clients:
            await asyncio.gather(*self._channel_clients, return_exceptions=True)
        for runner in (self._runner, self._web3):
            if runner is not None:
                await runner.cleanup()
        for core in self.cores.values():
            await core.close()
        self._refusals.flush(0.0, force=True)
        event(log, "rpc_stopped")
