"""Stores with logs, built directly (no consensus, no execution, no signatures: the store does not check them)."""

from __future__ import annotations

from typing import Sequence

from chain.crypto.suite import CryptoSuite
from chain.ledger.block import EMPTY_ROOT, Block, BlockHeader
from chain.ledger.receipt import Log, Receipt
from chain.ledger.status import Status
from chain.ledger.store import Store
from chain.ledger.transaction import Transaction

EMITTER = b"\xaa" * 20
OTHER = b"\xbb" * 20


def topic(name: str, suite: CryptoSuite) -> bytes:
    return suite.hash(name.encode())


def commit(store: Store, logs_per_tx: Sequence[Sequence[Log]], *, status: int = Status.SUCCESS) -> Block:
    """Append one block holding one (unsigned) transaction per entry, each emitting those logs."""
    suite = store.suite
    parent = store.head()
    number = 0 if parent is None else parent.number + 1
    txs = tuple(Transaction(nonce=(number << 16) + i + 1, gas_price=0, gas_limit=1, block_limit=1, to=EMITTER,
                            value=0, data=b"", chain_id=1, group_id=1, extra_data=b"") for i in range(len(logs_per_tx)))
    header = BlockHeader(parent_hash=EMPTY_ROOT if parent is None else parent.hash(suite), number=number,
                         timestamp=1_700_000_000_000 + number, sealer=0, sealer_list=(b"\x07" * 64,),
                         transactions_root=EMPTY_ROOT)
    block = Block(header, txs)
    receipts = [Receipt(status=status, output=b"", contract_address=b"", gas_used=1, logs=tuple(logs),
                        block_number=number, transaction_hash=tx.hash(suite), transaction_index=i)
                for i, (tx, logs) in enumerate(zip(txs, logs_per_tx))]
    store.commit_block(block, receipts, {})
    return block
