"""The web3 endpoint: Ethereum JSON-RPC over HTTP POST and WebSocket on one port (aiohttp).

POST ``/``: single and batch requests. GET ``/`` (or ``/ws``) upgrades to a WebSocket that takes
the same requests plus ``eth_subscribe ["newHeads"]`` / ``["logs", {filter}]`` and
``eth_unsubscribe [id]``; notifications are Ethereum's ``{"method": "eth_subscription",
"params": {"subscription", "result"}}``. Handlers run in the loop's worker threads (the store and
pool are safe to read there; a call or estimate may run contract code), so one slow request never
holds up the others. Whatever a client sends gets a JSON-RPC answer; the server never stops on it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from chain.errors import ChainError
from chain.logs.query import LogQueryError, MatchedLog, filter_from_json
from chain.logs.subscriptions import BlockEvent, Subscription
from chain.rpc.api import SubmitsInRounds
from chain.rpc.ws import MessageSocket, close_sockets, serve_socket
from chain.web3 import views as v
from chain.web3.methods import (
    INTERNAL_ERROR, INVALID_PARAMS, LogShaper, Web3Context, Web3Error, dispatch, quantity_param, raw_transaction,
    submission_answer,
)
from chain.wire.json_limits import loads_bounded

log = logging.getLogger("chain.web3")

MAX_BODY_SIZE = 1 << 20
MAX_BATCH = 100
MAX_SUBSCRIPTIONS_PER_CONNECTION = 32
CONTEXT_KEY = web.AppKey("web3_context", Web3Context)
SOCKETS_KEY = web.AppKey("web3_sockets", set)


def error_answer(code: int, message: str, request_id: Any = None) -> dict[str, Any]:
    """A JSON-RPC error object; public because a Pro node's rpc process answers web3 clients with it too."""
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def handle_one(ctx: Web3Context, request: Any) -> dict[str, Any]:
    if not isinstance(request, dict) or not isinstance(request.get("method"), str):
        return error_answer(-32600, "invalid request")
    request_id = request.get("id")
    if not isinstance(request_id, (str, int, type(None))) or isinstance(request_id, bool):
        return error_answer(-32600, "invalid request: id must be a string, a number or null")
    try:
        result = dispatch(ctx, request["method"], request.get("params"))
    except Web3Error as exc:
        return {"jsonrpc": "2.0", "id": request_id, "error": exc.to_json()}
    except ChainError as exc:
        return error_answer(-32000, str(exc), request_id)
    except Exception:  # a bug answers -32603 and is logged; the server goes on
        log.exception("web3 method %s failed", request.get("method"))
        return error_answer(INTERNAL_ERROR, "internal error", request_id)
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


async def handle_async(ctx: Web3Context, body: bytes) -> Any:
    """handle_body in a worker thread, except a lone eth_sendRawTransaction on a node with
    ``submit_soon``: it joins the node's next admission round (one replica event and one gossip
    message for every transaction submitted meanwhile), as the FISCO RPC's sendRawTransaction does."""
    if isinstance(ctx.api, SubmitsInRounds) and len(body) <= MAX_BODY_SIZE:
        try:
            request = loads_bounded(body)
        except (ValueError, UnicodeDecodeError):
            request = None
        if isinstance(request, dict) and request.get("method") == "eth_sendRawTransaction" \
                and isinstance(request.get("id"), (str, int, type(None))) and not isinstance(request.get("id"), bool):
            request_id = request.get("id")
            try:
                tx = raw_transaction(request.get("params"))
                outcomes = await ctx.api.submit_soon([tx])
                return {"jsonrpc": "2.0", "id": request_id, "result": submission_answer(outcomes[0])}
            except Web3Error as exc:
                return {"jsonrpc": "2.0", "id": request_id, "error": exc.to_json()}
            except asyncio.CancelledError:
                raise
            except ChainError as exc:
                return error_answer(-32000, str(exc), request_id)
    return await asyncio.get_running_loop().run_in_executor(None, handle_body, ctx, body)


def handle_body(ctx: Web3Context, body: bytes) -> Any:
    try:
        request = loads_bounded(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return error_answer(-32700, f"parse error: {exc}")
    if isinstance(request, list):
        if not request or len(request) > MAX_BATCH:
            return error_answer(-32600, f"invalid request: a batch holds 1 to {MAX_BATCH} requests")
        return [handle_one(ctx, item) for item in request]
    return handle_one(ctx, request)


async def read_body(request: web.Request) -> bytes | web.Response:
    """A POST's body, or the answer refusing it (too large, or the client went away).
    Shared by this server and a Pro node's rpc process, which forwards the body to a core."""
    if request.content_length is not None and request.content_length > MAX_BODY_SIZE:
        return web.json_response(error_answer(-32600, f"request body larger than {MAX_BODY_SIZE} bytes"), status=413)
    try:
        return await request.read()  # bounded by the app's client_max_size
    except web.HTTPRequestEntityTooLarge:
        return web.json_response(error_answer(-32600, f"request body larger than {MAX_BODY_SIZE} bytes"), status=413)
    except (ConnectionError, asyncio.TimeoutError):
        return web.Response(status=400)


async def _post(request: web.Request) -> web.Response:
    body = await read_body(request)
    if isinstance(body, web.Response):
        return body
    answer = await handle_async(request.app[CONTEXT_KEY], body)
    return web.json_response(answer, dumps=lambda o: json.dumps(o, separators=(",", ":")))


class _Connection:
    """One WebSocket client: its requests, and the hub subscriptions it opened."""

    def __init__(self, ctx: Web3Context, ws: MessageSocket) -> None:
        self.ctx = ctx
        self.ws = ws
        self.subs: dict[int, Subscription] = {}
        self.wake = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    def notify(self) -> None:
        """Called by the hub in the committing thread: wake the writer on our loop."""
        try:
            self.loop.call_soon_threadsafe(self.wake.set)
        except RuntimeError:  # the loop is closed
            pass

    async def answer(self, raw: bytes) -> Any:
        try:
            request = loads_bounded(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return error_answer(-32700, f"parse error: {exc}")
        if isinstance(request, dict) and request.get("method") in ("eth_subscribe", "eth_unsubscribe"):
            request_id = request.get("id")
            try:
                params = request.get("params") or []
                result = self.subscribe(params) if request["method"] == "eth_subscribe" else self.unsubscribe(params)
            except Web3Error as exc:
                return {"jsonrpc": "2.0", "id": request_id, "error": exc.to_json()}
            return {"jsonrpc": "2.0", "id": request_id, "result": result}
        return await handle_async(self.ctx, raw)

    def subscribe(self, params: Any) -> str:
        if not isinstance(params, list) or not params:
            raise Web3Error(INVALID_PARAMS, 'invalid params: expected ["newHeads"] or ["logs", {filter}]')
        # A bound per socket: each subscription costs the hub work on every commit.
        if len(self.subs) >= MAX_SUBSCRIPTIONS_PER_CONNECTION:
            raise Web3Error(-32000, f"at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection")
        hub = self.ctx.logs.hub
        if params[0] == "newHeads" and len(params) == 1:
            sub = hub.subscribe_blocks(self.notify)
        elif params[0] == "logs" and len(params) <= 2:
            flt_json = dict(params[1]) if len(params) == 2 and isinstance(params[1], dict) else {}
            flt_json.pop("fromBlock", None)  # a subscription carries new logs only (Ethereum)
            flt_json.pop("toBlock", None)
            try:
                sub = hub.subscribe_logs(filter_from_json(flt_json), self.notify)
            except LogQueryError as exc:
                raise Web3Error(INVALID_PARAMS, f"invalid params: {exc}") from exc
        else:
            raise Web3Error(INVALID_PARAMS, f"invalid params: unsupported subscription {str(params[0])[:40]!r}")
        self.subs[sub.id] = sub
        return v.quantity(sub.id)

    def unsubscribe(self, params: Any) -> bool:
        if not isinstance(params, list) or len(params) != 1:
            raise Web3Error(INVALID_PARAMS, 'invalid params: expected ["0x<subscription id>"]')
        sub_id = quantity_param(params[0], "subscription id")
        if self.subs.pop(sub_id, None) is None:
            return False
        return self.ctx.logs.hub.unsubscribe(sub_id)

    def _event_json(self, event: BlockEvent | MatchedLog, shape: LogShaper) -> Any:
        if isinstance(event, MatchedLog):
            return shape(event)
        block = self.ctx.store.block_by_number(event.number)
        if block is None:
            return None
        head = v.block_json(self.ctx.api.suite, block, self.ctx.store.receipts(event.number), False)
        head.pop("transactions")
        head.pop("uncles")
        return head

    async def writer(self) -> None:
        while not self.ws.closed:
            await self.wake.wait()
            self.wake.clear()
            for sub in list(self.subs.values()):
                if sub.closed and sub.close_reason != "unsubscribed":
                    log.info("web3 subscriber %s dropped: %s", sub.id, sub.close_reason)
                    await self.ws.close(code=1008, message=b"too slow")
                    return
                events = sub.take(100)
                if not events:
                    continue
                shape = LogShaper(self.ctx)
                results = await self.loop.run_in_executor(None, lambda: [self._event_json(e, shape) for e in events])
                for result in results:
                    if result is None:
                        continue
                    await self.ws.send_str(json.dumps({"jsonrpc": "2.0", "method": "eth_subscription", "params": {
                        "subscription": v.quantity(sub.id), "result": result}}, separators=(",", ":")))
                if sub.pending():
                    self.wake.set()

    def close(self) -> None:
        for sub_id in list(self.subs):
            self.ctx.logs.hub.unsubscribe(sub_id)
        self.subs.clear()


Web3Connection = _Connection  # a web3 socket of another kind (chain.node.pro_core)


async def _get(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse(max_msg_size=MAX_BODY_SIZE, heartbeat=30.0)
    if not ws.can_prepare(request).ok:
        return web.json_response(error_answer(-32600, "POST a JSON-RPC request, or open a WebSocket"), status=405)
    await ws.prepare(request)
    return await serve_socket(ws, request.app[SOCKETS_KEY], _Connection(request.app[CONTEXT_KEY], ws))


async def _close_sockets(app: web.Application) -> None:
    await close_sockets(app[SOCKETS_KEY])


def make_app(ctx: Web3Context) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_SIZE)
    app[CONTEXT_KEY] = ctx
    app[SOCKETS_KEY] = set()
    app.router.add_post("/", _post)
    app.router.add_get("/", _get)
    app.router.add_get("/ws", _get)
    app.on_shutdown.append(_close_sockets)
    return app


async def start_web3_server(ctx: Web3Context, host: str, port: int) -> web.AppRunner:
    """Serve the web3 endpoint; refuses an sm chain (Ethereum tools sign secp256k1 and hash keccak)."""
    if ctx.api.suite.name != "standard":
        raise ChainError(
            "the web3 endpoint needs a standard-suite chain (secp256k1 + keccak-256): this chain uses "
            f"{ctx.api.suite.name!r}, whose signatures and hashes Ethereum tools cannot make; "
            "turn [web3_rpc] enabled off"
        )
    runner = web.AppRunner(make_app(ctx), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
