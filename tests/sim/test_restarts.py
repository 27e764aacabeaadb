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
from chain.consensus.pbft.messages import MsgType, PrePrepare, Vote, sign_message
from chain.ledger.block import BlockHeader
from chain.sim import SimConfig, Simulation
from chain.sim.network import LinkProfile


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


def _lagging_node(seed: int) -> Simulation:
    """Four sealers on an idle chain (no client load); node 3 crashed while the others made 4 blocks.

    The view timer is long, so that a lagging node's ViewChange (which peers answer with the blocks
    it lacks) cannot stand in for the sync retries under test.
    """
    sim = Simulation(SimConfig(nodes=4, seed=seed, tx_rate=0, timeout_ms=10_000))
    sim.crash(3)
    for _ in range(4):
        sim.submit_transactions(2, node=0)
        assert sim.run_blocks(1, 20_000) == 1
    sim.run_until(sim.now_ms + 2000)
    assert sim.nodes[3].store.head_number() == 0 and sim.nodes[0].store.head_number() == 4
    return sim


def _cut_links(sim: Simulation, pairs: list[tuple[int, int]], until_ms: int) -> None:
    for pair in pairs:
        sim.network.links[pair] = LinkProfile(loss=1.0)
    sim.schedule(until_ms, sim.network.links.clear)


@pytest.mark.timeout(60)
def test_a_restarted_node_asks_again_until_a_peer_is_heard() -> None:
    # Like a node process whose first sync request left before any peer link was up: it is lost.
    sim = _lagging_node(seed=31)
    _cut_links(sim, [(3, 0), (3, 1), (3, 2)], sim.now_ms + 1500)
    sim.restart(3)
    sim.run_until(sim.now_ms + 6000)  # no client load: nothing else would tell node 3 it is behind
    assert sim.nodes[3].store.head_number() == 4
    assert sim.check().ok


@pytest.mark.timeout(60)
def test_sync_is_retried_on_tick_while_peers_claim_to_be_ahead() -> None:
    sim = _lagging_node(seed=32)
    sim.restart(3)  # its start-up request goes out and is answered...
    sim.run_until(sim.now_ms + 500)
    assert sim.nodes[3].store.head_number() == 4
    sim.crash(3)
    for _ in range(3):  # ...then it falls behind again, comes back, and its requests are lost for a while
        sim.submit_transactions(2, node=0)
        assert sim.run_blocks(1, 20_000) == 1
    _cut_links(sim, [(3, 0), (3, 1), (3, 2)], sim.now_ms + 2500)
    sim.restart(3)
    sim.submit_transactions(2, node=0)  # one more block: node 3 hears of heights above its own
    sim.run_until(sim.now_ms + 1500)
    replica = sim.nodes[3].replica
    assert replica is not None and replica.height == 5  # every request so far was lost
    sim.run_until(sim.now_ms + 4000)  # links are back; only its own retries can fetch the blocks now
    assert sim.nodes[3].store.head_number() == sim.nodes[0].store.head_number() == 8
    assert sim.check().ok


def test_more_than_f_weight_in_a_higher_view_is_joined_without_its_new_view() -> None:
    sim = Simulation(SimConfig(nodes=4, seed=33, tx_rate=0))
    sim.submit_transactions(2, node=0)
    assert sim.run_blocks(1, 20_000) == 1
    sim.run_until(sim.now_ms + 1000)
    replica = sim.nodes[0].replica
    assert replica is not None and replica.view == 0
    height, view = replica.height, 3

    def commit_from(sender: int) -> list[fx.Effect]:
        raw = sign_message(sim.suite, sim.nodes[sender].key.secret, MsgType.COMMIT, sender,
                           Vote(view, height, b"\x07" * 32)).raw
        return replica.handle(fx.Deliver(sim.nodes[sender].node_id, raw), sim.now_ms)

    commit_from(1)
    assert replica.view == 0  # f = 1: one sealer's word could be a lie
    effects = commit_from(2)
    assert replica.view == view and replica.to_view == view
    assert fx.ViewChanged(height, view) in effects
    # Not having seen the NewView, it does not know which block the view must re-propose: it takes
    # no PrePrepare of that view at this height.
    leader = replica.leader(view)
    head = replica.head
    header = BlockHeader(parent_hash=replica.head_hash, number=height, timestamp=head.header.timestamp + 1,
                         sealer=leader, sealer_list=replica.sealer_ids, transactions_root=b"\x00" * 32)
    pp = sign_message(sim.suite, sim.nodes[leader].key.secret, MsgType.PRE_PREPARE, leader,
                      PrePrepare(view, height, header, (b"\x01" * 32,))).raw
    effects = replica.handle(fx.Deliver(sim.nodes[leader].node_id, pp), sim.now_ms)
    assert any(isinstance(e, fx.Rejected) and "joined without its NewView" in e.reason for e in effects)


@pytest.mark.timeout(60)
def test_a_node_restarted_after_view_changes_rejoins_the_view_and_votes() -> None:
    sim = Simulation(SimConfig(nodes=4, seed=34, timeout_ms=1000))
    sim.crash(0)
    sim.run_blocks(8, 60_000)  # every block node 0 should have proposed costs a view change
    views = {n.replica.view for n in sim.nodes[1:] if n.replica is not None}
    assert len(views) == 1 and (view := views.pop()) >= 2
    votes: list[tuple[int, int]] = []
    sim.subscribe(lambda r: votes.append((r["number"], r["view"]))
                  if r["ev"] == "send" and r["from"] == 0 and r["type"] in ("PREPARE", "COMMIT") else None)
    sim.crash(3)  # from now on no block without node 0's votes
    sim.restart(0)
    assert sim.run_blocks(3, 30_000) == 3
    report = sim.check()
    assert report.ok, report.violations
    assert sim.nodes[0].replica is not None and sim.nodes[0].replica.view >= view
    assert any(v >= view for _, v in votes)
