"""The block pipeline: the next height is ordered while this one is checkpointed and stored.

Deciding a height has two halves. The ordering phases (PrePrepare, Prepare, Commit) fix *which*
block; the Checkpoint phase executes it and agrees on its result, then the block is stored. One
height at a time, the sealers sit idle through the second half: nobody proposes block n + 1
before block n is stored. FISCO BCOS 3.x overlaps the stages of consecutive blocks; this replica
overlaps the two halves of consecutive heights:

    height n      PrePrepare  Prepare  Commit | execute  Checkpoint  store
    height n + 1                              | PrePrepare  Prepare  Commit | execute  Checkpoint  store

As soon as a replica has executed block n (its Checkpoint is out), it opens height n + 1 in a
second ``HeightState`` (``r.next``): it takes the PrePrepare, Prepares and Commits of n + 1 there,
votes, and its leader proposes. Block n + 1 is executed only once block n is stored, when the
next height becomes the current one (``adopt``); everything else about n + 1 — view changes,
Checkpoints, re-sending — waits for that too.

**The window is two heights**, and that is forced by the block format: a proposal names its parent
by the *executed* header hash (the hash the signature list covers), which a replica knows only
once it has executed the parent. FISCO 3.x orders further ahead because its proposals leave the
parent to execution; here a deeper window would need that format change.

**Why voting on n + 1 before n is stored is safe.** Block n is ordered (a commit quorum), so
every honest replica stores exactly that block, with exactly the result this replica computed
(execution is deterministic, and the Checkpoint quorum checks it). A proposal for n + 1 whose
parent is that result extends the only block n there can be. The votes are written to disk before
they leave, as at any height, and the store keeps the rows of two heights (``record_vote``): a
replica that crashes after voting on n + 1 but before storing n reads its votes on n + 1 back
when it gets there (``Replica._new_height``). Three things could differ between n + 1 seen early
and n + 1 seen from a stored n, and each closes the pipeline for that height:

* the rules in force: block n changed the sealers or the system config (its state changes touch
  their tables), or rPBFT moves epochs — n + 1 is then decided the old way, after n is stored;
* the view: a view change (asked for or entered) drops the next height; what it signed is on disk;
* the transactions: n's are not stored yet, so a proposal for n + 1 that repeats one of them, or
  one of their nonces, is refused here (rule ``pp_not_in_unstored_parent``), and every pool holds
  n's transactions back from its leader (``TxPool.hold``).

**Liveness.** The pipeline adds no waiting: a replica that cannot open the next height (any of the
above, or it has not executed n) files the messages of n + 1 for later, as before; the next height
becomes the current one when n is stored, whatever got decided of it meanwhile. One client that
waits for each commit gains nothing (there is nothing to propose while its block is in flight);
many clients do: the transactions that arrive while block n is checkpointed are being ordered.
``ReplicaConfig.pipeline = False`` turns it off (a lesson that shows one height at a time).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from chain.consensus.pbft.height import HeightState, Step
from chain.consensus.pbft.messages import Envelope, MsgType
from chain.errors import ChainError
from chain.ledger.block import Block
from chain.ledger.system import CONFIG_TABLE, CONSENSUS_TABLE

if TYPE_CHECKING:
    from chain.consensus.pbft.replica import Replica

# What the next height takes before the current one is stored: the ordering phases, nothing else.
ORDERING = frozenset({MsgType.PRE_PREPARE, MsgType.PREPARE, MsgType.COMMIT})
# State a block must not change for the next height to be ordered on the rules in force now.
RULE_TABLES = frozenset({CONFIG_TABLE, CONSENSUS_TABLE})


def may_open(r: Replica) -> bool:
    """Whether the height after the current one may be ordered now (the module docstring says when)."""
    executed = r.current.executed
    if not r.config.pipeline or r.next is not None or executed is None or r.current.step != Step.EXECUTED:
        return False
    if r.epoch is not None or r.to_view > r.view or r.my_index is None:
        return False  # rPBFT epochs, a view change, an outsider: one height at a time
    # A block that changes the rules (sealers, system config) is stored before the next is ordered.
    if any(table in RULE_TABLES for table, _ in executed.changes):  # rule: pipeline_rules_unchanged
        return False
    return True


def open_next(r: Replica) -> None:
    """Begin ordering the next height on top of the block just executed (when ``may_open``)."""
    if not may_open(r):
        return
    executed = r.current.executed
    assert executed is not None
    r.next = HeightState(r.height + 1, since=r.now)
    r.next_parent = executed.block
    r.next_view = r.view
    r.pool.hold(tx.hash(r.suite) for tx in executed.block.transactions)
    # Messages of the next height that came early were filed for later: take those it can use now.
    early = [(e, link) for e, link in r.filed_for(r.height + 1) if e.type in ORDERING]
    with context(r):
        for envelope, link in early:
            r.receive(envelope, link)
        r.seal_if_due()


def routes(r: Replica, envelope: Envelope) -> bool:
    """Whether a message belongs to the open next height (an ordering message of that height)."""
    if r.next is None or envelope.type not in ORDERING:
        return False
    try:
        number = getattr(envelope.body(), "number", None)
    except ChainError:
        return False  # the receiving path says what is wrong with it
    return number == r.next.number


@contextmanager
def context(r: Replica) -> Iterator[None]:
    """Run the replica's handlers as if the next height were the one being decided, then switch back.

    The handlers of each phase read the height, its state, the head and its hash from the replica;
    for the next height those are its number, its HeightState, and the executed (not yet stored)
    block under it. Everything else — view, node list, config — is the same at both heights,
    which is what ``may_open`` makes sure of.
    """
    assert r.next is not None and r.next_parent is not None and not r.pipelined
    saved = (r.height, r.current, r.head, r.head_hash)
    r.height, r.current, r.head, r.head_hash = r.next.number, r.next, r.next_parent, r.next_parent.hash(r.suite)
    r.pipelined = True
    try:
        yield
    finally:
        r.height, r.current, r.head, r.head_hash = saved
        r.pipelined = False


def drop(r: Replica) -> None:
    """Forget the next height (a view change): what this replica signed there is on disk, and comes back."""
    if r.next is None:
        return
    if r.next.signed:
        r.signed_ahead = r.next.number  # what it signed there is taken back when the height begins
    for proposal in r.next.proposals.values():
        if proposal.envelope.sender == r.my_index:
            r.pool.release(proposal.pre_prepare.tx_hashes)
    r.next = None
    r.next_parent = None


def adopt(r: Replica, stored: Block) -> HeightState | None:
    """After block `stored` is written: the next height's state, if it was ordered on top of exactly that block."""
    nxt, parent = r.next, r.next_parent
    if nxt is None or parent is None or r.next_view != r.view or parent.hash(r.suite) != stored.hash(r.suite):
        drop(r)
        return None
    r.next = None
    r.next_parent = None
    return nxt
