"""A running node: the PBFT replica driven by real sockets and a real clock.

The node is a *thin driver*. All protocol logic — proposals, votes, view changes, tx gossip, block
sync, execution, commit — is in the sans-IO ``Replica``; the node only

* turns the outside world into replica events: a frame from a peer → ``Deliver``, a timer → ``TimerFired``,
  a client transaction → ``SubmitTransactions``, a periodic ``Tick``;
* carries out the effects the replica returns: ``Send``/``Broadcast`` through the P2P host,
  ``SetTimer``/``CancelTimer`` with ``loop.call_later`` on a monotonic millisecond clock, and logs
  the notifications (``BlockCommitted``, ``ViewChanged``, ``Rejected``…);
* serves the ``NodeApi`` (``chain.rpc.api``) that the JSON-RPC server reads.

The simulator runs the very same replica with a virtual network and clock instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any, Sequence

from aiohttp import web

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.messages import MsgType, decode_envelope
from chain.consensus.pbft.quorum import next_timeout_ms
from chain.consensus.pbft.replica import Replica, ReplicaConfig
from chain.crypto.keys import KeyPair, load_private_key
from chain.crypto.suite import CryptoSuite, get_suite
from chain.errors import ChainError, ConfigError, NetworkError, TxRejected
from chain.execution.result import BlockExecutor
from chain.ledger.genesis import GenesisConfig, build_genesis, open_chain
from chain.ledger.status import Status
from chain.ledger.store import Store
from chain.ledger.transaction import Transaction
from chain.network.hello import ChainIdentity
from chain.network.host import Host, NetworkConfig
from chain.network.tls import TlsFiles
from chain.node.config import NodeConfig
from chain.node.logging import event
from chain.rpc.server import bound_port, start_rpc_server
from chain.txpool.pool import TxPool

log = logging.getLogger("chain.node")

GROUP_NAME = "group0"
TICK_MS = 200  # how often the replica is nudged to retry sync and re-check sealing
SUBMIT_ROUND_MS = 2  # RPC-submitted transactions are admitted (and gossiped) in rounds at least this far apart


def make_executor(kind: str, suite: CryptoSuite, chain_id: int) -> BlockExecutor:
    """The block executor named in config.toml; every node of a chain must use the same kind."""
    if kind == "kv":
        from chain.execution.kv import KVExecutor

        return KVExecutor(suite)
    if kind == "evm":
        from chain.execution.executor import EVMExecutor

        return EVMExecutor(suite, chain_id=chain_id)
    raise ConfigError(f"unknown executor kind {kind!r}")


def monotonic_ms() -> int:
    return int(time.monotonic() * 1000)


class Node:
    """One node process's state and wiring; implements chain.rpc.api.NodeApi."""

    group_name = GROUP_NAME

    def __init__(self, node_dir: str | Path, config: NodeConfig | None = None) -> None:
        self.directory = Path(node_dir).resolve()
        self.config = config or NodeConfig.load(self.directory)
        self.node_name = self.config.node.name
        self.genesis = GenesisConfig.load(self.directory / self.config.node.genesis)
        self.suite: CryptoSuite = get_suite(self.genesis.suite)
        self.chain_id = self.genesis.chain_id
        self.group_id = self.genesis.group_id
        self.key: KeyPair = load_private_key(self.directory / self.config.node.key_file)
        # The consensus key must be of the chain's suite, or no one could check our signatures.
        if self.key.suite_name != self.genesis.suite:
            raise ConfigError(f"node key is a {self.key.suite_name} key but the chain uses {self.genesis.suite}")
        self.node_id = self.key.public_key
        storage = self.directory / self.config.storage.path
        storage.parent.mkdir(parents=True, exist_ok=True)
        self.store: Store = open_chain(storage, self.genesis)
        self.genesis_hash = build_genesis(self.genesis)[0].hash(self.suite)
        self.txpool = TxPool(self.suite, self.store, chain_id=self.chain_id, group_id=self.group_id)
        self.executor = make_executor(self.config.executor.kind, self.suite, self.chain_id)
        self.replica = Replica(
            self.suite, self.key.secret, self.store, self.txpool, self.executor,
            ReplicaConfig(
                timeout_ms=self.config.consensus.timeout_ms,
                min_seal_time_ms=self.config.consensus.min_seal_time_ms,
            ),
        )
        tls = TlsFiles(
            self.directory / self.config.tls.ca_cert,
            self.directory / self.config.tls.cert,
            self.directory / self.config.tls.key,
        )
        self.host = Host(
            key=self.key,
            identity=ChainIdentity(self.chain_id, self.group_id, self.genesis_hash),
            tls=tls,
            config=NetworkConfig(
                listen_ip=self.config.network.listen_ip,
                listen_port=self.config.network.listen_port,
                peers=self.config.network.peers,
                max_frame_size=self.config.network.max_frame_bytes,
            ),
            is_admitted=self.is_chain_node,
            on_message=self._on_message,
            on_peer=self._on_peer,
        )
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tick: asyncio.TimerHandle | None = None
        self._queued: list[tuple[list[Transaction], asyncio.Future[list[bytes | TxRejected]]]] = []  # see submit_soon
        self._last_round = 0.0  # loop.time() of the last admission round of submit_soon
        self._peer_heights: dict[bytes, int] = {}  # the head each peer last claimed (sync_status only)
        self._rpc: web.AppRunner | None = None
        self.rpc_port: int | None = None

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        event(log, "node_starting", node_id=self.node_id.hex(), suite=self.suite.name,
              head=self.store.head_number(), executor=self.config.executor.kind)
        try:
            await self.host.start()
            self._rpc = await start_rpc_server(self, self.config.rpc.listen_ip, self.config.rpc.listen_port)
        except OSError as exc:
            # Most often a port another process already holds: say which, rather than a traceback.
            await self.host.stop()
            self.store.close()
            raise NetworkError(
                f"{self.node_name} cannot listen (p2p {self.config.network.listen_ip}:{self.config.network.listen_port}, "
                f"rpc {self.config.rpc.listen_ip}:{self.config.rpc.listen_port}): {exc}"
            ) from exc
        self.rpc_port = bound_port(self._rpc)
        self._schedule_tick()
        # Ask for blocks we lack; the replica's Tick asks again until a peer is heard (links come up later).
        self._apply(self.replica.start(monotonic_ms()))
        event(log, "node_started", p2p=f"{self.config.network.listen_ip}:{self.host.listen_port}",
              rpc=f"{self.config.rpc.listen_ip}:{self.rpc_port}")

    async def stop(self) -> None:
        event(log, "node_stopping", head=self.store.head_number())
        if self._tick is not None:
            self._tick.cancel()
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for _, future in self._queued:  # not admitted: the node is going away
            future.cancel()
        self._queued.clear()
        if self._rpc is not None:
            await self._rpc.cleanup()
        await self.host.stop()
        self.store.close()
        event(log, "node_stopped")

    # --- events into the replica -----------------------------------------------------------

    def _handle(self, ev: fx.Event) -> list[fx.Effect]:
        effects = self.replica.handle(ev, monotonic_ms())
        self._apply(effects)
        return effects

    def _on_message(self, sender: bytes, raw: bytes) -> None:
        self._note_peer_height(sender, raw)
        self._handle(fx.Deliver(sender, raw))

    def _note_peer_height(self, sender: bytes, raw: bytes) -> None:
        """Remember how far a peer claims to be, for sync_status only (the replica decides alone).

        A Commit or Checkpoint for block n means its sender has at least block n − 1. The claim is
        not verified here, so it only ever feeds the knownHighestNumber a user is shown.
        """
        try:
            envelope = decode_envelope(raw)
            if envelope.type not in (MsgType.COMMIT, MsgType.CHECKPOINT):
                return
            number = int(envelope.body().number)  # type: ignore[union-attr]
        except ChainError:
            return  # the replica will say what is wrong with it
        if number - 1 > self._peer_heights.get(sender, -1):
            self._peer_heights[sender] = number - 1

    def _on_peer(self, node_id: bytes, connected: bool) -> None:
        # Nothing to do for the replica: on Tick it asks linked peers for blocks until it has heard
        # one, and again whenever peers' messages show they are ahead (chain.consensus.pbft.replica).
        event(log, "peer_linked" if connected else "peer_unlinked", logging.DEBUG, peer=node_id.hex()[:16])

    def _on_timer(self, name: str) -> None:
        self._timers.pop(name, None)
        self._handle(fx.TimerFired(name))

    def _schedule_tick(self) -> None:
        assert self._loop is not None
        self._tick = self._loop.call_later(TICK_MS / 1000, self._on_tick)

    def _on_tick(self) -> None:
        try:
            self._handle(fx.Tick())
        finally:
            self._schedule_tick()

    # --- effects out of the replica --------------------------------------------------------

    def _apply(self, effects: list[fx.Effect]) -> None:
        for effect in effects:
            if isinstance(effect, fx.Send):
                sent = self.host.send(effect.to, effect.raw)
                event(log, "message_sent", logging.DEBUG, type=effect.type.name, number=effect.number,
                      view=effect.view, to=effect.to.hex()[:16], delivered=sent)
            elif isinstance(effect, fx.Broadcast):
                count = self.host.broadcast(effect.raw)
                event(log, "message_broadcast", logging.DEBUG, type=effect.type.name, number=effect.number,
                      view=effect.view, peers=count)
            elif isinstance(effect, fx.SetTimer):
                self._set_timer(effect.name, effect.delay_ms)
            elif isinstance(effect, fx.CancelTimer):
                handle = self._timers.pop(effect.name, None)
                if handle is not None:
                    handle.cancel()
            elif isinstance(effect, fx.BlockCommitted):
                event(log, "block_committed", number=effect.number, hash=effect.block_hash,
                      txs=effect.tx_count, view=effect.view, via=effect.via)
            elif isinstance(effect, fx.ViewChangeStarted):
                event(log, "view_change_started", logging.WARNING, number=effect.number, to_view=effect.to_view)
            elif isinstance(effect, fx.ViewChanged):
                event(log, "view_changed", number=effect.number, view=effect.view)
            elif isinstance(effect, fx.Rejected):
                event(log, "message_rejected", logging.DEBUG, reason=effect.reason, type=effect.type, sender=effect.sender)
            elif isinstance(effect, fx.TxsAccepted):
                event(log, "txs_accepted", logging.DEBUG, count=len(effect.hashes), rejected=effect.rejected)

    def _set_timer(self, name: str, delay_ms: int) -> None:
        assert self._loop is not None
        old = self._timers.pop(name, None)
        if old is not None:
            old.cancel()
        self._timers[name] = self._loop.call_later(max(0, delay_ms) / 1000, self._on_timer, name)

    # --- peer admission --------------------------------------------------------------------

    def is_chain_node(self, node_id: bytes) -> bool:
        """Whether node_id is in the node list in force for the next block (sealers and observers)."""
        return node_id in self.node_ids()

    # --- NodeApi ---------------------------------------------------------------------------

    def node_ids(self) -> list[bytes]:
        """Sealers then observers, as the replica holds them (re-read after every block)."""
        return list(self.replica.node_ids)

    def submit_transaction(self, tx: Transaction) -> bytes:
        """Hand tx to the replica (pool admission + gossip); its hash, or TxRejected."""
        outcome = self.submit_transactions([tx])[0]
        if isinstance(outcome, TxRejected):
            raise outcome
        return outcome

    def submit_transactions(self, txs: Sequence[Transaction]) -> list[bytes | TxRejected]:
        """Admit several transactions in one replica event: each judged alone, in order, but
        gossiped to the peers in ONE signed message.

        Why: a gossip message costs its sender a signature and every peer a verification (SM2:
        ~0.5 ms each). One message per transaction spent more CPU on gossip envelopes than on the
        transactions' own signatures; a JSON-RPC batch of 50 now pays for one envelope.
        """
        effects = self._handle(fx.SubmitTransactions(tuple(txs)))
        accepted = {h for e in effects if isinstance(e, fx.TxsAccepted) for h in e.hashes}
        outcomes: list[bytes | TxRejected] = []
        for tx in txs:
            tx_hash = tx.hash(self.suite)
            if tx_hash in accepted:
                accepted.discard(tx_hash)  # the same tx twice in one batch: the second is known
                outcomes.append(tx_hash)
            else:
                outcomes.append(self._refusal(tx, tx_hash))
        return outcomes

    def submit_soon(self, txs: Sequence[Transaction]) -> asyncio.Future[list[bytes | TxRejected]]:
        """Admit txs in the next admission round, together with every transaction other RPC
        requests submit meanwhile: for each, its hash or the TxRejected that refused it.

        One replica event and one gossip message per round, however many requests fed it. Rounds
        are at least SUBMIT_ROUND_MS apart: an idle node admits at once, a loaded one batches.
        """
        loop = self._loop
        assert loop is not None, "the node is not running"
        future: asyncio.Future[list[bytes | TxRejected]] = loop.create_future()
        if not self._queued:
            wait = self._last_round + SUBMIT_ROUND_MS / 1000 - loop.time()
            if wait > 0:
                loop.call_later(wait, self._admit_queued)
            else:
                loop.call_soon(self._admit_queued)
        self._queued.append((list(txs), future))
        return future

    def _admit_queued(self) -> None:
        queued, self._queued = self._queued, []
        if not queued:  # cancelled by stop()
            return
        assert self._loop is not None
        self._last_round = self._loop.time()
        try:
            outcomes = self.submit_transactions([tx for txs, _ in queued for tx in txs])
        except Exception as exc:  # a bug: every waiting client gets an answer, none hangs
            for _, future in queued:
                if not future.done():
                    future.set_exception(exc)
            raise
        start = 0
        for txs, future in queued:
            if not future.done():  # the client may have gone away
                future.set_result(outcomes[start:start + len(txs)])
            start += len(txs)

    def _refusal(self, tx: Transaction, tx_hash: bytes) -> bytes | TxRejected:
        """Why the pool refused tx. The replica only counts refusals; the pool's rules are
        deterministic and the state has not changed since, so submitting again raises the very
        same TxRejected (already pooled: ALREADY_KNOWN, without any work)."""
        if tx_hash in self.txpool:
            return TxRejected(Status.ALREADY_KNOWN, "transaction already in the pool")
        try:
            self.txpool.submit(tx)
        except TxRejected as exc:
            return exc
        except ChainError as exc:  # e.g. a malformed field the pool's rules trip over
            return TxRejected(Status.MALFORMED_TX, str(exc))
        return tx_hash  # not reached unless the pool changed its mind; then the tx is pooled

    def call(self, to: bytes, data: bytes, sender: bytes) -> tuple[int, bytes]:
        """A read-only call on the head state, as the next block's transactions would see it."""
        caller = getattr(self.executor, "call", None)
        # The key/value stand-in has no contracts to call.
        if caller is None:
            return int(Status.CALL_ADDRESS_ERROR), b""
        return caller(self.store, to, data, sender, self.store.head_number() + 1)  # type: ignore[no-any-return]

    def consensus_status(self) -> dict[str, Any]:
        replica = self.replica
        sealer_count = len(replica.sealer_ids)
        return {
            "view": replica.view,
            "toView": replica.to_view,
            "leader": replica.leader(),
            "nodeIndex": replica.my_index,
            "role": replica.role,
            "sealers": [n.hex() for n in replica.sealer_ids],
            "observers": [n.hex() for n in replica.node_ids[sealer_count:]],
            "height": replica.height,
            "timeoutMs": next_timeout_ms(
                replica.config.timeout_ms, replica.consecutive_view_changes, replica.config.max_timeout_exponent
            ),
            "state": replica.status()["state"],
        }

    def sync_status(self) -> dict[str, Any]:
        head = self.store.head()
        number = self.store.head_number()
        linked = set(self.host.connected())
        known = max([number] + [h for peer, h in self._peer_heights.items() if peer in linked])
        return {
            "blockNumber": number,
            "latestHash": "0x" + (head.hash(self.suite).hex() if head else ""),
            "knownHighestNumber": known,
            "isSyncing": known > number,
            "peers": [p for p in self.peers() if p["connected"]],
        }

    def peers(self) -> list[dict[str, Any]]:
        return self.host.peer_info()
