"""A client's submission comes back with why each refused transaction was refused (the pool's
status), carried in the TxsAccepted effect: the driver answers the client from it, without
submitting the transaction a second time to find out."""

from __future__ import annotations

from chain.consensus.pbft import effects as fx
from chain.execution.kv import encode_kv
from chain.ledger.status import Status
from chain.ledger.transaction import new_transaction, sign_transaction
from chain.sim import SimConfig, Simulation


def test_each_refusal_carries_the_pools_status_in_submission_order() -> None:
    sim = Simulation(SimConfig(nodes=4, seed=3, tx_rate=0))
    replica = sim.nodes[0].replica
    assert replica is not None
    good = sign_transaction(new_transaction(to=b"\x10" * 20, data=encode_kv(b"k", b"v"), block_limit=500), sim.client_key)
    foreign = sign_transaction(new_transaction(to=b"\x10" * 20, data=encode_kv(b"k", b"w"), block_limit=500, chain_id=9),
                               sim.client_key)
    effects = replica.handle(fx.SubmitTransactions((good, good, foreign, b"\x01not rlp")), sim.now_ms)
    [accepted] = [e for e in effects if isinstance(e, fx.TxsAccepted)]
    assert accepted.hashes == (good.hash(sim.suite),) and accepted.rejected == 3
    assert [(r.tx_hash, r.status) for r in accepted.refused] == [
        (good.hash(sim.suite), Status.ALREADY_KNOWN),  # the second copy
        (foreign.hash(sim.suite), Status.INVALID_CHAIN_ID),
        (b"", Status.MALFORMED_TX),  # bytes that are no transaction have no hash
    ]
    assert "chain" in accepted.refused[1].reason.lower()

