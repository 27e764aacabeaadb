"""What executing a block yields, and the one call the consensus engine makes to get it.

The engine orders a block, hands it to a ``BlockExecutor`` and then asks the sealers to sign the
header the executor filled in (receipts root, state root, gas used). Any executor that honours this
contract plugs in: the simple key/value stand-in used by the simulator, or the EVM executor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chain.ledger.block import Block
from chain.ledger.receipt import Receipt
from chain.ledger.state import Changes, StateReader


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
