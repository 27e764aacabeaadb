"""Receipt pushes for another group's transactions, in a Pro node's group0 core (docs/nodes.md "Pro form").

A channel session that sends ``sendRawTransaction`` (0x12, or the python-sdk's 0x13) waits for the
receipt to be pushed when the transaction commits. The channel is served by group0's core, which
pushes group0's receipts on its own commits (``ChannelServer.notify_block``); a transaction of
another group commits in another core, which group0's core cannot hear. So group0's core asks:
every ``POLL_S``, per group with awaited transactions, one JSON-RPC batch ``getBlockNumber`` +
``getTransactionReceipt`` of each, handed to the rpc process (FORWARD, ``chain.node.local_link``)
like any channel request naming that group. A receipt found is pushed as the group0 core pushes
its own (``ChannelServer.push_receipt``).

Bounded as the channel's own waits are: at most ``MAX_WATCHED`` transactions at once (beyond, no
push is promised, as past the channel's MAX_AWAITED); one is forgotten when no open session waits
for it any more, when its group's head is ``RECEIPT_HORIZON`` blocks past the one first seen (its
blockLimit is past: it can no longer commit), or after ``MAX_WATCH_S`` whatever happens (a group
whose core stays down).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from chain.channel.server import RECEIPT_HORIZON, ChannelServer

log = logging.getLogger("chain.node")

POLL_S = 0.25  # how soon a receipt of another group is pushed after its block, at most (plus a round trip)
MAX_WATCHED = 1024
MAX_WATCH_S = 3600.0
BATCH = 256  # transactions asked about in one batch (the JSON-RPC batch limit is far above)

Ask = Callable[[bytes], Awaitable[Any]]  # a JSON-RPC body -> its answer, as over HTTP


@dataclass
class Watched:
    group_id: int  # the 2.x group id the transaction was sent to
    since: float  # loop time it was first watched
    horizon: int | None = None  # that group's block number past which it cannot commit (from the first poll)


class ReceiptPoller:
    """Other groups' transactions awaited by channel sessions: polled for until pushed or hopeless."""

    def __init__(self, channel: ChannelServer, ask: Ask) -> None:
        self.channel = channel
        self.ask = ask
        self.watched: dict[str, Watched] = {}  # tx hash (0x-hex, lower case) -> what we know
        self._task: asyncio.Task[None] | None = None

    def watch(self, tx_hash: str, group_id: int) -> None:
        """A transaction group `group_id` admitted for a channel session; polled for from now on."""
        tx_hash = tx_hash.lower()
        if tx_hash in self.watched or len(self.watched) >= MAX_WATCHED:
            return
        self.watched[tx_hash] = Watched(group_id, asyncio.get_running_loop().time())
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        while self.watched:
            await asyncio.sleep(POLL_S)
            try:
                await self.poll()
            except Exception:  # a bug skips this round; the channel and the core go on
                log.exception("polling other groups' receipts failed")

    def _forget(self, tx_hash: str) -> None:
        self.watched.pop(tx_hash, None)
        self.channel.stop_waiting(tx_hash)

    async def poll(self) -> None:
        """One round: push what committed, forget what nobody waits for or can no longer commit."""
        now = asyncio.get_running_loop().time()
        groups: dict[int, list[str]] = {}
        for tx_hash, watched in list(self.watched.items()):
            if not self.channel.is_awaited(tx_hash) or now - watched.since > MAX_WATCH_S:
                self._forget(tx_hash)
            else:
                groups.setdefault(watched.group_id, []).append(tx_hash)
        for group_id, hashes in groups.items():
            for start in range(0, len(hashes), BATCH):
                await self._ask_group(group_id, hashes[start:start + BATCH])

    async def _ask_group(self, group_id: int, hashes: list[str]) -> None:
        batch = [{"jsonrpc": "2.0", "id": 0, "method": "getBlockNumber", "params": [group_id]}]
        batch += [{"jsonrpc": "2.0", "id": i + 1, "method": "getTransactionReceipt", "params": [group_id, tx_hash]}
                  for i, tx_hash in enumerate(hashes)]
        answer = await self.ask(json.dumps(batch).encode())
        if not isinstance(answer, list):
            return
        by_id = {a.get("id"): a for a in answer if isinstance(a, dict)}
        head = _number(by_id.get(0, {}).get("result"))
        for i, tx_hash in enumerate(hashes):
            watched = self.watched.get(tx_hash)
            if watched is None:
                continue
            receipt = by_id.get(i + 1, {}).get("result")
            if isinstance(receipt, dict):
                self.watched.pop(tx_hash, None)
                self.channel.push_receipt(tx_hash, receipt)
            elif head is not None:
                if watched.horizon is None:
                    watched.horizon = head + RECEIPT_HORIZON
                elif head > watched.horizon:  # past its blockLimit: it can no longer commit
                    self._forget(tx_hash)


def _number(value: Any) -> int | None:
    """A block number answered as 0x-hex (None for an error)."""
    try:
        return int(value, 16) if isinstance(value, str) else None
    except ValueError:
        return None
