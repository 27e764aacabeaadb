"""Crash and restart: a restarted sealer keeps its word, finds blocks it lacks, and rejoins the view.

* Votes are durable: whatever a sealer signed at the height being decided is in its store before
  the message leaves, so a node restarted at any moment never signs a conflicting proposal, vote,
  execution result or ViewChange (the checker scans every message an honest node sends).
* Block sync is retried on Tick while peers are known to be ahead, without any help from the driver.
* A node restarted in view 0 while the others moved on joins their view once more than f weight of
  sealers shows it is there.
"""

from __future__ import annotations

import random

import pytest

from chain.consensus.pbft import effects as fx
from chain.sim import SimConfig, Simulation


def _crash_restart_storm(sim: Simulation, honest: list[int], seed: int, cycles: int, span_ms: int) -> list[int]:
    """Schedule `cycles` crash/restart pairs of random honest nodes at random moments, one down at a time."""
    rng = random.Random(seed)
    moments = sorted(rng.randrange(200, span_ms) for _ in range(cycles))
    victims = []
    busy_until = 0
    for at in moments:
        at = max(at, busy_until + 1)
        down = rng.randrange(0, 400)
        victim = rng.choice(honest)
        victims.append(victim)
        sim.schedule(at, lambda i=victim: sim.crash(i))
        sim.schedule(at + down, lambda i=victim: sim.restart(i))
        busy_until = at + down
    return victims


@pytest.mark.timeout(120)
@pytest.mark.parametrize("seed, behaviour", [(3, "equivocate"), (4, "replay"), (5, "double_vote")])
def test_restarted_sealers_never_sign_twice(seed: int, behaviour: str) -> None:
    sim = Simulation(SimConfig(nodes=4, seed=seed, byzantine={3: behaviour}, tx_rate=30, min_seal_time_ms=100,
                               timeout_ms=600, latency_ms=(5, 40)))
    _crash_restart_storm(sim, [0, 1, 2], seed, cycles=60, span_ms=24_000)
    restarts: list[int] = []
    sim.subscribe(lambda r: restarts.append(r["node"]) if r["ev"] == "restart" else None)
    sim.run_until(25_000)
    assert len(restarts) == 60
    report = sim.check()
    assert report.no_double_signing, report.violations
    assert report.ok, report.violations
    # The storm did not stop the chain: restarted nodes came back and blocks kept coming.
    assert report.highest >= 5
