"""What executing a block yields, and the one call the consensus engine makes to get it.

The engine orders a block, hands it to a ``BlockExecutor`` and then asks the sealers to sign the
header the executor filled in (receipts root, state root, gas used). Any executor that honours this
contract plugs in: the simple key/value stand-in used by the simulator, or the EVM executor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError
from chain.ledger.block import Block
from chain.ledger.merkle import receipts_root
from chain.ledger.receipt import Receipt
from chain.ledger.state import Changes, StateReader, next_state_root


class CallOutOfTime(ChainError):
    """A read-only call used up its wall-clock budget before it finished (``EVMExecutor.call``)."""


@dataclass(frozen=True)
class ExecutionResult:
    block: Block  # the input block with receipts_root, state_root and gas_used filled in
    receipts: tuple[Receipt, ...]
    changes: Changes  # every (table, key) -> value | None the block wrote; committed with the block


class BlockExecutor(Protocol):
    def execute(self, block: Block, state: StateReader, parent_state_root: bytes) -> ExecutionResult:
        """Apply block's transactions in order to state (the parent's committed state), deterministically.

        Must not write to state; must give the same result on every node and every run.
        """
        ...


def block_result(
    suite: CryptoSuite, block: Block, receipts: list[Receipt], changes: Changes, parent_state_root: bytes
) -> ExecutionResult:
    """The result every executor ends with: block's header filled in from its receipts and changes.

    Written once so that what a header commits to (receipts root, state root chained over the
    change set, total gas) cannot differ between executors.
    """
    executed = block.with_execution(
        receipts_root=receipts_root(suite, receipts),
        state_root=next_state_root(suite, parent_state_root, changes),
        gas_used=sum(r.gas_used for r in receipts),
    )
    return ExecutionResult(block=executed, receipts=tuple(receipts), changes=changes)
