"""The pure rules, called directly: quorum arithmetic, vote sets, proofs, view targets, signature lists.

Each table row is (case, input) → the rejection reason, or what the rule answers. They are the
free functions the replica's handlers call, so a row here pins a rule without any replica state;
tests/consensus/testdata pins the same rules as a replica applies them to messages.
"""

from __future__ import annotations

from typing import Callable

import pytest

from chain.consensus.pbft.checkpoint import verify_block_signatures
from chain.consensus.pbft.messages import Envelope, MsgType, PreparedProof, ViewChange
from chain.consensus.pbft.quorum import VoteSet, max_faulty, quorum
from chain.consensus.pbft.view_change import (
    ProvenProposal, check_view_change_matches, highest_proposal, validate_prepared_proof, view_change_target,
)
from chain.consensus.pbft.rpbft import epoch_start, select_working, working_weights
from chain.errors import ConsensusError
from chain.ledger.state import MemoryState
from chain.ledger.system import (
    CONFIG_TABLE, FEATURE_RPBFT, RPBFT_EPOCH_BLOCK_NUM, RPBFT_EPOCH_SEALER_NUM, encode_config_row,
)
from tests.consensus.test_rules_harness import OTHER_HASH, Harness, Proposed


# --- quorum arithmetic (rules max_faulty, quorum_size) ----------------------------------------------

@pytest.mark.parametrize("total,f,needed", [
    (1, 0, 1), (2, 0, 2), (3, 0, 3), (4, 1, 3), (5, 1, 4), (6, 1, 5), (7, 2, 5), (10, 3, 7), (16, 5, 11), (64, 21, 43),
])
def test_quorum_tolerates_a_third_and_two_quorums_share_an_honest_sealer(total: int, f: int, needed: int) -> None:
    assert (max_faulty(total), quorum(total)) == (f, needed)
    assert 2 * needed - total > f  # the overlap of two quorums outweighs the faulty


# --- VoteSet (rules vote_set_sealer_once, vote_set_weights) -----------------------------------------

def test_a_vote_set_weighs_each_sealer_once_by_its_weight() -> None:
    votes: VoteSet[str] = VoteSet((1, 1, 1, 3))
    assert votes.add(3, "x") and votes.weight == 3
    assert not votes.add(3, "x again") and votes.weight == 3 and votes.votes[3] == "x"
    assert votes.add(0, "x") and votes.weight == 4
    assert not votes.reached(quorum(6)) and votes.add(1, "x") and votes.reached(quorum(6))


# --- view_change_target (rule join_needs_more_than_f) ------------------------------------------------

@pytest.mark.parametrize("case,requested,weights,current,target", [
    ("one sealer may be lying", {1: 1}, (1, 1, 1, 1), 0, None),
    ("two outweigh f = 1", {1: 1, 2: 1}, (1, 1, 1, 1), 0, 1),
    ("the highest view more than f weight asked for", {1: 3, 2: 2}, (1, 1, 1, 1), 0, 2),
    ("a liar's far view is not reached", {1: 3, 2: 2, 3: 9}, (1, 1, 1, 1), 0, 3),
    ("views at or below ours do not count", {1: 1, 2: 1, 3: 2}, (1, 1, 1, 1), 1, None),
    ("one heavy sealer outweighs f", {3: 2}, (1, 1, 1, 3), 0, 2),
    ("two light ones do not", {0: 2, 1: 2}, (1, 1, 1, 4), 0, None),
])
def test_view_change_target(case: str, requested: dict[int, int], weights: tuple[int, ...], current: int,
                            target: int | None) -> None:
    assert view_change_target(requested, weights, current, max_faulty(sum(weights))) == target, case


# --- highest_proposal (rule highest_prepared_view) ---------------------------------------------------

def test_the_proposal_prepared_in_the_highest_view_is_the_one_to_re_propose() -> None:
    h = Harness()
    proven = [ProvenProposal(view, bytes([view]) * 32, h.pre_prepare(1)) for view in (1, 4, 0, 2)]
    chosen = highest_proposal(proven)
    assert chosen is not None and chosen.view == 4
    assert highest_proposal([]) is None


# --- validate_prepared_proof (rules proof_*) ---------------------------------------------------------

def _x(h: Harness) -> Proposed:
    return h.block(sealer=1)


def _pp(h: Harness) -> Envelope:
    return h.pre_prepare(1, block=_x(h))


# (case, the proof built on a harness, the view being entered, the rejection or None: valid)
PROOF_CASES: list[tuple[str, Callable[[Harness], PreparedProof], int, str | None]] = [
    ("a valid proof", lambda h: h.proof(_pp(h), [2, 3]), 1, None),
    ("a quorum with more votes than needed", lambda h: h.proof(_pp(h), [0, 2, 3]), 5, None),
    ("too little weight", lambda h: h.proof(_pp(h), [2]), 1, "votes weigh 2, a quorum needs 3"),
    ("the leader's own Prepare adds nothing", lambda h: h.proof(_pp(h), [1, 2]), 1, "votes weigh 2, a quorum needs 3"),
    ("from the view being entered", lambda h: h.proof(h.pre_prepare(2, view=1, block=h.block(2)), [1, 3]), 1,
     "view 1 is not before view 1"),
    ("from a later view", lambda h: h.proof(h.pre_prepare(3, view=2, block=h.block(3)), [1, 2]), 1,
     "view 2 is not before view 1"),
    ("not by the leader of its view", lambda h: h.proof(h.pre_prepare(2, view=0, block=h.block(2)), [1, 3]), 1,
     "not signed by the leader of its view"),
    ("for another height", lambda h: h.proof(h.pre_prepare(2, block=h.block(2, number=2), number=2), [1, 3]), 1,
     "for height 2, not 1"),
    ("first part not a proposal",
     lambda h: h.proof(h.vote(MsgType.PREPARE, 1, block=_x(h)), [h.vote(MsgType.PREPARE, 2, block=_x(h))]), 1,
     "first part is not a PrePrepare"),
    ("a Commit among the votes", lambda h: h.proof(_pp(h), [h.vote(MsgType.COMMIT, 2, block=_x(h), signed=1), 3]), 1,
     "a vote is not a Prepare"),
    ("a Prepare for another digest", lambda h: h.proof(_pp(h), [h.vote(MsgType.PREPARE, 2, digest="other"), 3]), 1,
     "a Prepare is for another proposal"),
    ("a Prepare of another view", lambda h: h.proof(_pp(h), [h.vote(MsgType.PREPARE, 2, view=1, block=_x(h)), 3]), 2,
     "a Prepare is for another proposal"),
]


@pytest.mark.parametrize("case,make,before_view,reason", PROOF_CASES, ids=[c[0] for c in PROOF_CASES])
def test_validate_prepared_proof(case: str, make: Callable[[Harness], PreparedProof], before_view: int,
                                 reason: str | None) -> None:
    h = Harness()
    proof = make(h)

    def check() -> ProvenProposal:
        return validate_prepared_proof(proof, suite=h.suite, number=1, before_view=before_view, leader_period=1,
                                       weights=(1, 1, 1, 1), needed=3, verify=h.replica.verify_sealer_message)

    if reason is None:
        proven = check()
        assert (proven.view, proven.digest) == (0, h.digest(_x(h))), case
    else:
        with pytest.raises(ConsensusError, match=reason):
            check()


def test_a_proof_weighs_its_signers_by_their_weights() -> None:
    h = Harness()
    proof = h.proof(h.pre_prepare(1), [3])
    weights = (1, 1, 1, 3)  # total 6, quorum 5: the leader (1) and the heavy sealer (3) weigh 4
    with pytest.raises(ConsensusError, match="votes weigh 4, a quorum needs 5"):
        validate_prepared_proof(proof, suite=h.suite, number=1, before_view=1, leader_period=1, weights=weights,
                                needed=quorum(6), verify=h.replica.verify_sealer_message)


# --- check_view_change_matches (rules vc_same_height, vc_same_head) ----------------------------------

@pytest.mark.parametrize("number,head,reason", [
    (1, "ours", None), (2, "ours", "ViewChange for height 2, not 1"), (1, "other", "head differs"),
])
def test_a_view_change_is_about_our_height_on_our_chain(number: int, head: str, reason: str | None) -> None:
    h = Harness()
    vc = ViewChange(1, number, h.replica.head_hash if head == "ours" else OTHER_HASH, None)
    if reason is None:
        check_view_change_matches(vc, 1, h.replica.head_hash)
    else:
        with pytest.raises(ConsensusError, match=reason):
            check_view_change_matches(vc, 1, h.replica.head_hash)


# --- verify_block_signatures (rules sig_*) -----------------------------------------------------------

@pytest.mark.parametrize("signers,bad,weights,reason", [
    ((0, 1, 2), (), (1, 1, 1, 1), None),
    ((0, 1, 2, 3), (), (1, 1, 1, 1), None),
    ((1, 2), (), (1, 1, 1, 1), "signatures weigh 2, a quorum needs 3"),
    ((3,), (), (1, 1, 1, 1), "signatures weigh 1, a quorum needs 3"),
    ((1, 1, 2), (), (1, 1, 1, 1), "sealer 1 signed twice"),
    ((0, 1, 4), (), (1, 1, 1, 1), "unknown sealer index 4"),
    ((0, 1, 2), (2,), (1, 1, 1, 1), "signature of sealer 2 does not verify"),
    ((3,), (), (1, 1, 1, 3), "signatures weigh 3, a quorum needs 5"),
    ((3, 0, 1), (), (1, 1, 1, 3), None),
])
def test_verify_block_signatures(signers: tuple[int, ...], bad: tuple[int, ...], weights: tuple[int, ...],
                                 reason: str | None) -> None:
    h = Harness()
    block = h.signed(h.block(sealer=1), signers, bad=bad)
    if reason is None:
        verify_block_signatures(h.suite, block, h.sealer_ids, weights)
    else:
        with pytest.raises(ConsensusError, match=reason):
            verify_block_signatures(h.suite, block, h.sealer_ids, weights)


# --- rPBFT epochs and working sets (rules epoch_anchor, resting_weigh_nothing) -----------------------

def _rpbft_state(**rows: tuple[str, int]) -> MemoryState:
    """A state holding rPBFT config rows: key=(value, enable_number)."""
    keys = {"switch": FEATURE_RPBFT, "blocks": RPBFT_EPOCH_BLOCK_NUM, "sealers": RPBFT_EPOCH_SEALER_NUM}
    return MemoryState({(CONFIG_TABLE, keys[name].encode()): encode_config_row(value, enable)
                        for name, (value, enable) in rows.items()})


@pytest.mark.parametrize("rows,number,start", [
    ({"switch": ("1", 0), "blocks": ("10", 0)}, 1, (1, 10)),
    ({"switch": ("1", 0), "blocks": ("10", 0)}, 10, (1, 10)),
    ({"switch": ("1", 0), "blocks": ("10", 0)}, 11, (11, 10)),
    ({"switch": ("1", 0), "blocks": ("10", 0)}, 25, (21, 10)),
    # rule: epoch_anchor — a change in force from block 15 begins an epoch there, whatever the old count
    ({"switch": ("1", 0), "blocks": ("4", 15)}, 15, (15, 4)),
    ({"switch": ("1", 0), "blocks": ("4", 15)}, 18, (15, 4)),
    ({"switch": ("1", 0), "blocks": ("4", 15)}, 19, (19, 4)),
    ({"switch": ("1", 0), "blocks": ("10", 0), "sealers": ("5", 7)}, 8, (7, 10)),
    ({"switch": ("1", 12), "blocks": ("10", 0)}, 30, (22, 10)),
])
def test_epochs_run_b_blocks_from_the_latest_rpbft_config_change(rows: dict[str, tuple[str, int]], number: int,
                                                                  start: tuple[int, int]) -> None:
    assert epoch_start(_rpbft_state(**rows), number) == start


def test_the_working_set_is_k_sealers_drawn_by_the_seed_and_every_sealer_is_drawn_sometimes() -> None:
    suite = Harness().suite
    sealers = tuple(bytes([i]) * 64 for i in range(10))
    drawn = [select_working(suite, bytes([s]) * 32, sealers, 4) for s in range(60)]
    assert all(len(w) == 4 and list(w) == sorted(set(w)) and max(w) < 10 for w in drawn)
    assert select_working(suite, b"\x01" * 32, sealers, 4) == drawn[1]  # the same seed, the same set
    assert len(set(drawn)) > 30 and set().union(*drawn) == set(range(10))
    assert select_working(suite, b"\x01" * 32, sealers, 12) == tuple(range(10))  # K >= n: all work


def test_resting_sealers_weigh_nothing_so_the_quorum_is_over_the_working_set() -> None:
    # rule: resting_weigh_nothing — 4 of 7 sealers work: total 4, quorum 3 (not 5 of 7)
    weights = working_weights((1, 1, 1, 1, 1, 1, 1), (1, 3, 4, 6))
    assert weights == (0, 1, 0, 1, 1, 0, 1)
    assert (quorum(sum(weights)), max_faulty(sum(weights))) == (3, 1)


# --- rPBFT rotation proofs (rules rotation_proof, extra_data_empty) ----------------------------------

def test_the_block_before_an_epoch_carries_its_sealers_vrf_proof_and_no_other_block_carries_extra_data() -> None:
    from dataclasses import replace

    from chain.consensus.pbft.vrf_rotation import check_extra_data
    from chain.crypto import nodevrf
    from chain.ledger.block import BlockHeader

    suite = Harness().suite
    secrets_ = (11, 22, 33)
    header = BlockHeader(parent_hash=OTHER_HASH, number=4, timestamp=0, sealer=1,
                         sealer_list=tuple(suite.public_key(s) for s in secrets_), transactions_root=OTHER_HASH)
    state = _rpbft_state(switch=("1", 0), blocks=("4", 0))  # epochs 1-4, 5-8: block 4 ends one
    proof = nodevrf.prove(suite, 22, OTHER_HASH)
    check_extra_data(suite, state, replace(header, extra_data=proof))  # sealer 1's proof over the parent hash
    # rule: rotation_proof — none, another sealer's, over another input, tampered: refused
    for extra in (b"", nodevrf.prove(suite, 33, OTHER_HASH), nodevrf.prove(suite, 22, b"\x00" * 32),
                  proof[:-1] + bytes([proof[-1] ^ 1])):
        with pytest.raises(ConsensusError, match="without a valid VRF proof"):
            check_extra_data(suite, state, replace(header, extra_data=extra))
    # rule: extra_data_empty — block 3 ends no epoch: no bytes for its proposer to grind the hash with
    check_extra_data(suite, state, replace(header, number=3))
    with pytest.raises(ConsensusError, match="ends no epoch"):
        check_extra_data(suite, state, replace(header, number=3, extra_data=proof))


def test_a_rotation_swaps_exactly_one_working_sealer() -> None:
    from chain.consensus.pbft.vrf_rotation import rotate

    suite = Harness().suite
    sealers = tuple(bytes([i]) * 64 for i in range(7))
    working = frozenset(sealers[:4])
    # rule: rotate_one — FISCO's rotation: one working sealer rests, one resting sealer works
    after = rotate(suite, b"\x01" * 32, working, sealers, 4)
    assert len(after) == 4 and len(after & working) == 3
