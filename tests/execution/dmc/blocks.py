"""Building and executing test blocks of Cell calls with any executor, from one starting state."""

from __future__ import annotations

from typing import Any

from chain.abi.codec import ContractABI
from chain.crypto.keys import KeyPair
from chain.execution.local import LocalChain
from chain.execution.result import BlockExecutor, ExecutionResult
from chain.ledger.block import Block, BlockHeader
from chain.ledger.merkle import transactions_root
from chain.ledger.transaction import Transaction


def deploy_cells(local: LocalChain, key: KeyPair, bytecode: bytes, count: int) -> list[bytes]:
    """count Cells, deployed in one block by the serial executor; their addresses."""
    txs = [local.transaction(key, b"", bytecode) for _ in range(count)]
    result = local.run_block(txs)
    assert all(r.ok for r in result.receipts)
    return [r.contract_address for r in result.receipts]


def call(local: LocalChain, abi: list[dict[str, object]], key: KeyPair, to: bytes, fn: str, *args: Any) -> Transaction:
    return local.transaction(key, to, ContractABI(local.suite, abi).encode_call(fn, *args))


def execute(local: LocalChain, executor: BlockExecutor, txs: list[Transaction]) -> ExecutionResult:
    """The next block of txs, executed on the chain's current state without committing it."""
    header = BlockHeader(
        parent_hash=local.head.hash(local.suite), number=local.number + 1, timestamp=local.head.header.timestamp + 1000,
        sealer=0, sealer_list=local.head.header.sealer_list, transactions_root=transactions_root(local.suite, tuple(txs)),
    )
    return executor.execute(Block(header, tuple(txs)), local.state.snapshot(), local.head.header.state_root)


def summary(result: ExecutionResult) -> tuple[object, ...]:
    """What must be identical between two executions of a block: header roots, receipts, changes."""
    header = result.block.header
    return (header.state_root, header.receipts_root, header.gas_used, result.receipts, tuple(sorted(result.changes.items())))
