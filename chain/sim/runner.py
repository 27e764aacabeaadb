"""The simulation: real replicas, a virtual clock, a seeded network, clients and faults.

Everything happens through one priority queue of (virtual time, sequence number, event). Popping
an event hands it to one replica (a delivery, a timer, a tick, client transactions) and turns the
effects it returns into new queue entries. Nothing reads the wall clock and every random choice
comes from one ``random.Random(seed)``, so a seed fixes the run — and the trace.

Several groups on one network (FISCO's groups) are several Simulations sharing one queue, one
random stream and one network of hosts: chain.sim.groups, through ``Placement``. Alone, a
Simulation is the whole world, group0 (2.x group id 1).

Each node keeps its Store across a crash (it is its disk); the replica and its tx pool are memory
and are rebuilt on restart, which is exactly what a real node process loses when it dies.

Control API (used by the CLI, the tests, the dashboard and the scenario runner)::

    sim = Simulation(SimConfig(nodes=4, seed=1))
    sim.step() -> SimEvent | None            sim.run_until(time_ms)      sim.run_blocks(n, max_time_ms)
    sim.crash(i)   sim.restart(i)   sim.partition([[0, 1], [2, 3]])   sim.heal()
    sim.set_behaviour(i, "equivocate" | None)   sim.set_network(loss=0.05, duplicate=0.01)   sim.set_loss(p)
    sim.submit_transactions(count)
    sim.subscribe(callback)   sim.node_status() -> list[dict]   sim.now_ms   sim.check() -> CheckReport
"""

from __future__ import annotations

import hashlib
import heapq
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.messages import SEALER_ONLY, Checkpoint, MsgType, PrePrepare, Vote, decode_envelope
from chain.consensus.pbft.quorum import max_faulty
from chain.consensus.pbft.replica import Replica, ReplicaConfig
from chain.crypto.keys import KeyPair
from chain.crypto.suite import CryptoSuite, get_suite
from chain.errors import ChainError, ScenarioError
from chain.execution.kinds import EXECUTOR_KINDS, make_executor
from chain.execution.kv import KV_ADDRESS, encode_kv
from chain.execution.result import BlockExecutor
from chain.ledger.genesis import AuthGenesis, GenesisConfig, open_chain
from chain.ledger.store import Store
from chain.ledger.system import (
    FEATURE_RPBFT, LEADER_PERIOD, RPBFT_EPOCH_BLOCK_NUM, RPBFT_EPOCH_SEALER_NUM, TX_COUNT_LIMIT,
)
from chain.ledger.transaction import BLOCK_LIMIT_AHEAD, Transaction, new_transaction, sign_transaction
from chain.sim.byzantine import Behaviour, make_behaviour
from chain.sim.checker import CheckReport, Checker
from chain.sim.dmc_load import ContractLoad, RecordingDMCExecutor, StageLog
from chain.sim.liveness import LivenessMonitor, current_faults, honest_work, recovery_bound_ms
from chain.sim.network import LinkProfile, Network
from chain.sim.trace import Subscriber, Trace
from chain.sim.verify_once import Remembered, verify_once
from chain.txpool.pool import TxPool

CHAIN_ID = 1
GROUP_ID = 1
CLIENT_INTERVAL_MS = 100
# The simulated chain's genesis time (2026-01-01T00:00:00Z): blocks are stamped with this plus
# virtual time, so they carry epoch milliseconds like a real chain's and every run is the same.
GENESIS_EPOCH_MS = 1_767_225_600_000


@dataclass(frozen=True)
class SimConfig:
    nodes: int = 4  # sealers
    observers: int = 0
    suite: str = "standard"
    seed: int = 1
    byzantine: Mapping[int, str] = field(default_factory=dict)  # node index -> behaviour name
    latency_ms: tuple[int, int] = (10, 50)
    loss: float = 0.0
    duplicate: float = 0.0
    tx_rate: float = 20.0  # client transactions per virtual second (0: only submit_transactions)
    timeout_ms: int = 3000
    min_seal_time_ms: int = 500
    # True: the leader seals at once when nothing is in flight, as nodes do (chain.consensus.pbft.proposal).
    # False here by default: at 20 tx/s it makes 5x the blocks (2.6x the CPU per virtual second),
    # which the test suite's budget and the sweep's seeds (found with the wait) are sized for.
    seal_when_idle: bool = False
    tx_count_limit: int = 1000
    leader_period: int = 1
    tick_ms: int = 1000
    executor: str = "kv"  # "kv" (chain.execution.kv) or "evm" (contracts and system contracts: add_sealer)
    record_trace_hashes: bool | None = None  # None: only when the suite's signatures are deterministic
    auth_governors: int = 0  # > 0: an auth chain (--auth) governed by this many committee members
    governor_weights: tuple[int, ...] = ()  # their weights (default 1 each)
    participates_rate: int = 51  # the committee's rates, percent
    win_rate: int = 51
    consensus: str = "pbft"  # or "rpbft": per epoch only epoch_sealers working sealers vote (chain.consensus.pbft.rpbft)
    epoch_sealers: int = 4  # feature_rpbft_epoch_sealer_num (FISCO's default)
    epoch_blocks: int = 1000  # feature_rpbft_epoch_block_num (FISCO's default)
    workload: str = "kv"  # the client's transactions: "kv" writes, or "contracts" (chain.sim.dmc_load: needs evm or dmc)
    dmc_executors: int = 4  # executor="dmc": contract executors in this process (the result never depends on it)
    # A simulation shortcut (chain.sim.verify_once): each distinct signature is verified once in the
    # process, not once per receiving replica; the run and its trace are the same either way.
    share_verifications: bool = True
    # FISCO 2.x broadcast_prepare_by_tree: proposals (and rPBFT's decided blocks) go down a tree of
    # this width (FISCO's 3), each node forwarding to its children; 0 sends to everyone directly.
    tree_width: int = 0
    pipeline: bool = True  # ReplicaConfig.pipeline: order the next height while this one is checkpointed

    def __post_init__(self) -> None:
        if self.nodes < 1 or self.observers < 0:
            raise ScenarioError("a simulation needs at least one sealer")
        for index, name in self.byzantine.items():
            if not 0 <= index < self.nodes + self.observers:
                raise ScenarioError(f"byzantine node {index} does not exist")
            make_behaviour(name)  # unknown names fail here, before anything runs
        if self.executor not in EXECUTOR_KINDS:
            raise ScenarioError(f"unknown executor {self.executor!r}; choose one of {', '.join(EXECUTOR_KINDS)}")
        if self.consensus not in ("pbft", "rpbft"):
            raise ScenarioError(f"unknown consensus {self.consensus!r}; choose pbft or rpbft")
        if self.tree_width == 1 or self.tree_width < 0:
            raise ScenarioError("a broadcast tree needs a width of at least 2 (0: no tree)")
        if self.epoch_sealers < 1 or self.epoch_blocks < 1:
            raise ScenarioError("rPBFT needs at least one working sealer and one block per epoch")
        if self.workload not in ("kv", "contracts") or (self.workload == "contracts" and self.executor == "kv"):
            raise ScenarioError(f"workload {self.workload!r}: kv, or contracts with executor evm or dmc")

    def system_config(self) -> dict[str, str]:
        """The genesis system config the run's settings imply (rPBFT's rows only when it is on)."""
        config = {TX_COUNT_LIMIT: str(self.tx_count_limit), LEADER_PERIOD: str(self.leader_period)}
        if self.consensus == "rpbft":
            config |= {FEATURE_RPBFT: "1", RPBFT_EPOCH_SEALER_NUM: str(self.epoch_sealers),
                       RPBFT_EPOCH_BLOCK_NUM: str(self.epoch_blocks)}
        return config

    def fault_budget(self) -> int:
        """f: how many (unit-weight) sealers may be faulty — among the K working sealers in rPBFT."""
        working = min(self.nodes, self.epoch_sealers) if self.consensus == "rpbft" else self.nodes
        return max_faulty(working)


class EventQueue:
    """The one priority queue of a simulated world: (virtual time, sequence number, kind, data, owner).

    A lone simulation owns its queue; the groups of a multi-group run (chain.sim.groups) share one,
    so that one clock orders every group's events. The owner is the simulation whose handler the
    event goes to; the sequence numbers are unique, so entries are never compared past them.
    """

    __slots__ = ("heap", "seq")

    def __init__(self) -> None:
        self.heap: list[tuple[int, int, str, tuple[Any, ...], Simulation]] = []
        self.seq = 0


@dataclass(frozen=True)
class Placement:
    """Where a simulation runs when it is one group of several on one network (chain.sim.groups).

    The group has its own genesis (its group id), sealers, stores, pools and replicas; it shares
    the world's queue (one clock), random stream and network, and its nodes are some of the
    world's hosts: node i of the group runs on host ``hosts[i]`` with that host's key.
    """

    name: str  # the 3.x group name ("group1")
    group_id: int  # its 2.x group id (group1 -> 2), in its genesis and every transaction
    sealer_keys: tuple[KeyPair, ...]
    observer_keys: tuple[KeyPair, ...]
    hosts: tuple[int, ...]  # the host of each node, in node order (sealers, then observers)
    queue: EventQueue
    rng: random.Random
    network: Any  # a chain.sim.groups.GroupNetwork: the shared network seen through this group's hosts


@dataclass(frozen=True)
class SimEvent:
    """What step() just did (for interactive drivers)."""

    time_ms: int
    kind: str
    node: int | None
    group: str | None = None  # a multi-group run (chain.sim.groups): the group, and node is the host


@dataclass
class SimNode:
    index: int
    key: KeyPair
    store: Store  # survives crashes: it is the node's disk
    replica: Replica | None = None  # None while crashed
    behaviour: Behaviour | None = None
    incarnation: int = 0
    ever_byzantine: bool = False
    node_id: bytes = b""  # the public key, computed once

    def __post_init__(self) -> None:
        self.node_id = self.key.public_key

    @property
    def alive(self) -> bool:
        return self.replica is not None


def derive_keys(suite_name: str, seed: int, count: int, role: str) -> list[KeyPair]:
    """Deterministic node keys for a seed (simulation only — real nodes use the OS CSPRNG)."""
    suite = get_suite(suite_name)
    keys = []
    for i in range(count):
        digest = hashlib.sha256(f"chain-sim/{suite_name}/{seed}/{role}/{i}".encode()).digest()
        keys.append(KeyPair(suite_name, int.from_bytes(digest, "big") % (suite.curve_order - 1) + 1))
    return sorted(keys, key=lambda k: k.public_key)


def replica_config(config: SimConfig) -> ReplicaConfig:
    """The replicas' settings a simulation config implies."""
    return ReplicaConfig(timeout_ms=config.timeout_ms, min_seal_time_ms=config.min_seal_time_ms,
                         seal_when_idle=config.seal_when_idle, tree_width=config.tree_width, pipeline=config.pipeline)


def sim_recovery_bound_ms(config: SimConfig) -> int:
    """chain.sim.liveness.recovery_bound_ms for the timers, latency and sealers of a simulation config."""
    replica = replica_config(config)
    return recovery_bound_ms(
        config.timeout_ms, replica.max_timeout_exponent, config.fault_budget(), tick_ms=config.tick_ms,
        min_seal_time_ms=config.min_seal_time_ms, max_latency_ms=config.latency_ms[1],
        sync_retry_ms=replica.sync_retry_ms, resend_ms=getattr(replica, "resend_ms", config.tick_ms),
    )


class Simulation:
    def __init__(self, config: SimConfig, executor_factory: Callable[[CryptoSuite], BlockExecutor] | None = None,
                 placement: Placement | None = None) -> None:
        self.config = config
        self.placement = placement  # None: the simulation is the whole world (one group, group0)
        self.group_id = placement.group_id if placement is not None else GROUP_ID
        real_suite = get_suite(config.suite)
        self.suite: CryptoSuite = real_suite
        self.verifications: Remembered | None = None  # the shared verify, when config.share_verifications
        if config.share_verifications:
            self.suite, self.verifications = verify_once(real_suite)
        self.rng = placement.rng if placement is not None else random.Random(config.seed)
        self.now_ms = 0
        self.trace = Trace()
        self.trace_hashes = (config.suite == "standard") if config.record_trace_hashes is None else config.record_trace_hashes
        # The dashboard asks for the digest each vote carries (equivocation twins); off, the trace is unchanged.
        self.trace_digests = False
        self._digest_memo: tuple[bytes, str | None] = (b"", None)
        self.network = (placement.network if placement is not None else
                        Network(self.rng, LinkProfile(config.latency_ms[0], config.latency_ms[1], config.loss, config.duplicate)))
        self.events = placement.queue if placement is not None else EventQueue()
        self._timer_generation: dict[tuple[int, str], int] = {}
        self.dmc_stages = StageLog()  # executor="dmc": each committed height's DMC rounds (the dashboard's Gantt)
        self._executor_factory = executor_factory or self._default_executor
        self.replica_config = replica_config(config)
        if placement is None:
            sealer_keys = derive_keys(config.suite, config.seed, config.nodes, "sealer")
            observer_keys = derive_keys(config.suite, config.seed, config.observers, "observer")
        else:  # the hosts' keys: a node signs with one key in every group it is in, as in FISCO
            sealer_keys, observer_keys = list(placement.sealer_keys), list(placement.observer_keys)
        # each group has its own accounts (a business of its own), named after it
        role = (lambda name: name) if placement is None else (lambda name: f"{placement.name}/{name}")
        self.admin_key = derive_keys(config.suite, config.seed, 1, role("admin"))[0]  # the governance account
        self.governor_keys = derive_keys(config.suite, config.seed, config.auth_governors, role("governor"))
        self.genesis = GenesisConfig(
            chain_id=CHAIN_ID, group_id=self.group_id, suite=config.suite,
            sealers=tuple((k.public_key, 1) for k in sealer_keys), observers=tuple(k.public_key for k in observer_keys),
            system_config=config.system_config(),
            admins=(self.admin_key.address,), timestamp=GENESIS_EPOCH_MS,
            auth=AuthGenesis(
                governors=tuple((k.address, w) for k, w in zip(self.governor_keys, config.governor_weights or
                                                                (1,) * config.auth_governors)),
                participates_rate=config.participates_rate, win_rate=config.win_rate,
            ) if self.governor_keys else None,
        )
        self.nodes = [SimNode(i, key, open_chain(":memory:", self.genesis)) for i, key in enumerate(sealer_keys + observer_keys)]
        self._index_of = {node.node_id: node.index for node in self.nodes}
        self.liveness = LivenessMonitor(self.recovery_bound_ms())  # fault state over time; judges liveness after GST
        self.checker = Checker(real_suite, self.nodes, liveness=self.liveness)  # the oracle verifies for itself
        self.messages_by_type: dict[str, int] = {t.name: 0 for t in MsgType}
        self.dropped = 0
        self.sent_at: dict[tuple[int, int], list[int]] = {}  # (sender, height the message is about) -> [messages, bytes]
        self.rejections: dict[str, int] = {}
        self.view_changes_started = [0] * len(self.nodes)
        self.client_key = derive_keys(config.suite, config.seed, 1, role("client"))[0]
        self._client_counter = 0
        self._client_credit = 0.0
        # workload="contracts": the client deploys Counters and calls them (chain.sim.dmc_load)
        self.contract_load = (ContractLoad(self.suite, self.client_key, chain_id=CHAIN_ID, group_id=self.group_id)
                               if config.workload == "contracts" else None)
        for node in self.nodes:
            self._boot(node)
        for index, name in sorted(config.byzantine.items()):
            self.set_behaviour(index, name)
        self._faults_changed()  # the state at time 0 (a fault-free start is GST 0)
        if config.tx_rate > 0:
            self._push(CLIENT_INTERVAL_MS, "client", ())

    def _default_executor(self, suite: CryptoSuite) -> BlockExecutor:
        if self.config.executor == "dmc":  # in-process executors that report their rounds
            return RecordingDMCExecutor(suite, self.dmc_stages, chain_id=CHAIN_ID, executors=self.config.dmc_executors)
        return make_executor(self.config.executor, suite, CHAIN_ID)

    # --- the queue ------------------------------------------------------------------------------

    def _push(self, delay_ms: int, kind: str, data: tuple[Any, ...]) -> None:
        events = self.events
        events.seq += 1
        heapq.heappush(events.heap, (self.now_ms + delay_ms, events.seq, kind, data, self))

    def step(self) -> SimEvent | None:
        """Process the next event; None when nothing is left to happen."""
        if not self.events.heap:
            return None
        if self.placement is not None:  # the queue holds every group's events, and one clock reads them
            raise ScenarioError("a group runs on the world's clock: step or run the GroupsSimulation")
        time_ms, _, kind, data, _owner = heapq.heappop(self.events.heap)
        self.now_ms = time_ms
        return self.dispatch(time_ms, kind, data)

    def dispatch(self, time_ms: int, kind: str, data: tuple[Any, ...]) -> SimEvent:
        """Hand one popped event to its handler (the world's clock already reads time_ms)."""
        node: int | None
        match kind:  # one visible switch: "find usages" of each handler lands here
            case "deliver":
                node = self._on_deliver(*data)
            case "timer":
                node = self._on_timer(*data)
            case "tick":
                node = self._on_tick(*data)
            case "client":
                node = self._on_client()
            case "control":
                self._on_control(*data)
                node = None
            case _:
                raise AssertionError(f"no handler for queued event kind {kind!r}")
        return SimEvent(time_ms, kind, node)

    def run_until(self, time_ms: int) -> None:
        queue = self.events.heap
        if self.placement is not None:
            raise ScenarioError("a group runs on the world's clock: step or run the GroupsSimulation")
        while queue and queue[0][0] <= time_ms:
            self.step()
        self.now_ms = max(self.now_ms, time_ms)

    def run_blocks(self, count: int, max_time_ms: int) -> int:
        """Run until the honest nodes' highest block grew by count, or max_time_ms of virtual time passed."""
        start, deadline, queue = self.checker.highest, self.now_ms + max_time_ms, self.events.heap
        if self.placement is not None:
            raise ScenarioError("a group runs on the world's clock: step or run the GroupsSimulation")
        while self.checker.highest < start + count and queue and queue[0][0] <= deadline:
            self.step()
        if self.checker.highest < start + count:
            self.now_ms = max(self.now_ms, deadline)
        return self.checker.highest - start

    def wall_ms(self) -> int:
        """The simulated wall clock (Unix epoch ms) blocks are stamped with: deterministic, like virtual time."""
        return GENESIS_EPOCH_MS + self.now_ms

    # --- nodes ----------------------------------------------------------------------------------

    def _boot(self, node: SimNode) -> None:
        pool = TxPool(self.suite, node.store, chain_id=CHAIN_ID, group_id=self.group_id)
        node.replica = Replica(self.suite, node.key.secret, node.store, pool, self._executor_factory(self.suite),
                               self.replica_config)
        node.replica.wall_clock = self.wall_ms  # block timestamps: the genesis epoch plus virtual time
        node.incarnation += 1
        self._apply(node, node.replica.start(self.now_ms))
        self._push(self.config.tick_ms, "tick", (node.index, node.incarnation))

    def crash(self, index: int) -> None:
        """Stop node `index`: its memory (replica, pool, timers) is gone, its Store stays."""
        node = self._node(index)
        if node.alive:
            node.replica = None
            node.incarnation += 1
            self._emit({"ev": "crash", "node": index})
            self._faults_changed()

    def restart(self, index: int) -> None:
        """Start node `index` again from its Store."""
        node = self._node(index)
        if not node.alive:
            self._emit({"ev": "restart", "node": index, "height": node.store.head_number()})
            self._boot(node)
            self._faults_changed()

    def partition(self, groups: Iterable[Iterable[int]]) -> None:
        """Cut the network into groups; messages between groups (also those in flight) are lost."""
        groups = [sorted(group) for group in groups]
        self.network.partition(groups)
        self._emit({"ev": "partition", "groups": groups})
        self._faults_changed()

    def heal(self) -> None:
        """End a partition (loss and crashes are healed by set_network and restart)."""
        self.network.heal()
        self._emit({"ev": "heal"})
        self._faults_changed()

    def network_changed(self, record: dict[str, Any]) -> None:
        """The world changed the shared network (chain.sim.groups): trace it and tell the liveness monitor."""
        self._emit(record)
        self._faults_changed()

    def set_network(self, loss: float | None = None, duplicate: float | None = None) -> None:
        """Change the loss and duplication odds of every link from now on (None: keep as is)."""
        self.network.set_odds(loss=loss, duplicate=duplicate)
        self._emit({"ev": "network", "loss": self.network.default.loss, "duplicate": self.network.default.duplicate})
        self._faults_changed()

    def set_loss(self, loss: float) -> None:
        """Lose each message with probability `loss` from now on (0: the loss fault is healed)."""
        self.set_network(loss=loss)

    def set_behaviour(self, index: int, name: str | None) -> None:
        """Make node `index` Byzantine with a named behaviour (chain.sim.byzantine), or honest again."""
        node = self._node(index)
        node.behaviour = make_behaviour(name) if name else None
        if name:
            node.ever_byzantine = True
        self._emit({"ev": "behaviour", "node": index, "behaviour": name})
        if self.liveness.timeline:  # not during __init__, which records the initial state once
            self._faults_changed()

    def add_sealer(self, index: int, weight: int = 1) -> None:
        """Promote observer `index` to sealer: the admin sends Consensus.addSealer (0x1003) in a transaction.

        Needs the evm executor (the kv stand-in runs no system contracts). The change is written in
        the block that holds the transaction and is in force from the next block on every node.
        """
        from chain.execution.governance import add_sealer_tx

        node = self._node(index)
        if self.config.executor not in ("evm", "dmc"):
            raise ScenarioError("add_sealer needs SimConfig(executor='evm' or 'dmc'): the kv executor runs no system contracts")
        live = [n for n in self.nodes if n.alive]
        if not live:
            raise ScenarioError("no live node to send the governance transaction to")
        head = max(n.store.head_number() for n in self.nodes)
        tx = add_sealer_tx(self.suite, node.node_id, weight, block_limit=head + BLOCK_LIMIT_AHEAD, chain_id=CHAIN_ID,
                           group_id=self.group_id, nonce=self.rng.getrandbits(250))
        signed = sign_transaction(tx, self.admin_key)
        self._emit({"ev": "add_sealer", "node": index, "weight": weight})
        target = live[self.rng.randrange(len(live))]
        self._handle(target, fx.SubmitTransactions((signed,)))

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        return self.trace.subscribe(callback)

    def recovery_bound_ms(self) -> int:
        """How long after GST honest sealers may take to commit again (chain.sim.liveness.recovery_bound_ms)."""
        return sim_recovery_bound_ms(self.config)

    def _faults_changed(self) -> None:
        """Tell the liveness monitor the fault state from now on (it finds GST in it)."""
        honest_live = [n.index for n in self.nodes if n.alive and n.behaviour is None]
        self.liveness.faults_changed(self.now_ms, current_faults(self),
                                     {n.index: n.store.head_number() for n in self.nodes}, honest_work(self, honest_live))

    def _node(self, index: int) -> SimNode:
        if not 0 <= index < len(self.nodes):
            raise ScenarioError(f"no node {index} (nodes are 0..{len(self.nodes) - 1})")
        return self.nodes[index]

    def node_status(self) -> list[dict[str, Any]]:
        rows = []
        for node in self.nodes:
            if node.replica is not None:
                row = node.replica.status()
            else:
                head = node.store.head()
                row = {"role": "crashed", "index": node.index, "view": None, "to_view": None,
                       "height": node.store.head_number(), "head_hash": head.hash(self.suite).hex() if head else "",
                       "state": "crashed", "pending_txs": 0}
            row["node"] = node.index
            row["view_changes"] = self.view_changes_started[node.index]
            row["behaviour"] = node.behaviour.name if node.behaviour else None
            row["alive"] = node.alive
            rows.append(row)
        return rows

    def leader_sends(self) -> tuple[float, float]:
        """(messages, bytes) the proposer of each committed block sent about that height, averaged over the blocks.

        What a leader pays per block — its proposal, votes, pushes to followers — is what a tree
        broadcast (SimConfig.tree_width) stops from growing with n.
        """
        honest = [n for n in self.nodes if not n.ever_byzantine] or self.nodes
        store = max(honest, key=lambda n: n.store.head_number()).store
        totals, blocks = [0, 0], 0
        for number in range(1, store.head_number() + 1):
            block = store.block_by_number(number)
            if block is None:
                break
            sent = self.sent_at.get((block.header.sealer, number), [0, 0])
            totals[0] += sent[0]
            totals[1] += sent[1]
            blocks += 1
        return (totals[0] / blocks, totals[1] / blocks) if blocks else (0.0, 0.0)

    def check(self) -> CheckReport:
        """Run the invariant checker over the honest nodes' stores."""
        return self.checker.report(self.now_ms)

    # --- clients ----------------------------------------------------------------------------------

    def submit_transactions(self, count: int, node: int | None = None) -> int:
        """Sign count kv transactions (or contract calls: SimConfig.workload) and hand them to one live node
        (chosen by the RNG if not given)."""
        live = [n for n in self.nodes if n.alive]
        if not live or count <= 0:
            return 0
        target = self._node(node) if node is not None else live[self.rng.randrange(len(live))]
        head = max(n.store.head_number() for n in self.nodes)
        txs = self._kv_transactions(count, head) if self.contract_load is None else self.contract_load.next_transactions(
            count, head, self.rng, lambda h: any(n.store.has_transaction(h) for n in self.nodes))
        count = len(txs)  # the contract load sends its deployments first, then nothing until they are mined
        if not count:
            return 0
        for tx in txs:
            self.checker.submitted(tx.hash(self.suite), self.now_ms)
        self._emit({"ev": "submit", "node": target.index, "count": count})
        self.liveness.submitted(self.now_ms, target.index, honest=target.behaviour is None and target.alive)
        if target.alive:
            self._handle(target, fx.SubmitTransactions(tuple(txs)))
        return count

    def _kv_transactions(self, count: int, head: int) -> list[Transaction]:
        txs = []
        for _ in range(count):
            self._client_counter += 1
            key = f"k{self._client_counter % 64}".encode()
            tx = new_transaction(
                to=KV_ADDRESS, data=encode_kv(key, str(self._client_counter).encode()), block_limit=head + BLOCK_LIMIT_AHEAD,
                chain_id=CHAIN_ID, group_id=self.group_id, nonce=self.rng.getrandbits(250),
            )
            txs.append(sign_transaction(tx, self.client_key))
        return txs

    def submit_signed(self, txs: Iterable[Transaction], node: int | None = None) -> int:
        """Hand signed transactions (e.g. governance ones) to one live node, chosen by the RNG if not given."""
        live = [n for n in self.nodes if n.alive]
        batch = tuple(txs)
        if not live or not batch:
            return 0
        target = self._node(node) if node is not None else live[self.rng.randrange(len(live))]
        self._emit({"ev": "submit", "node": target.index, "count": len(batch)})
        if target.alive:
            self._handle(target, fx.SubmitTransactions(batch))
        return len(batch)

    def _on_client(self) -> int | None:
        self._client_credit += self.config.tx_rate * CLIENT_INTERVAL_MS / 1000
        count = int(self._client_credit)
        self._client_credit -= count
        if count:
            self.submit_transactions(count)
        self._push(CLIENT_INTERVAL_MS, "client", ())
        return None

    # --- event handlers -------------------------------------------------------------------------

    def _on_deliver(self, src: int, dst: int, raw: bytes, msg_type: str, number: int, view: int) -> int:
        node = self.nodes[dst]
        # A crashed node hears nothing; a partition cut while the message was in flight loses it.
        if not node.alive or not self.network.connected(src, dst):
            self.dropped += 1
            self._emit({"ev": "drop", "from": src, "to": dst, "type": msg_type, "number": number, "view": view,
                        "reason": "crashed" if not node.alive else "partition"})
            return dst
        if self.trace.active:  # the record is built only when someone listens: this is the hottest path
            self._emit({"ev": "deliver", "from": src, "to": dst, "type": msg_type, "number": number, "view": view})
        self._handle(node, fx.Deliver(self.nodes[src].node_id, raw))
        return dst

    def _on_timer(self, index: int, name: str, generation: int) -> int:
        node = self.nodes[index]
        if node.alive and self._timer_generation.get((index, name)) == generation:
            self._emit({"ev": "timer", "node": index, "name": name})
            self._handle(node, fx.TimerFired(name))
        return index

    def _on_tick(self, index: int, incarnation: int) -> int:
        node = self.nodes[index]
        if node.alive and node.incarnation == incarnation:
            self._handle(node, fx.Tick())
            self._push(self.config.tick_ms, "tick", (index, incarnation))
        return index

    def _on_control(self, action: Callable[[], None]) -> None:
        action()
        return None

    def schedule(self, at_ms: int, action: Callable[[], None]) -> None:
        """Run action (e.g. lambda: sim.crash(0)) at virtual time at_ms."""
        self._push(max(0, at_ms - self.now_ms), "control", (action,))

    def _handle(self, node: SimNode, event: fx.Event) -> None:
        assert node.replica is not None
        if node.behaviour is not None:
            passed, extra = node.behaviour.incoming(self, node, event)
            self._apply(node, extra, raw=True)
            if passed is None:
                return
            event = passed
        effects = node.replica.handle(event, self.now_ms)
        self._apply(node, effects)

    def _apply(self, node: SimNode, effects: list[fx.Effect], raw: bool = False) -> None:
        if node.behaviour is not None and not raw:
            effects = node.behaviour.outgoing(self, node, effects)
        fx.carry_out(effects, NodeEffects(self, node))

    def _on_committed(self, node: SimNode, effect: fx.BlockCommitted) -> None:
        block = node.store.head()
        tx_hashes = [tx.hash(self.suite) for tx in block.transactions] if block is not None else []
        self.checker.committed(node, effect.number, effect.block_hash, tx_hashes, self.now_ms)
        self.dmc_stages.committed(effect.number, effect.block_hash)
        honest = node.behaviour is None
        new_top = honest and effect.number > self.liveness.top  # only a new top needs to know if work remains
        self.liveness.committed(node.index, effect.number, self.now_ms, honest=honest,
                                work=new_top and honest_work(self, [n.index for n in self.nodes if n.behaviour is None]))
        record: dict[str, Any] = {"ev": "commit", "node": node.index, "number": effect.number, "txs": effect.tx_count,
                                  "view": effect.view, "via": effect.via}
        if self.trace_hashes:
            record["hash"] = effect.block_hash.hex()
        self._emit(record)

    def _transmit(self, src: int, dst: int, raw: bytes, msg_type: MsgType, number: int, view: int) -> None:
        name = msg_type.name if isinstance(msg_type, MsgType) else str(msg_type)
        outcome = self.network.transmit(src, dst)
        self.messages_by_type[name] = self.messages_by_type.get(name, 0) + 1
        if name != "SYNC_REQUEST":  # a node's (re)start asks everyone once; not a cost of any block
            sent = self.sent_at.get((src, number))
            if sent is None:
                sent = self.sent_at[(src, number)] = [0, 0]
            sent[0] += 1
            sent[1] += len(raw)
        extra = {"digest": self._digest_of(raw)} if self.trace_digests and self.trace.active else {}
        if isinstance(outcome, str):
            self.dropped += 1
            self._emit({"ev": "drop", "from": src, "to": dst, "type": name, "number": number, "view": view,
                        "reason": outcome, **extra})
            return
        for delay in outcome:
            if self.trace.active:
                self._emit({"ev": "send", "from": src, "to": dst, "type": name, "number": number, "view": view,
                            "arrive": self.now_ms + delay, **extra})
            self._push(delay, "deliver", (src, dst, raw, name, number, view))

    def _digest_of(self, raw: bytes) -> str | None:
        """The first 4 bytes (hex) of the proposal or block hash a message carries, for the dashboard's arrows.

        A broadcast sends the same bytes to every peer, so the last answer is kept.
        """
        if raw == self._digest_memo[0]:
            return self._digest_memo[1]
        try:
            body = decode_envelope(raw).body()
        except ChainError:
            body = None
        digest = (body.header.hash(self.suite) if isinstance(body, PrePrepare) else body.digest if isinstance(body, Vote)
                  else body.block_hash if isinstance(body, Checkpoint) else None)
        self._digest_memo = (raw, digest[:4].hex() if digest is not None else None)
        return self._digest_memo[1]

    def _emit(self, record: dict[str, Any]) -> None:
        if self.trace.active:
            record["t"] = self.now_ms
            self.trace.emit(record)

    # --- summary ----------------------------------------------------------------------------------

    def honest_nodes(self) -> list[SimNode]:
        return [n for n in self.nodes if not n.ever_byzantine]

    def deliver_raw(self, src: int, dst: int, raw: bytes) -> list[fx.Effect]:
        """Hand raw bytes to node dst as if src sent them (tests of bad input); returns the effects."""
        node = self._node(dst)
        if node.replica is None:
            raise ChainError(f"node {dst} is crashed")
        effects = node.replica.handle(fx.Deliver(self.nodes[src].node_id, raw), self.now_ms)
        self._apply(node, effects)
        return effects


class NodeEffects:
    """The simulator carrying out one node's effects (an EffectHandler of chain.consensus.pbft.effects).

    Messages go onto the virtual network (with its latency, loss and partitions), timers onto the
    event queue, and what the checker and the trace need is recorded on the way.
    """

    def __init__(self, sim: Simulation, node: SimNode) -> None:
        self.sim, self.node = sim, node

    def on_send(self, effect: fx.Send) -> None:
        sim, node = self.sim, self.node
        if effect.type in SEALER_ONLY:
            sim.checker.sent(node, effect.raw)
        dst = sim._index_of.get(effect.to)
        if dst is not None and dst != node.index:
            sim._transmit(node.index, dst, effect.raw, effect.type, effect.number, effect.view)

    def on_broadcast(self, effect: fx.Broadcast) -> None:
        sim, node = self.sim, self.node
        if effect.type in SEALER_ONLY:
            sim.checker.sent(node, effect.raw)
        for other in sim.nodes:
            if other.index != node.index and (effect.to is None or other.node_id in effect.to):
                sim._transmit(node.index, other.index, effect.raw, effect.type, effect.number, effect.view)

    def on_set_timer(self, effect: fx.SetTimer) -> None:
        generation = self._next_generation(effect.name)
        self.sim._push(effect.delay_ms, "timer", (self.node.index, effect.name, generation))

    def on_cancel_timer(self, effect: fx.CancelTimer) -> None:
        self._next_generation(effect.name)  # a timer event of an older generation is ignored

    def _next_generation(self, name: str) -> int:
        key = (self.node.index, name)
        self.sim._timer_generation[key] = self.sim._timer_generation.get(key, 0) + 1
        return self.sim._timer_generation[key]

    def on_block_committed(self, effect: fx.BlockCommitted) -> None:
        self.sim._on_committed(self.node, effect)

    def on_view_change_started(self, effect: fx.ViewChangeStarted) -> None:
        self.sim.view_changes_started[self.node.index] += 1
        self.sim._emit({"ev": "view_change", "node": self.node.index, "number": effect.number,
                        "to_view": effect.to_view})

    def on_view_changed(self, effect: fx.ViewChanged) -> None:
        self.sim.checker.view_changed(self.node, effect.number, effect.view)
        self.sim._emit({"ev": "new_view", "node": self.node.index, "number": effect.number, "view": effect.view})

    def on_rejected(self, effect: fx.Rejected) -> None:
        self.sim.rejections[effect.reason] = self.sim.rejections.get(effect.reason, 0) + 1
        self.sim._emit({"ev": "reject", "node": self.node.index, "type": effect.type, "sender": effect.sender,
                        "reason": effect.reason})

    def on_txs_accepted(self, effect: fx.TxsAccepted) -> None:
        pass  # the checker follows transactions from the client's side, not the pool's
