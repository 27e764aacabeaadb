"""`chain dmc example`: FISCO's DMC worked example, run serially, DAG-style and with DMC (lesson 11)."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(help="DMC, deterministic multi-contract parallel execution.", no_args_is_help=True)


@app.command("example")
def example(executors: int = typer.Option(3, min=1, max=8, help="DMC executors (the result never depends on it)"),
            suite: str = typer.Option("standard", help="crypto suite: standard or sm")) -> None:
    """Six transactions over three contracts: rounds, sync points and where DMC differs from serial."""
    from chain.execution.dmc.example import describe, run_example

    for line in describe(run_example(executors, suite)):
        Console(highlight=False).print(line, markup=False, soft_wrap=True)
