"""The rule tables: message-by-message scripts in tests/consensus/testdata/*.txt (etcd-io/raft style).

Each file is one story per rule family. A directive is a command, a ``----`` line, and the
output expected (up to a blank line); ``#`` lines are comments — each case names the rule it
pins as ``# rule: <name>``, the marker on the line of chain/ that enforces it (see
tools/mutate.py, which deletes each marked rule and expects some test to fail)::

    # rule: nv_from_leader — only the new view's leader announces it.
    deliver NewView(3, view=1, vcs=[1, 2, 3])
    ----
    reject NEW_VIEW from 3: sender 3 is not the leader of view 1

Commands (state carries over from one directive to the next within a file):

``replica [me=0] [height=1] [txs=2] [tx_limit=N] [block_limit=N] [block_gas=N]``
    a fresh replica (tests/consensus/test_rules_harness.Harness); prints its status
``let NAME = EXPR``
    builds a block or message and names it; a block's name is how outputs refer to it
``deliver EXPR``
    hands the replica a message; prints every message it sends, every rejection with its
    reason, views entered and blocks committed (``nothing`` if none)
``fire view|seal``   the timer expires;  ``restart``   crash and start again;  ``status``

EXPR is a call of the builders below (positional and keyword arguments: numbers, strings,
lists, names bound by ``let``, nested calls) — parsed, never ``eval``-ed:

Block(sealer, txs=[0, 1], number=, parent="other", timestamp=, sealer_list="short", tx_root="other", state_root="other")
PrePrepare(sender, view=0, block=, number=)       Prepare / Commit(sender, view=0, block= | digest="other", number=)
    (a Commit is unsigned, as sealers send it; signed=1 signs it, as a forger might)
Checkpoint(sender, block= | hash="other", number=)  ViewChange(sender, view, proof=, number=, head="other")
Proof(pre_prepare, prepares=[sender or message, ...])   NewView(sender, view, vcs=[sender or message, ...], proposal=)
Signed(block, signers=[0, 1, 2], bad=[...], state_root="other")   SyncResponse(sender, blocks=[...])
SyncRequest(sender, start, end)   Forged(message, sender)   BadSignature(message)
From(message, peer): the message arrives on node peer's link (by default: on its sender's own; a
Forged one: on its real signer's)   TxGossip(sender, txs=[i, ...]): unsigned, as a node gossips

Set REWRITE_TESTDATA=1 to write the actual outputs into the files (then read the diff).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.messages import Envelope, MsgType
from tests.consensus.test_rules_harness import Harness, Proposed, lines

TESTDATA = Path(__file__).parent / "testdata"
REWRITE = os.environ.get("REWRITE_TESTDATA") == "1"


@dataclass
class Directive:
    line: int  # 1-based line of the command
    command: str
    expected: list[str]
    output_span: tuple[int, int]  # 0-based [start, end) of the expected lines in the file


def parse(text: str, path: str) -> list[Directive]:
    rows = text.split("\n")
    directives = []
    i = 0
    while i < len(rows):
        row = rows[i]
        if not row.strip() or row.lstrip().startswith("#"):
            i += 1
            continue
        if i + 1 >= len(rows) or rows[i + 1] != "----":
            raise ValueError(f"{path}:{i + 1}: a command needs a ---- line under it")
        start = end = i + 2
        while end < len(rows) and rows[end].strip():
            end += 1
        directives.append(Directive(i + 1, row.strip(), rows[start:end], (start, end)))
        i = end
    return directives


class Script:
    """Runs one table file's directives against one harness."""

    def __init__(self) -> None:
        self.h: Harness | None = None
        self.bound: dict[str, Any] = {}

    @property
    def harness(self) -> Harness:
        assert self.h is not None, "the script needs a `replica` command first"
        return self.h

    def builders(self) -> dict[str, Callable[..., Any]]:
        h = self.harness
        return {
            "Block": h.block, "PrePrepare": h.pre_prepare,
            "Prepare": lambda *a, **k: h.vote(MsgType.PREPARE, *a, **k),
            "Commit": lambda *a, **k: h.vote(MsgType.COMMIT, *a, **k),
            "Checkpoint": h.checkpoint, "ViewChange": h.view_change, "Proof": h.proof, "NewView": h.new_view,
            "Signed": h.signed, "SyncResponse": h.sync_response, "SyncRequest": h.sync_request,
            "Forged": h.forged, "BadSignature": h.bad_signature, "From": h.via, "TxGossip": h.tx_gossip,
        }

    def evaluate(self, source: str) -> Any:
        return self._value(ast.parse(source, mode="eval").body, self.builders())

    def _value(self, node: ast.AST, builders: dict[str, Callable[..., Any]]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self._value(node.operand, builders)
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self._value(item, builders) for item in node.elts]
        if isinstance(node, ast.Name):
            if node.id not in self.bound:
                raise ValueError(f"unknown name {node.id!r} (bind it with let)")
            return self.bound[node.id]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in builders:
            args = [self._value(a, builders) for a in node.args]
            kwargs = {k.arg: self._value(k.value, builders) for k in node.keywords if k.arg is not None}
            return builders[node.func.id](*args, **kwargs)
        raise ValueError(f"not allowed in a table: {ast.unparse(node)}")

    def run(self, command: str) -> list[str]:
        verb, _, rest = command.partition(" ")
        if verb == "replica":
            options = {k: int(v) for k, v in (item.split("=") for item in rest.split())}
            self.h = Harness(**options)
            self.bound = {}
            return [self.h.status()]
        h = self.harness
        if verb == "let":
            name, equals, source = rest.partition("=")
            name = name.strip()
            assert equals and name.isidentifier(), f"write `let NAME = EXPR`, not {command!r}"
            value = self.evaluate(source.strip())
            self.bound[name] = value
            if isinstance(value, Proposed):
                h.name(name, value)
                return [f"{name}: block {value.header.number} by sealer {value.header.sealer}, {len(value.txs)} tx(s)"]
            if isinstance(value, Envelope):
                return [f"{name}: {h.describe_message(value)}"]
            return [f"{name}: {type(value).__name__}"]
        if verb == "deliver":
            return lines(h, h.deliver(self.evaluate(rest))) or ["nothing"]
        if verb == "fire":
            return lines(h, h.fire(rest.strip())) or ["nothing"]
        if verb == "tick":
            h.now += 1000
            return lines(h, h.replica.handle(fx.Tick(), h.now)) or ["nothing"]
        if verb == "restart":
            h.restart()
            return [h.status()]
        if verb == "status":
            return [h.status()]
        raise ValueError(f"unknown command {verb!r}")


def run_file(path: Path) -> tuple[list[str], str]:
    """Run a table; the mismatches (empty if it holds) and the file with the actual outputs."""
    text = path.read_text()
    rows = text.split("\n")
    script = Script()
    problems: list[str] = []
    replaced: list[tuple[tuple[int, int], list[str]]] = []
    for directive in parse(text, path.name):
        try:
            actual = script.run(directive.command)
        except Exception as exc:  # a broken case is reported with its line, like a mismatch
            actual = [f"error: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"]
        replaced.append((directive.output_span, actual))
        if actual != directive.expected:
            # The first line says what changed (it is what a one-line summary, like tools/mutate.py's, shows).
            first = next((i for i, (e, a) in enumerate(zip(directive.expected, actual)) if e != a),
                         min(len(directive.expected), len(actual)))
            wanted = directive.expected[first] if first < len(directive.expected) else "(no more output)"
            got = actual[first] if first < len(actual) else "(no more output)"
            problems.append(f"{path.name}:{directive.line}: expected {wanted!r}, got {got!r}\n  {directive.command}"
                            "\n  expected:\n    " + "\n    ".join(directive.expected)
                            + "\n  actual:\n    " + "\n    ".join(actual))
    for (start, end), actual in reversed(replaced):
        rows[start:end] = actual
    return problems, "\n".join(rows)


TABLES = sorted(p.stem for p in TESTDATA.glob("*.txt"))


@pytest.mark.parametrize("table", TABLES)
def test_table(table: str) -> None:
    path = TESTDATA / f"{table}.txt"
    problems, rewritten = run_file(path)
    if REWRITE and rewritten != path.read_text():
        path.write_text(rewritten)
    assert not problems, "\n\n".join(problems)


def test_the_parser_reads_commands_outputs_and_comments() -> None:
    text = "# a comment\nreplica\n----\nstatus line\n\n# rule: x\ndeliver M(1)\n----\nreject A\nreject B\n"
    directives = parse(text, "t.txt")
    assert [(d.line, d.command, d.expected) for d in directives] == [
        (2, "replica", ["status line"]), (7, "deliver M(1)", ["reject A", "reject B"])]
    with pytest.raises(ValueError, match="needs a ---- line"):
        parse("replica\nstatus\n", "t.txt")


def test_a_table_that_does_not_hold_fails(tmp_path: Path) -> None:
    path = tmp_path / "wrong.txt"
    path.write_text("replica\n----\nnode 0 somewhere else\n")
    problems, rewritten = run_file(path)
    assert len(problems) == 1 and problems[0].startswith("wrong.txt:1: expected 'node 0 somewhere else', got 'node 0 at")
    assert rewritten.startswith("replica\n----\nnode 0 at height 1")


def test_expressions_are_parsed_not_evaluated() -> None:
    script = Script()
    script.run("replica")
    with pytest.raises(ValueError, match="not allowed"):
        script.evaluate("__import__('os').system('true')")
    with pytest.raises(ValueError, match="unknown name"):
        script.evaluate("Prepare(1, block=nowhere)")
