"""The log methods through the JSON-RPC table (both group dialects) and the WebSocket route on a real server."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from chain.crypto.suite import CryptoSuite, get_suite
from chain.ledger.receipt import Log
from chain.ledger.store import Store
from chain.logs.subscriptions import SLOW_CLIENT
from chain.rpc.log_methods import service_of
from chain.rpc.methods import RpcContext
from chain.rpc.server import CONTEXT_KEY, handle_body, make_app
from tests.logs.chainmaker import EMITTER, OTHER, commit, topic

SUITE = get_suite("sm")
A = topic("A", SUITE)


@dataclass
class Api:
    store: Store
    suite: CryptoSuite = SUITE
    chain_id: int = 1
    group_id: int = 1
    group_name: str = "group0"
    node_name: str = "node0"


def rpc(ctx: RpcContext, method: str, *params: Any) -> Any:
    return handle_body(ctx, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode())


def test_methods_in_both_dialects() -> None:
    store = Store(":memory:", SUITE)
    commit(store, [])
    commit(store, [[Log(EMITTER, (A,), b"1")], [Log(OTHER, (A,), b"2")]])
    ctx = RpcContext(Api(store))  # type: ignore[arg-type]
    flt = {"fromBlock": "0x0", "toBlock": "latest", "address": "0x" + EMITTER.hex()}
    for group in (["group0", ""], [1]):
        answer = rpc(ctx, "getLogs", *group, flt)["result"]
        assert [(x["data"], x["blockNumber"]) for x in answer] == [("0x31", "0x1")]
    assert rpc(ctx, "getLogs", 1, {"fromBlock": "0x2", "toBlock": "0x1"})["error"] == {
        "code": -32602, "message": "invalid params: invalid block range params: toBlock 1 < fromBlock 2"}
    fid = rpc(ctx, "newFilter", "group0", "", {"topics": ["0x" + A.hex()]})["result"]
    bid = rpc(ctx, "newBlockFilter", "group0", "")["result"]
    commit(store, [[Log(OTHER, (A,), b"3")]])
    assert [x["data"] for x in rpc(ctx, "getFilterChanges", "group0", "", fid)["result"]] == ["0x33"]
    assert rpc(ctx, "getFilterChanges", "group0", "", bid)["result"] == ["0x" + store.block_hash(2).hex()]
    assert [x["data"] for x in rpc(ctx, "getFilterLogs", "group0", "", fid)["result"]] == ["0x33"]
    assert rpc(ctx, "uninstallFilter", "group0", "", fid)["result"] is True
    assert rpc(ctx, "getFilterChanges", "group0", "", fid)["error"]["message"] == "invalid params: filter not found"
    assert rpc(ctx, "newPendingTransactionFilter", 1)["result"].startswith("0x")


def test_websocket_pushes_blocks_and_logs_and_drops_a_client_that_falls_behind() -> None:
    async def run() -> None:
        store = Store(":memory:", SUITE)
        commit(store, [])
        app = make_app(Api(store))  # type: ignore[arg-type]
        runner = aiohttp.web.AppRunner(app)
        await runner.setup()
        site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        service = service_of(app[CONTEXT_KEY])
        try:
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(f"http://127.0.0.1:{port}/ws") as ws:
                    await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": ["blocks"]})
                    blocks_id = (await ws.receive_json(timeout=5))["result"]
                    await ws.send_json({"jsonrpc": "2.0", "id": 2, "method": "subscribe",
                                        "params": ["logs", {"address": "0x" + EMITTER.hex()}]})
                    logs_id = (await ws.receive_json(timeout=5))["result"]
                    await ws.send_json({"jsonrpc": "2.0", "id": 3, "method": "getBlockNumber", "params": [1]})
                    assert (await ws.receive_json(timeout=5))["result"] == "0x0"  # ordinary JSON-RPC works too
                    commit(store, [[Log(EMITTER, (A,), b"x")], [Log(OTHER, (A,), b"y")]])
                    service.on_commit(1)
                    got = [await ws.receive_json(timeout=5) for _ in range(2)]
                    by_sub = {m["params"]["subscription"]: m["params"]["result"] for m in got}
                    assert by_sub[blocks_id]["number"] == "0x1" and by_sub[logs_id]["data"] == "0x78"
                    # A burst larger than the queue before the writer runs: the subscriber is dropped.
                    service.hub.max_queue = 3
                    for sub in list(service.hub._subs.values()):
                        sub.max_queue = 3
                    for _ in range(5):
                        commit(store, [])
                    service.on_commit(store.head_number())
                    closed = await ws.receive_json(timeout=5)
                    assert closed["method"] == "subscriptionClosed" and closed["params"]["reason"] == SLOW_CLIENT
                    assert (await ws.receive(timeout=5)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
                    assert ws.close_code == 1008
            assert len(service.hub) == 0  # the closed connection's subscriptions are gone
        finally:
            await runner.cleanup()

    asyncio.run(asyncio.wait_for(run(), 30))


def test_sdk_client_and_console_read_and_follow_logs() -> None:
    from chain.cli.console import COMMANDS
    from chain.sdk.client import Client

    async def run() -> None:
        store = Store(":memory:", SUITE)
        commit(store, [])
        commit(store, [[Log(EMITTER, (A,), b"1")], [Log(OTHER, (A,), b"2")]])
        app = make_app(Api(store))  # type: ignore[arg-type]
        runner = aiohttp.web.AppRunner(app)
        await runner.setup()
        site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        service = service_of(app[CONTEXT_KEY])
        try:
            async with Client(f"http://127.0.0.1:{runner.addresses[0][1]}/", SUITE) as client:
                assert [x["data"] for x in await client.logs(from_block=0, topics=[A])] == ["0x31", "0x32"]
                assert [x["data"] for x in await client.logs(from_block=0, address=OTHER)] == ["0x32"]
                waiting = asyncio.create_task(client.wait_for_logs(2, 10.0, address=EMITTER, from_block=1))
                await asyncio.sleep(0.3)
                commit(store, [[Log(EMITTER, (A,), b"3")]])
                service.on_commit(2)
                assert [x["data"] for x in await waiting] == ["0x31", "0x33"]  # the past one, then the new one
        finally:
            await runner.cleanup()

    asyncio.run(asyncio.wait_for(run(), 30))
    assert {"getLogs", "subscribeLogs"} <= set(COMMANDS)


def test_a_connected_subscriber_does_not_hold_up_the_server_stopping() -> None:
    async def run() -> None:
        store = Store(":memory:", SUITE)
        commit(store, [])
        runner = aiohttp.web.AppRunner(make_app(Api(store)))  # type: ignore[arg-type]
        await runner.setup()
        site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"http://127.0.0.1:{runner.addresses[0][1]}/ws") as ws:
                await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": ["blocks"]})
                assert (await ws.receive_json(timeout=5))["result"] == "0x1"
                stopping = asyncio.create_task(runner.cleanup())
                closing = await ws.receive(timeout=5)
                assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 1001  # "going away"
                await asyncio.wait_for(stopping, 5)  # aiohttp alone would wait up to a minute for the handler

    asyncio.run(asyncio.wait_for(run(), 30))


def test_websocket_refuses_bad_subscriptions_and_caps_them_per_connection() -> None:
    from chain.rpc.ws import MAX_SUBSCRIPTIONS_PER_CONNECTION

    async def run() -> None:
        store = Store(":memory:", SUITE)
        commit(store, [])
        runner = aiohttp.web.AppRunner(make_app(Api(store)))  # type: ignore[arg-type]
        await runner.setup()
        site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(f"http://127.0.0.1:{runner.addresses[0][1]}/ws") as ws:
                    async def ask(params: Any, method: str = "subscribe") -> dict[str, Any]:
                        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
                        return await ws.receive_json(timeout=5)  # type: ignore[no-any-return]

                    await ws.send_str("{not json")
                    assert (await ws.receive_json(timeout=5))["error"]["code"] == -32700
                    for bad in (None, [], ["heads"], ["blocks", 1], ["logs", {"topics": "x"}], ["logs", {}, {}]):
                        assert (await ask(bad))["error"]["code"] == -32602, bad
                    assert (await ask(["0x99"], "unsubscribe"))["result"] is False
                    ids = [(await ask(["blocks"]))["result"] for _ in range(MAX_SUBSCRIPTIONS_PER_CONNECTION)]
                    assert "at most" in (await ask(["blocks"]))["error"]["message"]
                    assert (await ask([ids[0]], "unsubscribe"))["result"] is True
                    assert "result" in await ask(["blocks"])
        finally:
            await runner.cleanup()

    asyncio.run(asyncio.wait_for(run(), 30))
