"""`chain demo`: a 4-node chain with a client load, and the live dashboard to watch and poke it.

No configuration: the simulated chain is built in memory from the seed, paced to wall time, and
served at http://127.0.0.1:PORT. `--real` runs the same dashboard on real node processes, built
in a temporary directory that is removed when the demo stops.
"""

from __future__ import annotations

import asyncio
import signal
import tempfile
import webbrowser
from pathlib import Path

import typer
from rich.console import Console

from chain.cli.errors import reported
from chain.errors import DashboardError
from chain.scenarios.spec import Scenario
from chain.web.grouped import GroupedLive
from chain.web.live import LiveChain

console = Console()


def demo(
    nodes: int = typer.Option(4, "--nodes", min=1, max=32, help="Number of sealers."),
    suite: str = typer.Option("sm", "--suite", help="Crypto suite: sm (SM2+SM3) or standard (secp256k1+Keccak-256)."),
    seed: int = typer.Option(1, "--seed", min=0, help="Seed of the simulation: same seed, same run."),
    port: int = typer.Option(0, "--port", min=0, max=65535, help="Dashboard port (0: any free port)."),
    tx_rate: int = typer.Option(20, "--tx-rate", min=0, help="Client transactions per (virtual) second."),
    real: bool = typer.Option(False, "--real", help="Run real node processes instead of the simulator."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser tab."),
    seconds: float = typer.Option(0, "--seconds", min=0, help="Stop after this many seconds (0: until Ctrl-C)."),
    # the names and defaults of `chain sim` (and `chain build`): one vocabulary for rPBFT everywhere
    consensus: str = typer.Option("pbft", "--consensus", help="pbft, or rpbft: per epoch only --epoch-sealers "
                                                              "working sealers run PBFT (the others rest)"),
    epoch_sealers: int = typer.Option(4, "--epoch-sealers", min=1, help="(rpbft) K, working sealers per epoch "
                                                                        "(feature_rpbft_epoch_sealer_num)"),
    epoch_blocks: int = typer.Option(1000, "--epoch-blocks", min=1, help="(rpbft) B, blocks per epoch "
                                                                         "(feature_rpbft_epoch_block_num)"),
    groups: str = typer.Option("", "--groups", help="several groups on one simulated network: a count (2: group0 "
                                                     "and group1) or names; each --nodes sealers, sharing half its "
                                                     "hosts with the next group; the page switches between them"),
) -> None:
    """Start a chain and serve the live dashboard at http://127.0.0.1:PORT."""
    if suite not in ("sm", "standard"):
        console.print(f"[red]error:[/red] unknown suite {suite!r} (sm or standard)")
        raise typer.Exit(2)
    if consensus not in ("pbft", "rpbft"):
        console.print(f"[red]error:[/red] unknown consensus {consensus!r} (pbft or rpbft)")
        raise typer.Exit(2)
    if groups and (real or consensus != "pbft"):
        console.print("[red]error:[/red] --groups runs simulated PBFT groups (not with --real or --consensus rpbft)")
        raise typer.Exit(2)
    with reported(exit_code=2):
        if real:
            asyncio.run(serve_real(nodes=nodes, suite=suite, port=port, open_browser=not no_browser,
                                   seconds=seconds, tx_rate=tx_rate, consensus=consensus,
                                   epoch_sealers=epoch_sealers, epoch_blocks=epoch_blocks))
        else:
            asyncio.run(serve_simulation(nodes=nodes, suite=suite, seed=seed, port=port, tx_rate=tx_rate,
                                         open_browser=not no_browser, seconds=seconds, consensus=consensus,
                                         epoch_sealers=epoch_sealers, epoch_blocks=epoch_blocks, groups=groups))


async def serve_simulation(*, nodes: int, suite: str, seed: int, port: int, open_browser: bool,
                           tx_rate: int = 20, seconds: float = 0, scenario: Scenario | None = None,
                           consensus: str = "pbft", epoch_sealers: int = 4, epoch_blocks: int = 1000,
                           groups: str = "") -> None:
    """The dashboard on a simulated chain; with a scenario, its scripted faults play as time passes.

    With a scenario the simulation is the one `chain scenario run` checks (its nodes, seed, load
    and consensus), whatever the other arguments say. With `groups` (or a scenario that has
    groups), several groups on one network, one page each.
    """
    from chain.web.simulated import groups_live_chains, simulated_live_chain

    if groups or (scenario is not None and scenario.groups):
        grouped = groups_live_chains(groups=groups or "2", sealers=nodes, suite=suite, seed=seed, tx_rate=tx_rate,
                                     scenario=scenario)
        facts = grouped.lead.status()
        console.print(f"[bold]chain demo[/bold]: {facts['mode']}, suite {suite}, seed {facts['seed']}")
        await serve(grouped, port=port, open_browser=open_browser, seconds=seconds)
        for name, live in grouped.lives.items():
            status = live.status()
            console.print(f"{name}: heights {[n.get('height') for n in status['nodes']]}")
        console.print(f"stopped at {grouped.lead.status()['now_ms']} ms virtual time")
        return

    live = simulated_live_chain(nodes=nodes, suite=suite, seed=seed, scenario=scenario, tx_rate=tx_rate,
                                consensus=consensus, epoch_sealers=epoch_sealers, epoch_blocks=epoch_blocks)
    what = f"scenario {scenario.name}" if scenario is not None else f"{nodes} simulated nodes"
    console.print(f"[bold]chain demo[/bold]: {what}, suite {suite}, seed {live.status()['seed']}, {live.status()['mode']}")
    await serve(live, port=port, open_browser=open_browser, seconds=seconds)
    status = live.status()
    heights = [n.get("height") for n in status["nodes"]]
    console.print(f"stopped at {status['now_ms']} ms virtual time; heights {heights}")


async def serve_real(*, nodes: int, suite: str, port: int, open_browser: bool, seconds: float, tx_rate: int,
                     consensus: str = "pbft", epoch_sealers: int = 4, epoch_blocks: int = 1000) -> None:
    """The dashboard on node processes of a chain built in a temporary directory."""
    from chain.web.real import real_live_chain

    with tempfile.TemporaryDirectory(prefix="chain-demo-") as tmp:
        real, live = real_live_chain(Path(tmp), nodes=nodes, suite=suite, tx_rate=tx_rate, consensus=consensus,
                                     epoch_sealers=epoch_sealers, epoch_blocks=epoch_blocks)
        console.print(f"[bold]chain demo --real[/bold]: {nodes} node processes in {tmp}, suite {suite}, "
                      f"{live.status()['mode']}")
        real.start()
        try:
            await serve(live, port=port, open_browser=open_browser, seconds=seconds)
        finally:
            await real.close()


async def serve(live: LiveChain | GroupedLive, *, port: int, open_browser: bool, seconds: float) -> None:
    """Serve the dashboard of `live` until Ctrl-C / SIGTERM, or for `seconds` if given."""
    from chain.web.server import start_dashboard

    try:
        dashboard = await start_dashboard(live, port=port)
    except OSError as exc:  # the port is taken, or privileged: a choice the user can change
        reason = exc.strerror.split(": ")[-1] if exc.strerror else str(exc)
        raise DashboardError(f"cannot serve the dashboard on 127.0.0.1:{port}: {reason}; "
                             "choose another --port (0: any free port)") from None
    console.print(f"dashboard: [link={dashboard.url}]{dashboard.url}[/link]   (Ctrl-C to stop)")
    if open_browser:
        webbrowser.open(dashboard.url)
    try:
        await wait_for_stop(seconds)
    finally:
        await dashboard.stop()


async def wait_for_stop(seconds: float) -> None:
    """Until Ctrl-C / SIGTERM, or for `seconds` if given."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-Unix
            pass
    try:
        await asyncio.wait_for(stop.wait(), seconds if seconds > 0 else None)
    except asyncio.TimeoutError:
        pass
