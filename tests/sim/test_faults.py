"""Crashes, partitions, lagging nodes and observers: liveness where PBFT promises it, safety always."""

from __future__ import annotations

import pytest

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.messages import MsgType, Vote, sign_message
from chain.sim import SimConfig, Simulation


def _heights(sim: Simulation) -> list[int]:
    return [node.store.head_number() for node in sim.nodes]


@pytest.mark.timeout(60)
def test_leader_crash_view_change_then_progress() -> None:
    sim = Simulation(SimConfig(nodes=4, seed=21))
    sim.run_blocks(2, 20_000)
    replica = sim.nodes[0].replica
    assert replica is not None
    leader = replica.leader()
    sim.crash(leader)
    before = sim.checker.highest
    assert sim.run_blocks(4, 60_000) == 4
    report = sim.check()
    assert report.ok, report.violations
    assert report.view_changes >= 1
    live = [n.replica for n in sim.nodes if n.replica is not None]
    assert all(r.view >= 1 for r in live)
    assert sim.checker.highest >= before + 4
    # A vote for the view that was left is refused, and changes nothing. (Once a block is ordered,
    # votes of its view or earlier are dropped unread instead: wait until this height's is not.)
    honest = live[0]
    while honest.committed is not None:
        assert sim.step() is not None
    old = sign_message(sim.suite, sim.nodes[leader].key.secret, MsgType.COMMIT, leader, Vote(0, honest.height, b"\x01" * 32))
    effects = honest.handle(fx.Deliver(sim.nodes[leader].node_id, old.raw), sim.now_ms)
    assert any(isinstance(e, fx.Rejected) and "old view" in e.reason for e in effects)


@pytest.mark.timeout(60)
def test_partition_then_heal_converges() -> None:
    sim = Simulation(SimConfig(nodes=4, seed=22))
    sim.run_blocks(2, 20_000)
    sim.partition([[0, 1], [2, 3]])  # neither side has a quorum of 3
    stuck = sim.checker.highest
    sim.run_until(sim.now_ms + 10_000)
    assert sim.checker.highest <= stuck + 1  # at most the block already in its checkpoint phase
    sim.heal()
    assert sim.run_blocks(3, 60_000) == 3
    sim.run_until(sim.now_ms + 3000)
    report = sim.check()
    assert report.ok, report.violations
    assert max(_heights(sim)) - min(_heights(sim)) <= 1


@pytest.mark.timeout(60)
def test_lagging_node_catches_up_by_sync() -> None:
    sim = Simulation(SimConfig(nodes=4, seed=23))
    sim.run_blocks(1, 20_000)
    sim.crash(3)
    sim.run_blocks(6, 60_000)
    behind = sim.nodes[3].store.head_number()
    assert max(_heights(sim)) >= behind + 5
    synced: list[int] = []
    sim.subscribe(lambda r: synced.append(r["number"]) if r["ev"] == "commit" and r["node"] == 3 and r["via"] == "sync" else None)
    sim.restart(3)
    sim.run_blocks(2, 30_000)
    assert behind + 1 in synced
    sim.run_until(sim.now_ms + 2000)
    report = sim.check()
    assert report.ok, report.violations
    assert sim.nodes[3].store.head_number() >= max(_heights(sim)) - 1
    assert any(node.store.block_hash(behind + 1) == sim.nodes[0].store.block_hash(behind + 1) for node in sim.nodes[3:])


@pytest.mark.timeout(60)
def test_observer_follows_without_voting() -> None:
    sim = Simulation(SimConfig(nodes=4, observers=1, seed=24))
    assert sim.run_blocks(5, 30_000) == 5
    sim.run_until(sim.now_ms + 2000)
    observer = sim.nodes[4]
    assert observer.replica is not None and observer.replica.role == "observer"
    assert observer.store.head_number() >= 4
    for number in range(1, observer.store.head_number() + 1):
        block = observer.store.block_by_number(number)
        assert block is not None and block.hash(sim.suite) == sim.nodes[0].store.block_hash(number)
        assert all(index < 4 for index, _ in block.signatures)  # only sealers sign
    assert sim.check().ok


@pytest.mark.timeout(60)
def test_f_crashed_keeps_committing_f_plus_one_stops_without_fork() -> None:
    sim = Simulation(SimConfig(nodes=7, seed=25))  # f = 2
    sim.run_blocks(1, 20_000)
    sim.crash(5)
    sim.crash(6)
    assert sim.run_blocks(4, 90_000) == 4
    sim.crash(4)
    sim.run_until(sim.now_ms + 3000)  # let a block already in its last phase finish
    stalled = sim.checker.highest
    sim.run_until(sim.now_ms + 40_000)
    assert sim.checker.highest == stalled
    report = sim.check()
    assert report.ok, report.violations


@pytest.mark.timeout(60)
def test_add_sealer_by_transaction_takes_effect_at_the_next_block() -> None:
    sim = Simulation(SimConfig(nodes=4, observers=1, seed=8, executor="evm"))
    sim.run_blocks(2, 30_000)
    assert sim.nodes[4].replica is not None and sim.nodes[4].replica.role == "observer"
    sim.add_sealer(4)
    sim.run_blocks(6, 60_000)
    report = sim.check()
    assert report.ok, report.violations
    assert all(node.replica is not None and len(node.replica.sealer_ids) == 5 for node in sim.nodes)
    assert sim.nodes[4].replica is not None and sim.nodes[4].replica.role == "sealer"
    store = sim.nodes[0].store
    sizes = [len(store.block_by_number(n).header.sealer_list) for n in range(1, store.head_number() + 1)]  # type: ignore[union-attr]
    grown = sizes.index(5)
    assert sizes[:grown] == [4] * grown and set(sizes[grown:]) == {5}
    # From then on the new sealer signs blocks too, and a quorum is 4 of 5.
    last = store.head()
    assert last is not None and len(last.signatures) >= 4


def test_add_sealer_needs_the_evm_executor() -> None:
    from chain.errors import ScenarioError

    sim = Simulation(SimConfig(nodes=4, observers=1, seed=8))
    with pytest.raises(ScenarioError):
        sim.add_sealer(4)


@pytest.mark.timeout(60)
def test_node_cut_off_catches_up_on_an_idle_chain() -> None:
    """A node that missed blocks learns of them although nothing new is ever proposed again.

    Only consensus messages told a node that it was behind, and an idle chain sends none: a node
    healed (or restarted) after the others went idle stayed behind until the next transaction
    (seen on real processes: a node restarted into an idle chain at height 2 while the rest were at 15).
    """
    sim = Simulation(SimConfig(nodes=4, seed=25, tx_rate=0))
    sim.submit_transactions(4)
    assert sim.run_blocks(1, 20_000) == 1
    sim.run_until(sim.now_ms + 3000)
    assert _heights(sim) == [1] * 4  # node 3 holds nothing pending that could make it ask
    sim.partition([[0, 1, 2], [3]])
    for _ in range(3):
        sim.submit_transactions(4, node=0)
        sim.run_until(sim.now_ms + 3000)
    behind = sim.nodes[3].store.head_number()
    ahead = sim.nodes[0].store.head_number()
    assert ahead >= behind + 2
    sim.run_until(sim.now_ms + 10_000)  # the chain goes idle: nothing is left to propose
    sim.heal()
    sim.run_until(sim.now_ms + 15_000)
    assert _heights(sim) == [ahead] * 4
    report = sim.check()
    assert report.ok, report.violations
