"""How every `chain` sub-command reports a failure the user can fix.

Bad input, a corrupt key file, an unreachable node or a chain directory that is not one all raise
the project's own errors (chain.errors.ChainError). A command shows that as one `error: ...` line
on stderr and exits with a non-zero code — never a traceback, which would read as a bug in chain.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import typer

from chain.errors import ChainError


@contextmanager
def reported(exit_code: int = 1) -> Iterator[None]:
    """Turn a ChainError raised inside the block into `error: <message>` and exit code `exit_code`."""
    try:
        yield
    except ChainError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(exit_code) from None
