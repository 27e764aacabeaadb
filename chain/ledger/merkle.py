"""Binary Merkle trees over transaction and receipt hashes, with inclusion proofs.

Rules, chosen so that a proof cannot be forged by reinterpreting nodes:

* a leaf node is hash(0x00 ‖ leaf) and an inner node hash(0x01 ‖ left ‖ right) (as in RFC 6962),
  so a leaf can never pose as an inner node;
* on a level with an odd number of nodes the last one is promoted unchanged (no duplication, so two
  different lists never share a root);
* the root commits to the number of leaves: root = hash(0x02 ‖ count as 8 bytes ‖ top node), since
  otherwise a proof could claim a wrong count (index 0 of 3 leaves and of 4 leaves walk the same
  path when the third leaf is promoted);
* the root of an empty list is hash(b"").

A proof records the leaf's index, the number of leaves and the sibling hashes bottom-up; a client
checks it against the root in a block header and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Protocol, Sequence

from chain.crypto.suite import CryptoSuite

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
COUNT_PREFIX = b"\x02"


@dataclass(frozen=True)
class MerkleProof:
    index: int
    count: int
    siblings: tuple[bytes, ...]


def _leaf(suite: CryptoSuite, leaf: bytes) -> bytes:
    return suite.hash(LEAF_PREFIX + leaf)


def _node(suite: CryptoSuite, left: bytes, right: bytes) -> bytes:
    return suite.hash(NODE_PREFIX + left + right)


def _seal(suite: CryptoSuite, count: int, top: bytes) -> bytes:
    return suite.hash(COUNT_PREFIX + count.to_bytes(8, "big") + top)


def _next_level(suite: CryptoSuite, level: Sequence[bytes]) -> list[bytes]:
    parents = [_node(suite, level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        parents.append(level[-1])  # odd one out is promoted unchanged
    return parents


def merkle_root(suite: CryptoSuite, leaves: Sequence[bytes]) -> bytes:
    if not leaves:
        return suite.hash(b"")
    level = [_leaf(suite, leaf) for leaf in leaves]
    while len(level) > 1:
        level = _next_level(suite, level)
    return _seal(suite, len(leaves), level[0])


def merkle_proof(suite: CryptoSuite, leaves: Sequence[bytes], index: int) -> MerkleProof:
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf index {index} out of range for {len(leaves)} leaves")
    level = [_leaf(suite, leaf) for leaf in leaves]
    position, siblings = index, []
    while len(level) > 1:
        sibling = position ^ 1
        if sibling < len(level):
            siblings.append(level[sibling])
        level = _next_level(suite, level)
        position //= 2
    return MerkleProof(index, len(leaves), tuple(siblings))


def verify_proof(suite: CryptoSuite, leaf: bytes, proof: MerkleProof, root: bytes) -> bool:
    """True iff leaf is at proof.index among proof.count leaves of the tree whose root is root."""
    if not 0 <= proof.index < proof.count < 1 << 64:
        return False
    node, position, width = _leaf(suite, leaf), proof.index, proof.count
    remaining = list(proof.siblings)
    while width > 1:
        sibling = position ^ 1
        if sibling < width:  # otherwise this node was promoted and has no sibling on this level
            if not remaining:
                return False
            other = remaining.pop(0)
            node = _node(suite, node, other) if position % 2 == 0 else _node(suite, other, node)
        position //= 2
        width = (width + 1) // 2
    return not remaining and _seal(suite, proof.count, node) == root


class Hashed(Protocol):
    """A record with a hash in each suite: a Transaction or a Receipt (this module imports neither)."""

    def hash(self, suite: CryptoSuite) -> bytes: ...


def transactions_root(suite: CryptoSuite, transactions: Iterable[Hashed]) -> bytes:
    return merkle_root(suite, [tx.hash(suite) for tx in transactions])


def receipts_root(suite: CryptoSuite, receipts: Iterable[Hashed]) -> bytes:
    return merkle_root(suite, [receipt.hash(suite) for receipt in receipts])
