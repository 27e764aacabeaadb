"""`chain compile FILE`: compile a Solidity or Vyper contract for a chain's suite."""

from __future__ import annotations

from pathlib import Path

import typer

from chain.crypto.suite import SUITE_NAMES, get_suite
from chain.cli.errors import reported


def compile(  # noqa: A001 - the command is called compile
    file: Path = typer.Argument(..., help="a .sol (needs node + npm: solc-js) or .vy (in-process) contract"),
    output: Path = typer.Option(Path("build"), "-o", "--output", help="directory for <Name>.json/.abi/.bin"),
    suite: str = typer.Option("both", "--suite", help="standard, sm or both (sm: SM3 selectors and topics)"),
    library: list[str] = typer.Option([], "--library", help="Name=0xADDRESS of a deployed library the code calls"),
) -> None:
    """Compile FILE; write one artifact per contract (and per suite with --suite both)."""
    suites = SUITE_NAMES if suite == "both" else (suite,)
    if any(name not in SUITE_NAMES for name in suites):
        raise typer.BadParameter(f"--suite must be one of {', '.join(SUITE_NAMES)} or both")
    libraries = {}
    for item in library:
        name, _, address = item.partition("=")
        if not name or len(address.removeprefix("0x")) != 40:
            raise typer.BadParameter(f"--library {item!r}: expected Name=0x followed by 40 hex digits")
        libraries[name] = "0x" + address.removeprefix("0x")
    from chain.sdk.compiler import compile_file, save

    for name in suites:
        target = output / name if len(suites) > 1 else output
        with reported():
            artifacts = compile_file(file, get_suite(name), libraries)
        for artifact in artifacts.values():
            path = save(artifact, target)
            typer.echo(f"{name:8} {artifact.name:20} {len(artifact.runtime):6} bytes runtime  -> {path}")
