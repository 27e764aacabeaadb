"""FISCO BCOS 2.x's Merkle tree over transaction and receipt hashes, and its inclusion proofs.

We build the tree exactly as FISCO 2.x does (``getMerkleProofRoot`` / ``getMerkleProof`` in its
ParallelMerkleProof.cpp, used by ``Block::calTransactionRoot`` / ``calReceiptRoot``), so that a
FISCO SDK's proof check accepts our proofs and ``transactionsRoot`` / ``receiptsRoot`` are the
roots it checks them against:

* leaf i is not a hash but the bytes ``rlp(i) ‖ hash_i`` (33 to 37 bytes): the position is part of
  the leaf, so a proof cannot move a transaction to another index;
* a level is cut into groups of up to 16 consecutive nodes; each group's parent is
  ``H(node_0 ‖ node_1 ‖ … )`` (plain concatenation, no separator: 16-ary, not binary);
* this repeats until one node is left, and the root is ``H(that node)`` — so even a block of one
  transaction has root ``H(rlp(0) ‖ hash_0)``, and the root of no transactions is ``H(b"")``.

A proof is the path from the leaf to the root, one *unit* per level: the siblings left of the node
in its group and those right of it. A client recomputes ``x = H(left… ‖ x ‖ …right)`` unit by
unit from ``x = rlp(i) ‖ hash`` and compares the result with the root; the last unit (from the top
node to the root) has no siblings.

FISCO's own check is only that: it does not look at how a unit's bytes are cut into siblings, so
the leaf's bytes may sit anywhere in its group's concatenation. ``verify_proof`` here also checks
that the bottom siblings are whole leaves of their own positions; then the leaf can only be at its
own place (above it every node is a 32-byte hash whose preimage the prover cannot choose).
docs/merkle.md walks through an example.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Protocol, Sequence

from chain.crypto.suite import CryptoSuite
from chain.ledger import codec

FANOUT = 16  # FISCO 2.x: MAX_CHILD_COUNT
MAX_DEPTH = 16  # 16**16 leaves, far beyond any block: proofs read from JSON have at most MAX_DEPTH + 1 units


@dataclass(frozen=True)
class ProofUnit:
    """One level of a path: the node's siblings in its group, left and right of it (FISCO's MerkleProofUnit)."""

    left: tuple[bytes, ...]
    right: tuple[bytes, ...]


MerkleProof = tuple[ProofUnit, ...]


def leaf_bytes(index: int, item_hash: bytes) -> bytes:
    """The leaf FISCO puts at position index: rlp(index) ‖ hash (rlp(0) is 0x80)."""
    return codec.encode(index) + item_hash


def _levels(suite: CryptoSuite, hashes: Sequence[bytes]) -> list[list[bytes]]:
    """Every level bottom-up, from the leaves to the single top node (the root is H(top))."""
    levels = [[leaf_bytes(i, h) for i, h in enumerate(hashes)]]
    while len(levels[-1]) > 1:
        level = levels[-1]
        levels.append([suite.hash(b"".join(level[i:i + FANOUT])) for i in range(0, len(level), FANOUT)])
    return levels


def merkle_root(suite: CryptoSuite, hashes: Sequence[bytes]) -> bytes:
    """FISCO 2.x's root over these transaction (or receipt) hashes, in block order."""
    if not hashes:
        return suite.hash(b"")
    return suite.hash(_levels(suite, hashes)[-1][0])


def merkle_proof(suite: CryptoSuite, hashes: Sequence[bytes], index: int) -> MerkleProof:
    """The path of leaf index, as FISCO's RPC answers it: one unit per level, then the empty top unit."""
    if not 0 <= index < len(hashes):
        raise IndexError(f"leaf index {index} out of range for {len(hashes)} leaves")
    units: list[ProofUnit] = []
    position = index
    for level in _levels(suite, hashes)[:-1]:
        start = position - position % FANOUT
        group = level[start:start + FANOUT]
        offset = position - start
        units.append(ProofUnit(tuple(group[:offset]), tuple(group[offset + 1:])))
        position //= FANOUT
    units.append(ProofUnit((), ()))  # top node -> root
    return tuple(units)


def fisco_root_from_proof(suite: CryptoSuite, proof: MerkleProof, leaf: bytes) -> bytes:
    """What FISCO's SDK computes (java-sdk Merkle.calculateMerkleRoot): fold the units, nothing else."""
    result = leaf
    for unit in proof:
        result = suite.hash(b"".join(unit.left) + result + b"".join(unit.right))
    return result


def verify_proof(suite: CryptoSuite, index: int, item_hash: bytes, proof: MerkleProof, root: bytes) -> bool:
    """True iff item_hash is the hash at position index of the list whose root is root.

    FISCO's fold, after checking that the bottom siblings are whole leaves of their own positions
    (see the module docstring): then every node of the path is where the tree has it.
    """
    if index < 0:
        return False
    if proof and not _siblings_are_leaves(index, proof[0], len(root)):
        return False
    return fisco_root_from_proof(suite, proof, leaf_bytes(index, item_hash)) == root


def _siblings_are_leaves(index: int, unit: ProofUnit, hash_size: int) -> bool:
    """Each bottom sibling is leaf_bytes(j, some hash) for its own position j.

    FISCO's fold alone lets the leaf sit at any byte offset of its group's concatenation: a run of
    33 bytes inside two neighbouring leaves then "proves" a hash that is no transaction's, and the
    last bytes of a long rlp(index) make a real transaction appear at a smaller index (at 257,
    rlp is 0x82 0x01 0x01, so ``0x01 ‖ hash`` — index 1 — occurs in it). Whole leaves at their
    own positions leave the leaf one place to be: its own.
    """
    first = index - len(unit.left)
    siblings = list(unit.left) + list(unit.right)
    positions = list(range(first, index)) + list(range(index + 1, index + 1 + len(unit.right)))
    for position, node in zip(positions, siblings):
        if position < 0:
            return False
        prefix = codec.encode(position)
        if len(node) != len(prefix) + hash_size or not node.startswith(prefix):
            return False
    return True


class Hashed(Protocol):
    """A record with a hash in each suite: a Transaction or a Receipt (this module imports neither)."""

    def hash(self, suite: CryptoSuite) -> bytes: ...


def transactions_root(suite: CryptoSuite, transactions: Iterable[Hashed]) -> bytes:
    return merkle_root(suite, [tx.hash(suite) for tx in transactions])


def receipts_root(suite: CryptoSuite, receipts: Iterable[Hashed]) -> bytes:
    return merkle_root(suite, [receipt.hash(suite) for receipt in receipts])
