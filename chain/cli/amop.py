"""`chain amop demo`: two applications at different nodes talk over AMOP (lesson 9)."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(help="AMOP, the messenger between applications behind different nodes.", no_args_is_help=True)
console = Console(highlight=False)


@app.command("demo")
def demo(
    nodes: int = typer.Option(3, min=2, max=7, help="nodes of the temporary chain (the far application is at the last)"),
    suite: str = typer.Option("standard", help="crypto suite: standard or sm (what the private topic's keys are)"),
) -> None:
    """Start a small chain, connect a shop at node0 and a warehouse at the last node, let them talk; stop."""
    from chain.channel.demo import run_demo

    result = run_demo(nodes=nodes, suite=suite)
    for line in result.lines:
        console.print(line, markup=False, soft_wrap=True)
    if result.failures:
        raise typer.Exit(1)
