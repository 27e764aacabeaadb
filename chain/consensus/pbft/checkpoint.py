"""Checkpoint: agreeing on the *result* of a block, and checking a block's signature list.

After a block is committed in the ordering phases, every sealer executes it and signs the hash of
the executed header (receipts root, state root, gas used filled in). A quorum of those signatures
becomes the block's signature list: anyone holding the node list can check that a quorum of
sealers vouched for this exact result, which is how a lagging node trusts blocks it fetches.

Here: executing the ordered block, signing its result, and counting the others'
(``on_checkpoint``).
Each function takes the replica ``r`` whose state it reads and changes; ``Replica`` calls the
``on_*`` ones from its dispatch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chain.consensus.pbft.height import Step
from chain.consensus.pbft.ids import Digest
from chain.consensus.pbft.messages import Checkpoint, Envelope, MsgType
from chain.consensus.pbft import pipeline
from chain.consensus.pbft import rpbft
from chain.consensus.pbft.quorum import VoteSet, quorum
from chain.crypto.suite import CryptoSuite
from chain.errors import ConsensusError, CryptoError
from chain.ledger.block import Block

if TYPE_CHECKING:
    from chain.consensus.pbft.replica import Replica


def verify_block_signatures(suite: CryptoSuite, block: Block, sealer_ids: tuple[bytes, ...],
                            weights: tuple[int, ...]) -> None:
    """Raise ConsensusError unless block carries valid signatures of a quorum of sealer weight."""
    block_hash = block.hash(suite)
    seen: set[int] = set()
    weight = 0
    for index, signature in block.signatures:
        # A signature list names sealers by their index in the node list of that height.
        if not 0 <= index < len(sealer_ids):  # rule: sig_known_sealer
            raise ConsensusError(f"block {block.number}: signature from unknown sealer index {index}")
        # One sealer counts once, however many times it is listed.
        if index in seen:  # rule: sig_sealer_once
            raise ConsensusError(f"block {block.number}: sealer {index} signed twice")
        seen.add(index)
        # Each signature must be that sealer's, over this block's hash.
        try:
            valid = suite.verify(sealer_ids[index], block_hash, signature)
        except CryptoError as exc:
            raise ConsensusError(f"block {block.number}: malformed signature of sealer {index}: {exc}") from exc
        if not valid:  # rule: sig_valid
            raise ConsensusError(f"block {block.number}: signature of sealer {index} does not verify")
        weight += weights[index]
    # A quorum must have vouched for the result, or f liars could have made it up.
    needed = quorum(sum(weights))
    if weight < needed:  # rule: sig_quorum
        raise ConsensusError(f"block {block.number}: signatures weigh {weight}, a quorum needs {needed}")


def execute_and_checkpoint(r: Replica) -> None:
    assert r.current.committed is not None
    result = r.executor.execute(r.current.committed.block, r.store, r.store.state_root())
    r.current.executed = result
    r.current.advance(Step.EXECUTED)
    block_hash = result.block.hash(r.suite)
    envelope = r.sign_once(MsgType.CHECKPOINT, 0, block_hash, Checkpoint(r.height, block_hash)) if r.is_sealer else None
    if envelope is not None:
        assert r.my_index is not None
        _checkpoint_votes(r, block_hash).add(r.my_index, envelope.signature)
        r.broadcast(envelope, r.height, r.view)
    _check_checkpoint(r)
    pipeline.open_next(r)  # still waiting for the others' Checkpoints: order the next height meanwhile


def _checkpoint_votes(r: Replica, block_hash: Digest) -> VoteSet[bytes]:
    if block_hash not in r.current.checkpoints:
        r.current.checkpoints[block_hash] = VoteSet(r.weights)
    return r.current.checkpoints[block_hash]


def on_checkpoint(r: Replica, envelope: Envelope, checkpoint: Checkpoint) -> None:
    if not r.at_height(envelope, checkpoint.number):
        return
    first = r.current.checkpoint_of.setdefault(envelope.sender, checkpoint.block_hash)
    # A sealer vouches for one execution result per height.
    if first != checkpoint.block_hash:  # rule: checkpoint_one_result
        raise ConsensusError(f"sealer {envelope.sender} signed two execution results at height {checkpoint.number}")
    # A repeated signature adds nothing.
    if not _checkpoint_votes(r, checkpoint.block_hash).add(envelope.sender, envelope.signature):  # rule: checkpoint_counted_once
        raise ConsensusError("duplicate Checkpoint")
    _check_checkpoint(r)
    rpbft.follow_decided(r, envelope.sender)


def _check_checkpoint(r: Replica) -> None:
    if r.current.executed is None:
        return
    block_hash = r.current.executed.block.hash(r.suite)
    votes = _checkpoint_votes(r, block_hash)
    if not votes.reached(r.quorum):  # rule: checkpoint_quorum
        for other, other_votes in r.current.checkpoints.items():
            if other != block_hash and other_votes.reached(r.quorum):
                r.reject("a quorum signed an execution result that differs from ours", "CHECKPOINT", None)
        return
    block = r.current.executed.block.with_signatures(votes.votes.items())
    view = r.view
    r.commit_block(block, r.current.executed, "consensus", view)
