"""The one place scenarios and the dashboard meet the simulator (chain.sim).

Everything the classroom tools ask of a simulated chain beyond the public control API — building
it from a scenario, its Byzantine behaviour names, its invariant checker's verdict, a node's
committed blocks, adding a sealer through the Consensus system contract — goes through here, so
the rest of chain.scenarios and chain.web reads as plain intent.

`SimChain` wraps a `chain.sim.Simulation` and presents each node the way a student thinks of it:
role, view, height, head, and one *state* — ok, crashed, Byzantine(behaviour) or partitioned —
with the replica's own phase (idle, pre-prepared, view-changing…) kept alongside.
"""

from __future__ import annotations

from typing import Any, Callable

from chain.errors import ScenarioError
from chain.scenarios.spec import Scenario


def _sim_module() -> Any:
    try:
        import chain.sim as sim_module
        sim_module.Simulation  # noqa: B018 - the package may exist before its runner lands
    except (ImportError, AttributeError) as exc:
        raise ScenarioError(f"the simulator (chain.sim) is not available: {exc}") from None
    return sim_module


def spare_nodes(scenario: Scenario) -> int:
    """Nodes to create as observers so an add_sealer event has someone to promote."""
    wanted = [e.node for e in scenario.events if e.action == "add_sealer" and isinstance(e.node, int)]
    return max((n - scenario.nodes + 1 for n in wanted), default=0)


class SimChain:
    """A Simulation with student-shaped node statuses; every other attribute is the simulation's."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sim, name)

    @property
    def now_ms(self) -> int:
        return int(self.sim.now_ms)

    def subscribe(self, callback: Callable[[dict[str, Any]], None]) -> Any:
        return self.sim.subscribe(callback)

    def node_status(self) -> list[dict[str, Any]]:
        groups = [sorted(g) for g in self.sim.network.groups]
        rows = []
        for raw in self.sim.node_status():
            index = raw.get("node", raw.get("index"))
            alive = raw.get("alive", raw.get("state") != "crashed")
            role = raw.get("role")
            if not alive or role == "crashed":
                role = "sealer" if index < self.sim.config.nodes else "observer"
            elif self._thinks_it_leads(index):  # the proposer of its next block in its current view
                role = "leader"
            if not alive:
                state = "crashed"
            elif raw.get("behaviour"):
                state = f"Byzantine({raw['behaviour']})"
            elif groups:  # while the network is split every node is cut off from some others
                state = "partitioned"
            else:
                state = "ok"
            rows.append({
                "index": index, "role": role, "view": raw.get("view"), "height": raw.get("height"),
                "head": raw.get("head_hash") or None, "state": state, "phase": raw.get("state"),
                "pending": raw.get("pending_txs"), "behaviour": raw.get("behaviour"),
                "group": next((g for g in groups if index in g), None) if groups else None,
            })
        return rows


    def _thinks_it_leads(self, index: int) -> bool:
        replica = self.sim.nodes[index].replica
        return replica is not None and bool(replica.is_leader())


def raw_nodes(sim: Any) -> list[Any]:
    return list(sim.nodes)


def make_simulation(*, nodes: int, suite: str, seed: int, tx_rate: int = 20, spare_nodes: int = 0) -> SimChain:
    sim_module = _sim_module()
    config = sim_module.SimConfig(nodes=nodes, suite=suite, seed=seed, observers=spare_nodes, tx_rate=float(tx_rate),
                                  executor="evm" if spare_nodes else "kv")  # add_sealer needs system contracts
    return SimChain(sim_module.Simulation(config))


def behaviours() -> tuple[str, ...]:
    """The names of the Byzantine behaviours the simulator offers."""
    _sim_module()
    from chain.sim import byzantine
    names = getattr(byzantine, "BEHAVIOURS", None) or getattr(byzantine, "BEHAVIORS", {})
    return tuple(sorted(names))


def violations(chain: SimChain) -> list[str]:
    """The invariant checker's findings (empty: no two different blocks were committed at one height)."""
    report = chain.sim.check()
    found = getattr(report, "violations", None)
    if found is None:
        found = getattr(report, "safety", [])
    return [str(v) for v in found]


def best_store(chain: SimChain) -> Any:
    """The store of the honest node with the highest head (what a student expects to see)."""
    nodes = raw_nodes(chain.sim)
    honest = [n for n in nodes if not getattr(n, "ever_byzantine", False)] or nodes
    return max(honest, key=lambda n: n.store.head_number()).store


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
    chain.sim.add_sealer(node)  # runs with the EVM executor and a genesis admin key (see build_world)
    return f"send addSealer(node {node}, weight 1) to the Consensus system contract 0x1003"
