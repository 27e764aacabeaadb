"""The simulator's safety property on an auth chain with governance transactions mixed into the load.

Three governors (participation and win rate 51 %) propose config changes and an observer's
promotion, vote (some twice, some against, some on proposals that do not exist or have passed),
revoke, and freeze an account, at random times, while PBFT runs under loss, duplication, a
partition and at most f Byzantine sealers. Whatever passes is executed inside a block like any
other transaction, so the property is the simulator's own: honest nodes agree on every block
(hence on every proposal's fate and the state it leaves), every block is valid, nobody signs twice.
And the governance actually happened: the honest nodes' committee state is the same and non-trivial.

Small and seeded: a handful of hypothesis examples (the sweep in tests/sim covers PBFT at large).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain.abi.codec import encode_call
from chain.consensus.pbft.quorum import max_faulty
from chain.execution.precompiled import ACCOUNT_MANAGER_ADDRESS, COMMITTEE_MANAGER_ADDRESS
from chain.ledger import committee
from chain.ledger.transaction import Transaction, new_transaction, sign_transaction
from chain.sim import SimConfig, Simulation
from chain.sim.byzantine import BEHAVIOURS

pytestmark = pytest.mark.timeout(300)

END_MS = 4000
Action = tuple[int, int, str, int]  # (time, governor, what, argument)


@st.composite
def schedules(draw: st.DrawFn) -> tuple[SimConfig, list[Action]]:
    nodes = draw(st.sampled_from([4, 5]))
    liars = draw(st.lists(st.integers(0, nodes - 1), max_size=max_faulty(nodes), unique=True))
    config = SimConfig(
        nodes=nodes, observers=1, seed=draw(st.integers(0, 2**32)), executor="evm", auth_governors=3,
        byzantine={i: draw(st.sampled_from(sorted(BEHAVIOURS))) for i in liars}, tx_rate=10,
        loss=draw(st.sampled_from([0.0, 0.05])), duplicate=draw(st.sampled_from([0.0, 0.05])),
        latency_ms=(5, 40), timeout_ms=800, min_seal_time_ms=100,
    )
    kinds = ["config", "promote", "vote", "vote", "vote", "against", "revoke", "freeze"]
    actions = [(draw(st.integers(0, END_MS - 1000)), draw(st.integers(0, 2)), draw(st.sampled_from(kinds)),
                draw(st.integers(1, 4))) for _ in range(draw(st.integers(4, 10)))]
    return config, sorted([(100, 0, "config", 1), *actions])


def governance_tx(sim: Simulation, governor: int, what: str, argument: int) -> Transaction:
    suite = sim.suite
    if what == "config":
        to, data = COMMITTEE_MANAGER_ADDRESS, encode_call(
            suite, "createSetSysConfigProposal(string,string,uint256)", "tx_count_limit", str(100 + argument), 20)
    elif what == "promote":
        observer = sim.nodes[-1].node_id.hex()
        to, data = COMMITTEE_MANAGER_ADDRESS, encode_call(
            suite, "createSetConsensusWeightProposal(string,uint32,bool,uint256)", observer, 1, True, 20)
    elif what in ("vote", "against"):
        to, data = COMMITTEE_MANAGER_ADDRESS, encode_call(suite, "voteProposal(uint256,bool)", argument, what == "vote")
    elif what == "revoke":
        to, data = COMMITTEE_MANAGER_ADDRESS, encode_call(suite, "revokeProposal(uint256)", argument)
    else:
        to, data = ACCOUNT_MANAGER_ADDRESS, encode_call(
            suite, "setAccountStatus(address,uint8)", bytes([argument]) * 20, argument % 3)
    head = max(n.store.head_number() for n in sim.nodes)
    tx = new_transaction(to=to, data=data, block_limit=head + 500, chain_id=1, group_id=1,
                         nonce=sim.rng.getrandbits(250))
    return sign_transaction(tx, sim.governor_keys[governor])


def check(config: SimConfig, actions: list[Action]) -> None:
    sim = Simulation(config)
    for at, governor, what, argument in actions:
        sim.schedule(at, lambda g=governor, w=what, a=argument: sim.submit_signed([governance_tx(sim, g, w, a)]))
    sim.schedule(END_MS // 3, lambda: sim.partition([[0], list(range(1, config.nodes + 1))]))
    sim.schedule(END_MS // 2, sim.heal)
    sim.run_until(END_MS)
    report = sim.check()
    assert report.agreement and report.validity and report.no_gaps and report.no_double_signing, report.violations
    honest = [n for n in sim.nodes[: config.nodes] if n.behaviour is None]
    low = min(n.store.head_number() for n in honest)
    states = {(committee.proposal_count(n.store), n.store.block_hash(low)) for n in honest
              if n.store.head_number() == low}
    assert len(states) == 1
    assert committee.proposal_count(honest[0].store) >= 1  # the governance load did reach the chain


@settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(schedules())
def test_safety_with_governance_transactions(schedule: tuple[SimConfig, list[Action]]) -> None:
    check(*schedule)


def test_a_committee_promotes_an_observer_in_the_simulator() -> None:
    """No fault: the proposal and a second vote pass it (2 of 3 >= 51 %); the observer seals from the next block."""
    config = SimConfig(nodes=4, observers=1, seed=7, executor="evm", auth_governors=3, tx_rate=5, min_seal_time_ms=100)
    sim = Simulation(config)
    sim.schedule(200, lambda: sim.submit_signed([governance_tx(sim, 0, "promote", 1)]))
    sim.schedule(1200, lambda: sim.submit_signed([governance_tx(sim, 1, "vote", 1)]))
    sim.run_until(3000)
    report = sim.check()
    assert report.agreement and report.validity, report.violations
    store = sim.nodes[0].store
    proposal = committee.get_proposal(store, 1)
    assert proposal is not None and proposal.status == committee.ProposalStatus.FINISHED
    from chain.ledger import system

    assert sim.nodes[-1].node_id in system.consensus_nodes(store, store.head_number() + 1).sealer_ids
