"""`chain sim`: run a deterministic PBFT simulation and print what happened, checked.

    chain sim --nodes 7 --byzantine 2 --behaviour equivocate --blocks 50 --seed 1 --trace out.jsonl

Exits 1 if an invariant broke (agreement, validity, no gaps), so scripts and CI can rely on it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NoReturn

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
    trace: Path | None = typer.Option(None, "--trace", help="write every event as JSON lines here"),
) -> None:
    """Simulate a PBFT chain with faults and Byzantine nodes; check safety; print the figures."""
    from chain.sim import SimConfig, Simulation
    from chain.sim.trace import JsonlWriter

    console = Console()
    if suite not in SUITE_NAMES:
        _fail(f"unknown suite {suite!r}; choose from {', '.join(SUITE_NAMES)}")
    if nodes < 1:  # checked before --byzantine, whose bound depends on it
        _fail(f"--nodes must be at least 1 (4 tolerates one faulty node), got {nodes}")
    if not 0 <= byzantine < nodes:
        _fail(f"--byzantine must be between 0 and {nodes - 1} (fewer than --nodes {nodes}), got {byzantine}")
    try:
        config = SimConfig(nodes=nodes, observers=observers, suite=suite, seed=seed, loss=loss, duplicate=duplicate,
                           tx_rate=tx_rate, byzantine={i: behaviour for i in range(1, byzantine + 1)})
        simulation = Simulation(config)
    except ChainError as exc:
        _fail(str(exc))
    stream = trace.open("w", encoding="utf-8") if trace else None
    if stream is not None:
        simulation.subscribe(JsonlWriter(stream))
    started = time.perf_counter()
    try:
        simulation.run_blocks(blocks, max_time_ms)
    finally:
        if stream is not None:
            stream.close()
    wall = time.perf_counter() - started
    report = simulation.check()

    table = Table(title=f"{nodes} sealers, {observers} observers, {suite} suite, seed {seed}")
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
    console.print(messages)

    checks = Table(title="invariants and liveness")
    checks.add_column("check")
    checks.add_column("result")
    mark = lambda ok: "[green]holds[/]" if ok else "[red]BROKEN[/]"  # noqa: E731
    checks.add_row("agreement (no two honest nodes commit different blocks at a height)", mark(report.agreement))
    checks.add_row("validity (parent link, tx root, quorum of valid signatures)", mark(report.validity))
    checks.add_row("no gaps", mark(report.no_gaps))
    checks.add_row("no double signing by an honest node (also across restarts)", mark(report.no_double_signing))
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
    if trace:
        console.print(f"trace written to {trace}")
    if not report.ok:
        raise typer.Exit(1)


def _fail(message: str) -> NoReturn:
    """One `error:` line on stderr, never wrapped, then exit 2 (bad usage)."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)
