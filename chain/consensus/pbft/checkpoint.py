"""Checkpoint: agreeing on the *result* of a block, and checking a block's signature list.

After a block is committed in the ordering phases, every sealer executes it and signs the hash of
the executed header (receipts root, state root, gas used filled in). A quorum of those signatures
becomes the block's signature list: anyone holding the node list can check that a quorum of
sealers vouched for this exact result, which is how a lagging node trusts blocks it fetches.
"""

from __future__ import annotations

from chain.consensus.pbft.quorum import quorum
from chain.crypto.suite import CryptoSuite
from chain.errors import ConsensusError, CryptoError
from chain.ledger.block import Block


def verify_block_signatures(suite: CryptoSuite, block: Block, sealer_ids: tuple[bytes, ...],
                            weights: tuple[int, ...]) -> None:
    """Raise ConsensusError unless block carries valid signatures of a quorum of sealer weight."""
    block_hash = block.hash(suite)
    seen: set[int] = set()
    weight = 0
    for index, signature in block.signatures:
        # A signature list names sealers by their index in the node list of that height.
        if not 0 <= index < len(sealer_ids):
            raise ConsensusError(f"block {block.number}: signature from unknown sealer index {index}")
        # One sealer counts once, however many times it is listed.
        if index in seen:
            raise ConsensusError(f"block {block.number}: sealer {index} signed twice")
        seen.add(index)
        # Each signature must be that sealer's, over this block's hash.
        try:
            valid = suite.verify(sealer_ids[index], block_hash, signature)
        except CryptoError as exc:
            raise ConsensusError(f"block {block.number}: malformed signature of sealer {index}: {exc}") from exc
        if not valid:
            raise ConsensusError(f"block {block.number}: signature of sealer {index} does not verify")
        weight += weights[index]
    # A quorum must have vouched for the result, or f liars could have made it up.
    needed = quorum(sum(weights))
    if weight < needed:
        raise ConsensusError(f"block {block.number}: signatures weigh {weight}, a quorum needs {needed}")
