"""Admission rules for Ethereum transactions (``chain.ledger.eth_transaction``), one function per rule.

They replace FISCO's blockLimit / randomid rules for this kind only: an Ethereum transaction's
replay protection is its sender's sequential nonce, kept in state (``evm_account``, the same row
the EVM keeps a contract's nonce in: ``chain.ledger.accounts``) and raised by the executor once per Ethereum transaction.
Messages use go-ethereum's error texts ("nonce too low", "oversized data"...), which Ethereum tools
recognise; the status is still FISCO's so the FISCO RPC reports these refusals too.
"""

from __future__ import annotations

from typing import Container

from chain.errors import TxRejected
from chain.ledger.eth_transaction import MAX_ETH_TX_SIZE, EthTransaction
from chain.ledger.status import Status

MAX_NONCE_AHEAD = 64  # a future nonce may wait at most this far ahead (go-ethereum's per-account queue)
MAX_PARKED = 4096  # future-nonce transactions waiting in one pool, all senders together


def check_eth_size(tx: EthTransaction) -> None:
    # go-ethereum's bound on one transaction: what a client can make every node carry.
    size = len(tx.encode())
    if size > MAX_ETH_TX_SIZE:
        raise TxRejected(Status.MALFORMED_TX, f"oversized data: transaction size {size}, limit {MAX_ETH_TX_SIZE}")


def check_eth_chain_id(tx: EthTransaction, chain_id: int) -> None:
    # A transaction signed for another chain (mainnet, another test chain) must not replay here.
    if tx.chain_id != chain_id:
        raise TxRejected(Status.INVALID_CHAIN_ID, f"invalid chain id: have {tx.chain_id} want {chain_id}")


def check_no_value(tx: EthTransaction) -> None:
    # The chain has no native coin: a value transfer could only fail, so refuse it at the door.
    if tx.value != 0:
        raise TxRejected(
            Status.NOT_ENOUGH_CASH,
            f"value transfer not supported: this chain has no native coin (value {tx.value}, must be 0)",
        )


def check_eth_nonce(
    tx: EthTransaction, sender: bytes, state_nonce: int, pooled: dict[int, bytes], parked: Container[int] = (),
) -> bool:
    """True if the nonce is a future one that must wait for the gap below it to fill; False if it
    is the next one after the account's state nonce and its pooled transactions; else TxRejected."""
    # Used already: committed nonces can never be used again (this is the replay protection).
    if tx.nonce < state_nonce:
        raise TxRejected(
            Status.NONCE_CHECK_FAIL,
            f"nonce too low: address 0x{sender.hex()}, tx: {tx.nonce} state: {state_nonce}",
        )
    # Another pending transaction holds this nonce: only one of them can ever be committed.
    if tx.nonce in pooled or tx.nonce in parked:
        raise TxRejected(Status.NONCE_CHECK_FAIL, "replacement transaction underpriced: nonce already pending")
    expected = max([state_nonce, *[n + 1 for n in pooled]])
    # Far ahead is more likely a client's mistake than a gap about to fill; and waiting costs memory.
    if tx.nonce >= expected + MAX_NONCE_AHEAD:
        raise TxRejected(
            Status.NONCE_CHECK_FAIL,
            f"nonce too high: address 0x{sender.hex()}, tx: {tx.nonce} next: {expected} "
            f"(a future nonce may wait at most {MAX_NONCE_AHEAD - 1} ahead)",
        )
    return tx.nonce > expected
