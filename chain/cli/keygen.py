"""`chain keygen`: create a key file and print the account address."""

from __future__ import annotations

from pathlib import Path

import typer

from chain.crypto.keys import KeyPair, save_private_key
from chain.crypto.suite import SUITE_NAMES
from chain.cli.errors import reported


def keygen(
    output: Path = typer.Option(Path("key.pem"), "--output", "-o", help="where to write the private key (PEM)"),
    suite: str = typer.Option("sm", "--suite", "-s", help=f"crypto suite: {' or '.join(SUITE_NAMES)}"),
    password: bool = typer.Option(False, "--password", "-p", help="encrypt the key file (prompts for a password)"),
) -> None:
    """Create a private key file for a suite and print its address."""
    if suite not in SUITE_NAMES:
        typer.echo(f"error: unknown suite {suite!r}; choose from {', '.join(SUITE_NAMES)}", err=True)
        raise typer.Exit(2)
    secret_password = None
    if password:
        secret_password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    key = KeyPair.generate(suite)
    with reported():
        save_private_key(output, key, secret_password)
    typer.echo(f"suite:      {suite}")
    typer.echo(f"key file:   {output}{' (encrypted)' if password else ''}")
    typer.echo(f"public key: 0x{key.public_key.hex()}")
    typer.echo(f"address:    0x{key.address.hex()}")
