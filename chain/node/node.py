"""A running node: the PBFT replica driven by real sockets and a real clock.

The node is a *thin driver*. All protocol logic — proposals, votes, view changes, tx gossip, block
sync, execution, commit — is in the sans-IO ``Replica``; the node only

* turns the outside world into replica events: a frame from a peer → ``Deliver``, a timer → ``TimerFired``,
  a client transaction → ``SubmitTransactions``, a periodic ``Tick``;
* carries out the effects the replica returns: ``Send``/``Broadcast`` through the P2P host,
  ``SetTimer``/``CancelTimer`` with ``loop.call_later`` on a monotonic millisecond clock, and logs
  the notifications (``BlockCommitted``, ``ViewChanged``, ``Rejected``…);
* serves the ``NodeApi`` (``chain.rpc.api``) that the JSON-RPC server reads.

Each group the node serves (docs/nodes.md "Groups") is a ``GroupNode`` (``chain.node.group``): its
own store, pool and replica, on a thread of its own (``chain.node.replica_thread``), on a clock that
stands still while it executes a block: the loop keeps answering RPC and peers during a long
execution, and the view timer never expires on a node busy executing a correct block. What the
groups share is this process, its consensus key, the P2P host and the client endpoints: JSON-RPC
serves every group (the request's group id or name picks one), and so do the channel port's
requests and receipt pushes; its block numbers and event logs, and the web3 endpoint, are group0's.
``Node`` itself answers ``NodeApi`` for group0, as it did before groups.

The simulator runs the very same replica with a virtual network and clock instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from functools import partial
from pathlib import Path
from typing import Any, Sequence

from aiohttp import web

from chain.consensus.pbft.replica import Replica
from chain.crypto.keys import KeyPair, load_private_key
from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError, NetworkError, TxRejected
from chain.execution.result import BlockExecutor
from chain.ledger.genesis import FIRST_GROUP_NAME, GenesisConfig, group_id_of
from chain.ledger.store import Store
from chain.logs.service import LogService
from chain.ledger.transaction import Transaction
from chain.network.hello import ChainIdentity
from chain.network.host import Host, PeerInfo
from chain.channel.server import ChannelServer
from chain.channel.tls import channel_server_context
from chain.node.config import NodeConfig, check_groups, group_genesis_file, p2p_settings
from chain.node.group import CALL_BUDGET_S, MAX_BACKLOG, STOP_WAIT_S, SUBMIT_ROUND_MS, TICK_MS, GroupNode, wall_ms
from chain.node.logging import event
from chain.node.replica_thread import ReplicaThread
from chain.rpc.api import NodeApi
from chain.rpc.server import bound_port, start_rpc_server
from chain.txpool.pool import TxPool

log = logging.getLogger("chain.node")

GROUP_NAME = FIRST_GROUP_NAME
# Threads for work the RPC server runs off the loop (`call`): few, because they share the GIL with
# the replica — a flood of calls waits its turn instead of slowing consensus down.
CALL_WORKERS = 2
__all__ = ["CALL_BUDGET_S", "MAX_BACKLOG", "STOP_WAIT_S", "SUBMIT_ROUND_MS", "TICK_MS", "Node", "wall_ms"]


class Node:
    """One node process's state and wiring; implements chain.rpc.api.NodeApi for group0, and
    ``groups_served`` (chain.rpc.api.ServesGroups) for all its groups."""

    group_name = GROUP_NAME

    def __init__(self, node_dir: str | Path, config: NodeConfig | None = None) -> None:
        self.directory = Path(node_dir).resolve()
        self.config = config or NodeConfig.load(self.directory)
        self.node_name = self.config.node.name
        self.key: KeyPair = load_private_key(self.directory / self.config.node.key_file)
        self.node_id = self.key.public_key
        names = self.config.group_names
        self._check_groups(names)
        self.groups: dict[str, GroupNode] = {}
        try:
            for name in names:  # group0 first: it is the node's main group
                self.groups[name] = GroupNode(self.directory, self.config, name, self.key, tagged=len(names) > 1)
        except BaseException:
            self._close_stores()
            raise
        self.main = self.groups[FIRST_GROUP_NAME]
        # group0's, as the node had them before groups: NodeApi, and what tests and tools read
        self.genesis: GenesisConfig = self.main.genesis
        self.suite: CryptoSuite = self.main.suite
        self.chain_id = self.main.chain_id
        self.group_id = self.main.group_id
        self.genesis_hash = self.main.genesis_hash
        self.store: Store = self.main.store
        self.txpool: TxPool = self.main.txpool
        self.log_service: LogService = self.main.log_service
        self.executor: BlockExecutor = self.main.executor
        self.replica: Replica = self.main.replica
        self._by_id = {group.group_id: group for group in self.groups.values() if group.wire_group is not None}
        tls, network = p2p_settings(self.config, self.directory)
        self.host = Host(
            key=self.key,
            identity=ChainIdentity(self.main.chain_id, self.main.group_id, self.main.genesis_hash,
                                   tuple((g.group_id, g.genesis_hash) for g in self._by_id.values())),
            tls=tls,
            config=network,
            is_admitted=self.is_chain_node,
            on_message=self._on_message,
            on_peer=self._on_peer,
            on_relay=self._on_relay,
            on_group_message=self._on_group_message,
        )
        for group in self.groups.values():
            group.attach(self.host)
        self.channel: ChannelServer | None = self._make_channel()
        if self.channel is not None:
            self.main.on_commit.append(self.channel.notify_block)
            for group in self._by_id.values():  # the other groups: their receipts, pushed as group0's are
                group.on_commit.append(partial(self.channel.notify_group_block, group.group_id))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._rpc: web.AppRunner | None = None
        self.rpc_port: int | None = None
        self._web3: web.AppRunner | None = None
        self.web3_port: int | None = None  # the Ethereum JSON-RPC endpoint, when [web3_rpc] enabled

    def _check_groups(self, names: Sequence[str]) -> None:
        check_groups(self.directory, self.config, names)

    def _groups_field(self, value: object) -> dict[str, Any]:
        """A log field naming the groups, on a node of several (a node of one logs as it always did)."""
        return {"groups": value} if len(self.groups) > 1 else {}

    def _close_stores(self) -> None:
        for group in self.groups.values():
            group.close()

    # --- group0, as the node was before groups (NodeApi, and what tests and tools read) ------

    @property
    def _thread(self) -> ReplicaThread | None:
        return self.main._thread

    def groups_served(self) -> list[NodeApi]:
        """Every group of this node, group0 first (chain.rpc.api.ServesGroups)."""
        return list(self.groups.values())

    def _make_channel(self) -> ChannelServer | None:
        """The SDK channel port (chain.channel), serving group0; none for a node directory built without its certificate."""
        section = self.config.channel
        cert = self.directory / section.cert
        if not cert.exists():
            event(log, "channel_disabled", logging.WARNING, reason=f"no channel certificate {section.cert}")
            return None
        context = channel_server_context(self.directory / section.ca_cert, cert, self.directory / section.key)
        return ChannelServer(self, listen_ip=section.listen_ip, listen_port=section.listen_port, context=context,
                             group_id=self.group_id, relay_send=self.host.send_relay,
                             connected_peers=self.host.connected)

    async def _start_web3(self) -> web.AppRunner | None:
        """The Ethereum JSON-RPC endpoint (chain.web3) if [web3_rpc] enables it; sm chains refuse to start it."""
        section = self.config.web3_rpc
        if not section.enabled:
            return None
        from chain.web3.methods import Web3Context
        from chain.web3.server import start_web3_server
        return await start_web3_server(Web3Context(self, section.chain_id, self.log_service),
                                       section.listen_ip, section.listen_port)

    def _on_relay(self, sender: bytes, raw: bytes) -> None:
        if self.channel is not None:
            self.channel.on_relay(sender, raw)

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.set_default_executor(
            concurrent.futures.ThreadPoolExecutor(max_workers=CALL_WORKERS, thread_name_prefix=f"{self.node_name}-rpc"))
        event(log, "node_starting", node_id=self.node_id.hex(), suite=self.suite.name,
              head=self.store.head_number(), executor=self.config.executor.kind,
              **self._groups_field({name: g.store.head_number() for name, g in self.groups.items()}))
        # Each group's replica asks for blocks it lacks; its Tick asks again until a peer is heard.
        for group in self.groups.values():
            group.start(self._loop)
        try:
            await self.host.start()
            self._rpc = await start_rpc_server(self, self.config.rpc.listen_ip, self.config.rpc.listen_port)
            if self.channel is not None:
                await self.channel.start()
            self._web3 = await self._start_web3()
        except (OSError, ChainError) as exc:
            # Most often a port another process already holds: say which, rather than a traceback.
            if self._rpc is not None:
                await self._rpc.cleanup()
            if self.channel is not None:
                await self.channel.stop()
            await self.host.stop()
            for group in self.groups.values():
                await group.stop()
            self._close_stores()
            if not isinstance(exc, OSError):
                raise
            raise NetworkError(
                f"{self.node_name} cannot listen (web3 {self.config.web3_rpc.listen_ip}:{self.config.web3_rpc.listen_port}, p2p {self.config.network.listen_ip}:{self.config.network.listen_port}, "
                f"rpc {self.config.rpc.listen_ip}:{self.config.rpc.listen_port}, "
                f"channel {self.config.channel.listen_ip}:{self.config.channel.listen_port}): {exc}"
            ) from exc
        self.rpc_port = bound_port(self._rpc)
        self.web3_port = bound_port(self._web3) if self._web3 is not None else None
        for group in self.groups.values():
            group.start_ticking()
        event(log, "node_started", p2p=f"{self.config.network.listen_ip}:{self.host.listen_port}",
              rpc=f"{self.config.rpc.listen_ip}:{self.rpc_port}",
              channel=f"{self.config.channel.listen_ip}:{self.channel.listen_port}" if self.channel else "off",
              web3=f"{self.config.web3_rpc.listen_ip}:{self.web3_port}" if self.web3_port else "off",
              **self._groups_field(list(self.groups)))

    async def stop(self) -> None:
        event(log, "node_stopping", head=self.store.head_number())
        for group in self.groups.values():
            await group.stop()
        if self._rpc is not None:
            await self._rpc.cleanup()
        if self._web3 is not None:
            await self._web3.cleanup()
        if self.channel is not None:
            await self.channel.stop()
        await self.host.stop()
        self._close_stores()
        event(log, "node_stopped")

    # --- peers' messages -----------------------------------------------------------------------

    def _on_message(self, sender: bytes, raw: bytes) -> None:
        """An engine message of group0 (frame kind 1)."""
        self.main.on_message(sender, raw)

    def _on_group_message(self, group_id: int, sender: bytes, raw: bytes) -> None:
        """An engine message of another group: the host delivers only groups this node serves."""
        group = self._by_id.get(group_id)
        if group is None:  # not reached: the host checks Host.groups, which are these
            raise ChainError(f"group {group_id} is not served by this node")
        group.on_message(sender, raw)

    def _on_peer(self, node_id: bytes, connected: bool) -> None:
        # Nothing to do for the replicas: on Tick each asks linked peers for blocks until it has heard
        # one, and again whenever peers' messages show they are ahead (chain.consensus.pbft.replica).
        event(log, "peer_linked" if connected else "peer_unlinked", logging.DEBUG, peer=node_id.hex()[:16])
        if self.channel is not None:  # AMOP: tell the new peer which topics our SDKs listen on
            self.channel.on_peer(node_id, connected)

    # --- peer admission --------------------------------------------------------------------

    def is_chain_node(self, node_id: bytes) -> bool:
        """Whether node_id is in the node list in force of one of our groups (sealers and observers)."""
        return any(node_id in group.replica.node_ids for group in self.groups.values())

    # --- NodeApi (group0) ------------------------------------------------------------------

    def node_ids(self) -> list[bytes]:
        """Sealers then observers of group0, as the replica holds them (re-read after every block)."""
        return self.main.node_ids()

    def submit_transaction(self, tx: Transaction) -> bytes:
        return self.main.submit_transaction(tx)

    def submit_transactions(self, txs: Sequence[Transaction]) -> list[bytes | TxRejected]:
        return self.main.submit_transactions(txs)

    def submit_soon(self, txs: Sequence[Transaction]) -> asyncio.Future[list[bytes | TxRejected]]:
        return self.main.submit_soon(txs)

    def call(self, to: bytes, data: bytes, sender: bytes) -> tuple[int, bytes]:
        return self.main.call(to, data, sender)

    def code_at(self, address: bytes) -> bytes:
        return self.main.code_at(address)

    def consensus_status(self) -> dict[str, Any]:
        return self.main.consensus_status()

    def sync_status(self) -> dict[str, Any]:
        return self.main.sync_status()

    def peers(self) -> list[PeerInfo]:
        return self.main.peers()
