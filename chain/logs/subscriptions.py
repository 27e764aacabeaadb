"""Pushing new blocks and matching logs to subscribers: FISCO's EventSub idea, transport-free.

The node calls ``SubscriptionHub.publish(head_number)`` after each commit (on its event loop);
the hub reads every block it has not yet published (so a missed call or a burst of synced blocks
loses nothing), and puts events into each subscriber's queue:

* ``subscribe_blocks()`` → a ``Subscription`` receiving one ``BlockEvent`` per committed block;
* ``subscribe_logs(flt)`` → a ``Subscription`` receiving the ``MatchedLog`` s of each new block that
  ``flt`` matches (within flt's explicit bounds). If ``flt.from_block`` is at or below the head,
  the past logs (``get_logs``, with its range bound) are queued first, then the live ones: the
  EventSub behaviour of "from block N, and keep going".

A transport (the WebSocket route in ``chain.rpc.ws``; later the channel protocol and web3's
``eth_subscribe``) drains a subscription with ``take()`` whenever ``notify`` fires. ``notify`` is
called in the publishing thread (the node's loop); a transport on another loop must pass a
thread-safe callback.

Slow clients: each queue holds at most ``max_queue`` events. A subscriber that lets it fill is
closed (``closed`` set, ``close_reason`` says why) and removed from the hub — one slow client costs
the node a bounded amount of memory and never slows the commit path. Before matching a block's
logs, the hub checks the block's bloom (``chain.ledger.bloom``) and skips the receipts of blocks
that cannot match.
"""

from __future__ import annotations

import collections
import itertools
import threading
from dataclasses import dataclass
from typing import Any, Callable, Union

from chain.crypto.suite import CryptoSuite
from chain.ledger.block import Block
from chain.ledger.store import Store
from chain.ledger.bloom import block_bloom, may_match
from chain.logs.query import MAX_BLOCK_RANGE, LogFilter, LogQueryError, MatchedLog, get_logs, in_range, match_block

MAX_QUEUE = 1_000  # events waiting for one subscriber
MAX_SUBSCRIPTIONS = 1_000  # per hub (per node)
SLOW_CLIENT = "queue full: the client did not read its events fast enough"


@dataclass(frozen=True)
class BlockEvent:
    number: int
    hash: bytes
    parent_hash: bytes
    timestamp: int
    # A client that waits for its transaction learns from the push itself that it is committed,
    # without asking for the block: one round trip less per commit (issue 18).
    transaction_hashes: tuple[bytes, ...]

    @property
    def transaction_count(self) -> int:
        return len(self.transaction_hashes)


def block_event_json(e: BlockEvent) -> dict[str, Any]:
    return {"number": hex(e.number), "hash": "0x" + e.hash.hex(), "parentHash": "0x" + e.parent_hash.hex(),
            "timestamp": hex(e.timestamp), "transactionCount": hex(e.transaction_count),
            "transactions": ["0x" + h.hex() for h in e.transaction_hashes]}


Event = Union[BlockEvent, MatchedLog]


class Subscription:
    def __init__(self, sub_id: int, log_filter: LogFilter | None, max_queue: int,
                 notify: Callable[[], None] | None) -> None:
        self.id = sub_id
        self.log_filter = log_filter  # None: a block (newHeads) subscription
        self.max_queue = max_queue
        self.notify = notify
        self.closed = False
        self.close_reason = ""
        self._queue: collections.deque[Event] = collections.deque()
        self._lock = threading.Lock()

    @property
    def kind(self) -> str:
        return "blocks" if self.log_filter is None else "logs"

    def pending(self) -> int:
        return len(self._queue)

    def _push(self, events: list[Event]) -> bool:
        """Queue events; False (and closed) if they do not fit."""
        if not events or self.closed:
            return not self.closed
        with self._lock:
            if len(self._queue) + len(events) > self.max_queue:
                self.closed, self.close_reason = True, SLOW_CLIENT
                self._queue.clear()
            else:
                self._queue.extend(events)
        if self.notify is not None:
            self.notify()
        return not self.closed

    def take(self, limit: int | None = None) -> list[Event]:
        """Remove and return up to limit queued events, oldest first."""
        with self._lock:
            count = len(self._queue) if limit is None else min(limit, len(self._queue))
            return [self._queue.popleft() for _ in range(count)]


class SubscriptionHub:
    def __init__(self, store: Store, suite: CryptoSuite, *, max_queue: int = MAX_QUEUE,
                 max_subscriptions: int = MAX_SUBSCRIPTIONS) -> None:
        self.store = store
        self.suite = suite
        self.max_queue = max_queue
        self.max_subscriptions = max_subscriptions
        self.published = store.head_number()  # blocks up to here exist before anyone subscribed
        self._subs: dict[int, Subscription] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self.receipt_reads = 0  # blocks whose receipts publish had to read (the bloom skips the rest)
        self.dropped = 0  # subscribers closed for being slow

    def __len__(self) -> int:
        return len(self._subs)

    def subscribe_blocks(self, notify: Callable[[], None] | None = None) -> Subscription:
        return self._add(None, notify)

    def subscribe_logs(self, flt: LogFilter, notify: Callable[[], None] | None = None) -> Subscription:
        with self._lock:
            past: list[Event] = []
            if flt.block_hash is None and flt.from_block is not None and flt.from_block <= self.published:
                flt.check_range()
                to = self.published if flt.to_block is None else min(flt.to_block, self.published)
                if to - flt.from_block + 1 > MAX_BLOCK_RANGE:  # the catch-up is a getLogs: same bound
                    raise LogQueryError(f"fromBlock is more than {MAX_BLOCK_RANGE} blocks back: use getLogs for the past")
                if to >= flt.from_block:
                    past.extend(get_logs(self.store, flt, blocks=range(flt.from_block, to + 1)))
                if len(past) > self.max_queue:
                    raise LogQueryError(f"{len(past)} past logs exceed the subscription queue ({self.max_queue}): "
                                        "use getLogs for the past, then subscribe from the head")
            sub = self._add(flt, notify)
            sub._push(past)
            return sub

    def _add(self, flt: LogFilter | None, notify: Callable[[], None] | None) -> Subscription:
        with self._lock:
            if len(self._subs) >= self.max_subscriptions:
                raise LogQueryError(f"too many subscriptions ({self.max_subscriptions})")
            sub = Subscription(next(self._ids), flt, self.max_queue, notify)
            self._subs[sub.id] = sub
            return sub

    def unsubscribe(self, sub_id: int) -> bool:
        with self._lock:
            sub = self._subs.pop(sub_id, None)
        if sub is not None and not sub.closed:
            sub.closed, sub.close_reason = True, "unsubscribed"
        return sub is not None

    def publish(self, head_number: int | None = None) -> None:
        """Deliver every committed block after the last published one, up to head_number (or the head)."""
        with self._lock:
            head = self.store.head_number() if head_number is None else min(head_number, self.store.head_number())
            while self.published < head:
                self._publish_block(self.published + 1)
                self.published += 1

    def _publish_block(self, number: int) -> None:
        if not self._subs:
            return
        head = self.store.head()
        block: Block | None = head if head is not None and head.number == number else self.store.block_by_number(number)
        if block is None:
            return
        block_hash = block.hash(self.suite)
        event = BlockEvent(number, block_hash, block.header.parent_hash, block.header.timestamp,
                           tuple(tx.hash(self.suite) for tx in block.transactions))
        log_subs = [s for s in self._subs.values() if s.log_filter is not None and in_range(s.log_filter, number)]
        bloom = None
        receipts = None
        for sub in list(self._subs.values()):
            if sub.log_filter is None:
                events: list[Event] = [event]
            elif sub in log_subs:
                if bloom is None:
                    bloom = self._bloom(number)
                flt = sub.log_filter
                if not may_match(self.suite, bloom, flt.addresses, flt.topics):
                    continue  # the bloom says no log here can match: receipts stay unread
                if receipts is None:
                    receipts = self.store.receipts(number)
                    self.receipt_reads += 1
                events = list(match_block(flt, number, block_hash, receipts))
            else:
                continue
            if not sub._push(events):
                self._subs.pop(sub.id, None)
                self.dropped += 1

    def _bloom(self, number: int) -> bytes:
        rows = self.store.select("SELECT bloom FROM block_blooms WHERE number = ?", (number,))
        if rows:
            bloom = rows[0][0]
            assert isinstance(bloom, bytes)  # a BLOB column
            return bloom
        return block_bloom(self.suite, self.store.receipts(number))
