"""`chain bench tps --closed-loop`: clients that each wait for their transaction's commit before sending the next.

Open-loop modes (``chain.bench.tps.drive``) measure how much the chain takes when it is offered
more than it can do; a closed loop measures what one user feels: with one client, the rate is
1 / latency, so every millisecond the chain spends per block shows. This is the mode in which a
chain that decides one height at a time and waits ``min_seal_time`` before sealing looks slow
however fast its signatures are (issue 18).

How a commit is seen: one WebSocket to node0 subscribes to blocks (``chain.rpc.ws``), whose pushes
carry each block's transaction hashes, so a commit is seen when node0 pushes it, not at the next
tick of a poll. (A node of a release whose pushes lack them is asked for each block on the same
socket: one round trip more per block, as this bench measured the previous release.) Each client
sends one ``sendRawTransaction`` over its own HTTP connection (clients are spread over the
sealers, like ``--connections``) and waits until the watcher has seen the hash in a block.
Latency here is from *before the send* to the commit seen (the RPC round trip included, unlike
the open-loop modes, which start at the acknowledgement).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Sequence

import aiohttp

from chain.bench.tps import Cluster, Run, cpu_sample, cpu_use
from chain.bench.workloads import Workload
from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError
from chain.ledger.transaction import Transaction

TX_TIMEOUT_S = 30.0  # one transaction not committed by then is counted as lost and its client moves on


class _Commits:
    """Transaction hashes seen in committed blocks, and the clients waiting for one of them."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.waiting: dict[bytes, asyncio.Future[float]] = {}

    def expect(self, tx_hash: bytes) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        if tx_hash in self.run.committed_at:
            future.set_result(self.run.committed_at[tx_hash])
        else:
            self.waiting[tx_hash] = future
        return future

    def seen(self, tx_hashes: Sequence[bytes], now: float) -> None:
        for tx_hash in tx_hashes:
            self.run.committed_at.setdefault(tx_hash, now)
            future = self.waiting.pop(tx_hash, None)
            if future is not None and not future.done():
                future.set_result(now)


def _block_seen(commits: _Commits, tx_hashes: Sequence[str]) -> None:
    commits.run.blocks += 1
    commits.seen([bytes.fromhex(h[2:]) for h in tx_hashes], time.perf_counter())


async def _watch_blocks(ws_url: str, group_id: int, commits: _Commits, subscribed: asyncio.Event) -> None:
    """Follow node0's committed blocks over one WebSocket until cancelled."""
    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url, max_msg_size=0) as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": "sub", "method": "subscribe", "params": ["blocks"]})
        next_id = 0
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            answer: Any = message.json()
            if answer.get("id") == "sub":
                if "error" in answer:
                    raise ChainError(f"subscribe: {answer['error']}")
                subscribed.set()
            elif answer.get("method") == "subscription":
                block = answer["params"]["result"]
                if "transactions" in block:
                    _block_seen(commits, block["transactions"])
                else:
                    number = block["number"]
                    next_id += 1
                    await ws.send_json({"jsonrpc": "2.0", "id": next_id, "method": "getBlockByNumber",
                                        "params": [group_id, number if isinstance(number, str) else hex(number), False]})
            elif isinstance(answer.get("result"), dict) and "transactions" in answer["result"]:
                _block_seen(commits, answer["result"]["transactions"])


async def _client(url: str, txs: Sequence[Transaction], group_id: int, suite: CryptoSuite, run: Run,
                  commits: _Commits) -> None:
    """Send one transaction, wait for its commit, send the next."""
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        for tx in txs:
            tx_hash = tx.hash(suite)
            committed = commits.expect(tx_hash)
            started = time.perf_counter()
            payload = {"jsonrpc": "2.0", "id": 1, "method": "sendRawTransaction",
                       "params": [group_id, "0x" + tx.encode().hex()]}
            async with session.post(url, json=payload) as response:
                answer = await response.json(content_type=None)
            if "result" not in answer:
                message = str(answer.get("error", {}).get("message", "no answer"))[:60]
                run.rejected[message] = run.rejected.get(message, 0) + 1
                commits.waiting.pop(tx_hash, None)
                continue
            run.sent_at[tx_hash] = started
            try:
                await asyncio.wait_for(committed, TX_TIMEOUT_S)
            except asyncio.TimeoutError:
                commits.waiting.pop(tx_hash, None)
                run.rejected["not committed within 30 s"] = run.rejected.get("not committed within 30 s", 0) + 1


async def drive_closed_loop(cluster: Cluster, workload: Workload, clients: int) -> Run:
    """Each of `clients` clients sends its share of the workload one transaction at a time, waiting for each commit."""
    run = Run()
    commits = _Commits(run)
    subscribed = asyncio.Event()
    watcher = asyncio.create_task(_watch_blocks(cluster.rpc_urls[0] + "/ws", cluster.group_id, commits, subscribed))
    try:
        await asyncio.wait_for(subscribed.wait(), 30)
        txs = workload.transactions
        pids = cluster.node_pids()
        before = cpu_sample(pids)
        run.first_send = time.perf_counter()
        senders = asyncio.ensure_future(asyncio.gather(*(
            _client(cluster.rpc_urls[i % len(cluster.rpc_urls)], txs[i::clients], cluster.group_id, cluster.suite,
                    run, commits)
            for i in range(clients) if txs[i::clients]
        )))
        either: list[asyncio.Future[Any]] = [senders, watcher]
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if not senders.done():  # the watcher ended first: the socket closed or the subscription failed
            senders.cancel()
            watcher.result()
            raise ChainError("node0 closed the block subscription during the run")
        senders.result()
        run.cpu = cpu_use(before, cpu_sample(pids))
    finally:
        watcher.cancel()
        try:
            await watcher
        except (asyncio.CancelledError, aiohttp.ClientError):
            pass
    return run
