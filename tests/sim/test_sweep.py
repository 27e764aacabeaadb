"""The seeded sweep: a fixed handful of its runs, every run that ever failed, and the sweep machinery.

`make test` runs these; `make sweep` (or `chain sim --sweep N`) runs thousands. A seed fixes its
schedule for good only together with its schedule version (chain.sim.sweep.BEHAVIOUR_VERSIONS).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chain.cli.main import app
from chain.consensus.pbft.quorum import max_faulty
from chain.sim import SimConfig, Simulation
from chain.sim import sweep as sweep_module
from chain.sim.byzantine import BEHAVIOURS
from chain.sim.liveness import run_until_live
from chain.sim.sweep import (
    BEHAVIOUR_VERSIONS, VERSION, Action, RunResult, Schedule, draw_schedule, read_results, run_one, run_schedule, sweep,
)

# A fixed sample of the sweep (schedule version 2): short 4- and 7-node runs that between them have
# every kind of fault — Byzantine spells (wrong_digest, double_vote, equivocate, thin_proof,
# drop_prepared, lie_view_change, invalid_block, newview_non_leader, future_proof, weak_sync,
# silent, forge), loss, lasting loss, crash churn, partitions, all-node crashes.
SAMPLE = [1, 2, 3, 5, 6, 12, 13, 14, 15, 16, 20, 27, 28, 32, 33, 37, 39, 40, 48, 58]

# Every (version, seed) that ever failed, with what it found. Never remove one: each is a halt or a
# broken rule that came back once already. Add a new failure here as soon as the sweep finds it.
EVER_FAILED = [
    # Found by `chain sim --sweep 60 --seed 1` on the core before ce88cd9 (issue 11): halts after GST.
    (1, 4, "n = 7: a double_vote spell, crashes, loss, a partition; stalled at height 17 after GST"),
    (1, 13, "n = 4: node 1 double-votes for ever, 10 % loss, a crash; stalled at height 7 after GST"),
    (1, 31, "n = 7: three crashed at once, then a 3 | 4 partition; stalled at height 10 after GST"),
    (1, 42, "n = 4: a wrong_digest spell, a half partition, a crash, then 2 % loss for ever: no block in 111 s"),
    (1, 60, "n = 4: a double_vote spell and crashes; stalled at height 21 after GST"),
    # Found by `chain sim --sweep 10000 --seed 100000` on 423bb3f: Checkpoints lost in a healed
    # 2 | 2 partition were never re-sent, because each 1 s view change reset the re-send clock.
    (3, 105147, "n = 4: a lie_view_change spell, a 2 | 2 partition, 1 s timer; stalled at height 3 after GST"),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", SAMPLE)
def test_a_sample_of_the_sweep_is_safe_and_live(seed: int) -> None:
    result = run_one(seed, 2)
    assert result.verdict == "ok", "\n".join([result.reason, *draw_schedule(seed, 2).describe()])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("version, seed, found", EVER_FAILED, ids=[f"v{v}-seed{s}" for v, s, _ in EVER_FAILED])
def test_every_seed_that_ever_failed_now_passes(version: int, seed: int, found: str) -> None:
    result = run_one(seed, version)
    assert result.verdict == "ok", "\n".join([f"once: {found}", f"now: {result.reason}",
                                              *draw_schedule(seed, version).describe()])


# --- the known halts of issue 11, as they were reported ------------------------------------------


@pytest.mark.timeout(60)
def test_all_nodes_crashed_twice_while_a_block_is_prepared_recovers() -> None:
    """Halt (b): every node crashed twice around a prepared block; the chain stayed at height 2."""
    sim = Simulation(SimConfig(nodes=4, seed=3, duplicate=0.05, timeout_ms=1000, min_seal_time_ms=200, tx_rate=20.0))
    for crash_at, down_ms in ((1055, 1091), (3754, 1432)):
        sim.schedule(crash_at, lambda: [sim.crash(i) for i in range(4)])
        sim.schedule(crash_at + down_ms, lambda: [sim.restart(i) for i in range(4)])
    sim.run_until(3754 + 1432)
    assert run_until_live(sim, sim.recovery_bound_ms() + 1000)
    report = sim.check()
    assert report.ok and report.live is True and report.highest > 3, report.liveness_after_gst


@pytest.mark.timeout(120)
def test_three_equivocators_of_ten_under_loss_reach_twenty_blocks() -> None:
    """Halt (c): n = 10, equivocators 1, 2, 3 (f = 3), 5 % loss for ever: 19 blocks in 600 s, then nothing."""
    sim = Simulation(SimConfig(nodes=10, seed=3, loss=0.05, byzantine={i: "equivocate" for i in (1, 2, 3)}))
    assert sim.run_blocks(20, 120_000) == 20
    assert sim.check().ok


# --- the machinery ------------------------------------------------------------------------------


def test_schedules_are_fixed_by_version_and_seed() -> None:
    assert draw_schedule(7, 1) == draw_schedule(7, 1) and draw_schedule(7, 2) == draw_schedule(7, 2)
    assert draw_schedule(7, 1) != draw_schedule(8, 1)
    # Schedule version 1 of seed 42, as the sweep that found its stall drew it.
    assert [a.describe().split() for a in draw_schedule(42, 1).actions][:4] == [
        "0 ms node 0 turns wrong_digest".split(), "3723 ms partition [0, 2] | [1, 3]".split(),
        "7190 ms crash [0]".split(), "7881 ms loss 0.02".split()]


def test_every_behaviour_is_in_the_latest_schedule_version() -> None:
    for version, names in BEHAVIOUR_VERSIONS.items():
        assert set(names) <= set(BEHAVIOURS), f"version {version} names a behaviour that no longer exists"
    assert set(BEHAVIOUR_VERSIONS[VERSION]) == set(BEHAVIOURS), (
        "a behaviour was added to chain.sim.byzantine: add a new version to BEHAVIOUR_VERSIONS (keep the old ones)")


def test_schedules_have_every_kind_of_fault_and_heal_them_all() -> None:
    seen: set[str] = set()
    nodes: set[int] = set()
    for seed in range(1, 401):
        schedule = draw_schedule(seed)
        n, f = schedule.config.nodes, max_faulty(schedule.config.nodes)
        nodes.add(n)
        byzantine: set[int] = set()
        for action in schedule.actions:
            assert action.at_ms <= schedule.fault_end_ms  # faults only inside the window
            if action.kind == "byzantine":
                byzantine.add(action.nodes[0])
                seen.add(action.behaviour)
                assert len(byzantine) <= f  # never more than f liars at once
            elif action.kind == "honest":
                byzantine.discard(action.nodes[0])
                seen.add("spell")
            elif action.kind == "crash":
                seen.add("all-node crash" if len(action.nodes) == n else "crash")
            elif action.kind == "partition":
                seen.add("minority partition" if min(map(len, action.groups)) == f else "half partition")
            elif action.kind == "network" and action.loss:
                seen.add("lasting loss" if action.at_ms == schedule.fault_end_ms else "loss")
            elif action.kind == "network" and action.duplicate:
                seen.add("duplication")
        end = [a for a in schedule.actions if a.at_ms == schedule.fault_end_ms]
        assert {a.kind for a in end} >= {"heal", "restart", "network"}  # the window ends healed
        assert schedule.recovery_ms >= 60_000
    assert nodes == {4, 7, 10}
    assert seen >= set(BEHAVIOUR_VERSIONS[VERSION]) | {"spell", "crash", "all-node crash", "minority partition", "half partition",
                                      "loss", "lasting loss", "duplication"}


@pytest.mark.timeout(60)
def test_the_same_seed_gives_the_same_result() -> None:
    first, second = run_one(27), run_one(27)
    assert {**first.__dict__, "wall_s": 0} == {**second.__dict__, "wall_s": 0}


def _quick_schedule(actions: tuple[Action, ...], recovery_ms: int = 60_000) -> Schedule:
    config = SimConfig(nodes=4, seed=11, timeout_ms=1000, min_seal_time_ms=200, tx_rate=10.0)
    return Schedule(11, config, actions, 3000, VERSION, 0.0, recovery_ms)


@pytest.mark.timeout(60)
def test_a_run_with_f_plus_one_equivocators_is_a_violation() -> None:
    liars = tuple(Action(0, "byzantine", (i,), behaviour="equivocate") for i in (1, 2))
    result = run_schedule(_quick_schedule(liars, recovery_ms=3000))
    assert result.verdict == "violation" and result.reason.startswith("agreement"), result


@pytest.mark.timeout(60)
def test_a_chain_that_halts_after_its_faults_is_a_stall(monkeypatch: pytest.MonkeyPatch) -> None:
    class Halting(Simulation):
        """Loses every timer once the faults end (3 s): no leader seals, no view changes — the chain halts."""

        def _on_timer(self, index: int, name: str, generation: int) -> int:
            return index if self.now_ms >= 3000 else super()._on_timer(index, name, generation)

    monkeypatch.setattr(sweep_module, "Simulation", Halting)
    result = run_schedule(_quick_schedule((Action(1000, "crash", (2,)), Action(3000, "restart", (2,)))))
    assert result.verdict == "stall" and "stalled at height" in result.reason, result
    assert result.recovered_ms is None


def test_an_exception_is_an_error_not_a_crash_of_the_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(seed: int, version: int) -> Schedule:
        raise RuntimeError("boom")

    monkeypatch.setattr(sweep_module, "draw_schedule", broken)
    result = run_one(5)
    assert result.verdict == "error" and "RuntimeError: boom" in result.reason


def test_resume_skips_the_seeds_already_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[int] = []

    def fake(seed: int, version: int = VERSION) -> RunResult:
        ran.append(seed)
        return RunResult(seed, "stall" if seed == 12 else "ok", "fake", 4, 1, 1, 0.0, version=version)

    monkeypatch.setattr(sweep_module, "run_one", fake)
    resume = tmp_path / "runs.jsonl"
    resume.write_text(RunResult(10, "ok", "earlier", 4, 1, 1, 0.0).to_json() + "\n"
                      + RunResult(11, "ok", "other version", 4, 1, 1, 0.0, version=1).to_json() + "\n{half a li")
    summary = sweep(3, 10, resume=resume)
    assert ran == [11, 12]  # 10 was done; 11 only with another schedule version
    assert sorted(r.seed for r in summary.results) == [10, 11, 12]
    assert [r.seed for r in summary.failures] == [12] and not summary.ok
    assert sorted(read_results(resume)) == [10, 11, 12]
    assert sweep(3, 10, resume=resume).count("ok") == 2 and ran == [11, 12]  # nothing left to run


@pytest.mark.timeout(120)
def test_cli_sweep_runs_in_parallel_resumes_and_reports(tmp_path: Path) -> None:
    resume = tmp_path / "runs.jsonl"
    result = CliRunner().invoke(app, ["sim", "--sweep", "2", "--seed", "13", "--jobs", "2", "--resume", str(resume)])
    assert result.exit_code == 0, result.output
    assert "runs: 2 (seeds 13..14" in result.output and "stalls: 0, safety violations: 0" in result.output
    assert sorted(json.loads(line)["seed"] for line in resume.read_text().splitlines()) == [13, 14]
    again = CliRunner().invoke(app, ["sim", "--sweep", "2", "--seed", "13", "--resume", str(resume), "--explain"])
    assert again.exit_code == 0 and "runs: 2" in again.output


def test_cli_sweep_exits_1_and_names_the_failing_seeds(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(seed: int, version: int = VERSION) -> RunResult:
        verdict = {3: "stall", 4: "violation"}.get(seed, "ok")
        return RunResult(seed, verdict, f"reason {seed}", 4, 1, 1, 0.0, version=version)

    monkeypatch.setattr(sweep_module, "run_one", fake)
    result = CliRunner().invoke(app, ["sim", "--sweep", "4", "--seed", "2"])
    assert result.exit_code == 1
    assert "stalls: 1, safety violations: 1" in result.output
    assert "stall seed 3: reason 3" in result.output and "violation seed 4: reason 4" in result.output
