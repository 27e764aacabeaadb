"""rPBFT (FISCO BCOS ``feature_rpbft``): per epoch, only K *working* sealers run PBFT.

PBFT's Prepare and Commit phases are all-to-all, so a block costs O(n²) messages. rPBFT draws K
of the n sealers for each *epoch* of B blocks; those K run the very same PBFT (quorum, leader,
view change all over the K), while the other sealers *rest*: for the epoch they follow like
observers (they receive the proposal, the Commits and the Checkpoints, execute, and commit the
block the working sealers signed), cast no vote, and can be drawn again in a later epoch.

The rules, all computed from chain data every node agrees on (state and block hashes), so every
node derives the same working set for a height without any extra message:

* **Switch and parameters** — system configs ``feature_rpbft`` (0/1),
  ``feature_rpbft_epoch_sealer_num`` K (FISCO's default 4) and ``feature_rpbft_epoch_block_num``
  B (default 1000), FISCO BCOS 3.x's key names. A change written in block N is in force from
  N + 1, like every system config — and it *begins a new epoch* there (``epoch_start``), so a
  running epoch never changes its K, its B or its seed half-way.
* **Epoch boundaries** — epochs run B blocks from the *anchor*, the latest block from which any of
  the three configs is in force (1 when they come from genesis): block h belongs to the epoch
  starting at ``anchor + ((h − anchor) // B) × B``. FISCO 3.x rotates at
  ``(h − enable(B)) % B == 0`` and when K or the switch change: the same schedule.
* **Working-sealer selection** — the epoch's *seed* is a VRF output (``seed_of``): the sealer of
  the block before the epoch puts in its header's ``extra_data`` a proof, with its node key, over
  that block's parent hash, and every node checks it before accepting the proposal
  (chain.consensus.pbft.vrf_rotation, FISCO 3.x's ``rotateWorkingSealer`` moved into the header).
  With a fixed input and a key bound to the node id, the proposer has one output to publish and
  cannot grind the next set. An epoch that begins at its anchor has no proof: its seed is the hash
  of the block before it, and it draws all K — sorted by node id, the sealers are shuffled by
  Fisher–Yates driven by ``hash(seed ‖ step)`` and the first K work (``select_working``). Each
  later epoch swaps one, as FISCO does: its seed draws one working sealer out and one resting
  sealer in (``vrf_rotation.working_set``).
* **Quorum and faults** — the quorum is taken over the working sealers' weights (resting sealers
  weigh 0 for the epoch): K working sealers tolerate f = ⌊(K − 1)/3⌋ faulty ones, *whatever n
  is*. More than f faulty working sealers stop the chain until enough of them come back (the
  epoch cannot end without blocks, and no honest node may count a resting sealer's vote).
* **Leader and view change** — the leader of (h, view) is working sealer
  ``(h // leader_period + view) mod K``; ViewChanges, like Prepares, come from and go to working
  sealers only, and a NewView must come from the working leader of its view. Every epoch begins
  in view 0 (``Replica.commit_block``): resting sealers see no view change, and one drawn back
  into the working set must name the leader the others name.
* **A working sealer failing mid-epoch** — as in FISCO, nothing is re-drawn: the epoch keeps its
  K; up to f of them may be down (view changes skip a silent leader), and each next epoch sends
  the failed sealer to rest with probability 1/K (it is the one drawn out).

Where this differs from FISCO: FISCO 3.x keeps the working set as node types in its consensus
table (``consensus_sealer`` / ``consensus_candidate_sealer``) and changes it by a rotation
transaction the leader puts first in the rotation block; it swaps one working sealer per epoch.
Here the proof is a header field and the set is recomputed from the chain (the anchor's draw and
every rotation since), with no working-set state (vrf_rotation's docstring weighs both). FISCO
2.3's first rPBFT rotated by index, ``(round + i) mod n``, with no randomness at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol, Sequence

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.messages import Envelope, MsgType, PrePrepare, SyncResponse
from chain.crypto.suite import CryptoSuite
from chain.ledger.block import Block
from chain.ledger.state import StateReader
from chain.ledger.system import (
    FEATURE_RPBFT, RPBFT_EPOCH_BLOCK_NUM, RPBFT_EPOCH_SEALER_NUM, ConsensusNodes, config_entry,
)


# What only the working sealers use goes to them alone: every consensus message, and the
# transactions they propose. Followers get each decided block pushed to them (push_to_followers).
WORKING_SET_ONLY = frozenset({MsgType.PRE_PREPARE, MsgType.PREPARE, MsgType.COMMIT, MsgType.CHECKPOINT,
                              MsgType.VIEW_CHANGE, MsgType.NEW_VIEW, MsgType.TX_GOSSIP})


if TYPE_CHECKING:
    from chain.consensus.pbft.replica import Replica


class BlockHashes(StateReader, Protocol):
    """What the epoch rules read: state rows and committed blocks (their hashes, and the rotation proofs in them)."""

    def block_hash(self, number: int) -> bytes | None: ...
    def block_by_number(self, number: int) -> Block | None: ...


@dataclass(frozen=True)
class Epoch:
    """The rPBFT epoch a height belongs to, and who works in it."""

    start: int  # first block of the epoch
    end: int  # first block of the next epoch (if no config changes before)
    sealer_num: int  # K as configured (the working set is min(K, n) sealers)
    seed: bytes  # what the draw was driven by
    working: tuple[int, ...]  # indices into the sealer list, ascending


def rpbft_enabled(state: StateReader, number: int) -> bool:
    """True if ``feature_rpbft`` is on at block `number`."""
    return config_entry(state, FEATURE_RPBFT, number)[0] == "1"


def epoch_start(state: StateReader, number: int) -> tuple[int, int]:
    """(first block, block count B) of the epoch holding block `number` (rPBFT on)."""
    block_num, enable_b = config_entry(state, RPBFT_EPOCH_BLOCK_NUM, number)
    _, enable_k = config_entry(state, RPBFT_EPOCH_SEALER_NUM, number)
    _, enable_switch = config_entry(state, FEATURE_RPBFT, number)
    # A change of any rPBFT config begins a new epoch where it comes into force.
    anchor = max(1, enable_b, enable_k, enable_switch)  # rule: epoch_anchor | replace: max(1, enable_b, enable_k, enable_switch) => 1
    length = max(1, int(block_num))
    return anchor + (number - anchor) // length * length, length


def seed_of(suite: CryptoSuite, store: BlockHashes, start: int) -> bytes:
    """The seed of the epoch starting at `start`: the VRF output in the block before it.

    Every node holds that block before it works on the epoch, and its proposer could publish only
    one output (vrf_rotation.rotation_seed). At an anchor, which has no proof, that block's hash.
    """
    from chain.consensus.pbft import vrf_rotation  # here, not at the top: vrf_rotation imports this module

    parent = store.block_hash(start - 1)
    if parent is None:
        raise LookupError(f"no block {start - 1}: the seed of the epoch starting at {start} is unknown")
    return vrf_rotation.rotation_seed(suite, store, start, parent)


@lru_cache(maxsize=256)
def select_working(suite: CryptoSuite, seed: bytes, sealer_ids: tuple[bytes, ...], count: int) -> tuple[int, ...]:
    """The indices (into the sorted sealer list) of the `count` sealers a seed draws, ascending.

    Fisher–Yates over the sealers sorted by node id (their order in the node list), step i picking
    among the first i + 1 by ``hash(seed ‖ i) mod (i + 1)``, as FISCO's ``selectNodesFromList``
    does with its VRF hash (FISCO re-hashes the picked index instead, which makes every step after
    the first independent of the seed; here each step depends on it).
    """
    order = sorted(range(len(sealer_ids)), key=lambda i: sealer_ids[i])
    for i in range(len(order) - 1, 0, -1):
        pick = int.from_bytes(suite.hash(seed + i.to_bytes(4, "big")), "big") % (i + 1)
        order[i], order[pick] = order[pick], order[i]
    # All sealers work when K >= n.
    return tuple(sorted(order[:max(1, min(count, len(order)))]))


def epoch_at(suite: CryptoSuite, store: BlockHashes, number: int, nodes: ConsensusNodes) -> Epoch | None:
    """The epoch of block `number` and its working sealers; None when rPBFT is off there."""
    if not rpbft_enabled(store, number) or not nodes.sealers:
        return None
    start, length = epoch_start(store, number)
    sealer_num = int(config_entry(store, RPBFT_EPOCH_SEALER_NUM, number)[0])
    seed = seed_of(suite, store, start)
    from chain.consensus.pbft import vrf_rotation  # here, not at the top: vrf_rotation imports this module

    working = vrf_rotation.working_set(suite, store, start, length, nodes.sealer_ids, sealer_num)  # FISCO: one swap per epoch
    return Epoch(start, start + length, sealer_num, seed, working)


def working_weights(weights: tuple[int, ...], working: tuple[int, ...]) -> tuple[int, ...]:
    """The sealers' vote weights for an epoch: resting sealers weigh nothing."""
    chosen = frozenset(working)
    return tuple(w if i in chosen else 0 for i, w in enumerate(weights))  # rule: resting_weigh_nothing | replace: w if i in chosen else 0 => w


def weights_in_force(suite: CryptoSuite, store: BlockHashes, number: int, nodes: ConsensusNodes) -> tuple[int, ...]:
    """The vote weights of the sealer list at block `number`: all of them (PBFT) or the working set's (rPBFT).

    What a block's signature list must reach a quorum of (sync, the tamper checker).
    """
    epoch = epoch_at(suite, store, number, nodes)
    return nodes.weights if epoch is None else working_weights(nodes.weights, epoch.working)


# --- following: resting sealers and observers --------------------------------------------------

def push_to_followers(r: Replica, block: Block) -> None:
    """A working sealer that committed a block sends it, unasked, to the followers it serves.

    Followers (resting sealers and observers) get no consensus message at all: each decided block
    comes to them from one working sealer, chosen per height — follower i is served by working
    sealer ``working[(i + number) mod K]`` — so the K share the n − K pushes and a silent one only
    delays every K-th block of its followers. The block travels as a SyncResponse: the follower
    checks its signature list against the working set and re-executes it before committing
    (chain.consensus.pbft.block_sync), so the pusher is not trusted; its transactions are not verified one
    by one, the quorum vouched for them. A follower that misses a push (loss, a silent pusher)
    fetches it from the pusher of the next block, or asks everyone for what it lacks after
    idle_probe_ms without a block. The last block of an epoch goes from every working sealer to
    every follower: one that missed it and is drawn into the next working set would leave that
    epoch without its vote (or its leader) until its probe — K − 1 more copies once per epoch.
    FISCO 2.x's verifying
    nodes also follow by block sync, there after a status broadcast (tree-shaped) tells them
    a new block exists. With ReplicaConfig.tree_width set, the push goes down a forest instead
    (``follower_children``): each working sealer sends to w followers, and every follower that
    commits a block sends it on to its own w (the last block of an epoch still goes to all).
    """
    if r.epoch is None or r.my_index is None:
        return
    number, working = r.height, r.working
    voters = r.voters
    last_of_epoch = number + 1 == r.epoch.end
    if r.config.tree_width >= 2 and not last_of_epoch:
        served = follower_children(r, number, r.my_index)  # followers forward too: see follower_children
    elif r.is_sealer:
        served = [i for i in range(len(r.node_ids)) if i not in voters
                  and (last_of_epoch or working[(i + number) % len(working)] == r.my_index)]
    else:
        return
    if not served:
        return
    envelope = r.sign(MsgType.SYNC_RESPONSE, SyncResponse((block.encode(),)))  # one signature for every follower
    for index in served:
        r.send(r.node_ids[index], envelope, number, r.view)


def follow_decided(r: Replica, sender: int) -> None:
    """A working sealer that missed the proposal learns from a quorum of Checkpoints that its height is decided.

    It fetches the block from the sender of that Checkpoint: block sync checks the signature list
    and re-executes the block before committing it.
    """
    from chain.consensus.pbft import block_sync  # here, not at the top: block_sync imports checkpoint, which imports this

    if r.epoch is None or r.current.executed is not None or not 0 <= sender < len(r.node_ids):
        return
    if not any(votes.reached(r.quorum) for votes in r.current.checkpoints.values()):
        return
    peer = r.node_ids[sender]
    # The sender signed the decided result: it holds the block now or in a moment; retried on Ticks.
    r.sync.peer_heads[peer] = max(r.sync.peer_heads.get(peer, -1), r.height)
    block_sync.request_sync(r, peer, r.height)


# --- tree broadcast (FISCO BCOS 2.x broadcast_prepare_by_tree) ----------------------------------
#
# With ReplicaConfig.tree_width = w >= 2, what a node would send to everyone goes down a complete
# w-ary tree instead (FISCO 2.x's TreeTopology, default width 3): the sender gives it to its w
# children and each of them forwards it to its own, so every node sends O(w) copies however large
# n is, at the price of a latency of log_w(n) hops and of interior nodes that can withhold it.
# Two things travel that way:
#
# * the proposal (PrePrepare), over the nodes that receive it — the working sealers in rPBFT, the
#   whole node list in PBFT — rotated so that its proposer is the root (``proposal_children``); a
#   node forwards the proposer's signed bytes unchanged the first time it sees them, before it
#   checks the proposal, so nothing a forwarder does can alter it (``forward_proposal``);
# * rPBFT's decided blocks, over the followers (``follower_children``).
#
# What a crashed or Byzantine forwarder costs, and who fills in (FISCO 2.x: its prepareStatus
# gossip and prepareRequest): the nodes under it miss the proposal, and
#   - their Prepares are missing, but a quorum outside the subtree still orders the block; the
#     subtree learns the height is decided from the Checkpoints (rPBFT, ``follow_decided``) or from
#     the next height's messages (PBFT, block sync) and fetches the block;
#   - when too many miss it for a quorum, the leader's re-send after resend_ms (Replica.resend)
#     goes to everyone directly, not down the tree; a silent leader is a view change, as ever;
#   - a follower under a crashed follower misses that height's push and fetches the block from
#     the pusher of the next one (the tree is rotated every height, so the next push comes through
#     another parent), or asks everyone after idle_probe_ms.


def tree_children(members: Sequence[int], root: int, me: int, width: int) -> list[int]:
    """`me`'s children in the complete `width`-ary tree over `members` rotated so that `root` is first.

    Position p (counted from the root) has children p·w + 1 … p·w + w, as FISCO's TreeTopology.
    """
    count = len(members)
    if root not in members or me not in members or width < 1:
        return []
    start = members.index(root)
    position = (members.index(me) - start) % count
    first = position * width + 1
    return [members[(start + child) % count] for child in range(first, min(first + width, count))]


def proposal_members(r: Replica) -> tuple[int, ...]:
    """Who receives a proposal: the working sealers (rPBFT), or every node of the list (PBFT, observers too)."""
    return r.working if r.epoch is not None else tuple(range(len(r.node_ids)))


def proposal_children(r: Replica, proposer: int) -> tuple[bytes, ...]:
    """The node ids this node sends (or forwards) `proposer`'s proposal to."""
    if r.my_index is None:
        return ()
    children = tree_children(proposal_members(r), proposer, r.my_index, r.config.tree_width)
    return tuple(r.node_ids[i] for i in children)


def forward_proposal(r: Replica, envelope: Envelope, pp: PrePrepare) -> None:
    """Pass a proposal of the height being decided on to this node's children, once.

    Only the leader's own proposal of its view is forwarded (its signature was checked on receipt),
    and only the first copy: one already accepted or waiting for its transactions is not sent again.
    """
    if r.config.tree_width < 2 or pp.number != r.height or envelope.sender == r.my_index:
        return
    if envelope.sender != r.leader(pp.view) or pp.view in r.current.proposals:
        return
    if any(waiting.raw == envelope.raw for waiting, _ in r.current.waiting):
        return
    children = proposal_children(r, envelope.sender)
    if children:
        r.emit(fx.Broadcast(envelope.raw, MsgType.PRE_PREPARE, pp.number, pp.view, children))


def follower_children(r: Replica, number: int, me: int) -> list[int]:
    """Whom `me` pushes decided block `number` to, when the push goes down a tree.

    The tree is a forest over [working sealers] + [followers, rotated by `number`]: the node at
    position p sends to positions K + p·w … K + p·w + w − 1, so each working sealer feeds w
    followers and each follower w more. Rotating the followers every height makes a different
    follower the parent each time, so a crashed one cuts its subtree off for one block only.
    """
    working = r.working
    followers = [i for i in range(len(r.node_ids)) if i not in r.voters]
    if not followers:
        return []
    shift = number % len(followers)
    order = list(working) + followers[shift:] + followers[:shift]
    if me not in order:
        return []
    width, first_follower = r.config.tree_width, len(working)
    first = first_follower + order.index(me) * width
    return order[first:first + width]
