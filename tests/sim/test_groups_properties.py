"""Property, two groups on one network: whatever happens to the hosts, each group stays safe, and
once the faults end each group is live again — judged on its own (chain.sim.groups).

Six hosts, group0 on hosts 0-3 and group1 on hosts 2-5 (f = 1 in each). A schedule crashes,
restarts and partitions hosts, so a fault on host 2 or 3 hits both groups at once; at most one
Byzantine host per group (a liar on host 2 or 3 lies in both). Loss and duplication are the
network's. Then everything heals — the liars keep lying — and each group must commit again.
The model is tests/sim/test_properties.py; seeded, a few examples (CHAIN_LONG_TESTS=1: more).
"""

from __future__ import annotations

import os
from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain.sim import SimConfig
from chain.sim.byzantine import BEHAVIOURS
from chain.sim.groups import GroupsConfig, GroupsSimulation, overlapping_groups
from tests.sim.budget import TimeBudget

LONG = os.environ.get("CHAIN_LONG_TESTS") == "1"
EXAMPLES = 200 if LONG else 10  # about 0.6 s each here
BUDGET_S = 1800 if LONG else 60
FAULTS_END_MS = 3000
HOSTS, GROUPS = overlapping_groups(["group0", "group1"])

Action = tuple[int, str, tuple[int, ...]]


@st.composite
def schedules(draw: st.DrawFn) -> tuple[GroupsConfig, list[Action]]:
    liars = draw(st.lists(st.integers(0, HOSTS - 1), max_size=2, unique=True))
    # at most f = 1 liar in each group
    liars = [h for k, h in enumerate(liars)
             if all(sum(x in g.sealers for x in liars[:k + 1]) <= 1 for g in GROUPS)]
    base = SimConfig(
        seed=draw(st.integers(0, 2**32)), tx_rate=draw(st.sampled_from([10, 30])),
        loss=draw(st.sampled_from([0.0, 0.02, 0.1])), duplicate=draw(st.sampled_from([0.0, 0.05])),
        latency_ms=draw(st.sampled_from([(5, 20), (10, 80)])), timeout_ms=draw(st.sampled_from([600, 1500])),
        min_seal_time_ms=100,
    )
    config = GroupsConfig(hosts=HOSTS, groups=GROUPS, base=base,
                          byzantine={h: draw(st.sampled_from(sorted(BEHAVIOURS))) for h in liars})
    actions = []
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, FAULTS_END_MS))
        kind = draw(st.sampled_from(["partition", "heal", "crash", "restart"]))
        if kind == "partition":
            side = draw(st.lists(st.integers(0, HOSTS - 1), min_size=1, max_size=HOSTS - 1, unique=True))
            actions.append((at, kind, tuple(sorted(side))))
        elif kind in ("crash", "restart"):
            actions.append((at, kind, (draw(st.integers(0, HOSTS - 1)),)))
        else:
            actions.append((at, kind, ()))
    return config, sorted(actions)


def check_schedule(config: GroupsConfig, actions: list[Action]) -> None:
    world = GroupsSimulation(config)
    for at, kind, args in actions:
        if kind == "partition":
            rest = [h for h in range(HOSTS) if h not in args]
            world.schedule(at, partial(world.partition, [list(args), rest]))
        elif kind == "heal":
            world.schedule(at, world.heal)
        elif kind == "crash":
            world.schedule(at, partial(world.crash, args[0]))
        else:
            world.schedule(at, partial(world.restart, args[0]))
    world.run_until(FAULTS_END_MS)
    world.heal()
    for host in range(HOSTS):
        world.restart(host)
    world.set_loss(0.0)
    world.run_until(FAULTS_END_MS + 500)
    for name, report in world.check().items():  # safety, in each group, whatever happened
        assert report.agreement and report.validity and report.no_gaps and report.no_double_signing, (name, report.violations)
    bound = max(sim.recovery_bound_ms() for sim in world.groups.values())
    world.run_until_live(bound + 1000)
    for name, sim in world.groups.items():
        report = sim.check()
        assert not any("internal error" in reason for reason in sim.rejections), (name, sorted(sim.rejections))
        assert sim.liveness.gst_ms is not None and sim.liveness.gst_ms <= FAULTS_END_MS
        assert report.ok, (name, report.violations)
        assert report.live is True, (name, report.liveness_after_gst, report.heights)


@pytest.mark.timeout(BUDGET_S + 120, method="thread")
def test_two_groups_stay_safe_under_host_faults_and_each_recovers() -> None:
    budget = TimeBudget(BUDGET_S)

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(schedules())
    def examples(schedule: tuple[GroupsConfig, list[Action]]) -> None:
        budget.check()
        check_schedule(*schedule)

    budget.run(examples)
