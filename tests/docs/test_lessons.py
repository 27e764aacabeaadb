"""Every `chain …` command the lessons tell a student to run works as written.

The commands are read from docs/lessons/*.md — inline code spans and the lines of code blocks that
start with the command — and each is run in a fresh directory holding a link to docs/, as a student
on a fresh clone after `make demo` would (the lessons write `.venv/bin/chain`, so no activated
virtual environment is assumed; here each runs as the `chain` app in a process of its own, forked
from a server that imported it once, with this interpreter).

What is adapted, and only this:
* placeholders a student replaces (``my.toml``) become the example the lessons ship;
* the long-running ones are bounded: `chain demo` gets ``--no-browser --seconds 2``; a
  ``--dashboard`` run gets ``--no-browser`` and, if `chain scenario run` offers ``--seconds``, that
  too — otherwise it is stopped with Ctrl-C (SIGINT) once its page has been served;
* benchmarks are bounded: a ``--count`` above BENCH_COUNT becomes BENCH_COUNT (the lesson's figure
  is for the student's machine; here the command must only work);
* a code-block line may end with ``# exits N`` when the lesson says the command fails on purpose
  (`chain tamper verify` on a tampered store); every other command must exit 0.

A lesson naming a command that does not exist, or that errors, fails the test with the lesson's
file and line. Commands of one lesson run in order (lesson 8's depend on each other); two lessons
run at a time.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.process
import os
import re
import resource
import shlex
import signal
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "docs" / "lessons"
VENV_CHAIN = ".venv/bin/chain"
PLACEHOLDERS = {"my.toml": "docs/lessons/my-scenario.toml"}
DEMO_SECONDS = "2"
BENCH_COUNT = 100
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


# Each command runs in a process of its own, forked from a server that imported chain once: the
# same fresh process a student's command gets, without paying ~1.3 s of imports 30 times over.
FORKS = multiprocessing.get_context("forkserver")
FORKS.set_forkserver_preload(["chain.cli.main"])


def run_cli(args: list[str], cwd: str, log: str) -> None:
    """In the child: run `chain ARGS` in cwd with stdout and stderr to log; exit with its status."""
    descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.chdir(cwd)
    os.environ.update(COLUMNS="100", NO_COLOR="1")
    from chain.cli.main import app

    code: object = 0
    try:
        app(args=args, prog_name="chain")
    except SystemExit as exc:
        code = exc.code
    except BaseException:  # what the chain command would print and exit 1 with
        import traceback

        traceback.print_exc()
        code = 1
    used = resource.getrusage(resource.RUSAGE_SELF)
    print(f"\n[cpu {used.ru_utime + used.ru_stime:.2f} s]")  # what this command cost (the imports were paid once)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code if isinstance(code, int) else (0 if code is None else 1))


def start_cli(args: list[str], cwd: Path, log: Path) -> multiprocessing.process.BaseProcess:
    process = FORKS.Process(target=run_cli, args=(args, str(cwd), str(log)))
    process.start()
    return process


def stop(process: multiprocessing.process.BaseProcess) -> None:
    if process.is_alive():
        process.kill()
    process.join(30)


_HAS_SECONDS: list[bool] = []  # asked once: does `chain scenario run` offer --seconds?


def dashboard_run_has_seconds(cwd: Path) -> bool:
    if not _HAS_SECONDS:
        log = cwd / ".help.log"
        log.touch()
        process = start_cli(["scenario", "run", "--help"], cwd, log)
        process.join(60)
        stop(process)
        _HAS_SECONDS.append("--seconds" in log.read_text(errors="replace"))
    return _HAS_SECONDS[0]


def args_for(command: LessonCommand, cwd: Path) -> tuple[list[str], bool]:
    """(the arguments after `chain`, whether to stop it with Ctrl-C once its dashboard answers)."""
    words = shlex.split(command.text)
    assert words[0] in ("chain", VENV_CHAIN)
    args = [PLACEHOLDERS.get(word, word) for word in words[1:]]
    interrupt = False
    if args[:1] == ["bench"]:
        args = [str(min(int(word), BENCH_COUNT)) if before == "--count" and word.isdigit() else word
                for before, word in zip([""] + args, args)]
    if args[:1] == ["demo"]:
        args += [] if "--no-browser" in args else ["--no-browser"]
        args += [] if "--seconds" in args else ["--seconds", DEMO_SECONDS]
    elif "--dashboard" in args:
        args += [] if "--no-browser" in args else ["--no-browser"]
        if dashboard_run_has_seconds(cwd):
            args += [] if "--seconds" in args else ["--seconds", DEMO_SECONDS]
        else:
            interrupt = True
    return args, interrupt


def run_one(command: LessonCommand, cwd: Path) -> str | None:
    """Run one command in cwd; None if it did what the lesson says, else what went wrong."""
    args, interrupt = args_for(command, cwd)
    descriptor, name = tempfile.mkstemp(prefix=f".line{command.line}-", suffix=".log", dir=cwd)
    os.close(descriptor)  # exists before the child writes it, so it can be read at any moment
    log = Path(name)
    process = start_cli(args, cwd, log)
    try:
        if interrupt:
            return stop_dashboard(command, process, log)
        process.join(COMMAND_TIMEOUT_S)
        if process.is_alive():
            return f"{command.where}: still running after {COMMAND_TIMEOUT_S} s"
        output = log.read_text(errors="replace")
        if process.exitcode != command.exit_code or "Traceback" in output:
            tail = "\n".join(output.strip().splitlines()[-8:])
            return f"{command.where}: exit {process.exitcode} (the lesson expects {command.exit_code})\n{tail}"
        return None
    finally:
        stop(process)


def stop_dashboard(command: LessonCommand, process: multiprocessing.process.BaseProcess, log: Path) -> str | None:
    """Wait for a dashboard run to print its address, fetch its page, then press Ctrl-C."""
    deadline = time.monotonic() + DASHBOARD_WAIT_S
    url = None
    while url is None and time.monotonic() < deadline and process.is_alive():
        found = re.search(r"dashboard: (http://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))
        url = found.group(1) if found else None
        time.sleep(0.2)
    if url is None:
        return f"{command.where}: never printed its dashboard address\n{log.read_text(errors='replace')[-800:]}"
    with urllib.request.urlopen(url, timeout=30) as page:
        if page.status != 200:
            return f"{command.where}: its dashboard answered {page.status}"
    assert process.pid is not None
    os.kill(process.pid, signal.SIGINT)
    process.join(60)
    output = log.read_text(errors="replace")
    if process.exitcode != 0 or "Traceback" in output:
        return f"{command.where}: exit {process.exitcode} after Ctrl-C\n{output[-800:]}"
    return None


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
    cpu = sum(float(m) for log in tmp_path.glob("*/.line*.log")
              for m in re.findall(r"\[cpu ([0-9.]+) s\]", log.read_text(errors="replace")))
    print(f"{sum(map(len, by_lesson.values()))} lesson commands ran in {time.monotonic() - started:.1f} s, "
          f"{cpu:.1f} s of CPU")
    assert not problems, "\n\n".join(problems)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("text", [".venv/bin/chain nosuch", ".venv/bin/chain scenario run nosuch"])
def test_a_missing_or_failing_command_is_reported(text: str, tmp_path: Path) -> None:
    problem = run_one(LessonCommand("x.md", 3, text), tmp_path)
    assert problem is not None and problem.startswith(f"x.md:3: {text}: exit 2")
