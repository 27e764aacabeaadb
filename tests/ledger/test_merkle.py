"""FISCO 2.x's Merkle tree: the layout it defines, every proof verifies, no altered proof does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chain.crypto.suite import get_suite
from chain.ledger.merkle import (
    FANOUT, ProofUnit, fisco_root_from_proof, leaf_bytes, merkle_proof, merkle_root, verify_proof,
)

SUITES = [get_suite("standard"), get_suite("sm")]
hash_lists = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=300, unique=True)


def test_the_layout_is_fiscos_by_hand() -> None:
    """Leaves rlp(i) ‖ hash, groups of 16 concatenated and hashed, root = H(top): spelled out for 17 leaves."""
    for suite in SUITES:
        hashes = [bytes([i]) * 32 for i in range(17)]
        leaves = [bytes([0x80]) + hashes[0]] + [bytes([i]) + hashes[i] for i in range(1, 17)]  # rlp(0) = 0x80
        assert [leaf_bytes(i, h) for i, h in enumerate(hashes)] == leaves
        level1 = [suite.hash(b"".join(leaves[:16])), suite.hash(leaves[16])]
        assert merkle_root(suite, hashes) == suite.hash(suite.hash(b"".join(level1)))
        assert merkle_root(suite, hashes[:1]) == suite.hash(leaves[0])
        assert merkle_root(suite, []) == suite.hash(b"")
        assert leaf_bytes(128, hashes[0])[:2] == b"\x81\x80"


@settings(max_examples=40, deadline=None)
@given(hashes=hash_lists, data=st.data())
def test_every_proof_verifies_and_no_altered_proof_does(hashes: list[bytes], data: st.DataObject) -> None:
    suite = SUITES[data.draw(st.integers(0, 1))]
    root = merkle_root(suite, hashes)
    for index in {0, len(hashes) - 1, data.draw(st.integers(0, len(hashes) - 1))}:
        proof = merkle_proof(suite, hashes, index)
        assert verify_proof(suite, index, hashes[index], proof, root)
        assert fisco_root_from_proof(suite, proof, leaf_bytes(index, hashes[index])) == root
    index = data.draw(st.integers(0, len(hashes) - 1))
    proof = merkle_proof(suite, hashes, index)
    # another hash, another index, another root
    assert not verify_proof(suite, index, suite.hash(hashes[index]), proof, root)
    other = data.draw(st.integers(-1, len(hashes) + 1))
    if other != index:
        assert not verify_proof(suite, other, hashes[index], proof, root)
    assert not verify_proof(suite, index, hashes[index], proof, suite.hash(root))
    # a node changed, a unit dropped or added
    level = data.draw(st.integers(0, len(proof) - 1))
    unit = proof[level]
    if unit.left or unit.right:
        nodes = list(unit.left + unit.right)
        nodes[0] = suite.hash(nodes[0])
        changed = ProofUnit(tuple(nodes[:len(unit.left)]), tuple(nodes[len(unit.left):]))
        assert not verify_proof(suite, index, hashes[index], proof[:level] + (changed,) + proof[level + 1:], root)
    assert not verify_proof(suite, index, hashes[index], proof[:-1], root)
    assert not verify_proof(suite, index, hashes[index], proof + (ProofUnit((), ()),), root)


def test_a_proof_that_fisco_accepts_with_a_misleading_shape_is_refused_here() -> None:
    """FISCO's fold checks only that the leaf's bytes sit in the right preimage; ours also checks the shape.

    Cutting a sibling in two keeps the concatenation, so FISCO's fold still reaches the root, but
    the unit now claims two nodes left of the leaf where there is one.
    """
    for suite in SUITES:
        hashes = [bytes([i]) * 32 for i in range(1, 5)]
        root = merkle_root(suite, hashes)
        proof = merkle_proof(suite, hashes, 1)
        (sibling,) = proof[0].left
        cut = (ProofUnit((sibling[:10], sibling[10:]), proof[0].right),) + proof[1:]
        assert fisco_root_from_proof(suite, cut, leaf_bytes(1, hashes[1])) == root
        assert verify_proof(suite, 1, hashes[1], proof, root)
        assert not verify_proof(suite, 1, hashes[1], cut, root)
        wide = (ProofUnit(proof[0].left, proof[0].right + (b"",) * FANOUT),) + proof[1:]
        assert fisco_root_from_proof(suite, wide, leaf_bytes(1, hashes[1])) == root
        assert not verify_proof(suite, 1, hashes[1], wide, root)


@settings(max_examples=30, deadline=None)
@given(a=hash_lists, b=hash_lists)
def test_different_lists_have_different_roots(a: list[bytes], b: list[bytes]) -> None:
    if a != b:
        assert merkle_root(SUITES[0], a) != merkle_root(SUITES[0], b)
