"""One node's log layer: the store's log queries, its installed filters and its subscription hub.

A node makes one (``Node.logs``) and calls ``on_commit(number)`` after each committed block; the
JSON-RPC methods (``chain.rpc.log_methods``), the WebSocket route (``chain.rpc.ws``), and later the
web3 dialect and the channel protocol all reach the same object, so a filter installed through one
transport and the queues of every subscriber are counted once per node.
"""

from __future__ import annotations

from chain.crypto.suite import CryptoSuite
from chain.ledger.store import Store
from chain.logs.filters import FilterRegistry
from chain.logs.query import LogFilter, MatchedLog, get_logs
from chain.logs.subscriptions import SubscriptionHub


class LogService:
    def __init__(self, store: Store, suite: CryptoSuite) -> None:
        self.store = store
        self.suite = suite
        self.filters = FilterRegistry(store)
        self.hub = SubscriptionHub(store, suite)

    def get_logs(self, flt: LogFilter) -> list[MatchedLog]:
        return get_logs(self.store, flt)

    def on_commit(self, number: int) -> None:
        """The node committed block `number`: push it (and any block before it not yet pushed)."""
        self.hub.publish(number)
