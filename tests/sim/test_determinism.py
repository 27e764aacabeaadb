"""Same seed, same trace bytes; another seed, another run."""

from __future__ import annotations

import json

import pytest

from chain.sim import SimConfig, Simulation
from chain.sim.trace import Recorder


def _trace(**overrides: object) -> str:
    config = dict(nodes=4, seed=7, loss=0.05, duplicate=0.05, byzantine={3: "replay"})
    config.update(overrides)
    sim = Simulation(SimConfig(**config))  # type: ignore[arg-type]
    recorder = Recorder()
    sim.subscribe(recorder)
    sim.run_blocks(4, 30_000)
    sim.crash(1)
    sim.run_until(sim.now_ms + 4000)
    sim.restart(1)
    sim.run_blocks(2, 30_000)
    return recorder.text()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("suite", ["standard", "sm"])
def test_same_seed_gives_identical_trace_bytes(suite: str) -> None:
    first, second = _trace(suite=suite), _trace(suite=suite)
    assert first == second
    kinds = {json.loads(line)["ev"] for line in first.splitlines()}
    assert {"send", "deliver", "commit", "timer", "crash", "restart"} <= kinds
    if suite == "sm":
        assert '"hash"' not in first  # randomized SM2 signatures flow into sm block hashes


@pytest.mark.timeout(60)
def test_different_seed_gives_a_different_trace() -> None:
    assert _trace(seed=7) != _trace(seed=8)


def test_trace_lines_are_sorted_compact_json() -> None:
    line = _trace().splitlines()[5]
    record = json.loads(line)
    assert line == json.dumps(record, sort_keys=True, separators=(",", ":"))
    assert "t" in record and "ev" in record
