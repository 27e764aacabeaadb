"""Several groups on one simulated network (chain.sim.groups): isolated ledgers, shared machines.

Two groups of 4 sealers on 6 hosts (group0 on hosts 0-3, group1 on hosts 2-5): each has its own
genesis, pool and replicas; a host's fault hits every group it is in and no other; each group is
judged on its own; the same seed gives the same world trace.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from chain.consensus.pbft import effects as fx
from chain.errors import ScenarioError
from chain.sim import SimConfig
from chain.sim.groups import (
    GroupSpec, GroupsConfig, GroupsSimulation, group_id_of, group_names, overlapping_groups,
)
from chain.sim.trace import Recorder

BASE = SimConfig(seed=5, tx_rate=20, min_seal_time_ms=200)


def world(**base: Any) -> GroupsSimulation:
    hosts, groups = overlapping_groups(["group0", "group1"])
    config = SimConfig(**{**BASE.__dict__, **base})
    return GroupsSimulation(GroupsConfig(hosts=hosts, groups=groups, base=config))


def test_two_overlapping_groups_on_six_hosts() -> None:
    hosts, groups = overlapping_groups(["group0", "group1"])
    assert hosts == 6
    assert [g.sealers for g in groups] == [(0, 1, 2, 3), (2, 3, 4, 5)]
    assert [group_id_of(g.name) for g in groups] == [1, 2]  # 2.x ids: group<K> is K + 1
    assert group_names("2") == ["group0", "group1"] and group_names("group0,group7") == ["group0", "group7"]


@pytest.mark.timeout(60)
def test_each_group_keeps_its_own_ledger() -> None:
    w = world()
    assert w.run_blocks(3, 30_000) == {"group0": 3, "group1": 3}
    g0, g1 = w.groups["group0"], w.groups["group1"]
    genesis0, genesis1 = (g.nodes[0].store.block_by_number(0) for g in (g0, g1))
    assert genesis0 is not None and genesis1 is not None
    assert genesis0.hash(g0.suite) != genesis1.hash(g1.suite)  # two chains from block 0 on
    # the shared host 2 is node 2 of group0 and node 0 of group1: one key, two stores
    assert g0.nodes[2].node_id == g1.nodes[0].node_id and g0.nodes[2].store is not g1.nodes[0].store
    for group_id, sim in ((1, g0), (2, g1)):
        store = sim.nodes[0].store
        txs = [tx for n in range(1, store.head_number() + 1) for tx in store.block_by_number(n).transactions]  # type: ignore[union-attr]
        assert txs and {tx.group_id for tx in txs} == {group_id}  # only its own business's transactions
        other = (g1 if sim is g0 else g0).nodes[0].store
        assert not any(other.has_transaction(tx.hash(sim.suite)) for tx in txs)
    assert all(report.ok for report in w.check().values())
    # nothing of one group reached the other's replicas: they would have refused it (wrong signature domain)
    assert not any("signature" in reason for sim in (g0, g1) for reason in sim.rejections), (g0.rejections, g1.rejections)


@pytest.mark.timeout(60)
def test_a_crashed_host_stops_its_nodes_in_every_group_and_only_there() -> None:
    w = world()
    w.run_blocks(2, 30_000)
    w.crash(2)  # in both groups
    assert [n.alive for n in w.groups["group0"].nodes] == [True, True, False, True]
    assert [n.alive for n in w.groups["group1"].nodes] == [False, True, True, True]
    w.restart(2)
    w.crash(5)  # group1 only
    assert all(n.alive for n in w.groups["group0"].nodes)
    assert [n.alive for n in w.groups["group1"].nodes] == [True, True, True, False]
    with pytest.raises(ScenarioError, match="no host 6"):
        w.crash(6)


@pytest.mark.timeout(90)
def test_group1_loses_its_quorum_and_group0_keeps_committing() -> None:
    w = world()
    w.run_blocks(2, 30_000)
    w.crash(4)
    w.crash(5)  # group1: 2 of 4 sealers left, no quorum; group0 has none of these hosts
    before = {name: sim.checker.highest for name, sim in w.groups.items()}
    w.run_until(w.now_ms + 8_000)
    assert w.groups["group1"].checker.highest == before["group1"]
    assert w.groups["group0"].checker.highest >= before["group0"] + 5
    reports = w.check()
    assert reports["group0"].ok and reports["group0"].live is True  # its faults never touched group0
    assert reports["group1"].ok and reports["group1"].live is None  # not judged: its faults never ended
    w.restart(4)
    w.restart(5)
    w.run_until(w.now_ms + 15_000)
    reports = w.check()
    assert reports["group1"].live is True and reports["group1"].highest > before["group1"]


@pytest.mark.timeout(90)
def test_a_partition_cuts_each_group_where_it_has_hosts() -> None:
    w = world()
    w.run_blocks(2, 30_000)
    w.partition([[0, 1, 2, 3], [4, 5]])  # group0 whole; group1 split 2 | 2
    assert w.groups["group0"].network.groups == ()
    assert w.groups["group1"].network.groups == (frozenset({0, 1}), frozenset({2, 3}))
    before = {name: sim.checker.highest for name, sim in w.groups.items()}
    w.run_until(w.now_ms + 6_000)
    assert w.groups["group0"].checker.highest > before["group0"]
    assert w.groups["group1"].checker.highest == before["group1"]
    w.heal()
    w.run_until(w.now_ms + 15_000)
    reports = w.check()
    assert all(r.ok and r.live is True for r in reports.values()), {n: r.liveness_after_gst for n, r in reports.items()}


def _world_trace(seed: int) -> str:
    w = world(seed=seed, loss=0.02)
    recorder = Recorder()
    w.subscribe(recorder)
    w.set_behaviour(3, "replay")
    w.run_blocks(2, 30_000)
    w.crash(4)
    w.partition([[0, 1], [2, 3, 4, 5]])
    w.run_until(w.now_ms + 3_000)
    w.heal()
    w.restart(4)
    w.run_blocks(2, 30_000)
    return recorder.text()


@pytest.mark.timeout(90)
def test_same_seed_same_world_trace() -> None:
    first = _world_trace(7)
    assert first == _world_trace(7)
    assert first != _world_trace(8)
    records = [json.loads(line) for line in first.splitlines()]
    assert {r["group"] for r in records} == {"group0", "group1"}
    crashes = [r for r in records if r["ev"] == "crash"]
    assert [(r["group"], r["node"]) for r in crashes] == [("group1", 2)]  # host 4 is node 2 of group1 only


def _captured(w: GroupsSimulation, group: str, msg_type: str) -> list[tuple[int, int, bytes]]:
    """Record (sender's host, height, raw) of each message of a type a group sends (raw bytes are not traced)."""
    sim = w.groups[group]
    seen: list[tuple[int, int, bytes]] = []
    transmit = sim._transmit

    def spy(src: int, dst: int, raw: bytes, kind: Any, number: int, view: int) -> None:
        if getattr(kind, "name", kind) == msg_type:
            seen.append((w.host_of(group, src), number, raw))
        transmit(src, dst, raw, kind, number, view)
    setattr(sim, "_transmit", spy)
    return seen


@pytest.mark.timeout(60)
@pytest.mark.parametrize("source, target", [("group0", "group1"), ("group1", "group0")])
def test_a_message_replayed_into_another_group_is_refused(source: str, target: str) -> None:
    """Host 2 is in both groups with one key: its Prepare of group `source`, replayed at the same height
    to host 3's replica of group `target`, passes every cheap check and fails on its signature."""
    w = world()
    seen = _captured(w, source, "PREPARE")
    w.run_blocks(2, 30_000)
    target_sim = w.groups[target]
    hosts = target_sim.placement.hosts  # type: ignore[union-attr]
    replica = target_sim.nodes[hosts.index(3)].replica
    assert replica is not None
    # until host 2 signs a Prepare at the height host 3 decides in the target group, not yet prepared there
    # (a Prepare it has no use for is dropped before its signature is looked at)
    for _ in range(20_000):
        same_height = [raw for host, number, raw in seen if host == 2 and number == replica.height]
        if same_height and replica.current.prepared is None:
            break
        w.step()
    effects = target_sim.deliver_raw(hosts.index(2), hosts.index(3), same_height[-1])
    reasons = [e.reason for e in effects if isinstance(e, fx.Rejected)]
    assert any("signature" in r for r in reasons), reasons


@pytest.mark.timeout(60)
def test_a_transaction_of_one_group_is_refused_by_another() -> None:
    w = world(tx_rate=0)
    g0, g1 = w.groups["group0"], w.groups["group1"]
    tx = g0._kv_transactions(1, 0)[0]
    node = g1.nodes[0].replica
    assert node is not None
    effects = node.handle(fx.SubmitTransactions((tx,)), w.now_ms)
    reasons = [e.reason for e in effects if isinstance(e, fx.Rejected)]
    assert reasons == ["transaction refused: groupId 1 is not this group's 2"], effects
    assert len(node.pool) == 0


def test_bad_group_configs_are_refused_before_anything_runs() -> None:
    with pytest.raises(ScenarioError, match="group name"):
        GroupsConfig(hosts=4, groups=(GroupSpec("groupA", (0, 1, 2, 3)),))
    with pytest.raises(ScenarioError, match="group name"):
        group_id_of("group01")  # one spelling per group
    with pytest.raises(ScenarioError, match="listed twice"):
        GroupsConfig(hosts=4, groups=(GroupSpec("group0", (0, 1)), GroupSpec("group0", (2, 3))))
    with pytest.raises(ScenarioError, match="hosts are 0..3"):
        GroupsConfig(hosts=4, groups=(GroupSpec("group0", (0, 1, 2, 4)),))
    with pytest.raises(ScenarioError, match="host is listed twice"):
        GroupsConfig(hosts=4, groups=(GroupSpec("group0", (0, 1), observers=(1,)),))
    with pytest.raises(ScenarioError, match="at least one sealer"):
        GroupsConfig(hosts=4, groups=(GroupSpec("group0", ()),))
    with pytest.raises(ScenarioError, match="GroupsConfig.byzantine"):
        GroupsConfig(hosts=4, groups=(GroupSpec("group0", (0, 1, 2, 3)),), base=SimConfig(byzantine={1: "silent"}))
    with pytest.raises(ScenarioError, match="unknown|behaviour"):
        GroupsConfig(hosts=4, groups=(GroupSpec("group0", (0, 1, 2, 3)),), byzantine={1: "nonsense"})
    with pytest.raises(ScenarioError, match="groups"):
        group_names("0")


def test_a_group_cannot_change_the_shared_network_alone() -> None:
    w = world(tx_rate=0)
    with pytest.raises(ScenarioError, match="faults act on hosts"):
        w.groups["group1"].partition([[0, 1], [2, 3]])
    with pytest.raises(ScenarioError, match="no group"):
        w.group("group9")


def test_a_group_cannot_run_its_own_clock() -> None:
    w = world(tx_rate=0)
    for run in (lambda s: s.step(), lambda s: s.run_until(1000), lambda s: s.run_blocks(1, 1000)):
        with pytest.raises(ScenarioError, match="world's clock"):
            run(w.groups["group0"])
    assert w.now_ms == 0


@pytest.mark.timeout(60)
def test_a_host_observes_one_group_and_seals_in_another_and_a_liar_lies_everywhere() -> None:
    groups = (GroupSpec("group0", (0, 1, 2, 3)), GroupSpec("group1", (2, 3, 4, 5), observers=(0,)))
    w = GroupsSimulation(GroupsConfig(hosts=6, groups=groups, base=BASE, byzantine={3: "silent"}))
    g0, g1 = w.groups["group0"], w.groups["group1"]
    assert g1.placement is not None and g1.placement.hosts == (2, 3, 4, 5, 0)
    assert g1.nodes[4].node_id == g0.nodes[0].node_id  # host 0: a sealer of group0, an observer of group1
    assert [n.behaviour is not None for n in g0.nodes] == [False, False, False, True]
    assert [n.behaviour is not None for n in g1.nodes] == [False, True, False, False, False]
    w.run_blocks(3, 30_000)
    observer = g1.nodes[4].replica
    assert observer is not None and not observer.is_sealer
    assert g1.nodes[4].store.head_number() >= 2  # it follows group1's chain without voting
    assert all(r.ok for r in w.check().values())
