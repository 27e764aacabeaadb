"""One group on a node: its own ledger, pool, PBFT replica, thread and timers (docs/nodes.md "Groups").

FISCO BCOS 2.x runs several groups in one node process, each an independent ledger with its own
sealers, consensus and storage, sharing only the process, its keys and its P2P network; 3.x keeps
the idea (a core per group). Here a ``GroupNode`` is everything a node holds for one group:

* its store (SQLite file), transaction pool, log service and executor;
* its ``Replica``, driven on a ``ReplicaThread`` of its own, on its own clock, with its own timers
  and ``Tick`` — a group busy executing a block never holds up another group's votes;
* the ``NodeApi`` (``chain.rpc.api``) the JSON-RPC server reads for this group.

What it shares with the other groups of the process is the consensus key and the P2P host. The
first group (group0) sends its messages as before groups existed (``Host.send(to, raw)``); any other
names itself on the wire (``Host.send(to, raw, group=id)``), and the host hands it only the messages
of its own group, from peers that serve it.

The replica runs in a thread of its own, on a clock that stands still while it executes a block:
the loop keeps answering RPC and peers during a long execution, and the view timer never expires
on a node busy executing a correct block. Events reach the replica in the order they arrive; its
effects are carried out on the loop in the same order.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import os
import time
from pathlib import Path
from typing import Any, Protocol, Sequence

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.quorum import next_timeout_ms
from chain.consensus.pbft.replica import Replica, ReplicaConfig
from chain.crypto.keys import KeyPair
from chain.crypto.suite import CryptoSuite, get_suite
from chain.errors import ChainError, ConfigError, TxRejected
from chain.execution.kinds import make_executor
from chain.ledger.genesis import FIRST_GROUP_NAME, GenesisConfig, build_genesis, open_chain
from chain.ledger.status import Status
from chain.ledger.store import Store
from chain.ledger.transaction import Transaction
from chain.logs.service import LogService
from chain.network.host import PeerInfo
from chain.node.config import NodeConfig, group_genesis_file, group_store_path
from chain.node.logging import event
from chain.node.replica_thread import PROFILE_ENV, ClockStoppingExecutor, ReplicaClock, ReplicaThread
from chain.txpool.pool import TxPool

log = logging.getLogger("chain.node")

TICK_MS = 200  # how often the replica is nudged to retry sync and re-check sealing
SUBMIT_ROUND_MS = 2  # RPC-submitted transactions are admitted (and gossiped) in rounds at least this far apart
CALL_BUDGET_S = 2.0  # a read-only `call` stops (with an error) after this long: it is nobody's transaction
STOPPED_CLOCK_POLL_MS = 100  # while the replica's clock stands still, its timers are looked at this often
STOP_WAIT_S = 5.0  # on stop, how long to wait for a block still executing (its commit is all or nothing)
# Peers' messages waiting for a replica busy executing: beyond this many, new ones are dropped (the
# loop keeps reading them, where it used to stop; what progress needs is re-sent, principle 7).
MAX_BACKLOG = 20_000


class PeerLinks(Protocol):
    """What a group needs of the P2P layer: chain.network.host.Host in an Air node, the link to the
    gateway process in a Pro core (chain.node.pro_core.GatewayLink)."""

    def send(self, node_id: bytes, payload: bytes, group: int | None = None) -> bool: ...

    def broadcast(self, payload: bytes, group: int | None = None) -> int: ...

    def connected(self, group: int | None = None) -> list[bytes]: ...

    def peer_info(self) -> list[PeerInfo]: ...


def wall_ms() -> int:
    """Unix epoch ms: what block timestamps carry (DESIGN principle 8); timers use the monotonic clock."""
    return int(time.time() * 1000)


class GroupNode:
    """One group's ledger and replica on this node; implements chain.rpc.api.NodeApi for the group."""

    def __init__(self, directory: Path, config: NodeConfig, name: str, key: KeyPair, *, tagged: bool = False) -> None:
        self.directory = directory
        self.config = config
        self.group_name = name
        self.node_name = config.node.name
        self.genesis = GenesisConfig.load(directory / group_genesis_file(config, name))
        self.suite: CryptoSuite = get_suite(self.genesis.suite)
        self.chain_id = self.genesis.chain_id
        self.group_id = self.genesis.group_id
        # The first group's messages travel as they did before groups existed; any other names itself.
        self.wire_group: int | None = None if name == FIRST_GROUP_NAME else self.group_id
        self._fields: dict[str, Any] = {"group": name} if tagged else {}  # log lines name the group when there are several
        # The consensus key must be of the chain's suite, or no one could check our signatures.
        if key.suite_name != self.genesis.suite:
            raise ConfigError(f"node key is a {key.suite_name} key but {name} uses {self.genesis.suite}")
        self.node_id = key.public_key
        storage = directory / group_store_path(config, name)
        storage.parent.mkdir(parents=True, exist_ok=True)
        self.store: Store = open_chain(storage, self.genesis)
        self.genesis_hash = build_genesis(self.genesis)[0].hash(self.suite)
        self.txpool = TxPool(self.suite, self.store, chain_id=self.chain_id, group_id=self.group_id,
                             eth_chain_id=config.web3_rpc.chain_id)  # Ethereum txs (chain.web3) too
        self.log_service = LogService(self.store, self.suite)  # getLogs, filters, subscriptions (chain.logs)
        self.executor = make_executor(config.executor.kind, self.suite, self.chain_id, workers=config.executor.workers)
        self.clock = ReplicaClock()
        self.replica = Replica(
            self.suite, key.secret, self.store, self.txpool, ClockStoppingExecutor(self.executor, self.clock),
            ReplicaConfig(
                timeout_ms=config.consensus.timeout_ms,
                min_seal_time_ms=config.consensus.min_seal_time_ms,
                seal_when_idle=config.consensus.seal_when_idle,
                tree_width=config.consensus.tree_width,
                pipeline=config.consensus.pipeline,
            ),
        )
        self.replica.wall_clock = wall_ms  # proposals are stamped with wall-clock time, timers stay monotonic
        self.host: PeerLinks | None = None  # the node's P2P host, shared by its groups (attach())
        self.on_commit: list[Any] = []  # callbacks(number) after a committed block (the channel's block push)
        self._timers: dict[str, tuple[asyncio.TimerHandle, int]] = {}  # name -> (handle, deadline on self.clock)
        self._effects_at = 0  # the replica clock time of the effects being carried out (timers start from it)
        self._thread: ReplicaThread | None = None  # runs every replica event (start() makes it)
        self._effects: collections.deque[tuple[int, list[fx.Effect]]] = collections.deque()  # (now, effects) to apply
        self._tick_queued = False
        self._drain_scheduled = False  # a _drain_effects call is on its way to the loop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tick: asyncio.TimerHandle | None = None
        self._queued: list[tuple[list[Transaction], asyncio.Future[list[bytes | TxRejected]]]] = []  # see submit_soon
        self._last_round = 0.0  # loop.time() of the last admission round of submit_soon

    def attach(self, host: PeerLinks) -> None:
        self.host = host

    def _event(self, name: str, level: int = logging.INFO, **fields: Any) -> None:
        event(log, name, level, **self._fields, **fields)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the replica thread; the replica's first job is to ask peers for blocks it lacks."""
        self._loop = loop
        suffix = "" if self.wire_group is None else f"-{self.group_name}"
        profile_dir = os.environ.get(PROFILE_ENV)  # profile this thread too
        self._thread = ReplicaThread(f"{self.node_name}{suffix}-replica",
                                     Path(profile_dir) / f"{self.node_name}{suffix}.replica.prof" if profile_dir else None)
        # (The first job of the replica thread: before any peer's message can be handed to it.)
        self._thread.post(self._start_replica)

    def start_ticking(self) -> None:
        self._schedule_tick()

    async def stop(self) -> None:
        """Stop timers and the thread (a block executing gets STOP_WAIT_S); the store stays open (close())."""
        if self._tick is not None:
            self._tick.cancel()
        for handle, _ in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for _, future in self._queued:  # not admitted: the node is going away
            future.cancel()
        self._queued.clear()
        await self._close_thread()
        self._effects.clear()  # nothing more goes out

    def close(self) -> None:
        self.store.close()

    async def _close_thread(self) -> None:
        """Stop the replica thread: queued events are dropped, a running one gets STOP_WAIT_S."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        assert self._loop is not None
        if not await self._loop.run_in_executor(None, thread.close, STOP_WAIT_S):
            self._event("replica_still_executing", logging.WARNING, waited_s=STOP_WAIT_S)

    # --- events into the replica (run in the replica thread) -------------------------------

    def _post(self, ev: fx.Event) -> None:
        """Hand ev to the replica thread; its effects are carried out on the loop, in order."""
        if self._thread is not None:  # else stopped
            self._thread.post(lambda: self._step(ev))

    def _step(self, ev: fx.Event) -> list[fx.Effect]:
        """In the replica thread: one event, on the replica's clock; queue its effects for the loop."""
        now = self.clock.now_ms()
        effects = self.replica.handle(ev, now)
        self._queue_effects(now, effects)
        return effects

    def _start_replica(self) -> None:
        now = self.clock.now_ms()
        self._queue_effects(now, self.replica.start(now))

    def _queue_effects(self, now: int, effects: list[fx.Effect]) -> None:
        if not effects:
            return
        self._effects.append((now, effects))
        loop = self._loop
        if loop is None or self._drain_scheduled:
            return  # the loop will find these with the ones before them
        self._drain_scheduled = True
        try:
            loop.call_soon_threadsafe(self._drain_effects)
        except RuntimeError:  # the loop is closed: the node has stopped
            pass

    def _drain_effects(self) -> None:
        """On the loop: carry out every queued effect, oldest first."""
        self._drain_scheduled = False  # first: effects queued from now on schedule another drain
        while self._effects:
            now, effects = self._effects.popleft()
            self._apply(effects, now)

    def on_message(self, sender: bytes, raw: bytes) -> None:
        """A peer's engine message of this group (the host has checked the peer serves it)."""
        if self._thread is not None and self._thread.backlog() >= MAX_BACKLOG:
            self._event("message_dropped", logging.DEBUG, reason="replica backlog full", peer=sender.hex()[:16])
            return
        self._post(fx.Deliver(sender, raw))

    def _on_timer(self, name: str, deadline: int) -> None:
        current = self._timers.get(name)
        if current is None or current[1] != deadline:
            return  # cancelled or set again since
        # The replica's clock stood still for a while (it was executing): not due yet on that clock.
        if self.clock.now_ms() < deadline:
            self._schedule_timer(name, deadline)
            return
        del self._timers[name]
        self._post(fx.TimerFired(name))

    def _schedule_tick(self) -> None:
        assert self._loop is not None
        self._tick = self._loop.call_later(TICK_MS / 1000, self._on_tick)

    def _on_tick(self) -> None:
        try:
            # One Tick waiting is enough: a replica busy executing must not find a pile of them after.
            if not self._tick_queued and self._thread is not None:
                self._tick_queued = True
                self._thread.post(self._tick_step)
        finally:
            self._schedule_tick()

    def _tick_step(self) -> None:
        self._tick_queued = False
        self._step(fx.Tick())

    # --- effects out of the replica --------------------------------------------------------

    def _apply(self, effects: list[fx.Effect], now: int) -> None:
        """Carry out effects the replica returned at time `now` (its clock): the on_* methods below."""
        self._effects_at = now
        fx.carry_out(effects, self)

    def _send(self, to: bytes, raw: bytes) -> bool:
        assert self.host is not None
        # (group0's call is the one made before groups existed: tests replace host.send with it)
        return self.host.send(to, raw) if self.wire_group is None else self.host.send(to, raw, group=self.wire_group)

    def on_send(self, effect: fx.Send) -> None:
        sent = self._send(effect.to, effect.raw)
        self._event("message_sent", logging.DEBUG, type=effect.type.name, number=effect.number,
                    view=effect.view, to=effect.to.hex()[:16], delivered=sent)

    def on_broadcast(self, effect: fx.Broadcast) -> None:
        assert self.host is not None
        if effect.to is not None:  # rPBFT: to the working sealers only
            count = sum(bool(self._send(node_id, effect.raw)) for node_id in effect.to)
        elif self.wire_group is None:
            count = self.host.broadcast(effect.raw)
        else:
            count = self.host.broadcast(effect.raw, group=self.wire_group)  # only to the peers serving the group
        self._event("message_broadcast", logging.DEBUG, type=effect.type.name, number=effect.number,
                    view=effect.view, peers=count)

    def on_set_timer(self, effect: fx.SetTimer) -> None:
        self._set_timer(effect.name, self._effects_at + effect.delay_ms)

    def on_cancel_timer(self, effect: fx.CancelTimer) -> None:
        timer = self._timers.pop(effect.name, None)
        if timer is not None:
            timer[0].cancel()

    def on_block_committed(self, effect: fx.BlockCommitted) -> None:
        self._event("block_committed", number=effect.number, hash=effect.block_hash,
                    txs=effect.tx_count, view=effect.view, via=effect.via)
        self.log_service.on_commit(effect.number)  # push the block and its logs to subscribers
        for callback in self.on_commit:
            callback(effect.number)

    def on_view_change_started(self, effect: fx.ViewChangeStarted) -> None:
        self._event("view_change_started", logging.WARNING, number=effect.number, to_view=effect.to_view)

    def on_view_changed(self, effect: fx.ViewChanged) -> None:
        self._event("view_changed", number=effect.number, view=effect.view)

    def on_rejected(self, effect: fx.Rejected) -> None:
        self._event("message_rejected", logging.DEBUG, reason=effect.reason, type=effect.type, sender=effect.sender)

    def on_txs_accepted(self, effect: fx.TxsAccepted) -> None:
        self._event("txs_accepted", logging.DEBUG, count=len(effect.hashes), rejected=effect.rejected)

    def _set_timer(self, name: str, deadline: int) -> None:
        """(Re)start timer `name` to fire when the replica's clock reaches deadline (ms)."""
        old = self._timers.pop(name, None)
        if old is not None:
            old[0].cancel()
        self._schedule_timer(name, deadline)

    def _schedule_timer(self, name: str, deadline: int) -> None:
        assert self._loop is not None
        wait_ms = max(0, deadline - self.clock.now_ms())
        if self.clock.stopped:  # it will not move until the execution ends: look again later
            wait_ms = max(wait_ms, STOPPED_CLOCK_POLL_MS)
        self._timers[name] = (self._loop.call_later(wait_ms / 1000, self._on_timer, name, deadline), deadline)

    # --- NodeApi ---------------------------------------------------------------------------

    def node_ids(self) -> list[bytes]:
        """Sealers then observers of this group, as the replica holds them (re-read after every block)."""
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

        This waits for the replica thread (behind a block it may be executing): the RPC server
        uses ``submit_soon``, which does not hold up the loop.
        """
        thread = self._thread
        if thread is None:
            raise ChainError("the node is not running")
        outcomes = thread.submit(lambda: self._admit(txs)).result()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return outcomes  # not on the loop: the loop carries the effects out itself
        self._drain_effects()  # on the loop: the gossip goes out now, in order, before the answer
        return outcomes

    def _admit(self, txs: Sequence[Transaction]) -> list[bytes | TxRejected]:
        """In the replica thread: admit txs in one replica event; for each, its hash or its refusal."""
        effects = self._step(fx.SubmitTransactions(tuple(txs)))
        accepted = {h for e in effects if isinstance(e, fx.TxsAccepted) for h in e.hashes}
        refused: dict[bytes, collections.deque[fx.TxRefused]] = collections.defaultdict(collections.deque)
        for refusal in (r for e in effects if isinstance(e, fx.TxsAccepted) for r in e.refused):
            refused[refusal.tx_hash].append(refusal)  # in submission order, per transaction
        outcomes: list[bytes | TxRejected] = []
        for tx in txs:
            tx_hash = tx.hash(self.suite)
            if tx_hash in accepted:
                accepted.discard(tx_hash)  # the same tx twice in one batch: the second is known
                outcomes.append(tx_hash)
            elif refused[tx_hash]:
                refusal = refused[tx_hash].popleft()
                outcomes.append(TxRejected(refusal.status, refusal.reason))
            else:  # not reached: the replica accounts for every transaction it is given
                outcomes.append(TxRejected(Status.MALFORMED_TX, "the replica neither admitted nor refused it"))
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
        if not queued or self._thread is None:  # cancelled by stop()
            return
        loop = self._loop
        assert loop is not None
        self._last_round = loop.time()
        txs = [tx for batch, _ in queued for tx in batch]
        admitted = self._thread.submit(lambda: self._admit(txs))

        def answered(done: concurrent.futures.Future[list[bytes | TxRejected]]) -> None:
            try:
                loop.call_soon_threadsafe(self._answer_round, queued, done)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

        admitted.add_done_callback(answered)

    def _answer_round(self, queued: list[tuple[list[Transaction], asyncio.Future[list[bytes | TxRejected]]]],
                      admitted: concurrent.futures.Future[list[bytes | TxRejected]]) -> None:
        """On the loop: each waiting request gets the outcomes of its transactions."""
        if admitted.cancelled():  # the node stopped first
            for _, future in queued:
                future.cancel()
            return
        error = admitted.exception()
        if error is not None:  # a bug: every waiting client gets an answer, none hangs
            for _, future in queued:
                if not future.done():
                    future.set_exception(error)
            log.error("admitting transactions failed", exc_info=error)
            return
        outcomes = admitted.result()
        start = 0
        for txs, future in queued:
            if not future.done():  # the client may have gone away
                future.set_result(outcomes[start:start + len(txs)])
            start += len(txs)

    def call(self, to: bytes, data: bytes, sender: bytes) -> tuple[int, bytes]:
        """A read-only call on the head state, as the next block's transactions would see it.

        At most CALL_BUDGET_S of work (then ``CallOutOfTime``); the JSON-RPC server runs it in a
        thread of its own, so the loop answers other requests meanwhile. It reads the store while
        the replica may commit a block: a call spanning a commit can see rows of both states.
        """
        caller = getattr(self.executor, "call", None)
        # The key/value stand-in has no contracts to call.
        if caller is None:
            return int(Status.CALL_ADDRESS_ERROR), b""
        return caller(self.store, to, data, sender, self.store.head_number() + 1,
                      deadline=time.monotonic() + CALL_BUDGET_S)

    def code_at(self, address: bytes) -> bytes:
        """Runtime code on the head state: the EVM keeps it in its own table (none on a key/value chain)."""
        from chain.execution.evm import CODE_TABLE  # py-evm loads only when code is asked for

        return self.store.get(CODE_TABLE, address) or b""

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

    def linked(self) -> list[bytes]:
        """The peers linked to this node that serve this group."""
        assert self.host is not None
        return self.host.connected() if self.wire_group is None else self.host.connected(self.wire_group)

    def sync_status(self) -> dict[str, Any]:
        head = self.store.head()
        number = self.store.head_number()
        linked = set(self.linked())
        # The heads peers' checked messages showed the replica (a copy: the replica thread updates them).
        heads = dict(self.replica.sync.peer_heads)
        known = max([number] + [h for peer, h in heads.items() if peer in linked])
        return {
            "blockNumber": number,
            "latestHash": "0x" + (head.hash(self.suite).hex() if head else ""),
            "knownHighestNumber": known,
            "isSyncing": known > number,
            # each peer with the height it last claimed (-1: none yet), for getSyncStatus's peers
            "peers": [{"nodeId": p.node_id.hex(), "endpoint": p.endpoint, "connected": True,
                       "blockNumber": heads.get(p.node_id, -1)}
                      for p in self.peers() if p.connected and p.node_id is not None],
        }

    def peers(self) -> list[PeerInfo]:
        """group0: every configured endpoint and linked node; another group: its linked peers only."""
        assert self.host is not None
        rows = self.host.peer_info()
        if self.wire_group is None:
            return rows
        members = set(self.linked())
        return [row for row in rows if row.node_id in members]
