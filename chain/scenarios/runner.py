"""Running a scenario on the simulator, narrating it, and checking its expected observations.

The runner feeds the simulator in small slices of virtual time: it applies each scripted fault
exactly at its time, submits the client load, and samples every node's status. The samples are
the record the observations are checked against (chain.scenarios.observations) and the material
of the narration a student reads — "3.000 s: node 1, the leader, crashes; 6.2 s: view 0 → 1".

The same `ScenarioScript` drives the dashboard when a scenario is shown live, so what the class
sees on the projector is the very run `chain scenario run` checks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from chain.errors import ScenarioError
from chain.scenarios.observations import SAMPLE_MS, RunRecord, Sample, Verdict, check, height
from chain.scenarios.spec import LEADER, Scenario, ScenarioEvent
from chain.scenarios import world


class ScenarioScript:
    """The scripted faults of a scenario, applied to a simulation as virtual time passes."""

    def __init__(self, scenario: Scenario, sim: world.SimChain | world.GroupsChain, *,
                 on_apply: Callable[[int, str], None] | None = None) -> None:
        self.scenario = scenario
        self.sim = sim
        self.pending = list(scenario.events)
        self.on_apply = on_apply or (lambda t, text: None)  # told (virtual ms, what was done) of each event
        self.byzantine: set[int] = set()  # nodes this script made Byzantine
        self.tampered: list[tuple[int, int]] = []  # (node, block) of each tamper event applied
        self.sync_refusals: list[tuple[int, int, int | None, str]] = []  # (t, node, sender, reason) of refused SyncResponses
        if any(e.action == "tamper" for e in scenario.events):  # only then: listening makes the simulator build records
            sim.subscribe(self._note_sync_refusal)

    def _note_sync_refusal(self, record: dict[str, Any]) -> None:
        if record.get("ev") == "reject" and record.get("type") == "SYNC_RESPONSE":
            self.sync_refusals.append((int(record["t"]), int(record["node"]), record.get("sender"), str(record.get("reason"))))

    def advance_to(self, target_ms: int) -> None:
        """Run the simulation to target_ms, stopping at each scripted event to apply it on time."""
        while self.pending and self.pending[0].at_ms <= target_ms:
            event = self.pending.pop(0)
            if event.at_ms > self.sim.now_ms:
                self.sim.run_until(event.at_ms)
            self.on_apply(self.sim.now_ms, self.apply(event))
        if target_ms > self.sim.now_ms:
            self.sim.run_until(target_ms)

    def resolve(self, node: int | str | None) -> int:
        """The node index an event names; "leader" is looked up at the moment the event fires."""
        if node == LEADER:
            leaders = [i for i, n in enumerate(self.sim.node_status()) if n.get("role") == "leader"]
            # "leader" means the node every honest replica currently expects to propose
            if not leaders:
                raise ScenarioError("no node is leader at this moment")
            return leaders[0]
        # the parser admits only "leader" or an index for actions that name a node
        if not isinstance(node, int):
            raise ScenarioError(f"an event names node {node!r}")
        return node

    def apply(self, event: ScenarioEvent) -> str:
        """Carry out one event and say what was done, in the words of the narration."""
        action = event.action
        if isinstance(self.sim, world.GroupsChain):
            return self._apply_to_hosts(event, self.sim)
        if action == "crash":
            node = self.resolve(event.node)
            was = " (the leader)" if event.node == LEADER else ""
            self.sim.crash(node)
            return f"crash node {node}{was}"
        if action == "restart":
            node = self.resolve(event.node)
            self.sim.restart(node)
            return f"restart node {node}"
        if action == "partition":
            self.sim.partition([list(g) for g in event.groups])
            return "partition the network into " + " | ".join(str(list(g)) for g in event.groups)
        if action == "heal":
            self.sim.heal()
            return "heal the network"
        if action == "byzantine":
            node = self.resolve(event.node)
            self.sim.set_behaviour(node, event.behaviour)
            self.byzantine.add(node)
            return f"node {node} turns Byzantine: {event.behaviour}"
        if action == "honest":
            node = self.resolve(event.node)
            self.sim.set_behaviour(node, None)
            return f"node {node} is honest again"
        if action == "burst":
            self.sim.submit_transactions(event.count)
            return f"a burst of {event.count} transactions"
        if action == "add_sealer":
            node = self.resolve(event.node)
            return world.add_sealer(self.sim, node)
        if action == "propose_sealer":
            return world.propose_sealer(self.sim, event.governor, self.resolve(event.node), event.blocks)
        if action == "vote":
            return world.vote(self.sim, event.governor, event.proposal, event.agree)
        if action == "freeze_account":
            return world.freeze_account(self.sim, event.governor)
        if action == "tamper":
            node = self.resolve(event.node)
            done = world.tamper(self.sim, node, event.block, event.what)
            self.tampered.append((node, event.block))
            return done
        raise ScenarioError(f"unknown action {action!r}")

    def _apply_to_hosts(self, event: ScenarioEvent, chains: world.GroupsChain) -> str:
        """An event of a scenario with several groups: it names hosts, and acts on every group there."""
        action, host = event.action, event.node
        if action in ("crash", "restart", "byzantine", "honest"):
            if not isinstance(host, int):  # the parser refuses "leader" in such scenarios
                raise ScenarioError(f"an event names host {host!r}")
            found = [name for name in chains.chains if host in chains.hosts(name)]
            where = f"host {host} ({', '.join(found) if found else 'in no group'})"
            if action == "crash":
                chains.crash(host)
                return f"crash {where}"
            if action == "restart":
                chains.restart(host)
                return f"restart {where}"
            chains.set_behaviour(host, event.behaviour if action == "byzantine" else None)
            if action == "byzantine":
                self.byzantine.add(host)
                return f"{where} turns Byzantine: {event.behaviour}"
            return f"{where} is honest again"
        if action == "partition":
            chains.partition([list(g) for g in event.groups])
            return "partition the hosts into " + " | ".join(str(list(g)) for g in event.groups)
        if action == "heal":
            chains.heal()
            return "heal the network"
        if action == "burst":
            chains.submit_transactions(event.count)
            return f"a burst of {event.count} transactions in each group"
        raise ScenarioError(f"{action} acts on one chain; a scenario with groups cannot use it")


@dataclass(frozen=True)
class ScenarioResult:
    """Every run of a scenario (one per suite), the verdict on each expected observation, the story."""

    scenario: Scenario
    records: tuple[RunRecord, ...]
    verdicts: tuple[Verdict, ...]
    narration: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return all(v.held for v in self.verdicts)


def scenario_simulation(scenario: Scenario, suite: str) -> world.SimChain:
    """The simulation a scenario plays on, with one suite: every setting the scenario file fixes.

    The batch run and the dashboard (chain.web.simulated) both build it here, so a setting cannot
    reach one and not the other: the dashboard once left out the consensus and played the rPBFT
    scenarios as PBFT. The simulator's own seeded client submits the load, so the run is fixed by
    the scenario file.
    """
    return world.make_simulation(nodes=scenario.nodes, suite=suite, seed=scenario.seed, tx_rate=scenario.tx_rate,
                                 spare_nodes=world.spare_nodes(scenario), governors=scenario.governors,
                                 participates_rate=scenario.participates_rate, win_rate=scenario.win_rate,
                                 consensus=scenario.consensus, epoch_sealers=scenario.epoch_sealers,
                                 epoch_blocks=scenario.epoch_blocks, executor=scenario.executor)


def run_once(scenario: Scenario, suite: str) -> RunRecord:
    """One run of the scenario with one suite, sampled every SAMPLE_MS of virtual time."""
    started = time.perf_counter()
    sim = scenario_simulation(scenario, suite)
    record = RunRecord(suite=suite)
    events: list[dict[str, Any]] = []
    sim.subscribe(events.append)
    script = ScenarioScript(scenario, sim, on_apply=lambda t, text: record.applied.append((t, text)))
    record.samples.append(Sample(sim.now_ms, tuple(sim.node_status())))
    while sim.now_ms < scenario.duration_ms:
        script.advance_to(min(sim.now_ms + SAMPLE_MS, scenario.duration_ms))
        record.samples.append(Sample(sim.now_ms, tuple(sim.node_status())))
    record.trace_events = len(events)
    record.last_fault_ms = max((e.at_ms for e in scenario.events), default=0)
    record_outcome(record, sim, script)
    record.wall_seconds = time.perf_counter() - started
    return record


def record_outcome(record: RunRecord, sim: world.SimChain, script: ScenarioScript) -> None:
    """Fill in what the observations judge besides the samples: the checker's report, signatures,
    what the script did, the committee's proposals. One function for the batch run and the live
    dashboard, so an observation cannot pass in one and lack its data in the other."""
    report = sim.sim.check()
    record.violations = list(report.violations)
    record.live, record.liveness = report.live, report.liveness_after_gst
    record.signature_sizes = world.signature_sizes(sim)
    record.byzantine = frozenset(script.byzantine)
    record.tampered = tuple(script.tampered)
    record.sync_refusals = tuple(script.sync_refusals)
    record.governance = world.governance_summary(sim)
    record.dmc = world.dmc_summary(sim)


def groups_simulation(scenario: Scenario, suite: str) -> world.GroupsChain:
    """The world a scenario with several groups plays on (its hosts, groups and settings), for the
    batch run and the dashboard alike."""
    return world.make_groups_simulation(hosts=scenario.nodes, groups=scenario.groups, suite=suite, seed=scenario.seed,
                                        tx_rate=scenario.tx_rate, consensus=scenario.consensus,
                                        epoch_sealers=scenario.epoch_sealers, epoch_blocks=scenario.epoch_blocks,
                                        executor=scenario.executor)


def group_record_outcome(records: dict[str, RunRecord], chains: world.GroupsChain, script: ScenarioScript) -> None:
    """record_outcome for each group: its own checker, its own nodes (Byzantine hosts as its node numbers)."""
    for name, record in records.items():
        record_outcome(record, chains.chains[name], script)
        hosts = chains.hosts(name)
        record.byzantine = frozenset(hosts.index(h) for h in script.byzantine if h in hosts)


def run_groups_once(scenario: Scenario, suite: str) -> tuple[RunRecord, ...]:
    """One run of a scenario with several groups: one record per group, all sampled at the same moments."""
    started = time.perf_counter()
    chains = groups_simulation(scenario, suite)
    records = {name: RunRecord(suite=suite, group=name) for name in chains.chains}
    events: list[dict[str, Any]] = []
    chains.subscribe(events.append)

    def applied(t: int, text: str) -> None:
        for record in records.values():
            record.applied.append((t, text))
    script = ScenarioScript(scenario, chains, on_apply=applied)

    def sample() -> None:
        for name, record in records.items():
            record.samples.append(Sample(chains.now_ms, tuple(chains.chains[name].node_status())))
    sample()
    while chains.now_ms < scenario.duration_ms:
        script.advance_to(min(chains.now_ms + SAMPLE_MS, scenario.duration_ms))
        sample()
    group_record_outcome(records, chains, script)
    for record in records.values():
        record.trace_events = len(events)
        record.last_fault_ms = max((e.at_ms for e in scenario.events), default=0)
        record.wall_seconds = time.perf_counter() - started
    return tuple(records.values())


def judge(scenario: Scenario, records: list[RunRecord]) -> tuple[Verdict, ...]:
    """Each expected observation over the runs it is about: "group1:stall" over group1's record only."""
    verdicts = []
    for entry, (group, observation) in zip(scenario.expect, scenario.expectations()):
        chosen = [r for r in records if group is None or r.group == group]
        verdict = check(observation, chosen)
        verdicts.append(Verdict(entry, verdict.held, verdict.detail))
    return tuple(verdicts)


def run_scenario(scenario: Scenario) -> ScenarioResult:
    if scenario.groups:
        records = run_groups_once(scenario, scenario.suite)
    else:
        records = tuple(run_once(scenario, suite) for suite in scenario.suites)
    verdicts = judge(scenario, list(records))
    narration = narrate(scenario, records, verdicts)
    return ScenarioResult(scenario=scenario, records=records, verdicts=verdicts, narration=tuple(narration))


# --- narration ------------------------------------------------------------------------------------

def _seconds(ms: int) -> str:
    return f"{ms / 1000:7.3f} s"


def narrate_record(record: RunRecord) -> list[str]:
    """What happened in one run, as timed sentences, from the applied events and the samples."""
    lines: list[tuple[int, str]] = [(t, text) for t, text in record.applied]
    previous = record.samples[0]
    last_block_at = previous.t
    for sample in record.samples[1:]:
        top_before = max(height(n) for n in previous.nodes)
        top = max(height(n) for n in sample.nodes)
        if top > top_before:
            if sample.t - last_block_at > 2000 and top_before >= 0:
                lines.append((sample.t, f"blocks resume: height {top} after {sample.t - last_block_at} ms without a block"))
            elif top_before < 1 <= top:
                lines.append((sample.t, f"first block committed (height {top})"))
            last_block_at = sample.t
        views_before = [int(n.get("view") or 0) for n in previous.nodes]
        views = [int(n.get("view") or 0) for n in sample.nodes]
        if max(views) > max(views_before):
            leader = next((i for i, n in enumerate(sample.nodes) if n.get("role") == "leader"), None)
            lines.append((sample.t, f"view change: view {max(views_before)} → {max(views)}"
                                    + (f", leader now node {leader}" if leader is not None else "")))
        for i, (old, new) in enumerate(zip(previous.nodes, sample.nodes)):
            if old.get("role") != new.get("role") and "leader" not in (old.get("role"), new.get("role")):
                lines.append((sample.t, f"node {i} is now {new.get('role')}"))
        previous = sample
    told: set[tuple[int, int | None, str]] = set()
    for t, node, sender, reason in record.sync_refusals:
        if (node, sender, reason) not in told:  # once per refusal, not per re-sent response
            told.add((node, sender, reason))
            lines.append((t, f"node {node} refuses node {sender}'s blocks over sync: {reason}"))
    end = record.final
    if end.t - last_block_at > 2000:
        lines.append((last_block_at, f"last block committed; none in the remaining {end.t - last_block_at} ms"))
    lines.sort(key=lambda item: item[0])
    out = [f"{_seconds(t)}  {text}" for t, text in lines]
    heights = ", ".join(f"{i}:{height(n)}" for i, n in enumerate(end.nodes))
    views = sorted({int(n.get("view") or 0) for n in end.nodes})
    out.append(f"{_seconds(end.t)}  end — heights {{{heights}}}, views {views}, "
               f"{record.trace_events} trace events, {record.wall_seconds:.2f} s wall time")
    if record.liveness:
        out.append(f"{_seconds(end.t)}  liveness after GST: {record.liveness}")
    return out


def narrate(scenario: Scenario, records: tuple[RunRecord, ...], verdicts: tuple[Verdict, ...]) -> list[str]:
    lines = [f"== {scenario.name}: {scenario.title}",
             f"   {scenario.nodes} nodes, seed {scenario.seed}, {scenario.tx_rate} tx/s, {scenario.duration_ms} ms of virtual time"]
    if scenario.groups:
        lines[-1] = lines[-1].replace(f"{scenario.nodes} nodes", f"{scenario.nodes} hosts, {len(scenario.groups)} groups")
    hosts = {g.name: g.hosts for g in scenario.groups}
    for record in records:
        if record.group:
            lines.append(f"-- {record.group}: its nodes 0..{len(hosts[record.group]) - 1} run on hosts "
                         f"{', '.join(map(str, hosts[record.group]))} (suite {record.suite})")
            lines.extend("   " + line for line in narrate_record(record))
            continue
        lines.append(f"-- suite {record.suite}" + (f" (signatures of {sorted(set(record.signature_sizes))} bytes)"
                                                   if record.signature_sizes else ""))
        lines.extend("   " + line for line in narrate_record(record))
    lines.append("-- expected observations")
    for verdict in verdicts:
        lines.append(f"   [{'held' if verdict.held else 'FAILED'}] {verdict.observation}: {verdict.detail}")
    if scenario.watch:
        lines.append("-- what to watch")
        lines.extend("   " + line.strip() for line in scenario.watch.splitlines() if line.strip())
    return lines
