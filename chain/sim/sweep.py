"""Seeded sweeps: thousands of random fault schedules, each judged for safety and liveness after GST.

One seed fixes one run. ``draw_schedule(seed)`` draws, from a random stream of its own, a chain
(n in {4, 7, 10}, weighted toward 4 for speed; the standard suite; a view timer of 1–3 s) and a
schedule of faults inside a *fault window*: Byzantine spells (up to f sealers, every behaviour of
chain.sim.byzantine, some turning honest again), message loss up to 10 %, duplication, crash
churn, minority or half partitions, and all-node crashes for a few seconds. At the end of the
window every fault is healed — partitions healed, crashed nodes restarted, loss back to 0 (in a
few runs a little loss stays for ever) — while Byzantine nodes that never turned honest stay
Byzantine (at most f, which PBFT tolerates). Then the *recovery window*: the run goes on until
liveness is shown (every honest sealer committed at least ``SHOWN_BLOCKS`` blocks above the
highest honest height at GST) or the window ends. The window is at least the recovery bound
(chain.sim.liveness.recovery_bound_ms), so a run that ends without a new block is a stall.

``run_one(seed)`` returns a ``RunResult``: its verdict is ``ok``, ``stall`` (liveness after GST
broken, or no new block in the window under loss that never ends), ``violation`` (safety), or
``error`` (an exception escaped the simulator). ``sweep(...)`` runs many seeds in parallel
processes and appends one JSON line per finished run to a file, so an interrupted sweep resumes
where it stopped. ``chain sim --sweep N --seed S --jobs J --resume FILE`` is the command line.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import time
import traceback
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, Iterator

from chain.sim.liveness import run_until_live
from chain.sim.runner import SimConfig, Simulation, sim_recovery_bound_ms

NODE_CHOICES = (4, 4, 4, 4, 4, 4, 7, 7, 7, 10)  # weighted toward 4: a 10-node run costs about six 4-node runs
TIMEOUT_CHOICES = (1000, 1000, 1000, 1500, 2000, 3000)
TX_RATES = (10.0, 15.0, 20.0)
MIN_SEAL_TIME_MS = 200
MIN_RECOVERY_MS = 60_000  # the recovery window: at least this, and at least the recovery bound
SHOWN_BLOCKS = 2  # liveness is shown once every honest sealer committed this many blocks above the GST height
VERDICTS = ("ok", "stall", "violation", "error")

# The behaviours a schedule draws from, by schedule version. A seed's schedule must never change —
# a seed that failed once stays a regression test for ever — but drawing from a longer list draws
# differently. So a behaviour added to chain.sim.byzantine enters the sweep as a new version; the
# old versions keep their lists, and a failing seed is kept with its version (tests/sim/test_sweep.py).
BEHAVIOUR_VERSIONS: dict[int, tuple[str, ...]] = {
    1: ("double_vote", "equivocate", "forge", "invalid_block", "lie_view_change", "replay", "silent", "wrong_digest"),
    2: ("double_vote", "drop_prepared", "equivocate", "forge", "future_proof", "invalid_block", "lie_view_change",
        "newview_non_leader", "replay", "silent", "thin_proof", "weak_sync", "wrong_digest"),
    3: ("double_vote", "drop_prepared", "empty_new_view", "equivocate", "forge", "future_proof", "invalid_block",
        "lie_view_change", "newview_non_leader", "replay", "silent", "thin_proof", "weak_sync", "wrong_digest"),
}
VERSION = max(BEHAVIOUR_VERSIONS)  # what a sweep draws with


@dataclass(frozen=True)
class Action:
    """One scheduled fault (or its healing) at a point of virtual time."""

    at_ms: int
    kind: str  # crash, restart, partition, heal, byzantine, honest, network
    nodes: tuple[int, ...] = ()
    behaviour: str = ""
    loss: float | None = None
    duplicate: float | None = None
    groups: tuple[tuple[int, ...], ...] = ()

    def apply(self, sim: Simulation) -> None:
        if self.kind == "crash":
            for i in self.nodes:
                sim.crash(i)
        elif self.kind == "restart":
            for i in self.nodes:
                sim.restart(i)
        elif self.kind == "partition":
            sim.partition([list(g) for g in self.groups])
        elif self.kind == "heal":
            sim.heal()
        elif self.kind == "byzantine":
            for i in self.nodes:
                sim.set_behaviour(i, self.behaviour)
        elif self.kind == "honest":
            for i in self.nodes:
                sim.set_behaviour(i, None)
        elif self.kind == "network":
            sim.set_network(loss=self.loss, duplicate=self.duplicate)
        else:
            raise ValueError(f"unknown action {self.kind!r}")

    def describe(self) -> str:
        what = {
            "crash": lambda: f"crash {list(self.nodes)}",
            "restart": lambda: f"restart {list(self.nodes)}",
            "partition": lambda: "partition " + " | ".join(str(list(g)) for g in self.groups),
            "heal": lambda: "heal any partition",
            "byzantine": lambda: f"node {self.nodes[0]} turns {self.behaviour}",
            "honest": lambda: f"node {self.nodes[0]} is honest again",
            "network": lambda: ", ".join(f"{name} {value:g}" for name, value in
                                         (("loss", self.loss), ("duplicate", self.duplicate)) if value is not None),
        }[self.kind]()
        return f"{self.at_ms:>7} ms  {what}"


@dataclass(frozen=True)
class Schedule:
    """A chain and the faults done to it: everything a seed decides."""

    seed: int
    config: SimConfig
    actions: tuple[Action, ...]
    fault_end_ms: int  # every fault is healed by then (Byzantine nodes may stay, at most f)
    version: int  # of the behaviour list drawn from (BEHAVIOUR_VERSIONS)
    lasting_loss: float  # loss kept after the fault window (0 in most runs)
    recovery_ms: int  # the recovery window after fault_end_ms

    def describe(self) -> list[str]:
        c = self.config
        lines = [f"seed {self.seed} (schedule version {self.version}): n = {c.nodes}, timeout {c.timeout_ms} ms, {c.tx_rate:g} tx/s, latency "
                 f"{c.latency_ms[0]}-{c.latency_ms[1]} ms, duplicate {c.duplicate:g}; faults until {self.fault_end_ms} ms"
                 + (f", then loss {self.lasting_loss:g} for ever" if self.lasting_loss else "")
                 + f"; recovery window {self.recovery_ms} ms"
                 + (f"; rPBFT: K = {c.epoch_sealers}, B = {c.epoch_blocks}" if c.consensus == "rpbft" else "")]
        lines += ["  " + a.describe() for a in self.actions]
        return lines


def draw_schedule(seed: int, version: int = VERSION, consensus: str = "pbft") -> Schedule:
    """The schedule of run `seed`: drawn from its own random stream, so it never depends on the run.

    `version` picks the list of behaviours drawn from (BEHAVIOUR_VERSIONS); (version, seed) fixes
    the schedule for good — never change how it is drawn, add a version instead.

    consensus="rpbft" runs the same kind of schedule on rPBFT: K working sealers (4 or 7, at most
    n) and short epochs (2–10 blocks, so the working set rotates during the faults), drawn from a
    stream of their own; Byzantine nodes and partitioned minorities are bounded by the working
    set's budget f = ⌊(K − 1)/3⌋ instead of n's.
    """
    behaviours = BEHAVIOUR_VERSIONS[version]
    rng = random.Random(f"chain-sweep/{seed}")
    n = rng.choice(NODE_CHOICES)
    config = SimConfig(
        nodes=n, seed=seed, timeout_ms=rng.choice(TIMEOUT_CHOICES), tx_rate=rng.choice(TX_RATES),
        min_seal_time_ms=MIN_SEAL_TIME_MS, latency_ms=rng.choice(((10, 50), (10, 50), (5, 100))),
        duplicate=rng.choice((0.0, 0.0, 0.02, 0.05)),
    )
    if consensus == "rpbft":
        epochs = random.Random(f"chain-sweep-rpbft/{seed}")
        config = replace(config, consensus="rpbft", epoch_sealers=epochs.choice([k for k in (4, 7) if k <= n]),
                         epoch_blocks=epochs.choice((2, 3, 5, 10)))
    f = config.fault_budget()  # max_faulty(n) for PBFT
    start = rng.randint(1000, 3000)
    end = start + rng.randint(4000, 20_000)
    actions: list[Action] = []

    def moment() -> int:
        return rng.randint(start, end - 1)

    # Byzantine spells: up to f sealers; some stay Byzantine to the end (still at most f).
    for node in rng.sample(range(n), rng.choice([0] + [k for k in range(1, f + 1) for _ in range(2)])):
        begin = rng.choice((0, moment()))
        actions.append(Action(begin, "byzantine", (node,), behaviour=rng.choice(behaviours)))
        if rng.random() < 0.6:
            actions.append(Action(rng.randint(begin + 1, end), "honest", (node,)))
    # A lossy spell, and a duplication change.
    if rng.random() < 0.5:
        actions.append(Action(moment(), "network", loss=rng.choice((0.01, 0.02, 0.05, 0.1))))
    if rng.random() < 0.3:
        actions.append(Action(moment(), "network", duplicate=rng.choice((0.0, 0.05, 0.1))))
    # Crash churn: a node goes down; 0.2–5 s later every node that is down comes back.
    for _ in range(rng.choice((0, 0, 1, 2, 3))):
        at = moment()
        actions.append(Action(at, "crash", (rng.randrange(n),)))
        actions.append(Action(min(end, at + rng.randint(200, 5000)), "restart", tuple(range(n))))
    # A partition: a minority (f nodes) cut off, or the network split in halves.
    if rng.random() < 0.3:
        side = sorted(rng.sample(range(n), f if rng.random() < 0.5 else n // 2))
        at = moment()
        actions.append(Action(at, "partition", groups=(tuple(side), tuple(i for i in range(n) if i not in side))))
        actions.append(Action(min(end, at + rng.randint(1000, 8000)), "heal"))
    # Every node crashed at once for a few seconds (a power cut), once or twice.
    if rng.random() < 0.15:
        for _ in range(rng.choice((1, 2))):
            at = moment()
            actions.append(Action(at, "crash", tuple(range(n))))
            actions.append(Action(min(end, at + rng.randint(500, 3000)), "restart", tuple(range(n))))
    # The end of the fault window: everything healed, except in a few runs a little lasting loss.
    lasting = rng.choice((0.01, 0.02)) if rng.random() < 0.1 else 0.0
    actions += [Action(end, "heal"), Action(end, "restart", tuple(range(n))), Action(end, "network", loss=lasting)]
    actions.sort(key=lambda a: a.at_ms)  # stable: at one moment, in the order drawn
    recovery = max(MIN_RECOVERY_MS, sim_recovery_bound_ms(config) + 5000)
    return Schedule(seed, config, tuple(actions), end, version, lasting, recovery)


@dataclass(frozen=True)
class RunResult:
    """What one run of the sweep found (one JSON line in a resume file)."""

    seed: int
    verdict: str  # ok, stall, violation, error
    reason: str  # one line
    nodes: int
    blocks: int  # highest honest height at the end
    virtual_ms: int
    wall_s: float
    gst_ms: int | None = None
    recovered_ms: int | None = None  # from the end of the fault window to liveness shown (None: not shown)
    live: bool | None = None
    version: int = VERSION  # of the schedule

    @property
    def failed(self) -> bool:
        return self.verdict != "ok"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> RunResult:
        data = json.loads(line)
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def run_schedule(schedule: Schedule) -> RunResult:
    """Run one schedule and judge it: safety (the checker's ok), then liveness after GST."""
    started = time.perf_counter()
    sim = Simulation(schedule.config)
    for action in schedule.actions:
        sim.schedule(action.at_ms, partial(action.apply, sim))
    sim.run_until(schedule.fault_end_ms)
    base = sim.checker.highest  # for lasting loss, which has no GST: a new block is progress
    recovered = None
    if schedule.lasting_loss:  # no GST: progress is shown by new blocks
        shown = sim.run_blocks(SHOWN_BLOCKS, schedule.recovery_ms) >= SHOWN_BLOCKS
    else:
        shown = run_until_live(sim, schedule.recovery_ms, blocks=SHOWN_BLOCKS)
    if shown:
        recovered = sim.now_ms - schedule.fault_end_ms
    report = sim.check()
    verdict, reason = "ok", report.liveness_after_gst
    if not report.ok:
        verdict, reason = "violation", report.violations[0]
    elif report.live is False:
        verdict, reason = "stall", report.liveness_violations[0]
    elif schedule.lasting_loss and sim.checker.highest == base:
        verdict = "stall"
        reason = (f"no new block in the {schedule.recovery_ms} ms recovery window under lasting loss "
                  f"{schedule.lasting_loss:g} (height {base})")
    elif recovered is None and report.live is None:
        reason = f"liveness not shown in the window, and {report.liveness_after_gst}"
    return RunResult(schedule.seed, verdict, reason, schedule.config.nodes, report.highest, sim.now_ms,
                     round(time.perf_counter() - started, 3), report.gst_ms, recovered, report.live, schedule.version)


def run_one(seed: int, version: int = VERSION, consensus: str = "pbft") -> RunResult:
    """Draw and run the schedule of `seed`; an exception becomes an `error` verdict, not a crash of the sweep."""
    started = time.perf_counter()
    try:
        return run_schedule(draw_schedule(seed, version) if consensus == "pbft" else draw_schedule(seed, version, consensus))
    except Exception as exc:  # noqa: BLE001 — a sweep reports a bug and goes on with the next seed
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return RunResult(seed, "error", f"{type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})",
                         0, 0, 0, round(time.perf_counter() - started, 3), version=version)


# --- many runs --------------------------------------------------------------------------------


@dataclass
class SweepSummary:
    """The results of a sweep (from this session and, when resuming, from the file)."""

    results: list[RunResult] = field(default_factory=list)

    def count(self, verdict: str) -> int:
        return sum(r.verdict == verdict for r in self.results)

    @property
    def failures(self) -> list[RunResult]:
        return sorted((r for r in self.results if r.failed), key=lambda r: r.seed)

    @property
    def ok(self) -> bool:
        return not self.failures

    def seconds_per_run(self) -> float:
        return sum(r.wall_s for r in self.results) / max(1, len(self.results))


def read_results(path: Path, version: int = VERSION) -> dict[int, RunResult]:
    """The runs of schedule `version` a resume file holds, by seed (a half-written last line is ignored)."""
    found: dict[int, RunResult] = {}
    if not path.exists():
        return found
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            result = RunResult.from_json(line)
        except (ValueError, TypeError, KeyError):
            continue
        if result.version == version:
            found[result.seed] = result
    return found


def _results(seeds: list[int], jobs: int, version: int, consensus: str = "pbft") -> Iterator[RunResult]:
    # (seed, version) as before for PBFT; rPBFT runs name their consensus too
    tasks: list[tuple[int, int] | tuple[int, int, str]] = [
        (seed, version) if consensus == "pbft" else (seed, version, consensus) for seed in seeds]
    if jobs <= 1 or len(seeds) <= 1:
        yield from (run_one(*task) for task in tasks)
        return
    with multiprocessing.get_context().Pool(jobs) as pool:
        yield from pool.imap_unordered(_run_task, tasks, chunksize=1)


def _run_task(task: tuple[int, int] | tuple[int, int, str]) -> RunResult:
    return run_one(*task)


def sweep(runs: int, seed: int, *, jobs: int = 1, resume: Path | None = None, version: int = VERSION,
          on_result: Callable[[RunResult, int, int], None] | None = None, consensus: str = "pbft") -> SweepSummary:
    """Run seeds seed … seed + runs − 1 (those not already in `resume`), J at a time.

    Each finished run is appended to `resume` as one JSON line at once, so a sweep stopped at
    any moment loses at most the runs in progress. on_result(result, done, total) reports progress.
    """
    wanted = list(range(seed, seed + runs))
    done = read_results(resume, version) if resume is not None else {}
    summary = SweepSummary([done[s] for s in wanted if s in done])
    todo = [s for s in wanted if s not in done]
    stream = resume.open("a", encoding="utf-8") if resume is not None else None
    if stream is not None and resume is not None and resume.stat().st_size and not resume.read_bytes().endswith(b"\n"):
        stream.write("\n")  # a line half-written when the last sweep was stopped: start a fresh one
    try:
        for result in _results(todo, jobs, version, consensus):
            summary.results.append(result)
            if stream is not None:
                stream.write(result.to_json() + "\n")
                stream.flush()
            if on_result is not None:
                on_result(result, len(summary.results), len(wanted))
    finally:
        if stream is not None:
            stream.close()
    return summary


def seeds_of(results: Iterable[RunResult]) -> list[int]:
    return sorted(r.seed for r in results)
