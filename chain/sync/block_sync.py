"""Block sync: serving committed blocks to a lagging peer, and checking the ones we receive.

A replica that sees consensus messages for a height above its own knows blocks it lacks exist,
and asks the sender for them (SyncRequest / SyncResponse, part of the PBFT message set). Nothing
in a response is trusted: each block must extend our head, carry the signatures of a quorum of
the sealers in force at its height (chain.consensus.pbft.checkpoint), and re-executing it here
must give exactly the header those sealers signed. Only then is it committed.
"""

from __future__ import annotations

from typing import Protocol

from chain.crypto.suite import CryptoSuite
from chain.errors import ConsensusError, LedgerError
from chain.execution.result import BlockExecutor, ExecutionResult
from chain.ledger.block import Block
from chain.ledger.state import StateReader


class BlockSource(Protocol):
    def head_number(self) -> int: ...
    def block_by_number(self, number: int) -> Block | None: ...


class ChainState(StateReader, Protocol):
    def head(self) -> Block | None: ...
    def state_root(self) -> bytes: ...


def blocks_for(store: BlockSource, from_number: int, to_number: int, batch: int) -> tuple[bytes, ...]:
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


def re_execute(suite: CryptoSuite, executor: BlockExecutor, store: ChainState, block: Block) -> ExecutionResult:
    """Execute a fetched block on our head; ConsensusError unless the result is the one that was signed."""
    head = store.head()
    # A fetched block must extend our chain.
    if head is None or block.header.parent_hash != head.hash(suite):
        raise ConsensusError(f"sync: block {block.number} does not extend this node's head")
    result = executor.execute(block, store, store.state_root())
    # Our execution must reproduce the header the quorum signed (same receipts and state root).
    if result.block.hash(suite) != block.hash(suite):
        raise ConsensusError(f"sync: re-executing block {block.number} gives a different result than the one signed")
    return result
