"""Tree broadcast (FISCO BCOS 2.x broadcast_prepare_by_tree): the shape, the leader's cost, and faults.

A forwarder is a single point for the nodes under it: one that crashes, or that stays honest but
withholds what it should forward, must not stop the chain (the leader's re-send goes to everyone,
working sealers learn a decided height from the Checkpoints, followers fetch what they missed).
"""

from __future__ import annotations

import dataclasses

import pytest

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.messages import MsgType, decode_envelope
from chain.consensus.pbft.rpbft import tree_children
from chain.sim import SimConfig, Simulation
from chain.sim.byzantine import Behaviour
from chain.sim.runner import SimNode
from chain.sim.sweep import draw_schedule, run_schedule


def test_the_tree_reaches_every_member_once_from_any_root() -> None:
    members = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29)
    for root in members:
        parents: dict[int, int] = {}
        for node in members:
            for child in tree_children(members, root, node, 3):
                assert child not in parents, f"{child} has two parents"
                parents[child] = node
        assert set(parents) == set(members) - {root}  # everyone but the root, exactly once
        assert len(tree_children(members, root, root, 3)) == 3  # the root sends 3 copies, not 9


def _leader_messages(consensus: str, nodes: int, width: int) -> float:
    sim = Simulation(SimConfig(nodes=nodes, seed=4, consensus=consensus, tree_width=width))
    assert sim.run_blocks(4, 60_000) == 4
    assert sim.check().ok
    return sim.leader_sends()[0]


@pytest.mark.timeout(120)
def test_with_the_tree_the_leaders_messages_stop_growing_with_n() -> None:
    # rPBFT, K = 4: without the tree the working sealers push every block to (n − K) / K followers each.
    assert _leader_messages("rpbft", 48, 0) > _leader_messages("rpbft", 16, 0) + 5
    assert _leader_messages("rpbft", 48, 3) <= _leader_messages("rpbft", 16, 3) + 1
    # PBFT: the proposal goes to 3 children instead of n − 1 (votes stay all-to-all).
    assert _leader_messages("pbft", 16, 3) < _leader_messages("pbft", 16, 0) - 8


class WithholdForwards(Behaviour):
    """Honest in everything but forwarding: it keeps the proposals and pushed blocks it should pass on."""

    name = "withhold_forwards"

    def outgoing(self, sim: Simulation, node: SimNode, effects: list[fx.Effect]) -> list[fx.Effect]:
        kept: list[fx.Effect] = []
        for effect in effects:
            if isinstance(effect, (fx.Send, fx.Broadcast)):
                envelope = decode_envelope(effect.raw)
                forwarded = effect.type == MsgType.PRE_PREPARE and envelope.sender != node.index
                follower = node.replica is not None and not node.replica.is_sealer
                if forwarded or (effect.type == MsgType.SYNC_RESPONSE and follower):  # a follower's pushes are forwards
                    continue
            kept.append(effect)
        return kept


CASES = [
    # PBFT, 7 sealers in a binary tree: a silent interior node cuts 2 more off the proposal, leaving
    # 4 < quorum 5 holding it: the leader's re-send to everyone (or a view change, whose NewView
    # goes to everyone) is what decides the height then.
    ("pbft", 7, 0, "crash"),
    ("pbft", 7, 0, "withhold"),
    # rPBFT, 7 of 24 working, binary trees: the same over the working set, and a follower forwarder.
    ("rpbft", 24, 7, "crash"),
    ("rpbft", 24, 7, "withhold"),
]


@pytest.mark.timeout(240)
@pytest.mark.parametrize(("consensus", "nodes", "working", "fault"), CASES)
def test_a_forwarder_that_fails_does_not_stop_the_chain(consensus: str, nodes: int, working: int, fault: str) -> None:
    config = SimConfig(nodes=nodes, seed=9, consensus=consensus, epoch_sealers=max(working, 1), tree_width=2)
    sim = Simulation(config)
    status = sim.node_status()
    # Fault one sealer that works (an interior node of the proposal tree for some leaders), and
    # in rPBFT one follower too (an interior node of the push tree for some heights).
    targets = [next(row["node"] for row in status if row["role"] == "sealer" and row["node"] != 0)]
    if consensus == "rpbft":
        targets.append(next(row["node"] for row in status if row["role"] == "resting" and row["node"] >= 4))
    for index in targets:
        if fault == "crash":
            sim.crash(index)
        else:
            sim.nodes[index].behaviour = WithholdForwards()
            sim.nodes[index].ever_byzantine = True
    assert sim.run_blocks(8, 120_000) == 8, "the chain stopped"
    sim.run_until(sim.now_ms + 8_000)  # followers cut off from a push fetch the block they missed
    report = sim.check()
    assert report.ok, report.violations
    top = report.highest
    for node in sim.nodes:
        if node.alive and node.behaviour is None:
            assert node.store.head_number() >= top - 1, f"node {node.index} stays behind at {node.store.head_number()}"


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("consensus", "seed"), [("pbft", 115), ("pbft", 253), ("rpbft", 175)])
def test_forwarding_a_lying_leaders_proposals_is_not_signing_them(consensus: str, seed: int) -> None:
    """Sweep schedules (version 3) with a Byzantine leader, run with binary trees.

    Honest forwarders passed on its two different proposals of one slot, and the checker, which
    took every PrePrepare a node sent for one it signed, called them double signers.
    """
    schedule = draw_schedule(seed, version=3, consensus=consensus)
    schedule = dataclasses.replace(schedule, config=dataclasses.replace(schedule.config, tree_width=2))
    result = run_schedule(schedule)
    assert result.verdict == "ok", result.reason
