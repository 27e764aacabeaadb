"""Checking what a node says about a transaction against the block header, not trusting the node.

A light client holds (or fetches) a block header. getTransactionByHashWithProof gives it the raw
transaction and a Merkle path (FISCO 2.x's ``[{left, right}]`` units over its 16-ary tree, see
chain.ledger.merkle); the client hashes the raw bytes itself, checks that the path leads from
``rlp(transactionIndex) ‖ hash`` to the header's ``transactionsRoot``, and that the header hashes to
the block hash the answer names. Receipts work the same way against ``receiptsRoot``.

What this does not check: that the header itself was signed by a quorum of sealers (that needs the
checkpoint message format and the sealer keys; see chain.consensus).
"""

from __future__ import annotations

from typing import Any

from chain.crypto.suite import CryptoSuite
from chain.errors import LedgerError
from chain.ledger.block import BlockHeader
from chain.ledger.merkle import verify_proof
from chain.ledger.receipt import Receipt
from chain.ledger.transaction import Transaction
from chain.sdk.errors import ProofError
from chain.wire.views import header_from_json, proof_from_json, receipt_from_json


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise ProofError(f"{what} is missing")
    try:
        return bytes.fromhex(value[2:] if value.startswith("0x") else value)
    except ValueError:
        raise ProofError(f"{what} is not hex") from None


def _index(view: dict[str, Any], what: str) -> int:
    value = view.get("transactionIndex")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ProofError(f"{what} has no transactionIndex")
    try:
        index = value if isinstance(value, int) else int(value, 16)
    except ValueError:
        raise ProofError(f"{what}'s transactionIndex is not a hex number") from None
    if index < 0:
        raise ProofError(f"{what}'s transactionIndex is negative")
    return index


def checked_header(suite: CryptoSuite, block_view: dict[str, Any]) -> BlockHeader:
    """The header a block view describes, after checking it hashes to the hash the view claims."""
    try:
        header = header_from_json(block_view)
    except LedgerError as exc:
        raise ProofError(f"block header: {exc}") from exc
    if header.hash(suite) != _hex(block_view.get("hash"), "block hash"):
        raise ProofError("block header fields do not hash to the block hash")
    return header


def verify_transaction_proof(suite: CryptoSuite, answer: dict[str, Any], header: BlockHeader) -> Transaction:
    """The transaction, once its proof checks out against header.transactions_root; ProofError if not."""
    try:
        tx = Transaction.decode(_hex(answer.get("raw"), "raw transaction"))
        proof = proof_from_json(answer.get("txProof"))
    except LedgerError as exc:
        raise ProofError(f"transaction proof: {exc}") from exc
    view = answer.get("transaction") or {}
    tx_hash = tx.hash(suite)
    # The JSON view and the raw bytes must be the same transaction.
    if _hex(view.get("hash"), "transaction hash") != tx_hash:
        raise ProofError("the raw transaction does not hash to the transaction's hash")
    # It must be in the block the header describes.
    if _hex(view.get("blockHash"), "blockHash") != header.hash(suite):
        raise ProofError("the transaction names another block than this header")
    # And the Merkle path must lead from its hash to that block's transactions root.
    if not verify_proof(suite, _index(view, "the transaction"), tx_hash, proof, header.transactions_root):
        raise ProofError("Merkle proof does not lead to the header's transactionsRoot")
    return tx


def verify_receipt_proof(suite: CryptoSuite, answer: dict[str, Any], header: BlockHeader) -> Receipt:
    """The receipt, once its proof checks out against header.receipts_root; ProofError if not."""
    try:
        receipt = Receipt.decode(_hex(answer.get("raw"), "raw receipt"))
        proof = proof_from_json(answer.get("receiptProof"))
        described = receipt_from_json(answer.get("transactionReceipt") or {})
    except LedgerError as exc:
        raise ProofError(f"receipt proof: {exc}") from exc
    # The JSON view and the raw bytes must be the same receipt.
    if described != receipt:
        raise ProofError("the raw receipt differs from the receipt shown")
    # It must be a receipt of the block the header describes.
    if receipt.block_number != header.number:
        raise ProofError("the receipt names another block than this header")
    # And the Merkle path must lead from its hash to that block's receipts root.
    if not verify_proof(suite, receipt.transaction_index, receipt.hash(suite), proof, header.receipts_root):
        raise ProofError("Merkle proof does not lead to the header's receiptsRoot")
    return receipt
