"""Small builders for test chains: signed transactions, blocks that extend a store, their receipts."""

from __future__ import annotations

from typing import Mapping, Sequence

from chain.crypto.keys import KeyPair
from chain.crypto.suite import CryptoSuite
from chain.ledger.block import EMPTY_ROOT, Block, BlockHeader
from chain.ledger.merkle import receipts_root, transactions_root
from chain.ledger.receipt import Log, Receipt
from chain.ledger.state import next_state_root
from chain.ledger.status import Status
from chain.ledger.store import Store
from chain.ledger.transaction import Transaction, new_transaction, sign_transaction

# Fixed keys so failures reproduce; never used outside tests.
SECRETS = {"standard": 0x4C0883A69102937D6231471B5DBB6204FE5129617082792AE468D01A3F362318,
           "sm": 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8}


def key_for(suite: CryptoSuite, offset: int = 0) -> KeyPair:
    return KeyPair(suite.name, SECRETS[suite.name] + offset)


def make_tx(key: KeyPair, *, nonce: int | None = None, block_limit: int = 100, chain_id: int = 1,
            group_id: int = 1, to: bytes = b"\x11" * 20, data: bytes = b"\x01\x02",
            gas_limit: int = 3_000_000, value: int = 0) -> Transaction:
    tx = new_transaction(to=to, data=data, block_limit=block_limit, chain_id=chain_id, group_id=group_id,
                         nonce=nonce, gas_limit=gas_limit, value=value)
    return sign_transaction(tx, key)


def make_block(suite: CryptoSuite, parent: Block | None, txs: Sequence[Transaction] = (), *,
               state_root: bytes = EMPTY_ROOT, timestamp: int = 0) -> Block:
    number = 0 if parent is None else parent.number + 1
    header = BlockHeader(
        parent_hash=EMPTY_ROOT if parent is None else parent.hash(suite),
        number=number,
        timestamp=timestamp or 1_700_000_000_000 + number,
        sealer=0,
        sealer_list=(b"\x07" * 64,),
        transactions_root=transactions_root(suite, txs),
        state_root=state_root,
    )
    return Block(header, tuple(txs))


def make_receipts(suite: CryptoSuite, block: Block) -> tuple[Receipt, ...]:
    return tuple(
        Receipt(status=Status.SUCCESS, output=b"\x00" * 32, contract_address=b"", gas_used=21000 + index,
                logs=(Log(b"\x22" * 20, (suite.hash(b"topic"),), b"data"),), block_number=block.number,
                transaction_hash=tx.hash(suite), transaction_index=index)
        for index, tx in enumerate(block.transactions)
    )


def extend(store: Store, txs: Sequence[Transaction] = (),
           changes: Mapping[tuple[str, bytes], bytes | None] | None = None) -> Block:
    """Build the next block over store's head, with receipts and a state root, and commit it."""
    suite = store.suite
    changes = dict(changes or {})
    block = make_block(suite, store.head(), txs, state_root=next_state_root(suite, store.state_root(), changes))
    receipts = make_receipts(suite, block)
    block = block.with_execution(receipts_root=receipts_root(suite, receipts),
                                 state_root=block.header.state_root, gas_used=sum(r.gas_used for r in receipts))
    store.commit_block(block, receipts, changes)
    return block
