"""The dashboard's HTTP side: static page, JSON API under /api, live updates over a WebSocket.

Every API answer is JSON. Bad input gets 400 with {"error": "..."} naming the problem; a thing
that does not exist gets 404. The WebSocket sends the state once on connect and then one message
per pacing tick from the client's bounded queue (see chain.web.hub): a tab that stops reading is
dropped, never waited for.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Awaitable, Callable

from aiohttp import WSMsgType, web

from chain.errors import DashboardError
from chain.web import dmc_view
from chain.web.grouped import GroupedLive
from chain.web.hub import Hub
from chain.web.live import LiveChain, NotFound

STATIC_FILES = {"index.html": "text/html", "app.js": "text/javascript", "style.css": "text/css"}
LIVE_KEY: web.AppKey[LiveChain] = web.AppKey("live", LiveChain)
GROUPS_KEY: web.AppKey[GroupedLive | None] = web.AppKey("groups")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn the project's errors into 400/404 JSON answers; nothing else leaks out as a 500 page."""
    try:
        return await handler(request)
    except NotFound as exc:
        return _error(404, str(exc))
    except DashboardError as exc:
        return _error(400, str(exc))
    except web.HTTPNotFound:
        if request.path.startswith("/api/"):
            return _error(404, f"no such API endpoint: {request.method} {request.path}")
        raise
    except web.HTTPMethodNotAllowed as exc:
        return _error(405, f"{request.method} not allowed on {request.path} (use {', '.join(sorted(exc.allowed_methods))})")


def _int_param(request: web.Request, name: str, default: int | None = None) -> int:
    raw = request.query.get(name)
    if raw is None:
        if default is None:
            raise DashboardError(f"missing query parameter {name!r}")
        return default
    try:
        return int(raw)
    except ValueError:
        raise DashboardError(f"query parameter {name!r} must be an integer, got {raw!r}") from None


def _path_int(request: web.Request, name: str, what: str) -> int:
    raw = request.match_info[name]
    try:
        return int(raw)
    except ValueError:
        raise DashboardError(f"{what} must be an integer, got {raw!r}") from None


async def _json_body(request: web.Request) -> dict[str, Any]:
    text = await request.text()
    if not text.strip():
        return {}
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DashboardError(f"body is not valid JSON: {exc.msg} at position {exc.pos}") from None
    # every control takes a JSON object of named arguments
    if not isinstance(body, dict):
        raise DashboardError("body must be a JSON object")
    return body


def _live(request: web.Request) -> LiveChain:
    """The chain a request is about: with several groups, the one `?group=NAME` names (default the first)."""
    grouped = request.app[GROUPS_KEY]
    name = request.query.get("group")
    if grouped is not None:
        return grouped.select(name)
    # one chain is group0: any other name is a mistake, not a silent fallback
    if name not in (None, "group0"):
        raise DashboardError(f"unknown group {name!r}: this chain has one group, group0")
    return request.app[LIVE_KEY]


# --- handlers -----------------------------------------------------------------------------------

async def index(request: web.Request) -> web.StreamResponse:
    return await static(request, "index.html")


async def static(request: web.Request, name: str | None = None) -> web.StreamResponse:
    name = name or request.match_info["name"]
    # only the three shipped files are served: no path from the URL ever reaches the file system
    if name not in STATIC_FILES:
        raise web.HTTPNotFound()
    text = resources.files("chain.web.static").joinpath(name).read_text(encoding="utf-8")
    return web.Response(text=text, content_type=STATIC_FILES[name], headers={"Cache-Control": "no-cache"})


async def get_status(request: web.Request) -> web.Response:
    return web.json_response(_live(request).status())


async def get_node(request: web.Request) -> web.Response:
    return web.json_response(_live(request).node(_path_int(request, "index", "node index")))


async def get_state(request: web.Request) -> web.Response:
    live = _live(request)
    return web.json_response(live.state_at(_int_param(request, "at", len(live.trace))))


async def get_trace(request: web.Request) -> web.Response:
    live = _live(request)
    start = _int_param(request, "start", 0)
    end = _int_param(request, "end", len(live.trace))
    return web.json_response({"start": start, "events": live.trace_slice(start, end)})


async def get_blocks(request: web.Request) -> web.Response:
    live = _live(request)
    start = _int_param(request, "start", 0)
    end = _int_param(request, "end", start + 50)
    return web.json_response({"blocks": live.blocks(start, end)})


async def get_block(request: web.Request) -> web.Response:
    return web.json_response(_live(request).block(_path_int(request, "number", "block number")))


# POST /api/control/{action}: each control takes its arguments from the JSON body; only `step`
# answers something (the event it processed).
CONTROLS: dict[str, Callable[[LiveChain, dict[str, Any]], Any]] = {
    "pause": lambda live, body: live.set_paused(True),
    "play": lambda live, body: live.set_paused(False),
    "step": lambda live, body: live.step(body.get("until", "event")),
    "speed": lambda live, body: live.set_speed(body.get("speed")),
    "crash": lambda live, body: live.crash(body.get("node")),
    "restart": lambda live, body: live.restart(body.get("node")),
    "byzantine": lambda live, body: live.byzantine(body.get("node"), body.get("behaviour")),
    "partition": lambda live, body: live.partition(body.get("groups")),
    "heal": lambda live, body: live.heal(),
    "burst": lambda live, body: live.burst(body.get("count", 100)),
    "textbook": lambda live, body: live.set_textbook(body.get("on")),
}


async def post_control(request: web.Request) -> web.Response:
    live = _live(request)
    action = request.match_info["action"]
    if action not in CONTROLS:
        raise NotFound(f"unknown control {action!r} (known: {', '.join(CONTROLS)})")
    result = CONTROLS[action](live, await _json_body(request))
    grouped = request.app[GROUPS_KEY]
    if grouped is not None:  # one clock, one network: every group's page sees what changed
        grouped.after_control(action, live)
    answer: dict[str, Any] = {"ok": True, "event": result, "index": len(live.trace)}
    if action == "step":
        answer["step"] = live.last_step
    return web.json_response(answer)


async def websocket(request: web.Request) -> web.StreamResponse:
    live = _live(request)
    ws = web.WebSocketResponse(heartbeat=10)
    await ws.prepare(request)
    client = live.hub.subscribe()
    writer = asyncio.create_task(_drain(ws, client.queue))
    try:
        await ws.send_json({"type": "hello", **live.status(), "index": len(live.trace)})
        async for msg in ws:  # the page sends nothing we need; reading detects the close
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        live.hub.unsubscribe(client)
        writer.cancel()
        await ws.close()
    return ws


async def _drain(ws: web.WebSocketResponse, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
    while True:
        message = await queue.get()
        if message is None or ws.closed:  # dropped by the hub, or the tab went away
            await ws.close()
            return
        try:
            await ws.send_json(message)
        except (ConnectionError, RuntimeError):
            return


async def get_diagram(request: web.Request) -> web.Response:
    """The sequence diagram of one height (default: the one being decided) at one moment (default: now)."""
    live = _live(request)
    live.require("diagram", "the message diagram")
    at = _int_param(request, "at", len(live.trace))
    number = _int_param(request, "number", live.state_at(at)["now_height"])
    return web.json_response(live.diagram(number, at))


async def get_dmc(request: web.Request) -> web.Response:
    """A committed block's DMC rounds for the Gantt chart (default: the newest); {"dmc": false} without DMC."""
    number = _int_param(request, "number", -1)
    return web.json_response(dmc_view.dmc_state(_live(request).sim, None if number < 0 else number))


# --- the application ----------------------------------------------------------------------------

def make_app(live: LiveChain, grouped: GroupedLive | None = None) -> web.Application:
    """The dashboard of `live`; with `grouped`, of every group in it (`live` is then its first group's)."""
    app = web.Application(middlewares=[errors_as_json])
    app[LIVE_KEY] = live
    app[GROUPS_KEY] = grouped
    app.router.add_get("/", index)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/api/status", get_status)
    app.router.add_get("/api/nodes/{index}", get_node)
    app.router.add_get("/api/state", get_state)
    app.router.add_get("/api/trace", get_trace)
    app.router.add_get("/api/blocks", get_blocks)
    app.router.add_get("/api/blocks/{number}", get_block)
    app.router.add_get("/api/diagram", get_diagram)
    app.router.add_get("/api/dmc", get_dmc)
    app.router.add_post("/api/control/{action}", post_control)
    app.router.add_get("/ws", websocket)
    return app


@dataclass
class Dashboard:
    """A started dashboard: its URL, and how to stop the server and the pacing task."""

    live: LiveChain
    runner: web.AppRunner
    url: str
    stop_event: asyncio.Event
    pacer: asyncio.Task[None] | None

    async def stop(self) -> None:
        self.stop_event.set()
        if self.pacer is not None:
            await self.pacer
        await self.runner.cleanup()


async def start_dashboard(live: LiveChain | GroupedLive, *, host: str = "127.0.0.1", port: int = 0,
                          pace: bool = True) -> Dashboard:
    """Serve the dashboard (port 0 picks a free one) and, unless pace=False, start the pacing task.

    A GroupedLive serves one page per group (`?group=NAME`) and paces their one world.
    """
    grouped = live if isinstance(live, GroupedLive) else None
    if isinstance(live, GroupedLive):
        live = live.lead
    runner = web.AppRunner(make_app(live, grouped), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]  # the port actually bound (port 0 asks the system for a free one)
    stop = asyncio.Event()
    pacer = asyncio.create_task((grouped or live).run(stop)) if pace else None
    return Dashboard(live=live, runner=runner, url=f"http://{host}:{bound}", stop_event=stop, pacer=pacer)


__all__ = ["Dashboard", "GroupedLive", "Hub", "LiveChain", "make_app", "start_dashboard"]
