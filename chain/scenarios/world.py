"""The one place scenarios and the dashboard meet the simulator (chain.sim).

Everything the classroom tools ask of a simulated chain beyond the public control API — building
it from a scenario, its Byzantine behaviour names, its invariant checker's verdict, a node's
committed blocks, adding a sealer through the Consensus system contract — goes through these
functions, so the rest of chain.scenarios and chain.web reads as plain intent.
"""

from __future__ import annotations

from typing import Any

from chain.errors import ScenarioError
from chain.scenarios.spec import Scenario


def _sim_module() -> Any:
    try:
        import chain.sim as sim_module
        sim_module.Simulation  # noqa: B018 - the package exists before its runner lands
    except (ImportError, AttributeError) as exc:
        raise ScenarioError(f"the simulator (chain.sim) is not available: {exc}") from None
    return sim_module


def spare_nodes(scenario: Scenario) -> int:
    """Nodes to create as observers so an add_sealer event has someone to promote."""
    wanted = [e.node for e in scenario.events if e.action == "add_sealer" and isinstance(e.node, int)]
    return max((n - scenario.nodes + 1 for n in wanted), default=0)


def make_simulation(*, nodes: int, suite: str, seed: int, spare_nodes: int = 0) -> Any:
    sim_module = _sim_module()
    return sim_module.Simulation(sim_module.SimConfig(nodes=nodes, suite=suite, seed=seed, observers=spare_nodes))


def behaviours() -> tuple[str, ...]:
    """The names of the Byzantine behaviours the simulator offers."""
    _sim_module()
    from chain.sim import byzantine
    return tuple(byzantine.BEHAVIOURS)


def violations(sim: Any) -> list[str]:
    """The invariant checker's findings (empty: no two different blocks were committed at one height)."""
    return [str(v) for v in sim.check_invariants()]


def node_store(sim: Any, index: int) -> Any:
    return sim.nodes[index].store


def best_store(sim: Any) -> Any:
    """The store of the honest node with the highest head (what a student expects to see)."""
    status = sim.node_status()
    candidates = [i for i, n in enumerate(status) if not n.get("behaviour")] or list(range(len(status)))
    return node_store(sim, max(candidates, key=lambda i: status[i].get("height", -1)))


def signature_sizes(sim: Any) -> tuple[int, ...]:
    """Sizes of the checkpoint signatures on the newest committed block with any."""
    store = best_store(sim)
    for number in range(store.head_number(), 0, -1):
        block = store.block_by_number(number)
        if block is not None and block.signatures:
            return tuple(len(sig) for _, sig in block.signatures)
    return ()


def add_sealer(sim: Any, node: int) -> str:
    """Promote observer `node` to sealer with a transaction to the Consensus contract (0x1003)."""
    sim.add_sealer(node)
    return f"send addSealer(node {node}, weight 1) to the Consensus system contract 0x1003"
