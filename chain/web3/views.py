"""Ethereum's JSON shapes for our blocks, transactions, receipts and logs.

The rules Ethereum clients parse by: quantities are minimal hex ("0x0", never "0x00"), data is
0x-hex of whole bytes, absent things are null. Where our chain differs from Ethereum, the shape
stays Ethereum's and the value says the truth of this chain:

* timestamps are seconds (our headers hold wall-clock epoch milliseconds, FISCO's unit);
* there is no coin, so every price, fee and value is 0;
* there is no proof of work and no uncles: difficulty 0, ``sha3Uncles`` the empty-list hash;
* ``miner`` is the address of the sealer that proposed the block (keccak of its public key);
* ``logIndex`` counts within the block (``chain.logs`` counts within the receipt, as FISCO does);
* a FISCO transaction shows ``type`` 0x0 with its own 256-bit random nonce and v/r/s.
"""

from __future__ import annotations

from typing import Any, Sequence

from chain.crypto.suite import CryptoSuite
from chain.ledger.block import Block
from chain.ledger.eth_transaction import LEGACY, EthTransaction
from chain.ledger.receipt import Receipt
from chain.ledger.status import Status
from chain.ledger.transaction import Transaction
from chain.ledger.bloom import logs_bloom, block_bloom
from chain.logs.query import MatchedLog

EMPTY_UNCLES_HASH = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"  # keccak(rlp([]))
ZERO_HASH = "0x" + "00" * 32


def quantity(value: int) -> str:
    return hex(value)


def data(value: bytes) -> str:
    return "0x" + value.hex()


def address_or_null(value: bytes) -> str | None:
    return data(value) if value else None


def block_json(suite: CryptoSuite, block: Block, receipts: Sequence[Receipt], full: bool) -> dict[str, Any]:
    header = block.header
    block_hash = block.hash(suite)
    sealer = header.sealer_list[header.sealer] if header.sealer < len(header.sealer_list) else b""
    if full:
        txs: list[Any] = [transaction_json(suite, tx, block_hash, block.number, i) for i, tx in enumerate(block.transactions)]
    else:
        txs = [data(tx.hash(suite)) for tx in block.transactions]
    return {
        "number": quantity(block.number),
        "hash": data(block_hash),
        "parentHash": data(header.parent_hash),
        "nonce": "0x0000000000000000",
        "mixHash": ZERO_HASH,
        "sha3Uncles": EMPTY_UNCLES_HASH,
        "logsBloom": data(block_bloom(suite, receipts)),
        "transactionsRoot": data(header.transactions_root),
        "stateRoot": data(header.state_root),
        "receiptsRoot": data(header.receipts_root),
        "miner": data(suite.address(sealer)) if sealer else "0x" + "00" * 20,
        "difficulty": "0x0",
        "totalDifficulty": "0x0",
        "extraData": data(header.extra_data),
        "size": quantity(len(block.encode())),
        "gasLimit": quantity(max(header.gas_used, 30_000_000)),
        "gasUsed": quantity(header.gas_used),
        "baseFeePerGas": "0x0",
        "timestamp": quantity(header.timestamp // 1000),  # FISCO's milliseconds, Ethereum's seconds
        "transactions": txs,
        "uncles": [],
    }


def transaction_json(
    suite: CryptoSuite, tx: Transaction, block_hash: bytes | None, number: int | None, index: int | None
) -> dict[str, Any]:
    try:
        sender = data(tx.sender(suite))
    except Exception:  # noqa: BLE001 - a committed transaction with a bad signature failed; show no sender
        sender = "0x" + "00" * 20
    out: dict[str, Any] = {
        "hash": data(tx.hash(suite)),
        "blockHash": None if block_hash is None else data(block_hash),
        "blockNumber": None if number is None else quantity(number),
        "transactionIndex": None if index is None else quantity(index),
        "from": sender,
        "to": address_or_null(tx.to),
        "nonce": quantity(tx.nonce),
        "gas": quantity(tx.gas_limit),
        "gasPrice": "0x0",
        "value": quantity(tx.value),
        "input": data(tx.data),
        "type": "0x0",
        "v": quantity(tx.v),
        "r": quantity(tx.r),
        "s": quantity(tx.s),
    }
    if isinstance(tx, EthTransaction):
        out["type"] = quantity(tx.tx_type)
        out["chainId"] = quantity(tx.chain_id)
        if tx.tx_type != LEGACY:
            out["yParity"] = quantity(tx.v)
            out["accessList"] = [{"address": data(a), "storageKeys": [data(k) for k in keys]} for a, keys in tx.access_list]
        if tx.tx_type == 2:
            out["maxFeePerGas"] = quantity(tx.gas_price)
            out["maxPriorityFeePerGas"] = quantity(tx.max_priority_fee)
    return out


def receipt_json(
    suite: CryptoSuite, tx: Transaction, receipt: Receipt, block_hash: bytes, block_receipts: Sequence[Receipt]
) -> dict[str, Any]:
    index = receipt.transaction_index
    earlier = block_receipts[:index]
    first_log = sum(len(r.logs) for r in earlier)
    logs = [
        log_json(MatchedLog(log, receipt.block_number, block_hash, receipt.transaction_hash, index, i), first_log)
        for i, log in enumerate(receipt.logs)
    ]
    try:
        sender = data(tx.sender(suite))
    except Exception:  # noqa: BLE001 - see transaction_json
        sender = "0x" + "00" * 20
    return {
        "transactionHash": data(receipt.transaction_hash),
        "transactionIndex": quantity(index),
        "blockHash": data(block_hash),
        "blockNumber": quantity(receipt.block_number),
        "from": sender,
        "to": address_or_null(tx.to),
        "cumulativeGasUsed": quantity(sum(r.gas_used for r in earlier) + receipt.gas_used),
        "gasUsed": quantity(receipt.gas_used),
        "effectiveGasPrice": "0x0",
        "contractAddress": address_or_null(receipt.contract_address),
        "logs": logs,
        "logsBloom": data(logs_bloom(suite, receipt.logs)),
        "status": "0x1" if receipt.status == Status.SUCCESS else "0x0",
        "type": quantity(tx.tx_type) if isinstance(tx, EthTransaction) else "0x0",
    }


def log_json(m: MatchedLog, first_log_of_receipt: int) -> dict[str, Any]:
    """Ethereum's log: logIndex within the block = the receipt's first log's place + the index within it."""
    return {
        "address": data(m.log.address),
        "topics": [data(t) for t in m.log.topics],
        "data": data(m.log.data),
        "blockNumber": quantity(m.block_number),
        "blockHash": data(m.block_hash),
        "transactionHash": data(m.transaction_hash),
        "transactionIndex": quantity(m.transaction_index),
        "logIndex": quantity(first_log_of_receipt + m.log_index),
        "removed": False,  # a committed PBFT block is final
    }
