"""Liveness: the chain commits again once faults end (issue 11's permanent halts, each a regression test).

Each test below halted for good before the fix it names: the honest nodes stayed at one height
while their views climbed. The simulator runs the very replica code the node processes run.
"""

from __future__ import annotations

import pytest

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.messages import MsgType, TxList, TxRequest, decode_envelope
from chain.sim import SimConfig, Simulation
from tests.consensus.test_durable_votes import _prepared_node


def _honest_heights(sim: Simulation) -> list[int]:
    return [n.store.head_number() for n in sim.honest_nodes()]


def _all_heights(sim: Simulation) -> list[int]:
    return [n.store.head_number() for n in sim.nodes]


@pytest.mark.parametrize("behaviour,start_ms,end_ms", [("equivocate", 10_000, 40_000), ("double_vote", 35_666, 59_666)])
def test_after_a_byzantine_spell_all_four_commit_again(behaviour: str, start_ms: int, end_ms: int) -> None:
    """Node 1 lies for a while, then turns honest: two replicas had ordered a block the two others had not.

    An ordered replica dropped every later Prepare and Commit, so when the view change re-proposed
    its block it never sent a Commit in the new view; the others could not order it, and the
    ordered ones waited for Checkpoints forever (stuck at heights 60 and 79). Now a replica
    ordered in view v still takes part in later views (``Replica._of_no_use``).
    """
    sim = Simulation(SimConfig(nodes=4, seed=1, suite="standard", tx_rate=20))
    sim.schedule(start_ms, lambda: sim.set_behaviour(1, behaviour))
    sim.schedule(end_ms, lambda: sim.set_behaviour(1, None))
    sim.run_until(end_ms + 1000)
    at_end_of_spell = max(_all_heights(sim))
    sim.run_until(end_ms + 20_000)
    assert min(_all_heights(sim)) >= at_end_of_spell + 10, _all_heights(sim)
    assert sim.check().ok


def test_all_sealers_crash_while_a_block_is_prepared_and_the_chain_goes_on() -> None:
    """The prepared block's transactions lived only in memory: the re-proposal could never be made.

    Now each sealer keeps a proposal's transactions with its vote on it, takes them back after a
    restart and serves them to any peer that asks.
    """
    sim = Simulation(SimConfig(nodes=4, seed=3, duplicate=0.05, timeout_ms=1000, min_seal_time_ms=200, tx_rate=20.0))

    def crash_all(restart_after_ms: int) -> None:
        for i in range(4):
            sim.crash(i)
            sim.schedule(sim.now_ms + restart_after_ms, lambda i=i: sim.restart(i))

    sim.schedule(1055, lambda: crash_all(1091))
    sim.schedule(3754, lambda: crash_all(1432))
    sim.run_until(6000)
    after_restarts = max(_all_heights(sim))
    sim.run_until(20_000)
    assert min(_all_heights(sim)) >= after_restarts + 10, _all_heights(sim)
    assert sim.check().ok


def test_with_five_percent_loss_and_no_other_fault_four_honest_nodes_keep_committing() -> None:
    """Lost Checkpoints and Commits were never sent again: a quorum could never form (seeds 4, 5 halted)."""
    for seed in (4, 5):
        sim = Simulation(SimConfig(nodes=4, seed=seed, loss=0.05, tx_rate=20, timeout_ms=1000, min_seal_time_ms=200))
        sim.run_until(30_000)
        assert min(_honest_heights(sim)) >= 30, (seed, _honest_heights(sim))
        assert sim.check().ok


def test_a_restarted_sealer_takes_back_the_transactions_of_the_proposal_it_accepted() -> None:
    sim, height = _prepared_node(seed=43)
    before = sim.nodes[0].replica
    assert before is not None and before.proposals
    proposal = before.proposals[before.view]
    tx_hashes = proposal.pre_prepare.tx_hashes
    sim.crash(0)
    sim.restart(0)
    after = sim.nodes[0].replica
    assert after is not None and after.height == height
    assert all(after.pool.get(h) is not None for h in tx_hashes)
    # And it serves them to a peer that asks, e.g. a new leader that must re-propose the block.
    asker = sim.nodes[1].replica
    assert asker is not None
    request = asker.sign(MsgType.TX_REQUEST, TxRequest(height, tx_hashes))
    effects = after.handle(fx.Deliver(sim.nodes[1].node_id, request.raw), sim.now_ms)
    responses = [decode_envelope(e.raw) for e in effects if isinstance(e, fx.Send) and e.type == MsgType.TX_RESPONSE]
    assert len(responses) == 1
    body = responses[0].body()
    assert isinstance(body, TxList) and len(body.txs) == len(tx_hashes)


def test_a_stuck_sealer_resends_the_same_bytes_only_after_resend_ms_without_a_block() -> None:
    sim, height = _prepared_node(seed=44)
    replica = sim.nodes[0].replica
    assert replica is not None
    sent_commit = replica.current.sent_raw[(int(MsgType.COMMIT), replica.view)]
    due = replica.current.since + replica.config.resend_ms  # this height began to be decided then
    assert sim.now_ms < due
    # Less than resend_ms without a block: a Tick re-sends nothing.
    early = replica.handle(fx.Tick(), due - 1)
    assert not [e for e in early if isinstance(e, fx.Broadcast)]
    late = replica.handle(fx.Tick(), due)
    resent = {e.type: e.raw for e in late if isinstance(e, fx.Broadcast)}
    assert resent.get(MsgType.COMMIT) == sent_commit  # the very same envelope: counted once by receivers
    assert MsgType.PREPARE in resent or MsgType.PRE_PREPARE in resent
    # Right after a re-send, the next Tick waits another resend_ms.
    again = replica.handle(fx.Tick(), due + 1)
    assert not [e for e in again if isinstance(e, fx.Broadcast)]


def test_a_sealer_cut_off_alone_does_not_run_views_ahead_and_its_transactions_get_through() -> None:
    """Node 3 is alone for a minute with client transactions; then it is healed and node 0 crashes.

    Before: node 3 climbed a view per timeout on its own (to view 53 and rising), refusing every
    view the others could form, and its transactions, gossiped once into the partition, never
    reached anyone else — they were never committed. Now it waits in the first view it asked for
    until a quorum asks too (re-sending its ViewChange), and re-gossips pending transactions.
    """
    sim = Simulation(SimConfig(nodes=4, seed=7, tx_rate=0, timeout_ms=1000, min_seal_time_ms=200))
    sim.schedule(100, lambda: sim.partition([[3], [0, 1, 2]]))
    sim.schedule(500, lambda: sim.submit_transactions(5, node=3))
    sim.run_until(60_000)
    lone = sim.nodes[3].replica
    assert lone is not None and lone.to_view == 1, "it asked for view 1 and waited there"
    sim.heal()
    sim.run_until(61_000)
    sim.crash(0)
    sim.submit_transactions(5, node=1)
    sim.run_until(120_000)
    for node in sim.nodes[1:]:
        assert node.replica is not None and len(node.replica.pool) == 0, f"node {node.index} still has pending txs"
        assert sum(len(node.store.block_by_number(n).transactions) for n in range(1, node.store.head_number() + 1)) == 10
    assert sim.check().ok


def test_pooled_transactions_made_invalid_by_a_config_change_are_dropped_not_proposed_forever() -> None:
    """tx_gas_limit is lowered while transactions with a higher gas limit wait in the pools.

    Every replica refuses a proposal holding one, yet they stayed pooled: the replicas holding them
    asked for view changes forever, and a leader proposing them halted the chain. Now a pool drops
    them when the block that lowers the limit is committed.
    """
    from chain.execution.governance import set_config_tx
    from chain.ledger.system import TX_GAS_LIMIT
    from chain.ledger.transaction import new_transaction, sign_transaction

    sim = Simulation(SimConfig(nodes=4, seed=5, tx_rate=0, executor="evm", tx_count_limit=1))
    lower = set_config_tx(sim.suite, TX_GAS_LIMIT, 100_000, block_limit=500, nonce=1)
    sim._handle(sim.nodes[0], fx.SubmitTransactions((sign_transaction(lower, sim.admin_key),)))
    sim.submit_transactions(3, node=0)  # gas limit 300,000,000: valid now, too much once the change is in force
    sim.run_until(30_000)
    assert sim.checker.highest >= 1
    assert all(node.replica is not None and len(node.replica.pool) == 0 for node in sim.nodes)
    assert all(node.replica is not None and node.replica.to_view == node.replica.view for node in sim.nodes)
    # And the chain still commits what is valid under the new limit.
    fits = sign_transaction(new_transaction(to=b"\x10" * 20, data=b"", block_limit=500, gas_limit=50_000, nonce=7),
                            sim.client_key)
    before = sim.checker.highest
    sim._handle(sim.nodes[2], fx.SubmitTransactions((fits,)))
    sim.run_until(45_000)
    assert sim.checker.highest == before + 1
    assert sim.check().ok
