"""Installed filters, polled with getFilterChanges: FISCO 3.x's FilterSystem, in one registry.

A client installs a filter (``newFilter``, ``newBlockFilter``, ``newPendingTransactionFilter``), gets a
random 64-bit id, and polls ``getFilterChanges(id)`` for what is new since its last poll. As in FISCO:

* every filter remembers the next block it has not reported (``next_block``, the head + 1 when
  installed), and one poll covers at most ``max_blocks_per_poll`` blocks (FISCO's
  ``maxBlockProcessPerReq``), so a filter that fell far behind is paid off over several polls
  instead of one unbounded answer;
* a log filter reports its logs from those blocks within its own [fromBlock, toBlock]; a block
  filter the blocks' hashes; a "pending transaction" filter — as FISCO's implementation does — the
  hashes of transactions in those newly committed blocks (a PBFT pool has no public pending set);
* a filter not polled for ``timeout_s`` (FISCO: ``filter_timeout``, 300 s) expires and is removed;
  expiry is checked on every registry call, so no timer thread is needed;
* ``getFilterLogs(id)`` answers the log filter's whole range (as getLogs, with its bound);
* at most ``max_filters`` filters live at once: a client that installs without uninstalling gets a
  clear error rather than the node's memory.

The clock is injected (``clock`` returns seconds) so tests move time instead of sleeping.
"""

from __future__ import annotations

import enum
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from chain.ledger.store import Store
from chain.logs.query import MAX_BLOCK_RANGE, LogFilter, LogQueryError, MatchedLog, get_logs

FILTER_TIMEOUT_S = 300.0
MAX_FILTERS = 10_000
MAX_BLOCKS_PER_POLL = 1_000


class FilterKind(enum.Enum):
    LOGS = "logs"
    BLOCKS = "blocks"
    PENDING_TRANSACTIONS = "pendingTransactions"


@dataclass
class Filter:
    id: int
    kind: FilterKind
    log_filter: LogFilter | None
    next_block: int
    last_poll: float = field(default=0.0)


Change = MatchedLog | bytes  # a log (log filters) or a 32-byte hash (block and transaction filters)


class FilterRegistry:
    def __init__(self, store: Store, *, clock: Callable[[], float] = time.monotonic,
                 timeout_s: float = FILTER_TIMEOUT_S, max_filters: int = MAX_FILTERS,
                 max_blocks_per_poll: int = MAX_BLOCKS_PER_POLL, max_range: int = MAX_BLOCK_RANGE) -> None:
        self.store = store
        self.clock = clock
        self.timeout_s = timeout_s
        self.max_filters = max_filters
        self.max_blocks_per_poll = max_blocks_per_poll
        self.max_range = max_range
        self._filters: dict[int, Filter] = {}
        self._lock = threading.Lock()  # RPC may run handlers on worker threads

    def __len__(self) -> int:
        return len(self._filters)

    # --- install / uninstall ------------------------------------------------------------------

    def new_filter(self, log_filter: LogFilter) -> int:
        log_filter.check_range()
        return self._install(FilterKind.LOGS, log_filter)

    def new_block_filter(self) -> int:
        return self._install(FilterKind.BLOCKS, None)

    def new_pending_transaction_filter(self) -> int:
        return self._install(FilterKind.PENDING_TRANSACTIONS, None)

    def uninstall(self, filter_id: int) -> bool:
        """True if the filter existed (FISCO answers a boolean, never an error)."""
        with self._lock:
            self._expire()
            return self._filters.pop(filter_id, None) is not None

    def _install(self, kind: FilterKind, log_filter: LogFilter | None) -> int:
        with self._lock:
            self._expire()
            # A bound on live filters: each holds memory until it is polled or expires.
            if len(self._filters) >= self.max_filters:
                raise LogQueryError(f"too many filters installed ({self.max_filters}): uninstall unused ones")
            filter_id = secrets.randbits(64)
            while filter_id in self._filters or filter_id == 0:
                filter_id = secrets.randbits(64)
            self._filters[filter_id] = Filter(filter_id, kind, log_filter, self.store.head_number() + 1, self.clock())
            return filter_id

    # --- polling --------------------------------------------------------------------------

    def _get(self, filter_id: int) -> Filter:
        self._expire()
        found = self._filters.get(filter_id)
        if found is None:
            raise LogQueryError("filter not found")  # FISCO's text; also what an expired filter answers
        found.last_poll = self.clock()
        return found

    def changes(self, filter_id: int) -> list[Change]:
        """What is new for the filter since its last poll (at most max_blocks_per_poll blocks)."""
        with self._lock:
            flt = self._get(filter_id)
            head = self.store.head_number()
            start = flt.next_block
            if flt.kind is FilterKind.LOGS:
                assert flt.log_filter is not None
                # From a filter's explicit fromBlock when it is later; never past its explicit toBlock.
                if flt.log_filter.from_block is not None:
                    start = max(start, flt.log_filter.from_block)
                end = head if flt.log_filter.to_block is None else min(head, flt.log_filter.to_block)
            else:
                end = head
            if end < start:
                return []
            end = min(end, start + self.max_blocks_per_poll - 1)
            found = self._collect(flt, range(start, end + 1))
            flt.next_block = end + 1  # only once the answer exists: an error loses nothing
            return found

    def _collect(self, flt: Filter, blocks: range) -> list[Change]:
        if flt.kind is FilterKind.LOGS:
            assert flt.log_filter is not None
            return list(get_logs(self.store, flt.log_filter, blocks=blocks))
        if flt.kind is FilterKind.BLOCKS:
            return [self.store.block_hash(n) or b"" for n in blocks]
        hashes: list[Change] = []
        for n in blocks:
            block = self.store.block_by_number(n)
            hashes.extend(tx.hash(self.store.suite) for tx in (block.transactions if block else ()))
        return hashes

    def logs(self, filter_id: int) -> list[MatchedLog]:
        """getFilterLogs: the log filter's whole range, as getLogs would answer it now."""
        with self._lock:
            flt = self._get(filter_id)
            if flt.kind is not FilterKind.LOGS or flt.log_filter is None:
                raise LogQueryError("filter not found")  # FISCO: only a log filter has logs
            log_filter = flt.log_filter
        return get_logs(self.store, log_filter, max_range=self.max_range)

    # --- expiry ---------------------------------------------------------------------------

    def _expire(self) -> None:
        deadline = self.clock() - self.timeout_s
        for filter_id in [i for i, f in self._filters.items() if f.last_poll < deadline]:
            del self._filters[filter_id]

    def expire(self) -> int:
        """Drop filters idle for longer than timeout_s; how many remain."""
        with self._lock:
            self._expire()
            return len(self._filters)
