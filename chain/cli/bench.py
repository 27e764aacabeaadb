"""`chain bench ...`: benchmarks that print figures (not timed tests)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Benchmarks that print their figures.", no_args_is_help=True)


@app.command("crypto")
def crypto(seconds: float = typer.Option(0.5, help="time spent measuring each operation")) -> None:
    """Sign / verify / recover / hash per second for each suite and each SM2 backend."""
    from chain.bench.crypto import run

    run(seconds)
