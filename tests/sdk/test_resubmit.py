"""send-and-wait survives the node that took the transaction: resend, move on, or say it expired.

A node's pool lives in memory, so "accepted" is lost with the node. Two in-process nodes with the
same genesis (``LocalNode`` with the same seed) stand for two nodes of one chain that have not
gossiped yet; stopping one's HTTP server and replacing its pool plays the crash; ``seal()`` plays
consensus. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable, Iterator

import pytest
from aiohttp import web

from chain.crypto.keys import KeyPair
from chain.crypto.suite import get_suite
from chain.execution.kv import encode_kv
from chain.ledger.status import Status
from chain.ledger.transaction import Transaction
from chain.rpc.server import bound_port
from chain.sdk.account import Account
from chain.sdk.client import Client
from chain.sdk.errors import ReceiptTimeout, RpcCallError, RpcTransportError, TransactionExpired
from chain.txpool.pool import TxPool
from chain.wire.json_limits import MAX_JSON_DEPTH
from tests.rpc.localnode import CHAIN_ID, GROUP_ID, LocalNode, Served

pytestmark = pytest.mark.timeout(60)
KV = b"\x00" * 20
USER = Account(KeyPair("standard", 31337))


@pytest.fixture
def two_nodes() -> Iterator[tuple[LocalNode, Served, LocalNode, Served]]:
    a, b = LocalNode("standard", seed=5), LocalNode("standard", seed=5)
    served_a, served_b = Served(a), Served(b)
    yield a, served_a, b, served_b
    for served in (served_a, served_b):
        if served.thread.is_alive():
            served.stop()


async def until(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def pooled(node: LocalNode, tx: Transaction) -> bool:
    return node.txpool.get(tx.hash(node.suite)) is not None


async def signed(client: Client, key: bytes, **options: int) -> Transaction:
    return await client.build_transaction(USER, KV, encode_kv(key, b"v"), **options)


def test_a_transaction_lost_with_its_node_is_sent_to_the_next(two_nodes) -> None:  # type: ignore[no-untyped-def]
    a, served_a, b, served_b = two_nodes

    async def scenario() -> None:
        async with Client(served_a.url, a.suite, fallbacks=[served_b.url], timeout=5) as client:
            tx = await signed(client, b"k1")
            waiting = asyncio.create_task(client.submit_and_wait(tx, timeout=20, resubmit_every=60))
            await until(lambda: pooled(a, tx), "node A to take the transaction")
            await asyncio.to_thread(served_a.stop)  # A dies with the only copy
            await until(lambda: pooled(b, tx), "the client to hand it to node B")
            await asyncio.to_thread(b.seal)
            receipt = await waiting
            assert receipt.transaction_hash == tx.hash(a.suite) and receipt.block_number == 1
            assert client.url == served_b.url

    asyncio.run(scenario())


def test_a_node_that_restarts_with_an_empty_pool_gets_the_transaction_again(two_nodes) -> None:  # type: ignore[no-untyped-def]
    a, served_a, _, _ = two_nodes

    async def scenario() -> None:
        async with Client(served_a.url, a.suite, timeout=5) as client:
            tx = await signed(client, b"k2")
            waiting = asyncio.create_task(client.submit_and_wait(tx, timeout=20, resubmit_every=0.2))
            await until(lambda: pooled(a, tx), "node A to take the transaction")
            a.txpool = TxPool(a.suite, a.store, chain_id=CHAIN_ID, group_id=GROUP_ID)  # the restart: pool gone
            await until(lambda: pooled(a, tx), "the client to send it again")
            await asyncio.to_thread(a.seal)
            assert (await waiting).transaction_hash == tx.hash(a.suite)

    asyncio.run(scenario())


def test_past_its_block_limit_a_lost_transaction_is_reported_expired(two_nodes) -> None:  # type: ignore[no-untyped-def]
    a, served_a, b, served_b = two_nodes

    async def scenario() -> None:
        async with Client(served_a.url, a.suite, fallbacks=[served_b.url], timeout=5) as client:
            tx = await signed(client, b"k3", block_limit=2)  # valid in blocks 1 and 2 only
            waiting = asyncio.create_task(client.submit_and_wait(tx, timeout=20, resubmit_every=60))
            await until(lambda: pooled(a, tx), "node A to take the transaction")
            await asyncio.to_thread(served_a.stop)
            for _ in range(2):  # the chain moves past block 2 without it
                await asyncio.to_thread(b.seal)
            with pytest.raises(TransactionExpired) as expired:
                await waiting
            assert (expired.value.block_limit, expired.value.head, expired.value.url) == (2, 2, served_b.url)
            assert expired.value.tx_hash == tx.hash(a.suite) and "expired" in str(expired.value)

    asyncio.run(scenario())


def test_no_node_answering_is_a_timeout_not_an_expiry(two_nodes) -> None:  # type: ignore[no-untyped-def]
    a, served_a, b, served_b = two_nodes

    async def scenario() -> None:
        async with Client(served_a.url, a.suite, fallbacks=[served_b.url], timeout=1) as client:
            tx = await signed(client, b"k4")
            await asyncio.to_thread(served_a.stop)
            await asyncio.to_thread(served_b.stop)
            with pytest.raises(ReceiptTimeout, match="may still be committed"):
                await client.submit_and_wait(tx, timeout=1.5, resubmit_every=0.2)

    asyncio.run(scenario())


@pytest.mark.parametrize("code, taken, ends_the_wait", [
    (Status.ALREADY_KNOWN, False, False),       # some node holds it
    (Status.ALREADY_IN_CHAIN, False, False),    # committed: the receipt is there to fetch
    (Status.TX_POOL_IS_FULL, True, False),      # taken before: this node is busy, wait
    (Status.BLOCK_LIMIT_CHECK_FAIL, True, False),  # taken before: the expiry check decides
    (Status.TX_POOL_IS_FULL, False, True),      # nobody took it: the caller must know
    (Status.BLOCK_LIMIT_CHECK_FAIL, False, True),
    (Status.INVALID_SIGNATURE, True, True),     # never fine
])
def test_what_a_node_answers_to_a_resent_transaction(code: Status, taken: bool, ends_the_wait: bool) -> None:
    client = Client("http://127.0.0.1:1/", get_suite("standard"))

    async def refuse(method: str, *params: object) -> None:
        raise RpcCallError(-32603, code.name, {"status": hex(code)}, method)  # FISCO 2.x's HTTP refusal

    client.group_call = refuse  # type: ignore[method-assign]
    if ends_the_wait:
        with pytest.raises(RpcCallError):
            asyncio.run(client._send_again("0x00", taken))
    else:
        asyncio.run(client._send_again("0x00", taken))


def test_a_node_answering_json_too_deep_is_a_transport_error() -> None:
    """The client parses a node's answer with the request bound: a hostile node cannot crash it."""
    deep = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)

    async def answer(request: web.Request) -> web.Response:
        return web.Response(text=deep, content_type="application/json")

    async def scenario() -> None:
        app = web.Application()
        app.router.add_post("/", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            async with Client(f"http://127.0.0.1:{bound_port(runner)}/", get_suite("standard")) as client:
                with pytest.raises(RpcTransportError, match="non-JSON"):
                    await client.block_number()
        finally:
            await runner.cleanup()

    asyncio.run(scenario())
