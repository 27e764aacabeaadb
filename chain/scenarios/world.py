"""The one place scenarios and the dashboard meet the simulator (chain.sim).

Everything the classroom tools ask of a simulated chain beyond the simulator's control API —
building it for a scenario, its Byzantine behaviour names, the invariant checker's verdict, the
committed blocks to show, promoting a sealer — goes through here, so the rest of chain.scenarios
and chain.web reads as plain intent.

`SimChain` wraps a `chain.sim.Simulation` and presents each node the way a student thinks of it:
role (leader, sealer, observer), view, height, head, and one *state* — ok, crashed,
Byzantine(behaviour) or partitioned — with the replica's own phase (idle, pre-prepared,
view-changing…) kept alongside.
"""

from __future__ import annotations

from typing import Any, Callable

from chain.ledger.store import Store
from chain.ledger.system import consensus_nodes
from chain.ledger.transaction import BLOCK_LIMIT_AHEAD
from chain.scenarios.spec import Scenario
from chain.sim import SimConfig, Simulation
from chain.sim.byzantine import BEHAVIOURS
from chain.sim.groups import GroupsConfig, GroupsSimulation
from chain.sim.runner import SimNode


class SimChain:
    """A Simulation with student-shaped node statuses; every other attribute is the simulation's."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sim, name)

    @property
    def now_ms(self) -> int:
        return self.sim.now_ms

    def subscribe(self, callback: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        return self.sim.subscribe(callback)

    async def poll(self) -> None:
        """Nothing to fetch: the simulated nodes live in this process (real nodes are polled over RPC)."""

    def node_status(self) -> list[dict[str, Any]]:
        groups = [sorted(g) for g in self.sim.network.groups]
        rows = []
        for node, raw in zip(self.sim.nodes, self.sim.node_status()):
            group = next((g for g in groups if node.index in g), None)
            rows.append({
                "index": node.index, "role": _role(node), "view": raw["view"], "height": raw["height"],
                "head": raw["head_hash"] or None, "state": _state(node, partitioned=bool(groups)),
                "phase": raw["state"], "pending": raw["pending_txs"], "behaviour": raw["behaviour"], "group": group,
            })
        return rows


class GroupsChain:
    """Several groups on one simulated network (chain.sim.groups), each group shown as a SimChain.

    The controls act on hosts, as faults do on real machines (crash host 4: its node in every group
    it is in); a burst goes to every group. ``chains`` holds each group's SimChain, for its node
    cards, blocks and verdicts — numbered within the group, with ``hosts`` saying where each runs.
    """

    def __init__(self, world: GroupsSimulation) -> None:
        self.world = world
        self.chains = {name: SimChain(sim) for name, sim in world.groups.items()}

    @property
    def now_ms(self) -> int:
        return self.world.now_ms

    def hosts(self, group: str) -> tuple[int, ...]:
        """The host of each node of a group, in node order."""
        placement = self.world.group(group).placement
        assert placement is not None
        return placement.hosts

    def step(self) -> Any:
        return self.world.step()

    def run_until(self, time_ms: int) -> None:
        self.world.run_until(time_ms)

    def crash(self, host: int) -> None:
        self.world.crash(host)

    def restart(self, host: int) -> None:
        self.world.restart(host)

    def partition(self, sides: list[list[int]]) -> None:
        self.world.partition(sides)

    def heal(self) -> None:
        self.world.heal()

    def set_behaviour(self, host: int, name: str | None) -> None:
        self.world.set_behaviour(host, name)

    def submit_transactions(self, count: int) -> int:
        return self.world.submit_transactions(count)

    def subscribe(self, callback: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        return self.world.subscribe(callback)

    def node_status(self) -> list[dict[str, Any]]:
        """Every group's cards, each with its group and host."""
        return [{**row, "group_name": name, "host": self.hosts(name)[row["index"]]}
                for name, chain in self.chains.items() for row in chain.node_status()]

    async def poll(self) -> None:
        """Nothing to fetch: the simulated nodes live in this process."""


class GroupView(SimChain):
    """One group of a GroupsChain as a chain of its own (the dashboard's view of it): its nodes,
    numbered within the group, its stores and its trace; the controls act on the hosts its nodes
    run on, so crashing node 0 of group1 crashes host 2, in every group host 2 is in."""

    MAX_STEP = 100_000  # events of other groups a step may skip before one of this group's

    def __init__(self, chains: GroupsChain, name: str) -> None:
        super().__init__(chains.world.group(name))
        self.chains = chains
        self.name = name
        self.hosts = chains.hosts(name)

    @property
    def now_ms(self) -> int:
        return self.chains.now_ms

    def step(self) -> Any:
        """The world's next event of this group (events of other groups on the way are processed too)."""
        for _ in range(self.MAX_STEP):
            event = self.chains.step()
            if event is None or event.group == self.name:
                return event
        return None

    def run_until(self, time_ms: int) -> None:
        self.chains.run_until(time_ms)

    def crash(self, i: int) -> None:
        self.chains.crash(self.hosts[i])

    def restart(self, i: int) -> None:
        self.chains.restart(self.hosts[i])

    def set_behaviour(self, i: int, name: str | None) -> None:
        self.chains.set_behaviour(self.hosts[i], name)

    def partition(self, groups: list[list[int]]) -> None:
        """Sides of this group's nodes, cut between their hosts. Hosts outside the group join the first
        side: the cut is the one asked for, and costs other groups no link it need not (a group that
        shares hosts with both sides is cut too: those machines can no longer talk)."""
        sides = [[self.hosts[i] for i in side] for side in groups]
        rest = [h for h in range(self.chains.world.config.hosts) if h not in self.hosts]
        if sides:
            sides[0] = sorted(sides[0] + rest)
        self.chains.partition(sides)

    def heal(self) -> None:
        self.chains.heal()

    def submit_transactions(self, count: int) -> int:
        return self.chains.world.submit_transactions(count, self.name)

    def node_status(self) -> list[dict[str, Any]]:
        return [{**row, "host": self.hosts[row["index"]]} for row in super().node_status()]


def make_groups_simulation(*, hosts: int, groups: tuple[Any, ...], suite: str, seed: int, tx_rate: int = 20,
                           consensus: str = "pbft", epoch_sealers: int = 4, epoch_blocks: int = 1000,
                           executor: str = "") -> GroupsChain:
    """Several groups (chain.sim.groups.GroupSpec) on `hosts` simulated hosts, each group's load `tx_rate`."""
    base = SimConfig(suite=suite, seed=seed, tx_rate=float(tx_rate), executor=executor or "kv",
                     workload="contracts" if executor == "dmc" else "kv",
                     consensus=consensus, epoch_sealers=epoch_sealers, epoch_blocks=epoch_blocks)
    return GroupsChain(GroupsSimulation(GroupsConfig(hosts=hosts, groups=groups, base=base)))


def _role(node: SimNode) -> str:
    """leader, sealer or observer — for a crashed node, what its own committed node list says it is."""
    if node.replica is not None:
        # the leader is the node that proposes the next block in its current view
        return "leader" if node.replica.is_leader() else node.replica.role
    in_force = consensus_nodes(node.store, node.store.head_number() + 1)
    return "sealer" if in_force.index_of(node.node_id) is not None else "observer"


def _state(node: SimNode, *, partitioned: bool) -> str:
    if not node.alive:
        return "crashed"
    if node.behaviour is not None:
        return f"Byzantine({node.behaviour.name})"
    # while the network is split every node is cut off from some others
    return "partitioned" if partitioned else "ok"


def spare_nodes(scenario: Scenario) -> int:
    """Nodes to create as observers so an add_sealer event has someone to promote."""
    wanted = [e.node for e in scenario.events
              if e.action in ("add_sealer", "propose_sealer") and isinstance(e.node, int)]
    return max((n - scenario.nodes + 1 for n in wanted), default=0)


def make_simulation(*, nodes: int, suite: str, seed: int, tx_rate: int = 20, spare_nodes: int = 0,
                    governors: tuple[int, ...] = (), participates_rate: int = 0, win_rate: int = 0,
                    consensus: str = "pbft", epoch_sealers: int = 4, epoch_blocks: int = 1000,
                    executor: str = "") -> SimChain:
    """governors: an auth chain whose committee has these weights (it needs the system contracts too).
    executor: "" picks kv, or evm when governance needs the system contracts; dmc calls contracts."""
    config = SimConfig(nodes=nodes, suite=suite, seed=seed, observers=spare_nodes, tx_rate=float(tx_rate),
                       executor=executor or ("evm" if spare_nodes or governors else "kv"),
                       workload="contracts" if executor == "dmc" else "kv",  # kv writes all go to one address
                       auth_governors=len(governors), governor_weights=governors,
                       participates_rate=participates_rate, win_rate=win_rate,
                       consensus=consensus, epoch_sealers=epoch_sealers, epoch_blocks=epoch_blocks)
    return SimChain(Simulation(config))


def behaviours() -> tuple[str, ...]:
    """The names of the Byzantine behaviours the simulator offers (chain.sim.byzantine)."""
    return tuple(sorted(BEHAVIOURS))


def best_store(chain: SimChain) -> Store:
    """The store of the honest node with the highest head (what a student expects to see)."""
    nodes = chain.sim.honest_nodes() or chain.sim.nodes
    return max(nodes, key=lambda n: n.store.head_number()).store


def signature_sizes(chain: SimChain) -> tuple[int, ...]:
    """Sizes of the checkpoint signatures on the newest committed block with any."""
    store = best_store(chain)
    for number in range(store.head_number(), 0, -1):
        block = store.block_by_number(number)
        if block is not None and block.signatures:
            return tuple(len(sig) for _, sig in block.signatures)
    return ()


def add_sealer(chain: SimChain, node: int) -> str:
    """Promote observer `node` to sealer with a transaction to the Consensus contract (0x1003)."""
    chain.sim.add_sealer(node)
    return f"send addSealer(node {node}, weight 1) to the Consensus system contract 0x1003"


def _governor_tx(chain: SimChain, governor: int, build: Callable[..., Any], *args: Any) -> None:
    from chain.ledger.transaction import sign_transaction

    head = max(n.store.head_number() for n in chain.sim.nodes)
    tx = build(chain.sim.suite, *args, block_limit=head + BLOCK_LIMIT_AHEAD, nonce=chain.sim.rng.getrandbits(250))
    chain.sim.submit_signed([sign_transaction(tx, chain.sim.governor_keys[governor])])


def propose_sealer(chain: SimChain, governor: int, node: int, blocks: int) -> str:
    """A governor proposes the spare node as a sealer (CommitteeManager 0x10001), open for `blocks` blocks."""
    from chain.execution.governance import add_sealer_proposal_tx

    _governor_tx(chain, governor, add_sealer_proposal_tx, chain.sim.nodes[node].node_id, 1, blocks)
    return f"governor {governor} proposes node {node} as a sealer (open for {blocks} blocks) and votes for it"


def vote(chain: SimChain, governor: int, proposal: int, agree: bool) -> str:
    from chain.execution.governance import vote_tx

    _governor_tx(chain, governor, vote_tx, proposal, agree)
    return f"governor {governor} votes {'for' if agree else 'against'} proposal {proposal}"


def freeze_account(chain: SimChain, governor: int) -> str:
    """A governor freezes the client account (AccountManager 0x10003): its transactions are refused."""
    from chain.execution.governance import set_account_status_tx

    _governor_tx(chain, governor, set_account_status_tx, chain.sim.client_key.address, 1)
    return f"governor {governor} freezes the client account 0x{chain.sim.client_key.address.hex()[:8]}…"


def governance_summary(chain: SimChain) -> dict[str, Any]:
    """What the committee did, as the best honest node's state says: each proposal's status, and
    the client account's status with the number of its transactions committed after it was frozen."""
    from chain.ledger import committee, permissions

    store = best_store(chain)
    if not committee.is_auth_chain(store):
        return {}
    head = store.head_number()
    statuses = []
    for proposal_id in range(1, committee.proposal_count(store) + 1):
        proposal = committee.get_proposal(store, proposal_id)
        statuses.append(int(proposal.status_at(head + 1)) if proposal is not None else 0)
    client = chain.sim.client_key.address
    frozen_at, after, refused = None, 0, 0
    for number in range(1, head + 1):
        block = store.block_by_number(number)
        if block is None:
            continue
        for tx, receipt in zip(block.transactions, store.receipts(number)):
            if frozen_at is not None and tx.sender(chain.sim.suite) == client:
                # pooled before the freeze, the executor refuses them; after it, the pool does
                after, refused = after + receipt.ok, refused + (receipt.status == ACCOUNT_FROZEN)
            if frozen_at is None and tx.to == ACCOUNT_MANAGER and tx.data[16:36] == client and receipt.ok:
                frozen_at = number
    return {"proposals": statuses, "client_status": int(permissions.account_status(store, client)),
            "frozen_at": frozen_at, "client_txs_after_freeze": after, "refused_in_blocks": refused}


def proposals_view(chain: SimChain, limit: int = 8) -> list[dict[str, Any]]:
    """The newest proposals as the dashboard shows them: who proposed, who voted which way, their
    status (as the next block would see it) and deadline; governors named by their index."""
    from chain.ledger import committee

    store = best_store(chain)
    if not committee.is_auth_chain(store):
        return []
    governor = {k.address: i for i, k in enumerate(chain.sim.governor_keys)}

    def name(address: bytes) -> str:
        return f"governor {governor[address]}" if address in governor else "0x" + address.hex()[:8]

    head, shown = store.head_number(), []
    for proposal_id in range(committee.proposal_count(store), 0, -1):
        p = committee.get_proposal(store, proposal_id)
        if p is None:
            continue
        status = p.status_at(head + 1)
        shown.append({"id": p.id, "type": committee.TYPE_NAMES.get(committee.ProposalType(p.type), str(p.type)),
                      "status": committee.STATUS_NAMES[status], "open": status == committee.ProposalStatus.NOT_ENOUGH_VOTES,
                      "deadline": p.deadline, "proposer": name(p.proposer),
                      "agree": [name(a) for a in p.agree], "against": [name(a) for a in p.against]})
        if len(shown) >= limit:
            break
    return shown


ACCOUNT_MANAGER = (0x10003).to_bytes(20, "big")
ACCOUNT_FROZEN = 31  # chain.ledger.status.Status.ACCOUNT_FROZEN


def tamper(chain: SimChain, node: int, number: int, what: str) -> str:
    """Edit block `number` in node `node`'s store the way an attacker with its disk would (chain.tamper)."""
    from chain.errors import ScenarioError
    from chain.tamper.forge import TAMPERS, tamper as forge
    from chain.tamper.node_files import overwrite_block

    store = chain.sim.nodes[node].store
    block = store.block_by_number(number)
    # the edit needs the block on that node's disk at the moment the event fires
    if block is None:
        raise ScenarioError(f"node {node} has no block {number} yet (its height is {store.head_number()})")
    overwrite_block(store, forge(block, what, 0, chain.sim.config.suite))
    return f"tamper with block {number} in node {node}'s store: {TAMPERS[what].says.format(index=0)}"


def dmc_summary(chain: SimChain) -> dict[str, Any]:
    """What DMC did in the blocks the simulation kept (chain.sim.dmc_load.StageLog), and whether
    every node that holds a height holds the same state root there; {} when the chain runs no DMC.

    A block "ran in parallel" when one of its rounds had contracts on two executors or more.
    """
    if chain.sim.config.executor != "dmc":
        return {}
    kept = chain.sim.dmc_stages.by_height
    multi = parallel = multi_round = call_outs = lock_waits = deadlocks = 0
    for _, stages in kept.values():
        contracts = {contract for stage in stages for contract, _, _ in stage.contracts}
        multi += len(contracts) > 1
        parallel += any(len({executor for _, executor, _ in stage.contracts}) > 1 for stage in stages)
        multi_round += len(stages) > 1
        replies = [step.reply for stage in stages for _, _, steps in stage.contracts for step in steps]
        call_outs += replies.count("call_out")
        lock_waits += replies.count("key_lock")
        deadlocks += sum(stage.deadlock_victim is not None for stage in stages)
    disagree = []
    top = max(n.store.head_number() for n in chain.sim.nodes)
    for number in range(1, top + 1):
        roots = {n.index: b.header.state_root for n in chain.sim.nodes
                 if (b := n.store.block_by_number(number)) is not None}
        if len(set(roots.values())) > 1:
            disagree.append(number)
    return {"blocks": len(kept), "several_contracts": multi, "parallel": parallel, "several_rounds": multi_round,
            "call_outs": call_outs, "lock_waits": lock_waits, "deadlocks": deadlocks, "heights_checked": top,
            "state_roots_differ_at": disagree}
