"""rPBFT's rotation proof (chain.consensus.pbft.vrf_rotation) and the node-curve VRF under it.

The block before each epoch carries, in its header's extra_data, its sealer's VRF proof over the
parent hash; the epoch's seed is the VRF output. What is pinned here: the VRF is bound to the node
id (another key's proof, another input's, a tampered one are refused); a proposal at an epoch
boundary without a valid proof is refused by a real replica, and one with the proof accepted; the
seed cannot be ground (two different blocks by one sealer at that height give one seed, where the
old block-hash seed gave two); the schedule of which blocks carry proofs; and on the simulator,
every node derives each epoch's working set from the proofs the chain holds.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from chain.consensus.pbft import rpbft, vrf_rotation
from chain.consensus.pbft.effects import Broadcast, Rejected
from chain.crypto import nodevrf
from chain.crypto.suite import get_suite
from chain.errors import ConsensusError
from chain.ledger.block import Block, BlockHeader
from chain.ledger.state import MemoryState
from chain.ledger.system import (
    CONFIG_TABLE, FEATURE_RPBFT, RPBFT_EPOCH_BLOCK_NUM, RPBFT_EPOCH_SEALER_NUM, consensus_nodes, encode_config_row,
)
from chain.sim import SimConfig, Simulation
from tests.consensus.test_rules_harness import Harness, Proposed


# --- the VRF on the node's curve ------------------------------------------------------------------

@pytest.mark.parametrize("suite_name", ["standard", "sm"])
def test_the_vrf_key_is_the_node_key_and_a_proof_binds_key_and_input(suite_name: str) -> None:
    suite = get_suite(suite_name)
    secret = 0x1234567890ABCDEF ** 3 % suite.curve_order
    node_id = suite.public_key(secret)
    proof = nodevrf.prove(suite, secret, b"parent hash")
    beta = nodevrf.verify(suite, node_id, proof, b"parent hash")
    assert len(proof) == nodevrf.PROOF_LEN and beta is not None and len(beta) == nodevrf.BETA_LEN
    assert beta == nodevrf.proof_to_hash(suite, proof)
    assert nodevrf.prove(suite, secret, b"parent hash") == proof  # one proof per key and input: reproducible
    assert nodevrf.verify(suite, suite.public_key(secret + 1), proof, b"parent hash") is None  # another node's id
    assert nodevrf.verify(suite, node_id, proof, b"other input") is None
    for i in (0, 40, 80):  # Gamma, c, s each tampered
        bad = bytearray(proof)
        bad[i] ^= 1
        assert nodevrf.verify(suite, node_id, bytes(bad), b"parent hash") is None
    assert nodevrf.prove(suite, secret, b"other input") != proof
    # peers' bytes of any shape give None, never an exception
    for public, bad_proof in [(b"", proof), (node_id[:63], proof), (b"\x00" * 64, proof), (node_id, proof[:80]),
                              (node_id, b"\x05" + proof[1:]), (node_id, b"\xff" * nodevrf.PROOF_LEN)]:
        assert nodevrf.verify(suite, public, bad_proof, b"parent hash") is None


# --- which blocks carry a proof ---------------------------------------------------------------------

def _state(**rows: tuple[str, int]) -> MemoryState:
    keys = {"switch": FEATURE_RPBFT, "blocks": RPBFT_EPOCH_BLOCK_NUM, "sealers": RPBFT_EPOCH_SEALER_NUM}
    return MemoryState({(CONFIG_TABLE, keys[name].encode()): encode_config_row(value, enable)
                        for name, (value, enable) in rows.items()})


def test_the_last_block_before_each_epoch_carries_the_proof_but_not_before_an_anchor() -> None:
    # epochs of 3 from block 1: 1-3, 4-6, 7-9 — blocks 3, 6, 9 end one
    assert [n for n in range(1, 12) if vrf_rotation.rotation_due(_state(switch=("1", 0), blocks=("3", 0)), n)] == [3, 6, 9]
    # a change of B in force from block 7 begins an epoch there: block 6 could not know, it carries none
    state = _state(switch=("1", 0), blocks=("3", 7))
    assert [n for n in range(1, 14) if vrf_rotation.rotation_due(state, n)] == [9, 12]
    assert not any(vrf_rotation.rotation_due(_state(blocks=("3", 0)), n) for n in range(1, 10))  # PBFT: none


# --- through a replica: the proposal check ------------------------------------------------------------

def _boundary() -> tuple[Harness, int]:
    """Node 1 of 7 sealers at height 2, which ends the first 2-block epoch; the leader of view 0 proposes."""
    h = Harness(me=1, sealers=7, epoch_sealers=4, epoch_blocks=2, txs=3, height=2)
    assert vrf_rotation.rotation_due(h.store, 2)
    return h, h.replica.leader(0)


def _with_extra(h: Harness, sealer: int, extra: bytes) -> Proposed:
    proposed = h.block(sealer, txs=[0, 1])
    return Proposed(replace(proposed.header, extra_data=extra), proposed.txs)


def _outcome(h: Harness, sealer: int, block: Proposed) -> str:
    effects = h.deliver(h.pre_prepare(sealer, block=block))
    rejected = [e.reason for e in effects if isinstance(e, Rejected)]
    if rejected:
        return "refused: " + rejected[0]
    assert any(isinstance(e, Broadcast) for e in effects), effects  # the Prepare
    return "accepted"


def test_a_proposal_ending_an_epoch_needs_its_sealers_vrf_proof_over_the_parent_hash() -> None:
    """The adversary: the leader of the block before an epoch omits the proof, or forges it, to pick the next set."""
    cases = {
        "none": lambda h, leader, parent: b"",
        "another sealer's key": lambda h, leader, parent: nodevrf.prove(h.suite, h.keys[(leader + 1) % 7].secret, parent),
        "another input": lambda h, leader, parent: nodevrf.prove(h.suite, h.keys[leader].secret, b"\x00" * 32),
        "garbage": lambda h, leader, parent: b"\x02" * nodevrf.PROOF_LEN,
    }
    for name, make in cases.items():
        h, leader = _boundary()
        outcome = _outcome(h, leader, _with_extra(h, leader, make(h, leader, h.replica.head_hash)))
        assert outcome.startswith("refused: block 2 ends an rPBFT epoch without a valid VRF proof"), (name, outcome)
    h, leader = _boundary()
    assert _outcome(h, leader, _with_extra(h, leader, nodevrf.prove(h.suite, h.keys[leader].secret,
                                                                     h.replica.head_hash))) == "accepted"


def test_a_block_that_ends_no_epoch_carries_no_extra_data() -> None:
    h = Harness(me=1, sealers=7, epoch_sealers=4, epoch_blocks=2, txs=3)  # height 1: inside the first epoch
    leader = h.replica.leader(0)
    proof = nodevrf.prove(h.suite, h.keys[leader].secret, h.replica.head_hash)
    assert _outcome(h, leader, _with_extra(h, leader, proof)) == "refused: extra data in a block that ends no epoch"


def test_the_leaders_own_proposal_carries_the_proof_when_due() -> None:
    h = Harness(me=4, sealers=7, epoch_sealers=4, epoch_blocks=2, txs=3, height=2)
    assert h.replica.leader(0) == 4
    header = vrf_rotation.proposal_extra(h.replica)
    assert nodevrf.verify(h.suite, h.sealer_ids[4], header, h.replica.head_hash) is not None


# --- the rotation: one sealer out, one in -------------------------------------------------------------

def _ids(*indices: int) -> tuple[bytes, ...]:
    return tuple(bytes([i]) * 64 for i in indices)


def test_a_rotation_swaps_one_working_sealer_for_a_resting_one_as_fisco_does() -> None:
    suite = get_suite("standard")
    sealers = _ids(*range(7))
    working = frozenset(_ids(0, 2, 4, 6))
    outcomes = set()
    for s in range(40):
        after = vrf_rotation.rotate(suite, bytes([s]) * 32, working, sealers, 4)
        assert len(after) == 4 and len(after & working) == 3, s
        outcomes.add(after)
    assert len(outcomes) == 12  # any of the 4 out, any of the 3 in: all 12 swaps happen over 40 seeds
    assert vrf_rotation.rotate(suite, b"\x01" * 32, working, sealers, 4) == vrf_rotation.rotate(suite, b"\x01" * 32, working, sealers, 4)
    # all sealers work (K >= n): nothing to swap
    assert vrf_rotation.rotate(suite, b"\x01" * 32, frozenset(sealers), sealers, 9) == frozenset(sealers)
    # a working sealer removed by governance: the others stay and one resting sealer fills its place
    after = vrf_rotation.rotate(suite, b"\x01" * 32, working, _ids(0, 1, 2, 3, 4, 5), 4)
    assert len(after) == 4 and working - {bytes([6]) * 64} <= after
    # more working sealers than K (sealers added to a small list): the surplus goes to rest
    after = vrf_rotation.rotate(suite, b"\x01" * 32, frozenset(_ids(0, 1, 2, 3, 4)), _ids(*range(6)), 4)
    assert len(after) == 4 and after <= frozenset(_ids(0, 1, 2, 3, 4))


# --- the seed -------------------------------------------------------------------------------------------

def test_the_proposer_cannot_grind_the_seed_by_changing_its_block() -> None:
    """Two different blocks at the height before an epoch, by one sealer: one VRF output, two block hashes."""
    h, leader = _boundary()
    proof = nodevrf.prove(h.suite, h.keys[leader].secret, h.replica.head_hash)
    a = replace(_with_extra(h, leader, proof).header, timestamp=5_000)
    b = replace(a, timestamp=5_001)
    assert a.hash(h.suite) != b.hash(h.suite)  # what the old seed (the block hash) let the proposer choose among
    assert vrf_rotation.rotation_output(h.suite, a) == vrf_rotation.rotation_output(h.suite, b) is not None


def test_a_committed_rotation_block_whose_proof_does_not_verify_leaves_the_working_set_unknown() -> None:
    h, leader = _boundary()
    block = h.signed(_with_extra(h, leader, b"\x02" * nodevrf.PROOF_LEN), signers=(1, 3, 4, 6))
    h.store.commit_block(block, h._execute(Proposed(block.header, block.transactions)).receipts, {})
    with pytest.raises(ConsensusError, match="invalid rotation proof"):
        rpbft.epoch_at(h.suite, h.store, 3, consensus_nodes(h.store, 3))


@pytest.mark.timeout(120)
def test_on_the_simulator_every_epoch_is_seeded_by_the_proof_in_the_block_before_it() -> None:
    sim = Simulation(SimConfig(nodes=7, seed=3, consensus="rpbft", epoch_sealers=4, epoch_blocks=3,
                               timeout_ms=1000, min_seal_time_ms=200, tx_rate=15.0))
    assert sim.run_blocks(10, 60_000) >= 10
    report = sim.check()
    assert report.ok, report
    store, suite = sim.nodes[0].store, sim.suite
    sets = [rpbft.epoch_at(suite, store, 1, consensus_nodes(store, 1)).working]  # type: ignore[union-attr]
    for number in range(1, 10):
        header = store.block_by_number(number).header
        if number % 3 == 0:  # ends an epoch: its sealer's proof over its parent hash
            beta = nodevrf.verify(suite, header.sealer_list[header.sealer], header.extra_data, header.parent_hash)
            assert beta is not None, number
            epoch = rpbft.epoch_at(suite, store, number + 1, consensus_nodes(store, number + 1))
            assert epoch is not None and epoch.seed == beta != store.block_hash(number)
            sets.append(epoch.working)
        else:
            assert header.extra_data == b"", number
    # FISCO's rotation: each epoch keeps 3 of the 4 working sealers and takes one resting sealer in
    for before, after in zip(sets, sets[1:]):
        assert len(before) == len(after) == 4 and len(set(before) & set(after)) == 3, sets
    # a pure function of the chain: a node that remembers nothing (a restart) derives the same sets
    vrf_rotation._working.clear()
    vrf_rotation._seeds.clear()
    again = [rpbft.epoch_at(suite, store, n, consensus_nodes(store, n)) for n in (10, 7, 4, 1)]
    assert [e.working for e in again if e is not None] == sets[::-1]


class _Chain(MemoryState):
    """Config rows and headers only: what working_set reads."""

    def __init__(self, rows: dict[tuple[str, bytes], bytes], blocks: list[Block]) -> None:
        super().__init__(rows)
        self.blocks = blocks

    def block_hash(self, number: int) -> bytes | None:
        return self.blocks[number].hash(SUITE) if number < len(self.blocks) else None

    def block_by_number(self, number: int) -> Block | None:
        return self.blocks[number] if number < len(self.blocks) else None


SUITE = get_suite("standard")


def test_a_config_change_begins_an_anchor_epoch_that_draws_all_k_and_the_rotations_start_again_from_it() -> None:
    secrets_ = list(range(101, 108))
    sealers = tuple(sorted(SUITE.public_key(s) for s in secrets_))
    secret_of = {SUITE.public_key(s): s for s in secrets_}
    rows = {(CONFIG_TABLE, FEATURE_RPBFT.encode()): encode_config_row("1", 0),
            (CONFIG_TABLE, RPBFT_EPOCH_SEALER_NUM.encode()): encode_config_row("4", 0),
            (CONFIG_TABLE, RPBFT_EPOCH_BLOCK_NUM.encode()): encode_config_row("3", 7)}  # B = 3 from block 7
    state = MemoryState(rows)
    blocks: list[Block] = []
    for number in range(12):  # the proofs each block was due by the state it was proposed on
        parent = blocks[-1].hash(SUITE) if blocks else b"\x00" * 32
        sealer = number % 7
        extra = (nodevrf.prove(SUITE, secret_of[sealers[sealer]], parent)
                 if vrf_rotation.rotation_due(state, number) else b"")
        blocks.append(Block(BlockHeader(parent_hash=parent, number=number, timestamp=number, sealer=sealer,
                                        sealer_list=sealers, transactions_root=b"\x00" * 32, extra_data=extra)))
    chain = _Chain(rows, blocks)
    assert [n for n in range(12) if blocks[n].header.extra_data] == [9]  # 7 is an anchor: 6 carries none
    at_7 = vrf_rotation.working_set(SUITE, chain, 7, 3, sealers, 4)
    assert at_7 == rpbft.select_working(SUITE, chain.block_hash(6), sealers, 4)  # a full draw from block 6's hash
    at_10 = vrf_rotation.working_set(SUITE, chain, 10, 3, sealers, 4)
    seed_10 = vrf_rotation.rotation_output(SUITE, blocks[9].header)
    assert seed_10 is not None
    expected = vrf_rotation.rotate(SUITE, seed_10, frozenset(sealers[i] for i in at_7), sealers, 4)
    assert at_10 == tuple(i for i, node in enumerate(sealers) if node in expected)
