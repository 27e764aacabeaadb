"""`chain tamper run | store | verify`: edit a stored block and see which check catches it, and why."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from chain.cli.errors import reported
from chain.tamper.forge import TAMPERS

app = typer.Typer(help="The tamper exercise: change a stored block of one node and watch what detects it.",
                  no_args_is_help=True)
console = Console(highlight=False)
WHAT_HELP = "what to change: " + "; ".join(f"{t.name}: {t.says.format(index='N')}" for t in TAMPERS.values())


def _say(text: str, style: str | None = None) -> None:
    console.print(text, style=style, markup=False, soft_wrap=True)


@app.command("run")
def run(
    what: str = typer.Option("tx", help=WHAT_HELP),
    block: int = typer.Option(3, help="the block to change (2..50)"),
    node: int = typer.Option(0, help="the node whose store is changed (0..3)"),
    index: int = typer.Option(0, help="which transaction (or which signature of the list)"),
    suite: str = typer.Option("sm", help="crypto suite: sm or standard"),
    seed: int = typer.Option(1, help="seed of the simulation: same seed, same story"),
    save: Optional[Path] = typer.Option(None, help="also write two node directories under this one, the "
                                                   "tampered node's and an untouched node's (for `chain tamper verify`)"),
) -> None:
    """On the simulator: build a 4-node chain, tamper with one node's copy of a block, tell who notices."""
    from chain.tamper.exercise import run_exercise

    with reported(exit_code=2):
        result = run_exercise(what=what, suite=suite, seed=seed, block=block, node=node, index=index, save=save)
    for number, step in enumerate(result.steps, 1):
        _say(f"{number}. {step.title}", "bold")
        for line in step.lines:
            _say(f"   {line}", "red" if line.startswith("[CAUGHT]") else None)
    if not result.detected:
        _say("the tampering went unnoticed by at least one line of defence", "red")
        raise typer.Exit(1)


@app.command("store")
def store(
    node_dir: Path = typer.Argument(..., help="a node directory (made by `chain build` or `chain tamper run --save`)"),
    block: int = typer.Option(..., help="the block number to change"),
    what: str = typer.Option("tx", help=WHAT_HELP),
    index: int = typer.Option(0, help="which transaction (or which signature of the list)"),
) -> None:
    """Edit one block in a node's SQLite store, under the store's API, the way someone with the disk would.

    Stop the node first if it is running; a running node does not re-read its stored blocks, but
    serves them to peers that sync from it.
    """
    from chain.tamper.forge import tamper
    from chain.tamper.node_files import locate, open_store, overwrite_block

    with reported(exit_code=2):
        files = locate(node_dir)
        with open_store(files) as chain_store:
            original = chain_store.block_by_number(block)
            if original is None:
                from chain.errors import StoreError

                raise StoreError(f"{files.store_path} holds no block {block} (its head is {chain_store.head_number()})")
            forged = tamper(original, what, index, files.genesis.suite)
            overwrite_block(chain_store, forged)
            suite = chain_store.suite
    _say(f"block {block} of {files.store_path}: {TAMPERS[what].says.format(index=index)}")
    _say(f"   block hash {original.hash(suite).hex()[:16]}… -> {forged.hash(suite).hex()[:16]}…")
    _say(f"   transactions root {original.header.transactions_root.hex()[:16]}… -> "
         f"{forged.header.transactions_root.hex()[:16]}…")
    _say(f"now run: chain tamper verify {node_dir}")


@app.command("verify")
def verify(
    node_dir: Path = typer.Argument(..., help="a node directory (made by `chain build` or `chain tamper run --save`)"),
) -> None:
    """Replay a node's store from genesis with the checks block sync runs; exit 1 if a block fails one."""
    from chain.tamper.checks import CHECKS, WHY, audit
    from chain.tamper.node_files import locate, make_executor, open_store

    with reported(exit_code=2):
        files = locate(node_dir)
        with open_store(files) as chain_store:
            report = audit(chain_store, files.genesis, make_executor(files))
    _say(f"{files.store_path}: blocks 0..{report.head}, {files.genesis.suite} suite, {files.executor_kind} executor")
    first_bad = min((f.number for f in report.failures()), default=report.head + 1)
    if first_bad > 1:
        _say(f"   blocks 1..{first_bad - 1} pass every check ({', '.join(CHECKS)})")
    elif report.head == 0:
        _say("   no block after genesis yet")
    for number in sorted({f.number for f in report.failures()}):
        _say(f"block {number}:", "bold")
        for finding in (f for f in report.findings if f.number == number):
            _say(f"   [{'ok    ' if finding.ok else 'CAUGHT'}] {finding.check}: {finding.detail}",
                 None if finding.ok else "red")
            if not finding.ok:
                _say(f"            why: {WHY[finding.check]}")
    if report.refused_at is not None:
        _say(f"a node syncing from this one refuses block {report.refused_at} and stops there: {report.refusal}", "red")
        if report.refused_at < report.head:
            rest = f"block {report.head} was" if report.refused_at + 1 == report.head else \
                f"blocks {report.refused_at + 1}..{report.head} were"
            _say(f"   ({rest} not checked: built on a state the syncing node never reached)")
        raise typer.Exit(1)
    _say("every block passes: a syncing node would accept this store", "green")
