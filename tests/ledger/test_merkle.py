"""Merkle proofs: every leaf's proof verifies; a changed leaf, index, count, sibling or root does not."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chain.crypto.suite import get_suite
from chain.ledger.merkle import MerkleProof, merkle_proof, merkle_root, verify_proof

SUITE = get_suite("standard")
leaf_lists = st.lists(st.binary(min_size=1, max_size=8), min_size=1, max_size=40, unique=True)


@settings(max_examples=80, deadline=None)
@given(leaves=leaf_lists, data=st.data())
def test_every_proof_verifies_and_no_altered_proof_does(leaves: list[bytes], data: st.DataObject) -> None:
    root = merkle_root(SUITE, leaves)
    for index, leaf in enumerate(leaves):
        assert verify_proof(SUITE, leaf, merkle_proof(SUITE, leaves, index), root)
    index = data.draw(st.integers(0, len(leaves) - 1))
    proof = merkle_proof(SUITE, leaves, index)
    leaf = leaves[index]
    # another leaf
    other = data.draw(st.binary(max_size=8))
    assume(other != leaf)
    assert not verify_proof(SUITE, other, proof, root)
    # another index
    moved = data.draw(st.integers(-1, len(leaves) + 1))
    if moved != index:
        assert not verify_proof(SUITE, leaf, replace(proof, index=moved), root)
    # another count
    count = data.draw(st.integers(0, 2 * len(leaves) + 2))
    if count != len(leaves):
        assert not verify_proof(SUITE, leaf, replace(proof, count=count), root)
    # another root
    assert not verify_proof(SUITE, leaf, proof, SUITE.hash(root))
    # a sibling changed, dropped or added
    if proof.siblings:
        position = data.draw(st.integers(0, len(proof.siblings) - 1))
        siblings = list(proof.siblings)
        siblings[position] = SUITE.hash(siblings[position])
        assert not verify_proof(SUITE, leaf, replace(proof, siblings=tuple(siblings)), root)
        assert not verify_proof(SUITE, leaf, replace(proof, siblings=proof.siblings[:-1]), root)
    assert not verify_proof(SUITE, leaf, replace(proof, siblings=proof.siblings + (root,)), root)


@settings(max_examples=60, deadline=None)
@given(a=leaf_lists, b=leaf_lists)
def test_different_lists_have_different_roots(a: list[bytes], b: list[bytes]) -> None:
    assume(a != b)
    assert merkle_root(SUITE, a) != merkle_root(SUITE, b)


def test_the_promoted_leaf_does_not_let_a_proof_lie_about_the_count() -> None:
    leaves = [b"a", b"b", b"c"]  # c is promoted: index 0 of 3 and of 4 walk the same path
    proof = merkle_proof(SUITE, leaves, 0)
    root = merkle_root(SUITE, leaves)
    assert verify_proof(SUITE, b"a", proof, root)
    assert not verify_proof(SUITE, b"a", MerkleProof(0, 4, proof.siblings), root)


def test_empty_and_single() -> None:
    assert merkle_root(SUITE, []) == SUITE.hash(b"")
    root = merkle_root(SUITE, [b"x"])
    assert root != SUITE.hash(b"x")
    assert verify_proof(SUITE, b"x", merkle_proof(SUITE, [b"x"], 0), root)
    assert not verify_proof(SUITE, b"x", MerkleProof(0, 0, ()), root)
