"""`chain bench ...`: benchmarks that print figures (not timed tests)."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Benchmarks that print their figures.", no_args_is_help=True)


@app.command("crypto")
def crypto(seconds: float = typer.Option(0.5, help="time spent measuring each operation")) -> None:
    """Sign / verify / recover / hash per second for each suite and each SM2 backend."""
    from chain.bench.crypto import run

    run(seconds)


@app.command("execution")
def execution(
    count: int = typer.Option(200, "--count", help="transactions per measured block"),
    executor: str | None = typer.Option(None, "--executor", help="evm or dmc: time one 16-contract block of Asset "
                                        "transfers and one of cross-contract calls (dmc runs beside serial evm)"),
    workers: list[int] = typer.Option([], "--workers", help="DMC worker processes (repeat to compare: --workers 1 --workers 2)"),
    suite: str = typer.Option("standard", "--suite", help="crypto suite of the --executor blocks"),
    reps: int = typer.Option(3, "--reps", help="with --executor: timed runs per configuration, taking turns (median shown)"),
) -> None:
    """Execution cost per transaction (µs): KV set, asset transfer, deploy — in each suite; or serial vs DMC."""
    if executor is None:
        from chain.bench.execution import run

        run(count)
        return
    if executor not in ("evm", "dmc"):
        typer.secho(f"error: --executor must be evm or dmc, got {executor!r}", err=True, fg="red")
        raise typer.Exit(2)
    from chain.bench.execution_dmc import run as run_dmc

    chosen = [("evm", 0)] + ([("dmc", w) for w in (workers or [2])] if executor == "dmc" else [])
    run_dmc(suite, count, chosen, reps)


@app.command("tps")
def tps(
    directory: Path | None = typer.Option(None, "--dir", help="a chain built by `chain build` whose nodes are running"),
    build: bool = typer.Option(False, "--build", help="build and start a fresh local 4-node chain for the run"),
    suite: str = typer.Option("sm", "--suite", help="crypto suite of a --build chain"),
    kind: str = typer.Option("kv", "--kind", help="workload: kv (key/value sets) or asset (EVM transfers)"),
    count: int = typer.Option(2000, "--count", help="transactions to send"),
    connections: int = typer.Option(8, "--connections", help="HTTP connections, spread over the nodes"),
    batch: int = typer.Option(50, "--batch", help="transactions per JSON-RPC batch request"),
    executor: str | None = typer.Option(None, "--executor", help="executor of a --build chain: kv, evm or dmc (default: kv for kv, evm for asset)"),
    rate: float = typer.Option(0.0, "--rate", help="offered load in tx/s (0: everything at once)"),
    closed_loop: bool = typer.Option(False, "--closed-loop", help="each client waits for its commit before sending the next"),
    clients: int = typer.Option(1, "--clients", help="closed-loop clients (with --closed-loop)"),
) -> None:
    """Load a local 4-node cluster with pre-signed transactions: TPS, commit latency, and the CPU bound."""
    from chain.bench.tps import run as run_tps
    from chain.cli.errors import reported

    with reported():
        run_tps(directory, build, suite, kind, count, connections, batch, echo=typer.echo, executor=executor, rate=rate,
                closed_loop_clients=clients if closed_loop else 0)


@app.command("store")
def store(
    blocks: int = typer.Option(20, help="blocks committed per store"),
    txs_per_block: int = typer.Option(1000, help="transactions per block"),
    pool_txs: int = typer.Option(2000, help="transactions submitted to the tx pool per suite"),
) -> None:
    """Store commits and reads per second (memory and file), and tx pool admission per suite."""
    from chain.bench.store import run

    run(blocks, txs_per_block, pool_txs)


@app.command("pbft")
def pbft(
    blocks: int = typer.Option(100, "--blocks", help="blocks per run (n = 64 runs a tenth of them)"),
    nodes: list[int] = typer.Option([4, 16, 64], "--nodes", help="sealer counts to measure"),
    suite: list[str] = typer.Option(["standard", "sm"], "--suite", help="suites to measure"),
    consensus: list[str] = typer.Option(["pbft"], "--consensus", help="pbft and/or rpbft (give both: side by side)"),
    epoch_sealers: int = typer.Option(4, "--epoch-sealers", help="(rpbft) K working sealers per epoch (FISCO's default 4)"),
    tree_width: list[int] = typer.Option([0], "--tree-width", help="0: the leader sends to everyone; w >= 2: down a "
                                         "w-ary tree (FISCO 2.x broadcast_prepare_by_tree, 3); give 0 and 3: side by side"),
) -> None:
    """Simulated PBFT (and rPBFT): cost, messages per block, CPU per block, commit latency, per n and suite."""
    from chain.bench.pbft import run

    for kind in consensus:
        if kind not in ("pbft", "rpbft"):
            typer.secho(f"error: unknown consensus {kind!r}; choose pbft or rpbft", fg=typer.colors.RED, err=True)
            raise typer.Exit(2)
    if any(width == 1 or width < 0 for width in tree_width):
        typer.secho("error: --tree-width is 0 (no tree) or at least 2", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    run(tuple(nodes), tuple(suite), blocks, consensus=tuple(consensus), epoch_sealers=epoch_sealers,
        tree_widths=tuple(tree_width))
