"""Several groups on one simulated network: one set of machines, several independent ledgers.

FISCO BCOS 2.x groups (3.x keeps them, by name): a consortium runs one network of nodes, and on
it several groups, each a chain of its own — its own genesis (group id), sealers, PBFT instance,
store and transaction pool. A node may be in some groups and not in others; two businesses share
the machines and the network, never their data. Here each group is a ``Simulation`` of its own
(its replicas, stores, pools, checker and liveness monitor), given a ``Placement``: the world's
one event queue (one clock), its one random stream and its one network, seen through the hosts
the group runs on. Node i of a group runs on host ``hosts[i]`` and signs with that host's key.

Isolation is structural: a message a group's replica sends is queued by that group and delivered
to that group's replica on the destination host — a message of one group never reaches another
group's engine, as a real node's frames name their group. (Were a signed message replayed across
groups by hand, the signature domain of chain.consensus.pbft.messages.signing_domain refuses it;
the unsigned ones, which only their sender's link vouches for, are bound to their group by that
link — here, by the queue. The transaction rules refuse a transaction whose group id is another's.)

Faults act on a host, as on a real machine: crashing host 3 crashes its replica in every group it
is in; a partition cuts links between hosts, for every group at once; a Byzantine host lies in all
its groups. Loss and latency are the network's, shared.

Each group keeps its own trace with its own node numbers (0.. in the group); ``subscribe`` gives
the whole world's records, each with ``"group"``. One seed fixes the world: the same seed gives
the same trace, byte for byte. A single-group run does not come through here at all
(``Simulation(SimConfig(...))`` is unchanged).
"""

from __future__ import annotations

import dataclasses
import heapq
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from chain.errors import ConfigError, ScenarioError
from chain.ledger.genesis import group_id_of as ledger_group_id_of
from chain.sim.byzantine import make_behaviour
from chain.sim.checker import CheckReport
from chain.sim.liveness import liveness_shown
from chain.sim.network import LinkProfile, Network
from chain.sim.runner import EventQueue, Placement, SimConfig, SimEvent, Simulation, derive_keys
from chain.sim.trace import Subscriber


def group_id_of(name: str) -> int:
    """The 2.x group id of a 3.x group name: group<K> is K + 1 (group0 is today's group, id 1).

    The node's rule (chain.ledger.genesis.group_id_of), so a name means the same group in the
    simulator and on real nodes; a bad name is a ScenarioError here, like every simulation setting.
    """
    try:
        return ledger_group_id_of(name)
    except ConfigError as exc:
        raise ScenarioError(str(exc)) from None


@dataclass(frozen=True)
class GroupSpec:
    """One group: its name and the hosts that seal or observe in it."""

    name: str
    sealers: tuple[int, ...]  # host indexes
    observers: tuple[int, ...] = ()
    tx_rate: float | None = None  # its client load (None: the world's SimConfig.tx_rate)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sealers", tuple(sorted(self.sealers)))
        object.__setattr__(self, "observers", tuple(sorted(self.observers)))

    @property
    def hosts(self) -> tuple[int, ...]:
        """The host of each of the group's nodes, in node order: sealers, then observers."""
        return self.sealers + self.observers


@dataclass(frozen=True)
class GroupsConfig:
    """A world of hosts and the groups on it; ``base`` holds everything else (suite, seed, links, timers, load)."""

    hosts: int
    groups: tuple[GroupSpec, ...]
    base: SimConfig = field(default_factory=SimConfig)
    byzantine: Mapping[int, str] = field(default_factory=dict)  # host -> behaviour, in every group it is in

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", tuple(self.groups))
        if self.hosts < 1 or not self.groups:
            raise ScenarioError("a world needs at least one host and one group")
        names = [g.name for g in self.groups]
        # a name selects one ledger
        if len(set(names)) != len(names):
            raise ScenarioError(f"a group is listed twice: {names}")
        for spec in self.groups:
            group_id_of(spec.name)  # a bad name fails here, before anything runs
            # PBFT needs someone to vote
            if not spec.sealers:
                raise ScenarioError(f"{spec.name} needs at least one sealer")
            hosts = spec.hosts
            # a node has one role in a group, and runs on a host that exists
            if len(set(hosts)) != len(hosts):
                raise ScenarioError(f"{spec.name}: a host is listed twice")
            if not all(0 <= h < self.hosts for h in hosts):
                raise ScenarioError(f"{spec.name}: hosts are 0..{self.hosts - 1}, got {list(hosts)}")
        # a Byzantine machine is Byzantine everywhere: the per-group list would say otherwise
        if self.base.byzantine:
            raise ScenarioError("name Byzantine hosts in GroupsConfig.byzantine, not in the base SimConfig")
        for host, name in self.byzantine.items():
            if not 0 <= host < self.hosts:
                raise ScenarioError(f"byzantine host {host} does not exist")
            make_behaviour(name)

    def group_config(self, spec: GroupSpec) -> SimConfig:
        """The SimConfig of one group: the base, with the group's node counts and load."""
        return dataclasses.replace(self.base, nodes=len(spec.sealers), observers=len(spec.observers),
                                   tx_rate=self.base.tx_rate if spec.tx_rate is None else spec.tx_rate)


def overlapping_groups(names: Iterable[str], sealers: int = 4) -> tuple[int, tuple[GroupSpec, ...]]:
    """(hosts, groups): each group `sealers` sealers, each sharing half its hosts with the next group.

    Two groups of 4 on 6 hosts: group0 on hosts 0-3, group1 on hosts 2-5. Hosts 2 and 3 are in
    both; crashing hosts 4 and 5 stops group1 (2 of 4 sealers) and leaves group0 whole.
    """
    names = list(names)
    if sealers < 1 or not names:
        raise ScenarioError("groups need at least one sealer each")
    stride = sealers - sealers // 2
    groups = tuple(GroupSpec(name, tuple(range(k * stride, k * stride + sealers))) for k, name in enumerate(names))
    return (len(names) - 1) * stride + sealers, groups


def group_names(spec: str) -> list[str]:
    """`--groups 2` is group0 and group1; `--groups group0,group3` names them."""
    spec = spec.strip()
    if spec.isdigit():
        count = int(spec)
        if not 1 <= count <= 16:
            raise ScenarioError(f"--groups: 1 to 16 groups, got {count}")
        return [f"group{k}" for k in range(count)]
    names = [n.strip() for n in spec.split(",") if n.strip()]
    for name in names:
        group_id_of(name)
    if not names:
        raise ScenarioError("--groups: a count or a comma-separated list of group names")
    return names


class GroupNetwork:
    """The world's network as one group sees it: node indexes of the group become hosts.

    Loss, latency and partitions are the network's, so a group cannot change them on its own:
    the world does (``GroupsSimulation.partition`` and the like).
    """

    def __init__(self, shared: Network, hosts: tuple[int, ...]) -> None:
        self.shared = shared
        self.hosts = hosts

    @property
    def rng(self) -> random.Random:
        return self.shared.rng

    @property
    def default(self) -> LinkProfile:
        return self.shared.default

    @default.setter
    def default(self, profile: LinkProfile) -> None:  # textbook mode (chain.web.simulated): every link
        self.shared.default = profile

    @property
    def groups(self) -> tuple[frozenset[int], ...]:
        """The partition's sides as they cut this group (node indexes); () when it cuts none of its links."""
        if not self.shared.groups:
            return ()
        sides = [frozenset(i for i, h in enumerate(self.hosts) if h in side) for side in self.shared.groups]
        sides = [side for side in sides if side]
        # a side holding every node of the group (none isolated) leaves the group whole
        if len(sides) == 1 and len(sides[0]) == len(self.hosts):
            return ()
        return tuple(sides)

    def connected(self, src: int, dst: int) -> bool:
        return self.shared.connected(self.hosts[src], self.hosts[dst])

    def transmit(self, src: int, dst: int) -> list[int] | str:
        return self.shared.transmit(self.hosts[src], self.hosts[dst])

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise ScenarioError("faults act on hosts: partition, heal and set loss on the GroupsSimulation")

    partition = heal = set_odds = _refuse


class GroupsSimulation:
    """Several groups (each a Simulation) on one clock, one random stream and one network of hosts.

    Control API, in hosts (faults) and group names::

        world = GroupsSimulation(GroupsConfig(hosts=6, groups=overlapping_groups(["group0", "group1"])[1]))
        world.step()  world.run_until(ms)  world.run_blocks(n, max_ms)  world.schedule(ms, action)
        world.crash(host)  world.restart(host)  world.partition([[0, 1, 2], [3, 4, 5]])  world.heal()
        world.set_behaviour(host, name)  world.set_network(loss=...)  world.submit_transactions(n, group)
        world.groups["group1"] -> Simulation   world.check() -> {name: CheckReport}
    """

    def __init__(self, config: GroupsConfig, executor_factory: Callable[..., Any] | None = None) -> None:
        self.config = config
        base = config.base
        self.rng = random.Random(base.seed)
        self.events = EventQueue()
        self.network = Network(self.rng, LinkProfile(base.latency_ms[0], base.latency_ms[1], base.loss, base.duplicate))
        self.host_keys = derive_keys(base.suite, base.seed, config.hosts, "host")  # sorted by public key
        self.now_ms = 0
        self.groups: dict[str, Simulation] = {}
        for spec in config.groups:
            placement = Placement(
                name=spec.name, group_id=group_id_of(spec.name),
                sealer_keys=tuple(self.host_keys[h] for h in spec.sealers),
                observer_keys=tuple(self.host_keys[h] for h in spec.observers),
                hosts=spec.hosts, queue=self.events, rng=self.rng, network=GroupNetwork(self.network, spec.hosts),
            )
            self.groups[spec.name] = Simulation(config.group_config(spec), executor_factory, placement)
        self._sims = list(self.groups.values())
        for host, name in sorted(config.byzantine.items()):
            self.set_behaviour(host, name)

    # --- time -----------------------------------------------------------------------------------

    def step(self) -> SimEvent | None:
        """Process the next event of any group; None when nothing is left to happen."""
        heap = self.events.heap
        if not heap:
            return None
        time_ms, _, kind, data, owner = heapq.heappop(heap)
        if time_ms != self.now_ms:
            self._set_now(time_ms)
        event = owner.dispatch(time_ms, kind, data)
        assert owner.placement is not None
        host = owner.placement.hosts[event.node] if event.node is not None else None
        return SimEvent(event.time_ms, event.kind, host, owner.placement.name)

    def _set_now(self, time_ms: int) -> None:
        self.now_ms = time_ms
        for sim in self._sims:
            sim.now_ms = time_ms

    def run_until(self, time_ms: int) -> None:
        heap = self.events.heap
        while heap and heap[0][0] <= time_ms:
            self.step()
        if time_ms > self.now_ms:
            self._set_now(time_ms)

    def run_blocks(self, count: int, max_time_ms: int) -> dict[str, int]:
        """Run until every group's highest honest block grew by count, or max_time_ms passed; the growth per group."""
        start = {name: sim.checker.highest for name, sim in self.groups.items()}
        deadline, heap = self.now_ms + max_time_ms, self.events.heap

        def done() -> bool:
            return all(sim.checker.highest >= start[name] + count for name, sim in self.groups.items())
        while not done() and heap and heap[0][0] <= deadline:
            self.step()
        if not done():
            self._set_now(max(self.now_ms, deadline))
        return {name: sim.checker.highest - start[name] for name, sim in self.groups.items()}

    def run_until_live(self, max_ms: int, *, blocks: int = 2, step_ms: int = 500) -> bool:
        """Run until every group showed liveness (chain.sim.liveness.liveness_shown), or max_ms passed."""
        deadline = self.now_ms + max_ms
        while self.now_ms < deadline:
            self.run_until(min(deadline, self.now_ms + step_ms))
            if all(liveness_shown(sim, blocks) for sim in self._sims):
                return True
        return False

    def schedule(self, at_ms: int, action: Callable[[], None]) -> None:
        """Run action (e.g. lambda: world.crash(4)) at virtual time at_ms."""
        self._sims[0].schedule(at_ms, action)

    # --- hosts and their faults -----------------------------------------------------------------

    def members(self, host: int) -> list[tuple[Simulation, int]]:
        """(group, node index in it) of every group host runs a node of."""
        self._host(host)
        return [(sim, sim.placement.hosts.index(host)) for sim in self._sims
                if sim.placement is not None and host in sim.placement.hosts]

    def host_of(self, group: str, node: int) -> int:
        sim = self.group(group)
        assert sim.placement is not None
        if not 0 <= node < len(sim.placement.hosts):
            raise ScenarioError(f"{group} has no node {node} (nodes are 0..{len(sim.placement.hosts) - 1})")
        return sim.placement.hosts[node]

    def group(self, name: str) -> Simulation:
        if name not in self.groups:
            raise ScenarioError(f"no group {name!r} (groups: {', '.join(self.groups)})")
        return self.groups[name]

    def _host(self, host: int) -> int:
        if isinstance(host, bool) or not isinstance(host, int) or not 0 <= host < self.config.hosts:
            raise ScenarioError(f"no host {host!r} (hosts are 0..{self.config.hosts - 1})")
        return host

    def crash(self, host: int) -> None:
        """Stop a machine: its node in every group it is in (memory gone, stores kept)."""
        for sim, node in self.members(host):
            sim.crash(node)

    def restart(self, host: int) -> None:
        for sim, node in self.members(host):
            sim.restart(node)

    def set_behaviour(self, host: int, name: str | None) -> None:
        """Make a machine Byzantine (in every group it is in), or honest again."""
        for sim, node in self.members(host):
            sim.set_behaviour(node, name)

    def partition(self, sides: Iterable[Iterable[int]]) -> None:
        """Cut the network between sides of hosts (a host on no side is cut off); every group sees it."""
        sides = [sorted(self._host(h) for h in side) for side in sides]
        self.network.partition(sides)
        for sim in self._sims:
            sim.network_changed({"ev": "partition", "groups": [sorted(side) for side in sim.network.groups],
                                 "hosts": sides})

    def heal(self) -> None:
        self.network.heal()
        for sim in self._sims:
            sim.network_changed({"ev": "heal"})

    def set_network(self, loss: float | None = None, duplicate: float | None = None) -> None:
        self.network.set_odds(loss=loss, duplicate=duplicate)
        for sim in self._sims:
            sim.network_changed({"ev": "network", "loss": self.network.default.loss,
                                 "duplicate": self.network.default.duplicate})

    def set_loss(self, loss: float) -> None:
        self.set_network(loss=loss)

    # --- clients, status, verdicts --------------------------------------------------------------

    def submit_transactions(self, count: int, group: str | None = None) -> int:
        """Client transactions for one group (or count for each group)."""
        sims = [self.group(group)] if group is not None else self._sims
        return sum(sim.submit_transactions(count) for sim in sims)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Every group's trace records, each with its "group"; returns a function that unsubscribes."""
        def tagged(name: str) -> Subscriber:
            return lambda record: callback({**record, "group": name})
        stops = [sim.subscribe(tagged(name)) for name, sim in self.groups.items()]

        def stop() -> None:
            for s in stops:
                s()
        return stop

    def node_status(self) -> list[dict[str, Any]]:
        """Every group's node rows, each with its group and host."""
        rows = []
        for name, sim in self.groups.items():
            assert sim.placement is not None
            for row in sim.node_status():
                rows.append({**row, "group": name, "host": sim.placement.hosts[row["node"]]})
        return rows

    def check(self) -> dict[str, CheckReport]:
        """Each group judged on its own: safety over its honest nodes, liveness after its own GST."""
        return {name: sim.check() for name, sim in self.groups.items()}


__all__ = ["GroupNetwork", "GroupSpec", "GroupsConfig", "GroupsSimulation", "group_id_of",
           "group_names", "overlapping_groups"]
