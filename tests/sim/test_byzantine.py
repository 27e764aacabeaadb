"""Each Byzantine behaviour within f is survived; f + 1 colluders make the checker fail."""

from __future__ import annotations

from typing import Callable

import pytest

from chain.consensus.pbft.messages import Checkpoint, MsgType, decode_envelope
from chain.errors import ScenarioError
from chain.sim import SimConfig, Simulation
from chain.sim.byzantine import BEHAVIOURS, make_behaviour
from chain.sim.runner import SimNode


# PBFT: 4 sealers, node 1 leads block 1. rPBFT: 7 sealers, K = 4 working per 2-block epoch (f = 1
# among them); the seed draws sealers 1, 2, 4, 6 for the first epoch, and node 2 leads block 1.
CHAINS = {
    "pbft": (dict(nodes=4, seed=31), 1),
    "rpbft": (dict(nodes=7, seed=31, consensus="rpbft", epoch_sealers=4, epoch_blocks=2), 2),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("chain", sorted(CHAINS))
@pytest.mark.parametrize("behaviour", sorted(BEHAVIOURS))
def test_one_byzantine_sealer_neither_forks_nor_stalls(chain: str, behaviour: str) -> None:
    settings, liar = CHAINS[chain]
    sim = Simulation(SimConfig(**settings, byzantine={liar: behaviour}))  # type: ignore[arg-type]
    assert sim.nodes[0].replica is not None and sim.nodes[0].replica.leader() == liar  # it leads block 1 (a working sealer)
    assert sim.run_blocks(5, 90_000) == 5
    report = sim.check()
    assert report.ok, report.violations
    assert report.honest == tuple(i for i in range(len(sim.nodes)) if i != liar)
    assert not any("internal error" in reason for reason in sim.rejections)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("behaviour,reason", [
    ("double_vote", "two proposals"), ("forge", "signature"),
    ("invalid_block", "proposal"), ("lie_view_change", "prepared proof"),
])
def test_honest_nodes_name_the_lie(behaviour: str, reason: str) -> None:
    sim = Simulation(SimConfig(nodes=4, seed=32, byzantine={1: behaviour}))
    sim.run_blocks(6, 90_000)
    if behaviour == "lie_view_change":
        sim.crash(2)  # force view changes so the liar gets to send its ViewChange
        sim.run_blocks(5, 90_000)
    assert any(reason in text for text in sim.rejections), sorted(sim.rejections)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("settings,liars", [
    (dict(nodes=4, seed=33), (1, 2)),
    # rPBFT: f + 1 = 2 of the 4 working sealers (0, 1, 3, 5 this epoch) are enough, whatever n is;
    # the leader of block 1 (node 1) sends the two halves of its peers different blocks.
    (dict(nodes=7, seed=33, consensus="rpbft", epoch_sealers=4), (1, 0)),
], ids=["pbft", "rpbft"])
def test_f_plus_one_colluding_equivocators_break_agreement_and_the_checker_says_so(
        settings: dict[str, object], liars: tuple[int, ...]) -> None:
    sim = Simulation(SimConfig(**settings, byzantine={i: "equivocate" for i in liars}))  # type: ignore[arg-type]
    sim.run_until(8000)
    report = sim.check()
    assert not report.agreement and not report.ok
    assert any(v.startswith("agreement: height 1") for v in report.violations)


def test_unknown_behaviour_is_refused() -> None:
    with pytest.raises(ScenarioError):
        make_behaviour("polite")


# --- each safety rule, and the Byzantine behaviour that exploits its absence --------------------------
#
# With the rule in place the honest nodes refuse the lie with the rule's reason, agree, and decide
# the block. tools/mutate.py deletes each rule in turn and runs these tests too: with the rule
# gone, the first assertion below is the one that fails — two honest sealers execute different
# blocks at one height (the Checkpoint phase then refuses to store either, and the height stalls),
# or honest nodes store different blocks. nv_from_leader and proof_from_earlier_view are defence in
# depth: alone, their absence lets no fork through (the proposal's own leader check and the proof's
# quorum check still hold), so the rule tables (tests/consensus/testdata) are what pin them.


def watch_executions(sim: Simulation) -> dict[int, dict[bytes, set[int]]]:
    """height -> executed block hash -> the honest sealers that signed it (read off the Checkpoints they send).

    An honest sealer executes a block only once a commit quorum ordered it, so two hashes at one
    height mean the ordering forked, whether or not a block got stored.
    """
    executed: dict[int, dict[bytes, set[int]]] = {}
    scan = sim.checker.sent

    def sent(node: SimNode, raw: bytes) -> None:
        envelope = decode_envelope(raw)
        if not node.ever_byzantine and envelope.type == MsgType.CHECKPOINT:
            body = envelope.body()
            assert isinstance(body, Checkpoint)
            executed.setdefault(body.number, {}).setdefault(body.block_hash, set()).add(node.index)
        scan(node, raw)

    sim.checker.sent = sent  # type: ignore[method-assign]
    return executed


def ordering_forks(executed: dict[int, dict[bytes, set[int]]]) -> list[str]:
    return [f"ordering fork at height {number}: " + "; ".join(f"nodes {sorted(who)} executed {h.hex()[:12]}"
                                                              for h, who in blocks.items())
            for number, blocks in sorted(executed.items()) if len(blocks) > 1]


def _ordered_at_one_sealer(sim: Simulation) -> None:
    """Node 3 is cut off while node 1 (leader of view 0) proposes; the liar (node 2, leader of view 1)
    lets its Commit reach node 0 only, so the block is ordered at node 0 alone and nodes 0 and 1 ask
    for a view change carrying its prepared proof. Node 3 is back before that view change ends."""
    sim.partition([[0, 1, 2], [3]])
    sim.submit_transactions(2, node=0)
    sim.schedule(4000, sim.heal)


def _leader_crashed(sim: Simulation) -> None:
    """The leader of view 0 is down for a while, so views change with the liar (node 3) among the sealers."""
    sim.submit_transactions(2, node=0)
    sim.crash(1)
    sim.schedule(9000, lambda: sim.restart(1))


def _client_load(sim: Simulation) -> None:
    sim.submit_transactions(2, node=0)
    sim.schedule(2000, lambda: sim.submit_transactions(2, node=3))


EXPLOITS = [  # behaviour, its node, the scenario, the rules it exploits (marker names), the rejection
    ("drop_prepared", 2, _ordered_at_one_sealer, "nv_reproposes_prepared highest_prepared_view",
     "NewView replaces a prepared block with another one"),
    ("empty_new_view", 2, _ordered_at_one_sealer, "nv_keeps_prepared pp_higher_view_needs_new_view",
     "NewView drops a prepared block"),
    ("thin_proof", 2, _ordered_at_one_sealer, "proof_quorum vc_proof_checked", "prepared proof: votes weigh 1, a quorum needs 3"),
    ("future_proof", 3, _leader_crashed, "proof_from_earlier_view", "is not before view"),
    ("newview_non_leader", 3, _leader_crashed, "nv_from_leader", "is not the leader of view"),
    ("weak_sync", 2, _client_load, "sync_quorum_signatures sig_quorum", "signatures weigh 1, a quorum needs 3"),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("behaviour,liar,scenario,rules,reason", EXPLOITS, ids=[e[0] for e in EXPLOITS])
def test_the_exploit_is_refused_with_its_reason_and_the_honest_nodes_agree(
        behaviour: str, liar: int, scenario: Callable[[Simulation], None], rules: str, reason: str) -> None:
    sim = Simulation(SimConfig(nodes=4, seed=34, tx_rate=0, byzantine={liar: behaviour}))
    executed = watch_executions(sim)
    scenario(sim)
    sim.run_until(25_000)
    assert not ordering_forks(executed), ordering_forks(executed)
    report = sim.check()
    assert report.ok, report.violations
    honest = [n for n in sim.nodes if not n.ever_byzantine]
    assert min(n.store.head_number() for n in honest) >= 1, f"the honest nodes did not decide block 1 ({rules})"
    assert any(reason in text for text in sim.rejections), sorted(sim.rejections)
