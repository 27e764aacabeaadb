"""`chain sim`: run a deterministic PBFT simulation and print what happened, checked.

    chain sim --nodes 7 --byzantine 2 --behaviour equivocate --blocks 50 --seed 1 --trace out.jsonl
    chain sim --sweep 1000 --seed 1 --jobs 2 --resume sweep.jsonl     # random fault schedules, seeds 1..1000
    chain sim --groups 2 --blocks 20     # group0 on hosts 0-3, group1 on hosts 2-5, one network (chain.sim.groups)

Exits 1 if an invariant broke (agreement, validity, no gaps, no double signing), so scripts and CI can
rely on it; a sweep exits 1 if any run broke safety or stalled after its faults were healed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, NoReturn, Protocol

import typer
from rich.console import Console
from rich.table import Table

from chain.crypto.suite import SUITE_NAMES
from chain.errors import ChainError


def sim(
    nodes: int = typer.Option(4, "--nodes", "-n", help="number of sealers"),
    observers: int = typer.Option(0, "--observers", help="number of observers (follow, never vote)"),
    byzantine: int = typer.Option(0, "--byzantine", "-b", help="how many sealers misbehave (nodes 1, 2, …)"),
    behaviour: str = typer.Option("equivocate", "--behaviour", help="what they do (see chain.sim.byzantine)"),
    blocks: int = typer.Option(20, "--blocks", help="stop after the honest nodes committed this many blocks"),
    max_time_ms: int = typer.Option(600_000, "--max-time-ms", help="…or after this much virtual time"),
    seed: int = typer.Option(1, "--seed", help="the seed that fixes the whole run"),
    suite: str = typer.Option("standard", "--suite", help=f"crypto suite: {' or '.join(SUITE_NAMES)}"),
    loss: float = typer.Option(0.0, "--loss", help="probability a message is lost"),
    duplicate: float = typer.Option(0.0, "--duplicate", help="probability a message arrives twice"),
    tx_rate: float = typer.Option(20.0, "--tx-rate", help="client transactions per virtual second"),
    executor: str = typer.Option("kv", "--executor", help="kv, evm, or dmc (DMC's scheduler, executors in-process)"),
    workload: str = typer.Option("", "--workload",
                                 help="client transactions: kv writes, or contracts (Counters called directly and "
                                      "across contracts; needs evm or dmc). Default: contracts with dmc, else kv"),
    trace: Path | None = typer.Option(None, "--trace", help="write every event as JSON lines here"),
    sweep: int = typer.Option(0, "--sweep", help="run this many random fault schedules, seeds --seed, --seed + 1, … "
                                                "(each seed draws its own chain: --nodes and the like are not used)"),
    jobs: int = typer.Option(1, "--jobs", "-j", help="(sweep) processes running at once"),
    resume: Path | None = typer.Option(None, "--resume", help="(sweep) append one JSON line per run here; "
                                                              "skip the seeds it already holds"),
    explain: bool = typer.Option(False, "--explain", help="(sweep) print each run's schedule"),
    schedule_version: int = typer.Option(0, "--schedule-version",
                                         help="(sweep) the behaviour list schedules draw from (0: the latest)"),
    consensus: str = typer.Option("pbft", "--consensus", help="pbft, or rpbft: per epoch only --epoch-sealers "
                                                              "working sealers run PBFT (the others rest)"),
    epoch_sealers: int = typer.Option(4, "--epoch-sealers", help="(rpbft) K, working sealers per epoch "
                                                                 "(feature_rpbft_epoch_sealer_num)"),
    epoch_blocks: int = typer.Option(1000, "--epoch-blocks", help="(rpbft) B, blocks per epoch "
                                                                  "(feature_rpbft_epoch_block_num)"),
    tree_width: int = typer.Option(0, "--tree-width", help="proposals (and rPBFT's decided blocks) go down a tree of "
                                                         "this width, each node forwarding (FISCO 2.x "
                                                         "broadcast_prepare_by_tree: 3); 0: to everyone directly"),
    groups: str = typer.Option("", "--groups", help="several groups on one network: a count (2: group0 and group1) "
                                                     "or names (group0,group3); each group --nodes sealers, sharing "
                                                     "half its hosts with the next group; faults act on hosts"),
    verify_every_copy: bool = typer.Option(False, "--verify-every-copy",
                                           help="every replica verifies every signature itself (slower; by default "
                                                "each distinct signature is verified once in the process, a "
                                                "simulation shortcut that changes nothing else)"),
) -> None:
    """Simulate a PBFT chain with faults and Byzantine nodes; check safety and liveness; print the figures."""
    from chain.sim import SimConfig, Simulation

    console = Console()
    if consensus not in ("pbft", "rpbft"):
        _fail(f"unknown consensus {consensus!r}; choose pbft or rpbft")
    if sweep:
        _sweep(console, sweep, seed, jobs, resume, explain, schedule_version, consensus)
        return
    if suite not in SUITE_NAMES:
        _fail(f"unknown suite {suite!r}; choose from {', '.join(SUITE_NAMES)}")
    if nodes < 1:  # checked before --byzantine, whose bound depends on it
        _fail(f"--nodes must be at least 1 (4 tolerates one faulty node), got {nodes}")
    if groups:
        if observers:
            _fail("--groups: every group has --nodes sealers and no observers")
        _groups_run(console, groups, nodes=nodes, byzantine=byzantine, behaviour=behaviour, blocks=blocks,
                    max_time_ms=max_time_ms, trace=trace,
                    base=dict(suite=suite, seed=seed, loss=loss, duplicate=duplicate, tx_rate=tx_rate, executor=executor,
                              consensus=consensus, epoch_sealers=epoch_sealers, epoch_blocks=epoch_blocks,
                              tree_width=tree_width, workload=workload or ("contracts" if executor == "dmc" else "kv"),
                              share_verifications=not verify_every_copy))
        return
    if not 0 <= byzantine < nodes:
        _fail(f"--byzantine must be between 0 and {nodes - 1} (fewer than --nodes {nodes}), got {byzantine}")
    try:
        config = SimConfig(nodes=nodes, observers=observers, suite=suite, seed=seed, loss=loss, duplicate=duplicate,
                           tx_rate=tx_rate, byzantine={i: behaviour for i in liar_indices(nodes, byzantine)},
                           executor=executor, consensus=consensus, epoch_sealers=epoch_sealers,
                           epoch_blocks=epoch_blocks, tree_width=tree_width,
                           # DMC has nothing to run side by side when every transaction writes one kv address
                           workload=workload or ("contracts" if executor == "dmc" else "kv"),
                           share_verifications=not verify_every_copy)
        simulation = Simulation(config)
    except ChainError as exc:
        _fail(str(exc))
    wall = _run_traced(simulation, blocks, max_time_ms, trace)
    report = simulation.check()

    kind = "" if consensus == "pbft" else f", rPBFT: {min(epoch_sealers, nodes)} working per {epoch_blocks}-block epoch"
    table = Table(title=f"{nodes} sealers, {observers} observers, {suite} suite, seed {seed}{kind}")
    for column in ("node", "role", "behaviour", "height", "view", "view changes", "state"):
        table.add_column(column, justify="right" if column in ("node", "height", "view", "view changes") else "left")
    for row in simulation.node_status():
        table.add_row(str(row["node"]), row["role"], row["behaviour"] or "honest", str(row["height"]),
                      str(row["view"]) if row["view"] is not None else "-", str(row["view_changes"]), row["state"])
    console.print(table)

    messages = Table(title="messages sent (per destination)")
    messages.add_column("type")
    messages.add_column("count", justify="right")
    for name, count in simulation.messages_by_type.items():
        if count:
            messages.add_row(name, str(count))
    messages.add_row("(dropped)", str(simulation.dropped))
    leader_messages, leader_bytes = simulation.leader_sends()
    messages.add_row("(each block's leader, per block)", f"{leader_messages:.1f} msgs, {leader_bytes / 1024:.1f} KB")
    console.print(messages)

    checks = Table(title="invariants and liveness")
    checks.add_column("check")
    checks.add_column("result")
    mark = lambda ok: "[green]holds[/]" if ok else "[red]BROKEN[/]"  # noqa: E731
    checks.add_row("agreement (no two honest nodes commit different blocks at a height)", mark(report.agreement))
    checks.add_row("validity (parent link, tx root, quorum of valid signatures)", mark(report.validity))
    checks.add_row("no gaps", mark(report.no_gaps))
    checks.add_row("no double signing by an honest node (also across restarts)", mark(report.no_double_signing))
    colour = {True: "green", False: "red", None: "yellow"}[report.live]
    checks.add_row("liveness after GST (new blocks within the recovery bound once faults are healed)",
                   f"[{colour}]{'BROKEN: ' if report.live is False else ''}{report.liveness_after_gst}[/]")
    checks.add_row("blocks (highest honest)", str(report.highest))
    checks.add_row("virtual time", f"{report.duration_ms / 1000:.1f} s ({report.blocks_per_second:.2f} blocks/s)")
    checks.add_row("view changes", str(report.view_changes))
    p50 = "-" if report.latency_p50_ms is None else f"{report.latency_p50_ms:.0f} ms"
    p99 = "-" if report.latency_p99_ms is None else f"{report.latency_p99_ms:.0f} ms"
    checks.add_row("commit latency p50 / p99", f"{p50} / {p99} ({report.committed_txs} txs)")
    checks.add_row("wall clock", f"{wall:.2f} s ({report.duration_ms / 1000 / max(wall, 1e-9):.1f} sim-s per wall-s)")
    console.print(checks)
    for violation in report.violations[:20]:
        console.print(f"[red]violation:[/] {violation}")
    for violation in report.liveness_violations[:5]:
        console.print(f"[red]liveness:[/] {violation}")
    if trace:
        console.print(f"trace written to {trace}")
    if not report.ok:
        raise typer.Exit(1)


class _Runnable(Protocol):
    def subscribe(self, callback: Any) -> Any: ...
    def run_blocks(self, blocks: int, max_time_ms: int) -> Any: ...


def _run_traced(sim: _Runnable, blocks: int, max_time_ms: int, trace: Path | None) -> float:
    """Run `blocks` blocks (a simulation or a world of groups), writing the trace if asked; the wall seconds."""
    from chain.sim.trace import JsonlWriter

    stream = trace.open("w", encoding="utf-8") if trace else None
    if stream is not None:
        sim.subscribe(JsonlWriter(stream))
    started = time.perf_counter()
    try:
        sim.run_blocks(blocks, max_time_ms)
    finally:
        if stream is not None:
            stream.close()
    return time.perf_counter() - started


def _groups_run(console: Console, spec: str, *, nodes: int, byzantine: int, behaviour: str, blocks: int,
                max_time_ms: int, trace: Path | None, base: dict[str, Any]) -> None:
    """`chain sim --groups 2`: several groups on one simulated network, each checked on its own."""
    from chain.sim import SimConfig
    from chain.sim.groups import GroupsConfig, GroupsSimulation, group_id_of, group_names, overlapping_groups

    try:
        names = group_names(spec)
        hosts, specs = overlapping_groups(names, nodes)
        if not 0 <= byzantine < hosts:
            _fail(f"--byzantine must be between 0 and {hosts - 1} (hosts), got {byzantine}")
        world = GroupsSimulation(GroupsConfig(hosts=hosts, groups=specs, base=SimConfig(**base),
                                              byzantine={h: behaviour for h in liar_indices(hosts, byzantine)}))
    except ChainError as exc:
        _fail(str(exc))
    wall = _run_traced(world, blocks, max_time_ms, trace)
    reports = world.check()
    mark = lambda ok: "[green]holds[/]" if ok else "[red]BROKEN[/]"  # noqa: E731
    for name, sim in world.groups.items():
        assert sim.placement is not None
        report = reports[name]
        table = Table(title=f"{name} (2.x group id {group_id_of(name)}): sealers on hosts "
                            f"{', '.join(map(str, sim.placement.hosts))}")
        for column in ("node", "host", "role", "behaviour", "height", "view", "view changes", "state"):
            table.add_column(column, justify="left" if column in ("role", "behaviour", "state") else "right")
        for row in sim.node_status():
            table.add_row(str(row["node"]), str(sim.placement.hosts[row["node"]]), row["role"],
                          row["behaviour"] or "honest", str(row["height"]),
                          str(row["view"]) if row["view"] is not None else "-", str(row["view_changes"]), row["state"])
        console.print(table)
        colour = {True: "green", False: "red", None: "yellow"}[report.live]
        console.print(f"  safety (agreement, validity, no gaps, no double signing): {mark(report.ok)}; "
                      f"liveness after GST: [{colour}]{report.liveness_after_gst}[/]", soft_wrap=True)
        console.print(f"  blocks {report.highest}, view changes {report.view_changes}, "
                      f"{report.committed_txs} txs committed, messages sent {sum(sim.messages_by_type.values())}, "
                      f"dropped {sim.dropped}", highlight=False)
        for violation in report.violations[:10] + report.liveness_violations[:5]:
            console.print(f"  [red]violation:[/] {violation}")
    console.print(f"{hosts} hosts, {len(world.groups)} groups, {base['suite']} suite, seed {base['seed']}; virtual time {world.now_ms / 1000:.1f} s, "
                  f"wall clock {wall:.2f} s", highlight=False)
    if trace:
        console.print(f"trace written to {trace} (each record names its group)")
    if not all(report.ok for report in reports.values()):
        raise typer.Exit(1)


def liar_indices(nodes: int, count: int) -> list[int]:
    """Which sealers `--byzantine count` makes Byzantine: placed so that f + 1 equivocators really fork.

    An equivocating leader (chain.sim.byzantine.Equivocate) sends one block to the first half of
    its peers (the other nodes in index order, half = (n − 1) // 2 of them) and another block to
    the rest, and the liars echo every vote. A fork needs each block to reach a quorum: with
    n = 3f + 1, count = f + 1 and 2f honest nodes, each half must hold exactly f honest nodes, so
    each side has f honest + f + 1 liars = 2f + 1. Liars at 1, 2, … (the old placement) put every
    other liar in the first half at n = 7 or 10, which leaves too few honest nodes there.

    So node 1 is a liar (it leads height 1 in view 0, the first proposal of the run) and the other
    liars are spread over its two peer halves in proportion to their sizes, each placed at the
    start of its half (n = 4, 2 liars: nodes 1 and 2, as before; n = 7, 3: nodes 1, 2, 4;
    n = 10, 4: nodes 1, 2, 5, 6). Any count works; only f + 1 at n = 3f + 1 is meant to fork.
    """
    if count <= 0:
        return []
    peers = [i for i in range(nodes) if i != 1]
    half = len(peers) // 2
    first, second = peers[:half], peers[half:]
    rest = min(count - 1, len(peers))
    # x liars in the first half leave (len(first) − x) and (len(second) − rest + x) honest nodes: even out.
    x = max(0, rest - len(second), min(len(first), rest, (len(first) - len(second) + rest) // 2))
    # In each half the lowest indices first, node 0 last: liars at low indices lead the early heights.
    by_preference = lambda half_: sorted(half_, key=lambda i: (i == 0, i))  # noqa: E731
    return sorted([1] + by_preference(first)[:x] + by_preference(second)[:rest - x])


def _sweep(console: Console, runs: int, seed: int, jobs: int, resume: Path | None, explain: bool,
           version: int, consensus: str = "pbft") -> None:
    """`chain sim --sweep N`: N random fault schedules, judged for safety and liveness after GST."""
    from chain.sim.sweep import BEHAVIOUR_VERSIONS, VERSION, RunResult, draw_schedule, sweep

    if runs < 0 or jobs < 1:
        _fail("--sweep must be positive and --jobs at least 1")
    version = version or VERSION
    if version not in BEHAVIOUR_VERSIONS:
        _fail(f"--schedule-version must be one of {sorted(BEHAVIOUR_VERSIONS)}")
    started = time.perf_counter()
    step = max(1, runs // 20)

    def progress(result: RunResult, done: int, total: int) -> None:
        if explain:
            console.print("\n".join(draw_schedule(result.seed, version, consensus).describe()), markup=False, highlight=False,
                          soft_wrap=True)
        if result.failed:
            console.print(f"[red]{result.verdict}[/] seed {result.seed}: {result.reason}", soft_wrap=True, highlight=False)
        elif explain:
            console.print(f"ok seed {result.seed}: {result.reason}", soft_wrap=True, highlight=False)
        if done % step == 0 or done == total:
            console.print(f"{done}/{total} runs, {time.perf_counter() - started:.0f} s")

    summary = sweep(runs, seed, jobs=jobs, resume=resume, version=version, on_result=progress, consensus=consensus)
    wall = time.perf_counter() - started
    kind = ", rpbft" if consensus == "rpbft" else ""
    console.print(f"runs: {len(summary.results)} (seeds {seed}..{seed + runs - 1}, schedule version {version}{kind}), "
                  f"stalls: {summary.count('stall')}, safety violations: {summary.count('violation')}, "
                  f"errors: {summary.count('error')}", soft_wrap=True, highlight=False)
    console.print(f"{summary.seconds_per_run():.2f} s per run (one process), {wall:.0f} s wall with {jobs} job(s)",
                  highlight=False)
    for result in summary.failures:
        console.print(f"[red]{result.verdict}[/] seed {result.seed}: {result.reason}", soft_wrap=True, highlight=False)
    if not summary.ok:
        rpbft = " --consensus rpbft" if consensus == "rpbft" else ""
        console.print(f"reproduce one: chain sim --sweep 1 --seed SEED --schedule-version {version}{rpbft} --explain")
        raise typer.Exit(1)


def _fail(message: str) -> NoReturn:
    """One `error:` line on stderr, never wrapped, then exit 2 (bad usage)."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)
