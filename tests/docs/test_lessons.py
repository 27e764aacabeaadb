"""Every `chain …` command the lessons tell a student to run works as written.

The commands are read from docs/lessons/*.md — inline code spans and the lines of code blocks that
start with the command — and each is run in a fresh directory holding a link to docs/, as a student
on a fresh clone after `make demo` would (the lessons write `.venv/bin/chain`, so no activated
virtual environment is assumed; here it is run as `python -m chain.cli.main` with this interpreter).

What is adapted, and only this:
* placeholders a student replaces (``my.toml``) become the example the lessons ship;
* the long-running ones are bounded: `chain demo` gets ``--no-browser --seconds 2``; a
  ``--dashboard`` run gets ``--no-browser`` and, if `chain scenario run` offers ``--seconds``, that
  too — otherwise it is stopped with Ctrl-C (SIGINT) once its page has been served;
* a code-block line may end with ``# exits N`` when the lesson says the command fails on purpose
  (`chain tamper verify` on a tampered store); every other command must exit 0.

A lesson naming a command that does not exist, or that errors, fails the test with the lesson's
file and line. Commands of one lesson run in order (lesson 8's depend on each other); two lessons
run at a time.
"""

from __future__ import annotations

import os
import re
import resource
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "docs" / "lessons"
VENV_CHAIN = ".venv/bin/chain"
PLACEHOLDERS = {"my.toml": "docs/lessons/my-scenario.toml"}
DEMO_SECONDS = "2"
COMMAND_TIMEOUT_S = 150  # one command, on a loaded 2-core machine
DASHBOARD_WAIT_S = 60  # for a dashboard to print its address
STATEFUL = ("tamper store", "tamper verify", "--save")
IS_COMMAND = re.compile(r"^(?:\.venv/bin/)?chain(?:\s|$)")
EXITS = re.compile(r"#.*\bexits (\d+)")


@dataclass(frozen=True)
class LessonCommand:
    lesson: str
    line: int
    text: str  # as the lesson writes it
    exit_code: int = 0
    in_block: bool = False  # a code-block line (run in order, always) or a span in the prose

    @property
    def where(self) -> str:
        return f"{self.lesson}:{self.line}: {self.text}"


def extract(path: Path) -> list[LessonCommand]:
    """The chain commands of one lesson, in the order a student meets them."""
    found: list[LessonCommand] = []
    in_block = False
    prose: list[tuple[int, str]] = []  # (line number, text) outside code blocks

    def flush() -> None:
        text = "\n".join(line for _, line in prose)
        starts = [n for n, _ in prose]
        offsets, total = [], 0
        for _, line in prose:
            offsets.append(total)
            total += len(line) + 1
        for match in re.finditer(r"`([^`]+)`", text):
            span = " ".join(match.group(1).split())  # a span may wrap across lines
            # "chain …" and "`chain`" name the command; they are not commands to run
            if IS_COMMAND.match(span) and "…" not in span and span not in ("chain", VENV_CHAIN):
                row = max(i for i, offset in enumerate(offsets) if offset <= match.start())
                found.append(LessonCommand(path.name, starts[row], span))
        prose.clear()

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            if not in_block:
                flush()
            in_block = not in_block
            continue
        if not in_block:
            prose.append((number, line))
            continue
        stripped = line.strip().removeprefix("$ ")
        if IS_COMMAND.match(stripped):
            exits = EXITS.search(stripped)
            command = stripped.split(" #", 1)[0].strip()
            found.append(LessonCommand(path.name, number, command, int(exits.group(1)) if exits else 0, True))
    flush()
    return found


def lesson_files() -> list[Path]:
    return sorted(LESSONS.glob("*.md"))


def all_commands() -> list[LessonCommand]:
    return [command for path in lesson_files() for command in extract(path)]


def commands_to_run() -> list[LessonCommand]:
    """Every command once, in lesson order. A command that repeats an earlier one (placeholders
    resolved) is not run again, unless it reads or writes files other commands of its lesson made
    (the store-level tamper commands and their --save), whose outcome depends on what ran before."""
    seen: set[tuple[str, ...]] = set()
    chosen = []
    for command in all_commands():
        key = (*(PLACEHOLDERS.get(w, w) for w in shlex.split(command.text)[1:]), str(command.exit_code))
        stateful = any(part in command.text for part in STATEFUL)
        if stateful or key not in seen:
            chosen.append(command)
        seen.add(key)
    return chosen


@lru_cache(maxsize=1)
def dashboard_run_has_seconds() -> bool:
    done = subprocess.run([sys.executable, "-m", "chain.cli.main", "scenario", "run", "--help"],
                          capture_output=True, text=True, timeout=60, env=_env())
    return "--seconds" in done.stdout


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100", "NO_COLOR": "1"}


def argv_for(command: LessonCommand) -> tuple[list[str], bool]:
    """(the argv to run, whether to stop it with Ctrl-C once its dashboard answers)."""
    words = shlex.split(command.text)
    assert words[0] in ("chain", VENV_CHAIN)
    args = [PLACEHOLDERS.get(word, word) for word in words[1:]]
    interrupt = False
    if args[:1] == ["demo"]:
        args += [] if "--no-browser" in args else ["--no-browser"]
        args += [] if "--seconds" in args else ["--seconds", DEMO_SECONDS]
    elif "--dashboard" in args:
        args += [] if "--no-browser" in args else ["--no-browser"]
        if dashboard_run_has_seconds():
            args += [] if "--seconds" in args else ["--seconds", DEMO_SECONDS]
        else:
            interrupt = True
    return [sys.executable, "-m", "chain.cli.main", *args], interrupt


def run_one(command: LessonCommand, cwd: Path) -> str | None:
    """Run one command in cwd; None if it did what the lesson says, else what went wrong."""
    argv, interrupt = argv_for(command)
    if not interrupt:
        try:
            done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, env=_env())
        except subprocess.TimeoutExpired:
            return f"{command.where}: still running after {COMMAND_TIMEOUT_S} s"
        if done.returncode != command.exit_code or "Traceback" in done.stderr:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
            return f"{command.where}: exit {done.returncode} (the lesson expects {command.exit_code})\n{tail}"
        return None
    return run_dashboard(command, argv, cwd)


def run_dashboard(command: LessonCommand, argv: list[str], cwd: Path) -> str | None:
    """Start a dashboard run, fetch its page once it prints the address, then press Ctrl-C."""
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
                               start_new_session=True)
    try:
        deadline = time.monotonic() + DASHBOARD_WAIT_S
        url = None
        assert process.stdout is not None
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break  # it ended before serving anything
            found = re.search(r"dashboard: (http://127\.0\.0\.1:\d+)", line)
            url = found.group(1) if found else None
        if url is None:
            process.kill()
            out, err = process.communicate(timeout=30)
            return f"{command.where}: never printed its dashboard address\n{(out + err)[-800:]}"
        with urllib.request.urlopen(url, timeout=30) as page:
            if page.status != 200:
                return f"{command.where}: its dashboard answered {page.status}"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        if process.returncode != 0 or "Traceback" in err:
            return f"{command.where}: exit {process.returncode} after Ctrl-C\n{(out + err)[-800:]}"
        return None
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def run_lesson(commands: list[LessonCommand], cwd: Path) -> list[str]:
    cwd.mkdir(parents=True)
    (cwd / "docs").symlink_to(ROOT / "docs")  # the lessons' paths are relative to the repository's top
    problems = []
    for command in commands:
        started = time.monotonic()
        problem = run_one(command, cwd)
        print(f"{time.monotonic() - started:6.1f} s  {command.where}")
        if problem is not None:
            problems.append(problem)
    return problems


# --- the tests -------------------------------------------------------------------------------------

def test_every_lesson_gives_commands() -> None:
    """A broken extractor must not make the run below pass by finding nothing."""
    lessons = [p for p in lesson_files() if p.name[:2].isdigit()]
    assert len(lessons) >= 8
    for path in lessons:
        assert extract(path), f"{path.name}: no chain command found"


def test_commands_work_without_an_activated_venv() -> None:
    """On a fresh clone after `make demo`, `chain` is not on PATH: the lessons write `.venv/bin/chain`."""
    bare = [c.where for c in all_commands() if not c.text.startswith(VENV_CHAIN + " ")]
    assert not bare, "write these as .venv/bin/chain …:\n" + "\n".join(bare)
    if (ROOT / ".venv").is_dir():
        assert (ROOT / VENV_CHAIN).exists(), "make demo installs the chain command in .venv/bin"


def test_the_example_scenario_ships_and_parses() -> None:
    from chain.scenarios.spec import load_scenario

    for placeholder, example in PLACEHOLDERS.items():
        assert load_scenario(ROOT / example).name, placeholder


def test_extraction_reads_spans_blocks_and_expected_exits(tmp_path: Path) -> None:
    page = tmp_path / "lesson.md"
    page.write_text("Run `.venv/bin/chain scenario run\nnormal` or `chain …`; the `chain` command.\n"
                    "```\n$ .venv/bin/chain tamper verify x   # exits 1: tampered\nls\n```\n", encoding="utf-8")
    assert extract(page) == [LessonCommand("lesson.md", 1, ".venv/bin/chain scenario run normal"),
                             LessonCommand("lesson.md", 4, ".venv/bin/chain tamper verify x", 1, True)]


@pytest.mark.timeout(900)
def test_every_lesson_command_runs(tmp_path: Path) -> None:
    by_lesson: dict[str, list[LessonCommand]] = {}
    for command in commands_to_run():
        by_lesson.setdefault(command.lesson, []).append(command)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda item: run_lesson(item[1], tmp_path / item[0].removesuffix(".md")),
                           sorted(by_lesson.items()))
        problems = [problem for found in results for problem in found]
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"{sum(map(len, by_lesson.values()))} lesson commands ran in {time.monotonic() - started:.1f} s "
          f"(children's CPU {cpu.ru_utime + cpu.ru_stime:.1f} s)")
    assert not problems, "\n\n".join(problems)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("text", [".venv/bin/chain nosuch", ".venv/bin/chain scenario run nosuch"])
def test_a_missing_or_failing_command_is_reported(text: str, tmp_path: Path) -> None:
    problem = run_one(LessonCommand("x.md", 3, text), tmp_path)
    assert problem is not None and problem.startswith(f"x.md:3: {text}: exit 2")
