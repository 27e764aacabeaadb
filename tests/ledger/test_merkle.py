"""FISCO 2.x's Merkle tree: the layout it defines, every proof verifies, no altered proof does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chain.crypto.suite import get_suite
from chain.ledger.merkle import (
    ProofUnit, fisco_root_from_proof, leaf_bytes, merkle_proof, merkle_root, verify_proof,
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


def _fold_accepts(suite, index: int, item_hash: bytes, proof, root: bytes) -> bool:
    """FISCO's check (java-sdk MerkleProofUtility): fold from rlp(index) ‖ hash, compare with the root."""
    return fisco_root_from_proof(suite, proof, leaf_bytes(index, item_hash)) == root


def test_fiscos_fold_proves_a_hash_that_is_in_no_transaction_ours_does_not() -> None:
    """The leaf may be cut out of the middle of two neighbouring leaves: any byte 1..127 reads as rlp(index)."""
    for suite in SUITES:
        hashes = [suite.hash(bytes([i])) for i in range(4)]
        root = merkle_root(suite, hashes)
        joined = b"".join(leaf_bytes(i, h) for i, h in enumerate(hashes))
        boundaries = {33 * i for i in range(4)}
        start = next(at for at in range(len(joined) - 33) if 0 < joined[at] < 0x80 and at not in boundaries)
        index, forged = joined[start], joined[start + 1:start + 33]
        proof = (ProofUnit((joined[:start],), (joined[start + 33:],)), ProofUnit((), ()))
        assert forged not in hashes
        assert _fold_accepts(suite, index, forged, proof, root)
        assert not verify_proof(suite, index, forged, proof, root)


def test_fiscos_fold_moves_a_real_transaction_to_another_index_ours_does_not() -> None:
    """At index 257 the leaf is 0x82 0x01 0x01 ‖ hash: its tail 0x01 ‖ hash is the leaf of index 1."""
    suite = SUITES[1]
    hashes = [suite.hash(i.to_bytes(2, "big")) for i in range(258)]
    root = merkle_root(suite, hashes)
    real = merkle_proof(suite, hashes, 257)
    assert verify_proof(suite, 257, hashes[257], real, root)
    group = leaf_bytes(256, hashes[256]) + leaf_bytes(257, hashes[257])
    cut = (ProofUnit((group[:37],), ()),) + real[1:]  # 35 bytes of leaf 256, then 0x82 0x01
    assert _fold_accepts(suite, 1, hashes[257], cut, root)
    assert not verify_proof(suite, 1, hashes[257], cut, root)


def test_a_negative_position_is_refused_not_an_error() -> None:
    suite = SUITES[0]
    hashes = [bytes([i]) * 32 for i in range(1, 5)]
    proof = merkle_proof(suite, hashes, 2)
    padded = (ProofUnit((leaf_bytes(0, hashes[0]),) + proof[0].left, proof[0].right),) + proof[1:]
    assert not verify_proof(suite, 2, hashes[2], padded, merkle_root(suite, hashes))
    single = hashes[:1]  # its proof is the empty top unit alone: nothing but the index to check
    assert not verify_proof(suite, -1, single[0], merkle_proof(suite, single, 0), merkle_root(suite, single))


@settings(max_examples=30, deadline=None)
@given(a=hash_lists, b=hash_lists)
def test_different_lists_have_different_roots(a: list[bytes], b: list[bytes]) -> None:
    if a != b:
        assert merkle_root(SUITES[0], a) != merkle_root(SUITES[0], b)
