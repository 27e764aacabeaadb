"""The closed-loop bench's block watcher, against a node whose push names the block's transactions
and against one (an older release) whose push does not and must be asked for the block."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from chain.bench.closed_loop import _Commits, _watch_blocks
from chain.bench.tps import Run
from chain.rpc.server import bound_port

TX = bytes(range(32))


async def _fake_node(names_transactions: bool, asked: list[Any]) -> tuple[web.AppRunner, str]:
    async def ws_route(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                break
            call = message.json()
            if call["method"] == "subscribe":
                await ws.send_json({"jsonrpc": "2.0", "id": call["id"], "result": "0x1"})
                block: dict[str, Any] = {"number": "0x7", "transactionCount": "0x1"}
                if names_transactions:
                    block["transactions"] = ["0x" + TX.hex()]
                await ws.send_json({"jsonrpc": "2.0", "method": "subscription",
                                    "params": {"subscription": "0x1", "result": block}})
            elif call["method"] == "getBlockByNumber":
                asked.append(call["params"])
                await ws.send_json({"jsonrpc": "2.0", "id": call["id"],
                                    "result": {"number": "0x7", "transactions": ["0x" + TX.hex()]}})
        return ws

    app = web.Application()
    app.router.add_get("/ws", ws_route)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{bound_port(runner)}/ws"


@pytest.mark.parametrize("names_transactions", [True, False])
def test_the_watcher_sees_a_commit_from_either_kind_of_push(names_transactions: bool) -> None:
    async def scenario() -> tuple[Run, list[Any]]:
        asked: list[Any] = []
        runner, url = await _fake_node(names_transactions, asked)
        run = Run()
        commits = _Commits(run)
        subscribed = asyncio.Event()
        watcher = asyncio.create_task(_watch_blocks(url, 1, commits, subscribed))
        try:
            await asyncio.wait_for(subscribed.wait(), 10)
            await asyncio.wait_for(commits.expect(TX), 10)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            await runner.cleanup()
        return run, asked

    run, asked = asyncio.run(scenario())
    assert TX in run.committed_at and run.blocks == 1
    # Only a push without the hashes costs a request for the block.
    assert asked == ([] if names_transactions else [[1, "0x7", False]])
