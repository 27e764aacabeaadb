"""The WebSocket route (GET /ws): JSON-RPC over a socket, plus pushed blocks and logs.

Any JSON-RPC request works over the socket as over HTTP POST. Two more methods exist only here,
since only a socket can carry what the node pushes (FISCO's EventSub idea, as JSON-RPC):

    subscribe    ["blocks"]                         → "0x<id>"   one notification per committed block
    subscribe    ["logs", {fromBlock?, toBlock?, address?, topics?}]
                                                    → "0x<id>"   matching logs of each new block
                                                                 (past ones first if fromBlock ≤ head)
    unsubscribe  ["0x<id>"]                         → true | false

Notifications: ``{"jsonrpc": "2.0", "method": "subscription", "params": {"subscription": "0x<id>",
"result": <block event | log>}}`` (block events: ``{number, hash, parentHash, timestamp,
transactionCount, transactions}``, the last the hashes of the block's transactions; logs:
``chain.logs.query.log_json``).

A connection holds at most ``MAX_SUBSCRIPTIONS_PER_CONNECTION`` subscriptions. A subscriber whose
queue fills (``chain.logs.subscriptions.MAX_QUEUE`` events not yet sent) is dropped by the hub: the
server sends ``{"method": "subscriptionClosed", "params": {"subscription", "reason"}}`` and closes
the socket with code 1008; a socket that cannot even take that is aborted. Other transports (web3's
``eth_subscribe``, the channel protocol) reuse the same hub with their own framing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Callable, Protocol

from aiohttp import WSMsgType, web

from chain.logs.query import LogQueryError, MatchedLog, filter_from_json, log_json
from chain.logs.subscriptions import BlockEvent, Subscription, block_event_json
from chain.rpc import params as p
from chain.rpc.errors import INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, RpcError
from chain.rpc.log_methods import service_of
from chain.rpc.server import CONTEXT_KEY, MAX_BODY_SIZE, handle_body_async, parse_body

log = logging.getLogger("chain.rpc.ws")

MAX_SUBSCRIPTIONS_PER_CONNECTION = 32
CLOSE_POLICY = 1008  # WebSocket close code "policy violation": the client fell too far behind
SEND_BATCH = 100  # events sent per subscription before looking at the others
CLOSE_WAIT_S = 2.0


def _event_json(event: BlockEvent | MatchedLog) -> dict[str, Any]:
    return block_event_json(event) if isinstance(event, BlockEvent) else log_json(event)


class MessageSocket(Protocol):
    """What a connection needs of its socket: aiohttp's WebSocketResponse, or a socket a Pro node's
    rpc process relays message by message (chain.node.pro_streams)."""

    @property
    def closed(self) -> bool: ...
    async def send_str(self, data: str) -> None: ...
    async def close(self, *, code: int = ..., message: bytes = ...) -> bool: ...
    def __aiter__(self) -> Any: ...


class _Connection:
    def __init__(self, ctx: Any, ws: MessageSocket, abort: Callable[[], None]) -> None:
        self.ws = ws
        self.abort = abort  # cut the socket off at once (when it cannot even take a close)
        self.ctx = ctx
        self.service = service_of(self.ctx)
        self.subs: dict[int, Subscription] = {}
        self.wake = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    def notify(self) -> None:
        """Called by the hub in the publishing thread: wake the writer on our loop."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.wake.set()
        else:
            self.loop.call_soon_threadsafe(self.wake.set)

    # --- requests ----------------------------------------------------------------------------

    async def answer(self, raw: bytes) -> Any:
        try:
            request = parse_body(raw)
        except ValueError as exc:
            return {"jsonrpc": "2.0", "id": None, "error": {"code": PARSE_ERROR, "message": f"parse error: {exc}"}}
        if isinstance(request, dict) and request.get("method") in ("subscribe", "unsubscribe"):
            request_id = request.get("id")
            try:
                result = self.subscribe(request.get("params")) if request["method"] == "subscribe" \
                    else self.unsubscribe(request.get("params"))
            except RpcError as exc:
                return {"jsonrpc": "2.0", "id": request_id, "error": exc.to_json()}
            return {"jsonrpc": "2.0", "id": request_id, "result": result}
        return await handle_body_async(self.ctx, raw)

    def subscribe(self, params: Any) -> str:
        if not isinstance(params, list) or not params:
            raise RpcError(INVALID_PARAMS, 'invalid params: expected ["blocks"] or ["logs", {filter}]')
        kind = params[0]
        # A bound per socket: subscriptions cost the hub work on every commit.
        if len(self.subs) >= MAX_SUBSCRIPTIONS_PER_CONNECTION:
            raise RpcError(INVALID_REQUEST, f"at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection")
        try:
            if kind == "blocks" and len(params) == 1:
                sub = self.service.hub.subscribe_blocks(self.notify)
            elif kind == "logs" and len(params) <= 2:
                sub = self.service.hub.subscribe_logs(filter_from_json(params[1] if len(params) == 2 else None), self.notify)
            else:
                raise RpcError(INVALID_PARAMS, 'invalid params: expected ["blocks"] or ["logs", {filter}]')
        except LogQueryError as exc:
            raise RpcError(INVALID_PARAMS, f"invalid params: {exc}") from exc
        self.subs[sub.id] = sub
        self.wake.set()  # past logs may already be queued
        return hex(sub.id)

    def unsubscribe(self, params: Any) -> bool:
        if not isinstance(params, list) or len(params) != 1:
            raise RpcError(INVALID_PARAMS, 'invalid params: expected ["0x<subscription id>"]')
        sub_id = p.as_int(params[0], "subscription id", maximum=(1 << 63) - 1)
        if self.subs.pop(sub_id, None) is None:
            return False  # another connection's subscription is not ours to end
        return self.service.hub.unsubscribe(sub_id)

    # --- pushing -------------------------------------------------------------------------------

    async def writer(self) -> None:
        while not self.ws.closed:
            await self.wake.wait()
            self.wake.clear()
            for sub in list(self.subs.values()):
                if sub.closed and sub.close_reason != "unsubscribed":
                    await self.drop(sub)
                    return
                events = sub.take(SEND_BATCH)
                for event in events:
                    await self.ws.send_str(json.dumps({"jsonrpc": "2.0", "method": "subscription", "params": {
                        "subscription": hex(sub.id), "result": _event_json(event)}}, separators=(",", ":")))
                if sub.pending():
                    self.wake.set()

    async def drop(self, sub: Subscription) -> None:
        """The hub dropped a slow subscriber: say why and close; abort a socket that cannot take it."""
        log.info("websocket subscriber %s dropped: %s", sub.id, sub.close_reason)
        notice = json.dumps({"jsonrpc": "2.0", "method": "subscriptionClosed",
                             "params": {"subscription": hex(sub.id), "reason": sub.close_reason}})
        try:
            await asyncio.wait_for(self.ws.send_str(notice), CLOSE_WAIT_S)
            await asyncio.wait_for(self.ws.close(code=CLOSE_POLICY, message=b"too slow"), CLOSE_WAIT_S)
        except (asyncio.TimeoutError, ConnectionError, RuntimeError):
            self.abort()

    def close(self) -> None:
        for sub_id in list(self.subs):
            self.service.hub.unsubscribe(sub_id)
        self.subs.clear()


SOCKETS_KEY = web.AppKey("websockets", set)
GOING_AWAY = 1001  # WebSocket close code: the server is shutting down


def install_websocket(app: web.Application) -> None:
    """Serve GET /ws on app, and close its sockets when the app shuts down.

    Why the shutdown hook: aiohttp waits for open handlers when a runner is cleaned up (up to a
    minute), so a node with a subscriber connected would take that long to stop.
    """
    app[SOCKETS_KEY] = set()
    app.router.add_get("/ws", websocket_handler)
    app.on_shutdown.append(_close_sockets)


async def _close_sockets(app: web.Application) -> None:
    await close_sockets(app[SOCKETS_KEY])


async def close_sockets(sockets: set[web.WebSocketResponse]) -> None:
    """Close every open socket with "going away" (each gets CLOSE_WAIT_S at most)."""
    for ws in list(sockets):
        try:
            await asyncio.wait_for(ws.close(code=GOING_AWAY, message=b"server shutdown"), CLOSE_WAIT_S)
        except (asyncio.TimeoutError, ConnectionError, RuntimeError):
            pass


class SocketConnection(Protocol):
    """One socket's side of a server: answers its requests, and pushes what it subscribed to."""

    async def answer(self, raw: bytes) -> Any: ...
    async def writer(self) -> None: ...
    def close(self) -> None: ...


async def serve_socket(ws: MessageSocket, sockets: set[Any], conn: SocketConnection) -> Any:
    """Answer each request on a prepared socket while conn's writer pushes; tidy up on any exit.

    Shared by this server's /ws and the web3 endpoint, so both read frames the same way.
    """
    sockets.add(ws)
    writer = asyncio.create_task(conn.writer())
    try:
        async for message in ws:
            if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue  # close/error frames end the loop
            # web3.py's WebSocketProvider (and others) send requests as binary frames of UTF-8 JSON
            answer = await conn.answer(message.data if isinstance(message.data, bytes) else message.data.encode())
            if answer is not None and not ws.closed:
                await ws.send_str(json.dumps(answer, separators=(",", ":")))
    finally:
        sockets.discard(ws)
        conn.close()
        writer.cancel()
        try:
            await writer
        except (asyncio.CancelledError, Exception):
            pass
    return ws


async def websocket_handler(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(max_msg_size=MAX_BODY_SIZE, heartbeat=30.0)
    await ws.prepare(request)

    def abort() -> None:
        if request.transport is not None:
            request.transport.abort()

    return await serve_socket(ws, request.app.get(SOCKETS_KEY, set()), _Connection(request.app[CONTEXT_KEY], ws, abort))


WsConnection = _Connection  # a /ws connection on a socket of another kind (chain.node.pro_core)
