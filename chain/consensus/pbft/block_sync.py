"""Block sync: serving committed blocks to a lagging peer, and checking the ones we receive.

A replica that sees consensus messages for a height above its own knows blocks it lacks exist,
and asks the sender for them (SyncRequest / SyncResponse, part of the PBFT message set). Nothing
in a response is trusted: each block must extend our head, carry the signatures of a quorum of
the sealers in force at its height (chain.consensus.pbft.checkpoint), and re-executing it here
must give exactly the header those sealers signed. Only then is it committed.

The rules are free functions of their inputs. Then the replica's part: fetching blocks above our
head from peers that have them, and serving ours to peers below (``on_sync_request``, ``on_sync_response``).
Each function takes the replica ``r`` whose state it reads and changes; ``Replica`` calls the
``on_*`` ones from its dispatch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from chain.consensus.pbft.checkpoint import verify_block_signatures
from chain.consensus.pbft.ids import Height, NodeId, NodeIndex
from chain.consensus.pbft.messages import Envelope, MsgType, SyncRequest, SyncResponse
from chain.crypto.suite import CryptoSuite
from chain.errors import ConsensusError, LedgerError
from chain.execution.result import BlockExecutor, ExecutionResult
from chain.ledger.block import Block
from chain.ledger.state import StateReader

if TYPE_CHECKING:
    from chain.consensus.pbft.replica import Replica


@dataclass
class SyncState:
    """What block sync keeps across heights: how far peers claim to be, and when we last asked."""

    in_flight_until: int = -1  # no new request before this (ms): an unanswered one is retried after sync_retry_ms
    turn: int = 0  # rotates sync requests over the peers that are ahead
    peer_heads: dict[NodeId, Height] = field(default_factory=dict)  # node id -> the head its messages claim it has
    heard_from_peer: bool = False  # any peer's message taken since start (until then, everyone is asked)
    idle_probed_at: int = -1  # when the last idle probe went out
    started_at: int = 0  # when the replica (re)started


class BlockSource(Protocol):
    def head_number(self) -> int: ...
    def block_by_number(self, number: Height) -> Block | None: ...


class CommittedChain(StateReader, Protocol):
    """A store's head block and the state after it (not py-evm's state, chain.execution.evm.ChainState)."""

    def head(self) -> Block | None: ...
    def state_root(self) -> bytes: ...


def blocks_for(store: BlockSource, from_number: Height, to_number: Height, batch: int) -> tuple[bytes, ...]:
    """Raw committed blocks from_number..to_number (at most `batch`, never past our head)."""
    last = min(to_number, store.head_number(), from_number + batch - 1)
    found = []
    for number in range(max(0, from_number), last + 1):
        block = store.block_by_number(number)
        if block is None:
            break
        found.append(block.encode())
    return tuple(found)


def decode_block(raw: bytes) -> Block:
    try:
        return Block.decode(raw)
    except LedgerError as exc:
        raise ConsensusError(f"sync: malformed block: {exc}") from exc


def re_execute(suite: CryptoSuite, executor: BlockExecutor, store: CommittedChain, block: Block) -> ExecutionResult:
    """Execute a fetched block on our head; ConsensusError unless the result is the one that was signed."""
    head = store.head()
    # A fetched block must extend our chain.
    if head is None or block.header.parent_hash != head.hash(suite):  # rule: sync_extends_head
        raise ConsensusError(f"sync: block {block.number} does not extend this node's head")
    result = executor.execute(block, store, store.state_root())
    # Our execution must reproduce the header the quorum signed (same receipts and state root).
    if result.block.hash(suite) != block.hash(suite):  # rule: sync_same_result
        raise ConsensusError(f"sync: re-executing block {block.number} gives a different result than the one signed")
    return result


# --- the replica's part ------------------------------------------------------------------------


def retry_sync(r: Replica) -> None:
    """On each Tick: while peers claim blocks we lack, ask one of them (in turn) for the next ones.

    Requests are at most one per sync_retry_ms, and go to each peer that is ahead in turn, so a
    lost request, a lost answer or a peer that lies about its head only delays us. Right after
    start, before any peer has been heard (the driver may not have linked any yet), everyone is
    asked instead, for start_probe_ms at most.

    Only other nodes' messages tell us that we are behind, and an idle chain sends none: a
    node cut off (or restarted) while the others committed their last blocks would wait for the
    next transaction to learn of them. So a node that has seen no new block for idle_probe_ms
    asks everyone once (FISCO's block sync broadcasts its status periodically for the same
    reason). A peer that is not ahead answers nothing; the request also tells each peer our head.
    """
    ahead = sorted(node_id for node_id, head in r.sync.peer_heads.items() if head >= r.height)
    if ahead:
        peer = ahead[r.sync.turn % len(ahead)]
        if request_sync(r, peer, r.sync.peer_heads[peer]):
            r.sync.turn += 1
    elif not r.sync.heard_from_peer and r.now - r.sync.started_at < r.config.start_probe_ms:
        request_sync(r, None, r.height + r.config.sync_batch - 1)
    elif r.now - max(r.current.since, r.sync.idle_probed_at) >= r.config.idle_probe_ms:
        if request_sync(r, None, r.height + r.config.sync_batch - 1):
            r.sync.idle_probed_at = r.now


def request_sync(r: Replica, peer: NodeId | None, to_number: Height) -> bool:
    """Ask a peer (or everyone) for the blocks from our height up to to_number; False if too soon."""
    if r.now < r.sync.in_flight_until or r.my_index is None:
        return False
    r.sync.in_flight_until = r.now + r.config.sync_retry_ms
    to_number = min(to_number, r.height + r.config.sync_batch - 1)
    request = r.sign(MsgType.SYNC_REQUEST, SyncRequest(r.height, max(to_number, r.height)))
    if peer is None:
        r.broadcast(request, r.height, r.view)
    else:
        r.send(peer, request, r.height, r.view)
    return True


def _send_blocks(r: Replica, to: NodeIndex, from_number: Height, to_number: Height) -> None:
    """Send node `to` our committed blocks from_number..to_number (one batch at most), if we hold any."""
    blocks = blocks_for(r.store, from_number, to_number, r.config.sync_batch)
    if blocks and r.my_index is not None:
        response = r.sign(MsgType.SYNC_RESPONSE, SyncResponse(blocks))
        r.send(r.node_ids[to], response, from_number, r.view)


def help_lagging(r: Replica, sender: NodeIndex, number: Height) -> None:
    """A peer still works on a height we have passed: send it what it lacks, unasked."""
    _send_blocks(r, sender, number, r.height - 1)


def on_sync_request(r: Replica, envelope: Envelope, request: SyncRequest) -> None:
    # A range must run forwards.
    if request.to_number < request.from_number:  # rule: sync_range_forwards
        raise ConsensusError("sync request range runs backwards")
    _send_blocks(r, envelope.sender, request.from_number, request.to_number)


def on_sync_response(r: Replica, envelope: Envelope, response: SyncResponse) -> None:
    applied = 0
    last = -1
    for raw in response.blocks:
        block = decode_block(raw)
        last = block.number
        if block.number < r.height:
            continue  # already have it
        # Blocks are applied in order; a gap means the rest must wait for another response.
        if block.number > r.height:
            # The sender holds what we lack (rPBFT: a block pushed to a follower that missed the
            # one before, its pusher down): ask it now, not after idle_probe_ms without a block.
            peer = r.node_ids[envelope.sender]
            r.sync.peer_heads[peer] = max(r.sync.peer_heads.get(peer, -1), block.number)
            request_sync(r, peer, block.number)
            break
        verify_block_signatures(r.suite, block, r.sealer_ids, r.weights)  # rule: sync_quorum_signatures | delete
        result = re_execute(r.suite, r.executor, r.store, block)
        r.commit_block(result.block.with_signatures(block.signatures), result, "sync", r.view)
        applied += 1
    if applied:
        r.sync.in_flight_until = -1
        if raw != response.blocks[-1]:
            last = decode_block(response.blocks[-1]).number  # decoded once: a block costs a decode per transaction
        if last >= r.height:
            request_sync(r, r.node_ids[envelope.sender], last)
