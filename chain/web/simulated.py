"""The dashboard's usual subject: a simulated chain (chain.sim), optionally scripted by a scenario."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from chain.crypto.suite import get_suite
from chain.scenarios import world
from chain.scenarios.runner import scenario_simulation
from chain.scenarios.spec import Scenario
from chain.web import observe, views
from chain.web.grouped import GroupedLive
from chain.web.hub import Hub
from chain.web.live import LiveChain
from chain.web.scenario_view import ScenarioWatch


TEXTBOOK_LATENCY_MS = 20  # every message takes exactly this long: the arrows of a phase are parallel


def textbook_switch(chain: world.SimChain) -> Callable[[bool], None]:
    """Turn textbook mode on or off: uniform latency and no background client load (and back).

    Like the Castro–Liskov figure: one client request, then each phase's messages side by side.
    The simulator draws the same random numbers per message either way; only the run differs.
    """
    sim = chain.sim
    usual = (sim.network.default, sim.config)

    def switch(on: bool) -> None:
        if on:
            sim.network.default = dataclasses.replace(usual[0], min_ms=TEXTBOOK_LATENCY_MS, max_ms=TEXTBOOK_LATENCY_MS)
            sim.config = dataclasses.replace(usual[1], tx_rate=0.0)
        else:
            sim.network.default, sim.config = usual
    return switch


def simulated_live_chain(*, nodes: int, suite: str, seed: int, tx_rate: int = 20, scenario: Scenario | None = None,
                         hub: Hub | None = None, consensus: str = "pbft", epoch_sealers: int = 4,
                         epoch_blocks: int = 1000) -> LiveChain:
    """The simulation the page shows: blocks come from the honest node with the highest head.

    With a scenario, the simulation is the one `chain scenario run` checks (built by the same
    function), whatever nodes, seed, tx_rate and consensus say; without, those make the chain.
    """
    if scenario is not None:
        sim = scenario_simulation(scenario, suite)
        seed, tx_rate = scenario.seed, scenario.tx_rate
    else:
        sim = world.make_simulation(nodes=nodes, suite=suite, seed=seed, tx_rate=tx_rate, consensus=consensus,
                                    epoch_sealers=epoch_sealers, epoch_blocks=epoch_blocks)
    # the header names the consensus the simulation runs: "resting" cards mean nothing to a class not told of rPBFT
    config = sim.sim.config
    kind = (f" · rPBFT: {min(config.epoch_sealers, config.nodes)} working per {config.epoch_blocks}-block epoch"
            if config.consensus == "rpbft" else "")
    crypto = get_suite(suite)
    # a scenario plays its faults on time, is judged as it goes, and stops at its duration_ms
    script = ScenarioWatch(scenario, sim) if scenario is not None else None
    sim.sim.trace_digests = True  # the arrows show the digest each vote carries (equivocation twins)
    node_of = {n.node_id: n.index for n in sim.sim.nodes}.get
    return LiveChain(
        # tx_rate=0: the simulator's own seeded client submits the load, deterministically
        sim, hub or Hub(), behaviours=world.behaviours(), tx_rate=0,
        describe=lambda: {"suite": suite, "seed": seed, "tx_rate": tx_rate, "mode": "simulation" + kind
                          + (f" · scenario {scenario.name}" if scenario is not None else ""),
                          **({"scenario": script.describe()} if script is not None else {}),
                          **({"proposals": world.proposals_view(sim)} if sim.sim.governor_keys else {})},
        blocks=lambda start, end: views.block_summaries(world.best_store(sim), crypto, start, end, node_of),
        block=lambda number: views.block_detail(world.best_store(sim), crypto, number, node_of),
        script=script, nodes=lambda: observe.observe(sim), phase_key=lambda: observe.phase_key(sim),
        textbook=textbook_switch(sim),
    )


def groups_live_chains(*, groups: str = "2", sealers: int = 4, suite: str, seed: int, tx_rate: int = 20,
                       scenario: Scenario | None = None) -> GroupedLive:
    """Several groups on one simulated network (chain.sim.groups), one page per group.

    With a scenario that has groups, the world is the one `chain scenario run` checks; without,
    `groups` names them (a count or names, as `chain sim --groups`), each of `sealers` sealers
    sharing half its hosts with the next group.
    """
    from chain.scenarios.runner import groups_simulation
    from chain.sim.groups import group_id_of, group_names, overlapping_groups
    from chain.web.scenario_view import GroupsScenarioWatch

    if scenario is not None:
        chains = groups_simulation(scenario, suite)
        seed, tx_rate = scenario.seed, scenario.tx_rate
    else:
        hosts, specs = overlapping_groups(group_names(groups), sealers)
        chains = world.make_groups_simulation(hosts=hosts, groups=specs, suite=suite, seed=seed, tx_rate=tx_rate)
    script = GroupsScenarioWatch(scenario, chains) if scenario is not None else None
    crypto = get_suite(suite)
    names = list(chains.chains)
    hosts_count = chains.world.config.hosts
    lives: dict[str, LiveChain] = {}
    for name in names:
        view = world.GroupView(chains, name)
        extra = {"groups": names, "group": name, "hosts": list(view.hosts),
                 "mode": f"simulation · {name} (2.x group id {group_id_of(name)}) of {len(names)} groups on "
                         f"{hosts_count} hosts" + (f" · scenario {scenario.name}" if scenario is not None else "")}
        # only the first group's page plays the script: it advances the world for all of them
        lives[name] = _group_live(view, crypto, {"suite": suite, "seed": seed, "tx_rate": tx_rate, **extra},
                                  script if name == names[0] else None, script)
    return GroupedLive(lives)


def _group_live(view: world.GroupView, crypto: Any, facts: dict[str, Any], plays: Any, scenario: Any) -> LiveChain:
    """The LiveChain of one group's page: its cards, blocks, diagram and trace (what `plays` is the script of)."""
    view.sim.trace_digests = True  # the arrows show the digest each vote carries (equivocation twins)
    node_of = {n.node_id: n.index for n in view.sim.nodes}.get
    return LiveChain(
        view, Hub(), behaviours=world.behaviours(), tx_rate=0,
        describe=lambda: {**facts, **({"scenario": scenario.describe()} if scenario is not None else {})},
        blocks=lambda start, end: views.block_summaries(world.best_store(view), crypto, start, end, node_of),
        block=lambda number: views.block_detail(world.best_store(view), crypto, number, node_of),
        script=plays, nodes=lambda: observe.observe(view), phase_key=lambda: observe.phase_key(view),
    )
