"""JSON views of committed blocks for the page: a summary per block, and one block in full.

They read a node's `Store` (chain.ledger.store) — the same data the JSON-RPC server serves — so the
dashboard shows exactly what was committed, signature list included.
"""

from __future__ import annotations

from typing import Any, Callable

from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError
from chain.ledger.block import Block
from chain.ledger.store import Store


NodeOf = Callable[[bytes], "int | None"]  # node id -> the node number the page shows (None: not one of ours)


def hex0x(data: bytes) -> str:
    return "0x" + data.hex()


def _node_at(block: Block, position: int, node_of: NodeOf | None) -> int | None:
    """The node number of the sealer at `position` of the block's sealer list.

    A header names sealers by their position in its sealer list; after add_sealer that position is
    not the node's number (block 6's "sealer 1" was node 4), so the page shows the number.
    """
    sealers = block.header.sealer_list
    if node_of is None or not 0 <= position < len(sealers):
        return None
    return node_of(sealers[position])


def block_summary(block: Block, suite: CryptoSuite, node_of: NodeOf | None = None) -> dict[str, Any]:
    return {
        "number": block.number,
        "hash": hex0x(block.hash(suite)),
        "transactions": len(block.transactions),
        "sealer": block.header.sealer,
        "sealer_node": _node_at(block, block.header.sealer, node_of),
        "timestamp": block.header.timestamp,
        "signatures": [{"index": index, "node": _node_at(block, index, node_of), "signature": hex0x(sig)}
                       for index, sig in block.signatures],
    }


def block_detail(store: Store, suite: CryptoSuite, number: int, node_of: NodeOf | None = None) -> dict[str, Any] | None:
    block = store.block_by_number(number)
    if block is None:
        return None
    receipts = store.receipts(number)
    header = block.header
    txs = []
    for tx in block.transactions:
        try:
            sender = hex0x(tx.sender(suite))
        except ChainError:  # a committed tx always has a valid sender; never let display crash the page
            sender = "?"
        txs.append({"hash": hex0x(tx.hash(suite)), "from": sender, "to": hex0x(tx.to), "nonce": str(tx.nonce),
                    "input_size": len(tx.data)})
    return {
        **block_summary(block, suite, node_of),
        "parentHash": hex0x(header.parent_hash),
        "stateRoot": hex0x(header.state_root),
        "receiptsRoot": hex0x(header.receipts_root),
        "transactionsRoot": hex0x(header.transactions_root),
        "gasUsed": header.gas_used,
        "sealerList": [hex0x(node_id) for node_id in header.sealer_list],
        "txs": txs,
        "receipts": [{"status": r.status, "gasUsed": r.gas_used, "output": hex0x(r.output), "logs": len(r.logs)}
                     for r in receipts],
    }


def block_summaries(store: Store, suite: CryptoSuite, start: int, end: int,
                    node_of: NodeOf | None = None) -> list[dict[str, Any]]:
    """Summaries of the committed blocks numbered start..end-1 (those that exist)."""
    top = min(end, store.head_number() + 1)
    return [block_summary(b, suite, node_of) for n in range(start, top) if (b := store.block_by_number(n)) is not None]
