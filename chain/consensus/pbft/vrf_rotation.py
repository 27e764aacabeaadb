"""rPBFT's rotation proof: the VRF output that seeds each epoch's working set, kept in chain data.

**What FISCO BCOS 3.x does** (bcos-sealer ``VRFBasedSealer``, bcos-executor
``WorkingSealerManagerImpl``). When a rotation is due — ``(h − enable(B)) mod B = 0``, or K or the
switch change at h — the leader of block h puts first in it a transaction to the consensus
precompile (0x1003), ``rotateWorkingSealer(vrfPublicKey, vrfInput, vrfProof)``, signed with its
node key; every PBFT node refuses a proposal at such a height whose first transaction does not go
to 0x1003 from the leader (``checkRotateTransactionValid``). Executing it, the precompile checks
(``checkVRFInfos``) that the sender is a working sealer, that the input is the parent block's hash,
that the key is valid (for the secp256k1 VRF type: that it is a working sealer's node id) and the
proof; it then shuffles the working list and the candidate list by the proof's hash and swaps
*one* working sealer for one candidate in the consensus table (all K at once only when K or the
node list changes), in force from h + 1. A failed check reverts the transaction and sets a flag
that makes the next leader rotate instead.

**What this chain does, and why.**

* *Key.* The VRF key is the node's consensus key itself: `chain.crypto.nodevrf` runs an ECVRF on
  the suite's curve (secp256k1 or SM2), so the VRF public key *is* the node id and a proof is
  checked against the sealer list with nothing to register — FISCO's secp256k1 VRF type, for both
  suites. FISCO's default curve25519 key (``chain.crypto.vrf``, derived by hashing the node key)
  cannot be tied to a node id by anyone who lacks the secret, and its precompile does not try: a
  leader could sign with any curve25519 key it likes and keep the output it prefers. Binding it
  would take a registered key per sealer (a genesis and governance change), which this avoids.
* *Where the proof lives.* In the header's ``extra_data`` of the **last block before the epoch**
  (block start − 1), filled by its sealer: an 81-byte proof over that block's parent hash (the hash
  of block start − 2, FISCO's input). Every node checks it when it accepts the proposal (rule
  ``rotation_proof``); the quorum's signatures then cover it like the rest of the header, so block
  sync and followers need no second check. The field already exists and is hashed, so no block
  format changes. FISCO's transaction needs a signed system transaction, a precompile, a consensus
  table of node types and the first-transaction check in PBFT; a header field needs one check in
  one place. FISCO's rotation block is also the block before the new set works (its table change
  is in force from h + 1): the same position. Every other block's ``extra_data`` must be empty
  (PBFT chains too; only genesis carries its tag), so a header holds nothing no rule checks.
* *Seed.* The epoch's seed is the VRF output beta (`rotation_seed`, called by
  ``rpbft.seed_of``); the Fisher–Yates draw of ``rpbft.select_working`` is unchanged. The input
  is fixed (a committed block's hash) and the key is the sealer's, so the proposer of block
  start − 1 has exactly one output it can publish: it cannot grind the next set, only withhold
  its proposal — then a view change lets the next leader propose, with another output (FISCO: the
  same). An epoch that *begins at the anchor* (genesis, or the block from which a changed rPBFT
  config is in force) has no proof: the block before it was not known to end an epoch when it
  was proposed (the change is executed in it). Its seed stays that block's hash, as before.
* *How many change.* One per epoch, as in FISCO (``working_set``, ``rotate``): the first epoch of
  an anchor draws all min(K, n) from its seed; each later epoch sends one working sealer (drawn
  by the seed) to rest and brings one resting sealer (drawn too) in. FISCO carries the set as
  node types in its consensus table; here it is recomputed from chain data — the first epoch's
  draw, then every rotation proof since — and remembered, so it needs no state row and a node
  that synced the chain derives the same set. What one swap costs: a crashed working sealer
  leaves only when it is the one drawn out, probability 1/K per epoch (a full redraw would drop
  it with probability 1 − K/n); what it buys: K − 1 of the working sealers carry their pools
  and state over the boundary, and only one newcomer starts with an empty pool. Unlike FISCO,
  a change of K (an anchor) redraws the whole set from the hash of the block before it, where
  FISCO moves only the difference.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Protocol

from chain.consensus.pbft.rpbft import epoch_start, rpbft_enabled, select_working
from chain.crypto import nodevrf
from chain.crypto.suite import CryptoSuite
from chain.errors import ConsensusError
from chain.ledger.block import Block, BlockHeader
from chain.ledger.state import StateReader
from chain.ledger.system import FEATURE_RPBFT, RPBFT_EPOCH_BLOCK_NUM, RPBFT_EPOCH_SEALER_NUM, config_entry

if TYPE_CHECKING:
    from chain.consensus.pbft.replica import Replica

PROOF_LEN = nodevrf.PROOF_LEN
_RPBFT_KEYS = (FEATURE_RPBFT, RPBFT_EPOCH_BLOCK_NUM, RPBFT_EPOCH_SEALER_NUM)


class StoredBlocks(StateReader, Protocol):
    """What the seed reads: state rows and the committed blocks."""

    def block_hash(self, number: int) -> bytes | None: ...
    def block_by_number(self, number: int) -> Block | None: ...


def begins_at_anchor(state: StateReader, start: int) -> bool:
    """True if the epoch starting at `start` is the first of its anchor (genesis or a config change).

    ``rpbft.epoch_start``'s anchor is the latest block from which an rPBFT config is in force.
    """
    return start <= 1 or any(config_entry(state, key, start)[1] == start for key in _RPBFT_KEYS)


def rotation_due(state: StateReader, number: int) -> bool:
    """True if block `number` must carry a rotation proof: the next block begins an epoch, not at its anchor.

    Read from the state before block `number` runs. A config change inside it cannot be foreseen:
    it makes the next block an anchor, whose epoch then draws all K from the proof the block
    carries anyway (`rotation_seed` takes a proof wherever the block holds one).
    """
    following = number + 1
    if number < 1 or not rpbft_enabled(state, following) or begins_at_anchor(state, following):
        return False
    return epoch_start(state, following)[0] == following


def make_proof(suite: CryptoSuite, secret: int, parent_hash: bytes) -> bytes:
    """The proof the sealer of a rotation block puts in its header: its VRF over the parent hash."""
    return nodevrf.prove(suite, secret, parent_hash)


def proposal_extra(r: Replica) -> bytes:
    """The ``extra_data`` of the block this replica proposes at its height: a proof when one is due."""
    if not rotation_due(r.store, r.height):
        return b""
    return make_proof(r.suite, r._secret, r.head_hash)  # the replica's own key, as its signatures use


def rotation_output(suite: CryptoSuite, header: BlockHeader) -> bytes | None:
    """beta of the proof in `header`, made by the sealer it names over its parent hash; None if not valid."""
    if not 0 <= header.sealer < len(header.sealer_list):
        return None
    return nodevrf.verify(suite, header.sealer_list[header.sealer], header.extra_data, header.parent_hash)


def check_extra_data(suite: CryptoSuite, state: StateReader, header: BlockHeader) -> None:
    """Refuse a proposal's header whose rotation proof is missing or false, or that has extra data where none is due.

    Called on every PrePrepare (chain.consensus.pbft.proposal) with the state before the block.
    """
    if not rotation_due(state, header.number):
        # Nothing in a header that no rule checks: extra data only where a rule says what it holds.
        if header.extra_data:  # rule: extra_data_empty
            raise ConsensusError("extra data in a block that ends no epoch")
        return
    # The block before an epoch proves its sealer's VRF over the parent hash (the next epoch's seed).
    if rotation_output(suite, header) is None:  # rule: rotation_proof
        raise ConsensusError(f"block {header.number} ends an rPBFT epoch without a valid VRF proof "
                             f"by its sealer over the parent hash")


_seeds: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()


def rotation_seed(suite: CryptoSuite, store: StoredBlocks, start: int, parent: bytes) -> bytes:
    """The seed of the epoch starting at `start`, whose preceding block has hash `parent`.

    beta of the proof in block start − 1, or that block's hash if it carries none: the proposal
    check (`check_extra_data`) let a block through with a proof exactly when one was due, so the
    committed block itself says which — no config has to be read again (this store may be at a
    later height, where an older config row is overwritten). Block 0's extra data is the genesis
    tag, never a proof. A committed proof that does not verify means more than f working sealers
    signed a block every honest one refuses: the working set is then unknown and this raises.
    """
    if start <= 1:
        return parent
    key = (suite.name, parent)  # the block hash names its header, proof included
    seed = _seeds.get(key)
    if seed is None:
        block = store.block_by_number(start - 1)
        if block is None:
            raise LookupError(f"no block {start - 1}: the seed of the epoch starting at {start} is unknown")
        if not block.header.extra_data:
            return parent  # the first epoch of an anchor (or rPBFT was off): no proof was due
        seed = rotation_output(suite, block.header)
        if seed is None:
            raise ConsensusError(f"block {start - 1} carries an invalid rotation proof: "
                                 f"the working set of the epoch starting at {start} is unknown")
        _seeds[key] = seed
        if len(_seeds) > 256:
            _seeds.popitem(last=False)
    return seed


# --- the working set: FISCO's rotation, one sealer per epoch --------------------------------------

def _draw(suite: CryptoSuite, seed: bytes, ids: list[bytes], count: int) -> list[bytes]:
    """`count` of `ids` drawn by the seed: rpbft.select_working's shuffle (FISCO's selectNodesFromList)."""
    if count <= 0 or not ids:
        return []
    ordered = tuple(sorted(ids))
    return [ordered[i] for i in select_working(suite, seed, ordered, count)]


def rotate(suite: CryptoSuite, seed: bytes, previous: frozenset[bytes], sealer_ids: tuple[bytes, ...],
           count: int) -> frozenset[bytes]:
    """The working set after one rotation, as FISCO's ``calNodeRotatingInfo`` counts it.

    The previous working sealers still in the list stay, save what the seed draws out: if there
    are more than min(K, n) of them (K lowered — here that begins a new epoch instead — or
    sealers added), the surplus; if fewer (sealers removed), none, and the seed draws the missing
    ones from the resting sealers; if exactly that many, one goes to rest and one resting sealer
    comes in — when any rests. FISCO drives both draws by the same proof hash; here each has its
    own, ``hash(seed ‖ "out")`` and ``hash(seed ‖ "in")``: with one seed the two shuffles share
    their step hashes and only half of the possible swaps ever happen (6 of 12 for 4 of 7).
    """
    working = sorted(node for node in previous if node in sealer_ids)
    resting = sorted(node for node in sealer_ids if node not in previous)
    size = min(count, len(sealer_ids))
    if len(working) > size:
        out, into = len(working) - size, 0
    elif len(working) < size:
        out, into = 0, size - len(working)
    else:
        out, into = (1, 1) if resting else (0, 0)  # rule: rotate_one | replace: (1, 1) if resting => (0, 0) if resting
    removed = set(_draw(suite, suite.hash(seed + b"out"), working, out))
    return frozenset([node for node in working if node not in removed] + _draw(suite, suite.hash(seed + b"in"), resting, into))


# (suite, hash of the block before the epoch, sealer list, K, anchor, B): the hash names the history
_WorkingKey = tuple[str, bytes, tuple[bytes, ...], int, int, int]
_working: OrderedDict[_WorkingKey, frozenset[bytes]] = OrderedDict()


def working_set(suite: CryptoSuite, store: StoredBlocks, start: int, length: int, sealer_ids: tuple[bytes, ...],
                count: int) -> tuple[int, ...]:
    """The indices (into `sealer_ids`) of the working sealers of the epoch starting at `start`, ascending.

    The first epoch of an anchor draws all min(K, n) from its seed (FISCO: switching rPBFT on, or
    changing K, moves as many sealers as needed at once). Each later epoch is the one before it
    after `rotate` by its own seed: one sealer out, one in. An earlier epoch's set is taken over
    the sealer list its last block's header names (the list in force when it ended); the epoch
    asked about uses `sealer_ids`, the list in force at the height asked about (a governance
    change mid-epoch acts at once, as it did before). So the set is a pure function of the chain:
    the proofs and headers since the anchor, and the config rows.

    Remembered by the hash of the block before each epoch (it names the whole history up to
    there): a replica at the next epoch computes one rotation, a node starting on a long chain
    walks back to the anchor once.
    """
    enables = [config_entry(store, key, start)[1] for key in _RPBFT_KEYS]
    anchor = max(1, *enables)  # rpbft.epoch_start's anchor: the first block of the first epoch
    length = max(1, length)
    starts = list(range(anchor, start + 1, length))
    assert starts and starts[-1] == start, (anchor, start, length)
    last = len(starts) - 1

    def key_at(i: int) -> tuple[_WorkingKey, tuple[bytes, ...]]:
        sealers = sealer_ids if i == last else _sealer_list(store, starts[i] + length - 1)
        before = store.block_hash(starts[i] - 1)
        if before is None:
            raise LookupError(f"no block {starts[i] - 1}: the working set of the epoch starting at {starts[i]} is unknown")
        return (suite.name, before, sealers, count, anchor, length), sealers

    # Back from this epoch to the latest one remembered (one lookup when the replica asks again).
    walked: list[tuple[int, _WorkingKey, tuple[bytes, ...]]] = []
    chosen: frozenset[bytes] | None = None
    for i in range(last, -1, -1):
        key, sealers = key_at(i)
        chosen = _working.get(key)
        if chosen is not None:
            break
        walked.append((i, key, sealers))
    for i, key, sealers in reversed(walked):
        if chosen is None:  # the anchor's epoch: a full draw
            chosen = frozenset(_draw(suite, _seed(suite, store, starts[i]), list(sealers), count))
        else:
            chosen = rotate(suite, _seed(suite, store, starts[i]), chosen, sealers, count)
        _remember(key, chosen)
    assert chosen is not None
    return tuple(i for i, node in enumerate(sealer_ids) if node in chosen)


def _seed(suite: CryptoSuite, store: StoredBlocks, start: int) -> bytes:
    parent = store.block_hash(start - 1)
    if parent is None:
        raise LookupError(f"no block {start - 1}: the seed of the epoch starting at {start} is unknown")
    return rotation_seed(suite, store, start, parent)


def _sealer_list(store: StoredBlocks, number: int) -> tuple[bytes, ...]:
    block = store.block_by_number(number)
    if block is None:
        raise LookupError(f"no block {number}: the sealer list at the end of its epoch is unknown")
    return block.header.sealer_list


def _remember(key: _WorkingKey, chosen: frozenset[bytes]) -> None:
    _working[key] = chosen
    if len(_working) > 1024:
        _working.popitem(last=False)
