"""The contract between a running node and its JSON-RPC server.

The server never reaches into consensus, the network or the executor directly: everything it can
ask a node is listed here. ``chain.node`` implements it for a real process; tests implement it with
a Store and a TxPool in-process. Keeping it this narrow is what lets the RPC layer be tested (and
read) without a cluster.
"""

from __future__ import annotations

from typing import Awaitable, Protocol, Sequence, runtime_checkable

from chain.crypto.suite import CryptoSuite
from chain.errors import TxRejected
from chain.ledger.store import Store
from chain.ledger.transaction import Transaction
from chain.network.host import PeerInfo
from chain.txpool.pool import TxPool


class NodeApi(Protocol):
    suite: CryptoSuite
    chain_id: int
    group_id: int  # 2.x numeric group (1)
    group_name: str  # 3.x group name ("group0")
    node_name: str  # 3.x node name (the node directory name, e.g. "node0")
    node_id: bytes  # 64-byte consensus public key
    store: Store  # read-only use
    txpool: TxPool  # read-only use: pending transactions

    def submit_transaction(self, tx: Transaction) -> bytes:
        """Admit tx to the pool and gossip it; its hash, or raises TxRejected."""
        ...

    def call(self, to: bytes, data: bytes, sender: bytes) -> tuple[int, bytes]:
        """(status, output) of a read-only call on the head state."""
        ...

    def consensus_status(self) -> dict:
        """{"view", "leader", "nodeIndex", "sealers": [hex], "observers": [hex], "height", "timeoutMs"}"""
        ...

    def sync_status(self) -> dict:
        """{"blockNumber", "latestHash", "knownHighestNumber", "isSyncing", "peers": [...]}"""
        ...

    def peers(self) -> list[PeerInfo]:
        """Every configured endpoint and linked node (the RPC methods spell them in JSON)."""
        ...

    def node_ids(self) -> list[bytes]:
        """Every node id of the chain (sealers + observers)."""
        ...

    def code_at(self, address: bytes) -> bytes:
        """The runtime code of the contract at address on the head state; b"" for none.

        Why here: where code is kept is the executor's business (the EVM's own table), which the
        RPC layer must not know.
        """
        ...


# What a node MAY offer besides NodeApi. The server checks with isinstance and falls back to
# submit_transaction one at a time, so a test node need not implement them.

@runtime_checkable
class SubmitsBatches(Protocol):
    """Admits a run of transactions in order (each its hash or its refusal) and gossips them as one
    message; the server uses it for runs of sendRawTransaction in a JSON-RPC batch
    (chain.rpc.server.handle_batch)."""

    def submit_transactions(self, txs: Sequence[Transaction]) -> list[bytes | TxRejected]: ...


@runtime_checkable
class SubmitsInRounds(Protocol):
    """Admits txs together with those of other requests in one round (one gossip message); the
    server uses it for sendRawTransaction requests, single or batched (handle_body_async)."""

    def submit_soon(self, txs: Sequence[Transaction]) -> Awaitable[list[bytes | TxRejected]]: ...


@runtime_checkable
class ServesGroups(Protocol):
    """A node of several groups (docs/nodes.md "Groups"): one NodeApi per group, group0 first. The
    server picks the one a request's group id (2.x) or group name (3.x) names."""

    def groups_served(self) -> Sequence[NodeApi]: ...
