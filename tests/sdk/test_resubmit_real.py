"""Real node processes killed under load: what a client's "accepted" transactions become.

Two kinds of client send kv writes at the same time, each starting at node0:

* ``once``: send once, then wait for the receipt on that node (how send-and-wait worked before);
* ``resubmit``: ``send_and_wait`` with the other three nodes as fallbacks.

Meanwhile all four are SIGKILLed at once and restarted (with ``RESUBMIT_ROUNDS=n``: n rounds of
node0 alone — the node every transaction goes to first — then all four). Blocks are sealed at
FISCO's default pace (``min_seal_time`` 500 ms), so transactions wait in the pools a while. Afterwards every transaction a node accepted is looked up on chain. A ``once``
transaction that was accepted but is not on chain was lost; a ``resubmit`` one must end committed
or reported expired (``TransactionExpired``), never lost.

Bounded: a fixed number of kill rounds, each worker stops with them, a hard test timeout.
Print the figures: ``pytest tests/sdk/test_resubmit_real.py -s -q`` (``RESUBMIT_ROUNDS=n`` for more kills).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from chain.crypto.keys import KeyPair
from chain.errors import ChainError
from chain.execution.kv import encode_kv
from chain.sdk.account import Account
from chain.sdk.client import Client
from chain.sdk.errors import ReceiptTimeout, TransactionExpired
from tests.node.cluster import Cluster

# The kills, in order: by default all four at once (node0 with them); RESUBMIT_ROUNDS=n runs n rounds
# of "node0 alone, then all four" instead.
ROUNDS = int(os.environ.get("RESUBMIT_ROUNDS", "0"))
KILLS: list[list[int]] = [[0], [0, 1, 2, 3]] * ROUNDS or [[0, 1, 2, 3]]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(240 + 200 * ROUNDS)]

WORKERS = 3  # per kind of client
BURST = 10  # transactions a worker sends before waiting for their receipts (so some are in flight at a kill)


@dataclass
class Tally:
    accepted: list[bytes] = field(default_factory=list)  # a node answered the hash (or: resubmit sent it)
    confirmed: int = 0  # a receipt came back
    expired: int = 0  # TransactionExpired
    timed_out: int = 0  # ReceiptTimeout
    unanswered: int = 0  # (once) the wait failed: node gone
    refused: int = 0  # no node answered or took it: never accepted, so not a loss


async def _once(cluster: Cluster, account: Account, tag: str, tally: Tally, stop: asyncio.Event) -> None:
    n = 0
    async with Client(cluster.url(0), account.suite, timeout=3) as client:
        while not stop.is_set():
            sent: list[bytes] = []
            for _ in range(BURST):
                n += 1
                try:
                    sent.append(await client.send_transaction(account, bytes(20), encode_kv(f"{tag}-{n}".encode(), b"v")))
                except ChainError:
                    tally.refused += 1
                    await asyncio.sleep(0.2)
                    break
            tally.accepted += sent
            results = await asyncio.gather(*(client.wait_for_receipt(h, timeout=8) for h in sent), return_exceptions=True)
            tally.confirmed += sum(not isinstance(r, BaseException) for r in results)
            tally.unanswered += sum(isinstance(r, BaseException) for r in results)


async def _resubmit(cluster: Cluster, account: Account, tag: str, tally: Tally, stop: asyncio.Event) -> None:
    n = 0
    others = [cluster.url(i) for i in range(1, cluster.size)]
    while not stop.is_set():
        burst = []
        async with Client(cluster.url(0), account.suite, timeout=3, fallbacks=others) as builder:
            while len(burst) < BURST:
                n += 1
                try:
                    burst.append(await builder.build_transaction(account, bytes(20), encode_kv(f"{tag}-{n}".encode(), b"v")))
                except ChainError:  # this node is down: build on the next (as send_and_wait does)
                    tally.refused += 1
                    builder.next_node()
                    await asyncio.sleep(0.2)
        tally.accepted += [tx.hash(account.suite) for tx in burst]
        # A fresh client for each burst: its transactions go to node0 first.
        async with Client(cluster.url(0), account.suite, timeout=3, fallbacks=others) as client:
            results = await asyncio.gather(*(client.submit_and_wait(tx, timeout=90) for tx in burst),
                                           return_exceptions=True)
            for result in results:
                if isinstance(result, TransactionExpired):
                    tally.expired += 1
                elif isinstance(result, ReceiptTimeout):
                    tally.timed_out += 1
                elif isinstance(result, BaseException):
                    raise result
                else:
                    tally.confirmed += 1


def _kill_and_restart(cluster: Cluster, nodes: list[int], down_s: float) -> None:
    for i in nodes:
        cluster.kill(i, signal.SIGKILL)
    time.sleep(down_s)
    for i in nodes:
        cluster.start(i)
    for i in nodes:
        cluster.wait_rpc(i, timeout=120)  # four starting at once on a busy machine take a while


async def _run(cluster: Cluster) -> tuple[Tally, Tally]:
    once, resubmit = Tally(), Tally()
    stop = asyncio.Event()
    keys = [Account(KeyPair("standard", 9000 + i)) for i in range(2 * WORKERS)]
    workers = [asyncio.create_task(_once(cluster, keys[i], f"once{i}", once, stop)) for i in range(WORKERS)]
    workers += [asyncio.create_task(_resubmit(cluster, keys[WORKERS + i], f"re{i}", resubmit, stop))
                for i in range(WORKERS)]
    for victims in KILLS:
        await asyncio.sleep(3)
        await asyncio.to_thread(_kill_and_restart, cluster, victims, 1.0)
    await asyncio.sleep(3)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*workers), timeout=150)
    return once, resubmit


def _on_chain(cluster: Cluster, hashes: list[bytes]) -> set[bytes]:
    return {h for h in hashes if cluster.rpc(1, "getTransactionReceipt", ["0x" + h.hex()]) is not None}


def test_accepted_transactions_survive_node_kills_when_the_client_resubmits(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path / "nodes", nodes=4, suite="standard", executor="kv", timeout_ms=1000,
                      min_seal_time_ms=500)
    try:
        cluster.start_all()
        for i in range(cluster.size):
            cluster.wait_rpc(i, timeout=60)
        once, resubmit = asyncio.run(_run(cluster))
        time.sleep(3)  # let the last blocks settle before looking
        once_lost = len(once.accepted) - len(_on_chain(cluster, once.accepted))
        resubmit_on_chain = _on_chain(cluster, resubmit.accepted)
        print(f"\nonce:     {len(once.accepted)} accepted, {once.confirmed} receipts, {once.unanswered} waits failed, "
              f"{once_lost} LOST (accepted, not on chain); {once.refused} refused at submission")
        print(f"resubmit: {len(resubmit.accepted)} sent, {resubmit.confirmed} receipts, {resubmit.expired} expired, "
              f"{resubmit.timed_out} timed out, {len(resubmit.accepted) - len(resubmit_on_chain)} not on chain; "
              f"{resubmit.refused} builds retried (node down)")
        assert resubmit.accepted, "the resubmitting clients sent nothing"
        # Each ended in a receipt or an expiry; each receipt is on chain; nothing else happened.
        assert resubmit.timed_out == 0
        assert resubmit.confirmed + resubmit.expired == len(resubmit.accepted)
        assert len(resubmit_on_chain) == resubmit.confirmed
    except BaseException:
        for i in range(cluster.size):
            print(f"--- node{i} (exit {cluster.processes[i].poll() if i in cluster.processes else 'killed'})")
            print(cluster.log_tail(i, 15))
        raise
    finally:
        cluster.stop_all()
