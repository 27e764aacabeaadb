"""Entry point of the `chain` command: each sub-command lives in a module named after it."""

from __future__ import annotations

import typer

from chain.cli import bench, keygen
from chain.cli import compile as compile_command
from chain.cli import build, node
from chain.cli import console
from chain.cli import demo, scenario
from chain.cli import sim as sim_command
from chain.cli import tamper
from chain.cli import amop
from chain.cli import dmc

app = typer.Typer(help="chain: an educational consortium blockchain (PBFT, SM2/SM3/SM4, EVM).", no_args_is_help=True)
app.command("keygen")(keygen.keygen)
app.command("compile")(compile_command.compile)
app.command("build")(build.build)
app.command("console")(console.console)
app.add_typer(node.app, name="node")
app.add_typer(bench.app, name="bench")
app.command("demo")(demo.demo)
app.add_typer(scenario.app, name="scenario")
app.command("sim")(sim_command.sim)
app.add_typer(tamper.app, name="tamper")
app.add_typer(amop.app, name="amop")
app.add_typer(dmc.app, name="dmc")


if __name__ == "__main__":
    app()
