"""`chain scenario list | run NAME [--dashboard]`: the classroom scenario library."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.table import Table

from chain.cli.errors import reported
from chain.scenarios.spec import find_scenario, library

app = typer.Typer(help="Scripted classroom scenarios: faults, attacks and what to observe.", no_args_is_help=True)
console = Console()


@app.command("list")
def list_scenarios() -> None:
    """List the shipped scenarios."""
    # A student types the name next: it is never cut, whatever the terminal width; the other
    # facts share one column that wraps, so the title survives at 80 columns.
    scenarios = list(library().values())
    table = Table()
    table.add_column("name", no_wrap=True, min_width=max((len(s.name) for s in scenarios), default=4))
    table.add_column("what it shows", overflow="fold")
    for scenario in scenarios:
        size = (f"{scenario.nodes} hosts, {len(scenario.groups)} groups" if scenario.groups
                else f"{scenario.nodes} nodes")
        facts = (f"{scenario.family} · {size} · {'+'.join(scenario.suites)}"
                 f" · expect {', '.join(scenario.expect)}")
        table.add_row(scenario.name, f"{scenario.title}\n[dim]{facts}[/dim]")
    console.print(table)


@app.command("run")
def run(
    name: str = typer.Argument(..., help="A scenario name from `chain scenario list`, or a path to a .toml file."),
    dashboard: bool = typer.Option(False, "--dashboard", help="Show the run live in the browser instead."),
    port: int = typer.Option(0, help="Dashboard port (0: any free port)."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser tab."),
    real: bool = typer.Option(False, "--real", help="Run it on real node processes in network namespaces (root, Linux)."),
    form: str = typer.Option("air", "--form", help="With --real: air (one process per node) or pro (gateway, rpc, a core per group)."),
) -> None:
    """Run a scenario, narrate it, and check its expected observations (exit 1 if one fails)."""
    if form != "air" and not real:
        console.print("[red]error:[/red] --form chooses the nodes of a --real run; the simulator has no forms")
        raise typer.Exit(2)
    if real:
        from chain.scenarios.real import run_from_cli
        with reported(exit_code=2):
            ok = run_from_cli(name, console, form)
        raise typer.Exit(0 if ok else 1)
    with reported(exit_code=2):
        scenario = find_scenario(name)
        if dashboard:
            from chain.cli.demo import serve_simulation
            # the scenario fixes the whole simulation (chain.scenarios.runner.scenario_simulation)
            asyncio.run(serve_simulation(nodes=scenario.nodes, suite=scenario.suite, seed=scenario.seed,
                                         port=port, open_browser=not no_browser, scenario=scenario))
            return
        from chain.scenarios.runner import run_scenario
        result = run_scenario(scenario)
    for line in result.narration:
        style = "red" if "[FAILED]" in line else ("green" if "[held]" in line else None)
        console.print(line, style=style, highlight=False, markup=False, soft_wrap=True)
    if not result.ok:
        console.print("[red]an expected observation did not hold[/red]")
        raise typer.Exit(1)
