"""The client's log subscription hands on what a node pushes for it, and only log objects."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from chain.crypto.suite import get_suite
from chain.sdk.client import Client
from chain.sdk.errors import RpcTransportError

pytestmark = pytest.mark.timeout(30)
SUB = "0x1"


def note(result: Any, method: str = "subscription", subscription: str = SUB) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": {"subscription": subscription, "result": result}}


async def a_node_pushing(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    asked = await ws.receive_json(timeout=5)
    await ws.send_json({"jsonrpc": "2.0", "id": asked["id"], "result": SUB})
    await ws.send_json(note(42))  # not a log object
    await ws.send_json(note(None))
    await ws.send_json(note({"logIndex": "0x9"}, subscription="0x2"))  # someone else's subscription
    await ws.send_json(note({"logIndex": "0x0"}))
    await ws.send_json({"jsonrpc": "2.0", "method": "subscriptionClosed", "params": {"subscription": SUB, "reason": "done"}})
    await ws.receive(timeout=5)  # until the client goes
    return ws


def test_only_log_objects_of_this_subscription_are_handed_on() -> None:
    async def scenario() -> tuple[list[dict[str, Any]], str]:
        app = web.Application()
        app.router.add_get("/ws", a_node_pushing)
        async with TestServer(app, host="127.0.0.1") as server:
            async with Client(str(server.make_url("/")), get_suite("standard")) as client:
                got: list[dict[str, Any]] = []
                with pytest.raises(RpcTransportError) as closed:
                    async for log in client.subscribe_logs():
                        got.append(log)
        return got, str(closed.value)

    got, closed = asyncio.run(scenario())
    assert got == [{"logIndex": "0x0"}]
    assert "closed the subscription: done" in closed
