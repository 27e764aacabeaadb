"""The key/value stand-in executor: each transaction writes one row of table ``kv``.

The simulator and the consensus lessons need *some* deterministic execution, but not the EVM: a
transaction's data is ``key ‖ 0x00 ‖ value`` and executing it sets ``kv[key] = value``. That is
enough to give every block a real state root, real receipts and real state changes, so the
Checkpoint phase (agreeing on the *result* of a block) means the same thing as with contracts.

A transaction whose data has no 0x00 separator, or an empty or oversize key, fails with
Status.INVALID_FORMAT and changes nothing — a failed transaction still gets its receipt.
The receipt's output is the value the key held before (empty if none), so lessons can see reads.
"""

from __future__ import annotations

from chain.crypto.suite import CryptoSuite
from chain.execution.result import ExecutionResult, block_result
from chain.ledger.block import Block
from chain.ledger.receipt import Receipt
from chain.ledger.state import StateOverlay, StateReader
from chain.ledger.status import Status

KV_TABLE = "kv"
# The key/value stand-in ignores `to`; clients still need one, and one fixed address keeps it recognisable.
KV_ADDRESS = b"\x10" * 20
SEPARATOR = b"\x00"
MAX_KEY_SIZE = 256
GAS_PER_BYTE = 1  # a nominal cost, so gas_used says something about the block's size


def encode_kv(key: bytes, value: bytes) -> bytes:
    """The data of a transaction that sets key to value."""
    return key + SEPARATOR + value


def decode_kv(data: bytes) -> tuple[bytes, bytes] | None:
    """(key, value) of a well-formed kv write, or None."""
    key, sep, value = data.partition(SEPARATOR)
    # The separator is what tells the key from the value.
    if not sep:
        return None
    # A row needs a key, and keys are kept small like FISCO table keys.
    if not key or len(key) > MAX_KEY_SIZE:
        return None
    return key, value


class KVExecutor:
    """A BlockExecutor (chain.execution.result) for the simulator and lessons."""

    def __init__(self, suite: CryptoSuite) -> None:
        self.suite = suite

    def execute(self, block: Block, state: StateReader, parent_state_root: bytes) -> ExecutionResult:
        overlay = StateOverlay(state)
        receipts: list[Receipt] = []
        for index, tx in enumerate(block.transactions):
            write = decode_kv(tx.data)
            if write is None:
                status, output = Status.INVALID_FORMAT, b""
            else:
                key, value = write
                output = overlay.get(KV_TABLE, key) or b""
                overlay.set(KV_TABLE, key, value)
                status = Status.SUCCESS
            receipts.append(Receipt(
                status=int(status), output=output, contract_address=b"", gas_used=len(tx.data) * GAS_PER_BYTE,
                logs=(), block_number=block.number, transaction_hash=tx.hash(self.suite), transaction_index=index,
            ))
        return block_result(self.suite, block, receipts, overlay.changes(), parent_state_root)
