#!/usr/bin/env python3
"""Mutation check of the protocol rules: delete each marked rule in turn and watch a test fail.

Principle 7 of the design: every rule a message must pass has a test that fails when the rule is
deleted. This tool checks that claim instead of trusting it. A rule is marked where it is
enforced, by a trailing comment on that one line of ``chain/``::

    if pp.view >= before_view:  # rule: proof_from_earlier_view
    return max(proposals, key=...)  # rule: highest_prepared_view | replace: max( => min(
    verify_block_signatures(...)  # rule: sync_quorum_signatures | delete

and removed like this (one marker at a time, in a temporary copy of the repository):

* ``if <cond>:`` or ``elif <cond>:`` (no option) becomes ``if (<cond>) and False:`` — the
  condition is still evaluated, since it may do something (``VoteSet.add`` counts the vote it
  tests), but never holds: the rejection or early return it guards never happens.
* ``| replace: <old> => <new>`` replaces the one occurrence of ``<old>`` in the line's code by
  ``<new>`` (which may be empty), for rules that are not an ``if``: the choice of the highest
  view, a weight sum, the quorum arithmetic.
* ``| delete`` replaces the line's (simple) statement by ``pass``: a check done by a call.

It fails loudly (exit 2, before running anything) when a marker is malformed, names a rule twice,
or would not change its line, or when the mutated file does not compile. Then, for each rule, it
runs a fast selection of tests (the rule tables, the pure validators and the Byzantine
simulations) against the mutated copy, and prints rule → caught (by which test, with the failure
it saw) or MISSED. It exits 1 if any rule is missed, so ``make mutate`` fails until every rule
is pinned by a test.

    python tools/mutate.py [-j 2] [--rule NAME ...] [--all] [--list] [--show NAME]

``--all`` runs every selected test against every mutant (not stopping at the first failure), to
see everything a deleted rule breaks — for the Byzantine simulations, the fork. ``--show NAME``
prints the full test output for one mutant.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import io
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tokenize
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "chain"
# The fast selection: tables first (they name the rule's reason), then the simulations.
FAST_TESTS = (
    "tests/consensus/test_rules_scripts.py",
    "tests/consensus/test_rules_validators.py",
    "tests/consensus/test_rules_harness.py",
    "tests/sim/test_byzantine.py",
)
MARKER = re.compile(r"#\s*rule:\s*(?P<spec>.*)$")
NAME = re.compile(r"[a-z][a-z0-9_]*$")
IF_LINE = re.compile(r"^(?P<indent>\s*)(?P<kw>if|elif)\s+(?P<cond>.+):$")
COPIED = ("chain", "tests", "tools", "pyproject.toml")
# No cache writes; and no hypothesis plugin, whose import is most of pytest's start-up time here
# (over a second per mutant) while the fast selection has no property tests.
PYTEST_OPTIONS = ("-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")
MUTANT_TIMEOUT_S = 900


class MarkerError(Exception):
    """A marker that cannot be applied as written."""


@dataclass(frozen=True)
class Marker:
    """One `# rule:` comment: where it is and how its rule is removed."""

    name: str
    path: str  # relative to the repository root
    line: int  # 1-based
    kind: str  # "if", "replace" or "delete"
    old: str = ""
    new: str = ""

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Outcome:
    marker: Marker
    status: str  # "caught", "missed" or "error"
    tests: tuple[str, ...]  # the failing tests (first one first)
    detail: str  # the first failure's message, or what went wrong
    seconds: float


# --- markers --------------------------------------------------------------------------------------

def _comments(source: str) -> list[tuple[int, int, str]]:
    """(line, column, text) of every comment, found by the tokenizer (so never inside a string)."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            found.append((token.start[0], token.start[1], token.string))
    return found


def parse_spec(spec: str, where: str) -> tuple[str, str, str, str]:
    """(name, kind, old, new) from the text after `# rule:`."""
    name, _, option = (part.strip() for part in spec.partition("|"))
    if not NAME.match(name):
        raise MarkerError(f"{where}: rule name {name!r} is not lower_snake_case")
    if not option:
        return name, "if", "", ""
    if option == "delete":
        return name, "delete", "", ""
    if option.startswith("replace:"):
        old, arrow, new = option[len("replace:"):].partition("=>")
        if not arrow or not old.strip():
            raise MarkerError(f"{where}: rule {name}: write `| replace: <old> => <new>`")
        return name, "replace", old.strip(), new.strip()
    raise MarkerError(f"{where}: rule {name}: unknown option {option!r} (use `replace: old => new` or `delete`)")


def find_markers(root: Path) -> list[Marker]:
    """Every marker under chain/, in file and line order; MarkerError lists every problem at once."""
    markers: list[Marker] = []
    problems: list[str] = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        source = path.read_text()
        if "rule:" not in source:
            continue
        relative = path.relative_to(root).as_posix()
        for line, _, text in _comments(source):
            match = MARKER.search(text)
            if match is None:
                continue
            where = f"{relative}:{line}"
            try:
                name, kind, old, new = parse_spec(match["spec"], where)
                marker = Marker(name, relative, line, kind, old, new)
                mutate_source(source, marker)  # fails now, not halfway through the run
                markers.append(marker)
            except MarkerError as exc:
                problems.append(str(exc))
    seen: dict[str, str] = {}
    for marker in markers:
        if marker.name in seen:
            problems.append(f"rule {marker.name} is marked twice: {seen[marker.name]} and {marker.where}")
        seen.setdefault(marker.name, marker.where)
    if problems:
        raise MarkerError("\n".join(problems))
    return markers


def mutate_line(code: str, marker: Marker) -> str:
    """The line's code (comment removed) with the marker's rule taken out."""
    if marker.kind == "if":
        match = IF_LINE.match(code)
        if match is None:
            raise MarkerError(f"{marker.where}: rule {marker.name}: not an `if ...:` line; add `| replace: old => new`"
                              " or `| delete`")
        return f"{match['indent']}{match['kw']} ({match['cond']}) and False:"
    if marker.kind == "replace":
        count = code.count(marker.old)
        if count != 1:
            raise MarkerError(f"{marker.where}: rule {marker.name}: {marker.old!r} occurs {count} times in the line,"
                              " not once")
        return code.replace(marker.old, marker.new)
    statement = code.strip()
    try:
        tree = ast.parse(statement)
    except SyntaxError as exc:
        raise MarkerError(f"{marker.where}: rule {marker.name}: `delete` needs one whole statement on the line") from exc
    if len(tree.body) != 1 or isinstance(tree.body[0], (ast.If, ast.For, ast.While, ast.With, ast.Try,
                                                         ast.FunctionDef, ast.ClassDef)):
        raise MarkerError(f"{marker.where}: rule {marker.name}: `delete` needs one simple statement on the line")
    return code[:len(code) - len(code.lstrip())] + "pass"


def mutate_source(source: str, marker: Marker) -> str:
    """The whole file with the marker's rule removed; MarkerError if that changes nothing or breaks it."""
    lines = source.split("\n")
    column = next((col for line, col, text in _comments(source) if line == marker.line and MARKER.search(text)), None)
    if column is None:
        raise MarkerError(f"{marker.where}: no `# rule:` comment on this line any more")
    original = lines[marker.line - 1]
    code, comment = original[:column].rstrip(), original[column:]
    mutated = mutate_line(code, marker)
    if mutated == code:
        raise MarkerError(f"{marker.where}: rule {marker.name}: the mutation does not change the line")
    lines[marker.line - 1] = f"{mutated}  {comment}"
    result = "\n".join(lines)
    try:
        compile(result, marker.path, "exec")
    except SyntaxError as exc:
        raise MarkerError(f"{marker.where}: rule {marker.name}: the mutated file does not compile: {exc}") from exc
    return result


# --- running --------------------------------------------------------------------------------------

def make_copy(root: Path, target: Path) -> None:
    """The package, the tests and the pytest configuration: all a test run reads."""
    target.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for name in COPIED:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)


def _env(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy)  # ahead of the editable install of the real tree
    env["COLUMNS"] = "240"  # long enough short-summary lines
    env.pop("PYTEST_ADDOPTS", None)
    return env


def check_copy_is_used(copy: Path) -> None:
    """Refuse to run if the tests would import the real package instead of the mutated copy."""
    result = subprocess.run([sys.executable, "-c", "import chain; print(chain.__file__)"], cwd=copy,
                            env=_env(copy), capture_output=True, text=True, check=True)
    imported = Path(result.stdout.strip()).resolve()
    if copy.resolve() not in imported.parents:
        raise SystemExit(f"mutate: the copy in {copy} is not the package the tests import ({imported})")


def run_tests(copy: Path, tests: tuple[str, ...], stop_first: bool) -> tuple[int, str]:
    command = [sys.executable, "-m", "pytest", *PYTEST_OPTIONS, "--no-header", "-rfE", "--tb=no",
               *(["-x"] if stop_first else []), *tests]
    try:
        result = subprocess.run(command, cwd=copy, env=_env(copy), capture_output=True, text=True,
                                timeout=MUTANT_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return -1, out
    return result.returncode, result.stdout + result.stderr


def failures(output: str) -> list[tuple[str, str]]:
    """(test id, message) of each FAILED/ERROR line of pytest's short summary."""
    found = []
    for line in output.splitlines():
        match = re.match(r"^(FAILED|ERROR) (\S+)(?: - (.*))?$", line)
        if match:
            found.append((match[2], (match[3] or "").strip()))
    return found


def try_mutant(marker: Marker, copy: Path, index: int, tests: tuple[str, ...], stop_first: bool) -> Outcome:
    """Apply one mutation in `copy`, run the tests, put the file back."""
    started = time.monotonic()
    path = copy / marker.path
    original = path.read_text()
    stat = path.stat()
    try:
        path.write_text(mutate_source(original, marker))
        # A distinct mtime per mutant: a bytecode cache written for another mutant of the same
        # size can never pass for this one (and the restored file recompiles too).
        stamp = stat.st_mtime_ns + (index + 1) * 2_000_000_000
        os.utime(path, ns=(stamp, stamp))
        code, output = run_tests(copy, tests, stop_first)
    finally:
        path.write_text(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    seconds = time.monotonic() - started
    failed = failures(output)
    if code == 0:
        return Outcome(marker, "missed", (), "every selected test passed", seconds)
    if code == -1:
        return Outcome(marker, "caught", ("(timeout)",), f"the tests did not finish in {MUTANT_TIMEOUT_S} s", seconds)
    if code == 1 and failed:
        return Outcome(marker, "caught", tuple(t for t, _ in failed), failed[0][1], seconds)
    tail = " | ".join(output.strip().splitlines()[-3:])
    return Outcome(marker, "error", tuple(t for t, _ in failed), f"pytest exit {code}: {tail}", seconds)


def run_all(markers: list[Marker], jobs: int, tests: tuple[str, ...], stop_first: bool) -> list[Outcome]:
    workspace = Path(tempfile.mkdtemp(prefix="chain-mutate-"))
    try:
        copies: queue.Queue[Path] = queue.Queue()
        for k in range(jobs):
            copy = workspace / f"copy{k}"
            make_copy(ROOT, copy)
            check_copy_is_used(copy)
            copies.put(copy)
        first = copies.get()
        code, output = run_tests(first, tests, stop_first=True)
        copies.put(first)
        if code != 0:
            raise SystemExit("mutate: the selected tests fail without any mutation; fix them first:\n"
                             + "\n".join(f"  {t} - {m}" for t, m in failures(output)) + f"\n{output[-2000:]}")

        def work(item: tuple[int, Marker]) -> Outcome:
            index, marker = item
            copy = copies.get()
            try:
                return try_mutant(marker, copy, index, tests, stop_first)
            finally:
                copies.put(copy)

        outcomes = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            for outcome in pool.map(work, enumerate(markers)):
                outcomes.append(outcome)
                print(f"  {outcome.status:6} {outcome.marker.name} ({outcome.seconds:.1f} s)", flush=True)
        return outcomes
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def print_table(outcomes: list[Outcome], show_all: bool) -> None:
    width = max(len(o.marker.name) for o in outcomes)
    where_width = max(len(o.marker.where) for o in outcomes)
    print(f"\n{'rule':{width}}  {'where':{where_width}}  result  caught by")
    for o in outcomes:
        if o.status == "caught":
            names = o.tests if show_all else o.tests[:1]
            by = ", ".join(t.replace("tests/", "") for t in names)
            print(f"{o.marker.name:{width}}  {o.marker.where:{where_width}}  caught  {by}")
            if o.detail:
                print(f"{'':{width}}  {'':{where_width}}          {o.detail[:220]}")
        else:
            print(f"{o.marker.name:{width}}  {o.marker.where:{where_width}}  {o.status.upper():6}  {o.detail[:220]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-j", "--jobs", type=int, default=2, help="mutants tested at once (one process each)")
    parser.add_argument("--rule", action="append", default=[], help="only this rule (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the markers and their mutated lines, run nothing")
    parser.add_argument("--all", action="store_true", help="run every selected test per mutant, list all that fail")
    parser.add_argument("--show", metavar="NAME", help="run one mutant and print the whole test output")
    parser.add_argument("--tests", nargs="+", default=list(FAST_TESTS), help="the test selection")
    args = parser.parse_args(argv)
    try:
        markers = find_markers(ROOT)
    except MarkerError as exc:
        print(f"mutate: bad rule markers:\n{exc}", file=sys.stderr)
        return 2
    wanted = set(args.rule) | ({args.show} if args.show else set())
    unknown = wanted - {m.name for m in markers}
    if unknown:
        print(f"mutate: no such rule: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if wanted:
        markers = [m for m in markers if m.name in wanted]
    if args.list:
        for marker in markers:
            source = (ROOT / marker.path).read_text()
            mutated = mutate_source(source, marker).split("\n")[marker.line - 1]
            print(f"{marker.name:34} {marker.where:44} {mutated.split('  # rule:')[0].strip()}")
        return 0
    tests = tuple(args.tests)
    if args.show:
        with tempfile.TemporaryDirectory(prefix="chain-mutate-") as workspace:
            copy = Path(workspace) / "copy"
            make_copy(ROOT, copy)
            check_copy_is_used(copy)
            path = copy / markers[0].path
            path.write_text(mutate_source(path.read_text(), markers[0]))
            command = [sys.executable, "-m", "pytest", *PYTEST_OPTIONS, "--tb=short", *tests]
            return subprocess.run(command, cwd=copy, env=_env(copy)).returncode
    started = time.monotonic()
    print(f"mutate: {len(markers)} rules, {args.jobs} at a time, tests: {' '.join(tests)}", flush=True)
    outcomes = run_all(markers, max(1, args.jobs), tests, stop_first=not args.all)
    print_table(outcomes, args.all)
    missed = [o for o in outcomes if o.status != "caught"]
    caught = len(outcomes) - len(missed)
    print(f"\n{len(outcomes)} rules: {caught} caught, {len(missed)} missed or broken"
          f" ({time.monotonic() - started:.0f} s, {args.jobs} jobs)")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
