"""Admission rules of the tx pool, one function per rule, in the order the pool applies them.

Each rule raises ``TxRejected(status, message)`` with the FISCO BCOS 2.x status code a client is
told. The cheap structural rules run first so a malformed or foreign transaction costs no
signature check; then the signature; then the rules that ask the chain (replay window, config).

Replay protection (FISCO 2.x): a transaction is valid only while ``head < blockLimit <= head + 1000``,
and its nonce (FISCO's "randomid") must not be in the pool nor on chain. Because blockLimit bounds
how long a transaction stays valid, the chain only has to remember the nonces of the last 1000 blocks.
"""

from __future__ import annotations

from typing import Protocol

from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError, TxRejected
from chain.ledger.committee import is_auth_chain
from chain.ledger.permissions import account_refusal
from chain.ledger.state import StateReader
from chain.ledger.status import Status
from chain.ledger.transaction import Transaction

BLOCK_LIMIT_WINDOW = 1000  # a tx is valid for blocks head+1 .. head+1000 (FISCO's maxBlockLimit)
NONCE_WINDOW = 1000  # the chain remembers the nonces of this many recent blocks
MAX_TX_SIZE = 1 << 20  # bytes of RLP; larger transactions are refused before any work is done


class ChainView(StateReader, Protocol):
    """What the pool reads from the committed chain (a ``chain.ledger.store.Store`` provides it)."""

    def head_number(self) -> int: ...
    def nonce_on_chain(self, nonce: int, since_number: int) -> bool: ...
    def transaction(self, tx_hash: bytes) -> tuple[Transaction, int, int] | None: ...


def check_size(tx: Transaction, max_size: int) -> None:
    # A bound on what one client can make every node store and forward.
    size = len(tx.encode())
    if size > max_size:
        raise TxRejected(Status.MALFORMED_TX, f"transaction is {size} bytes, more than the limit of {max_size}")


def check_signature(tx: Transaction, suite: CryptoSuite) -> None:
    # Only a transaction whose sender can be derived from its signature is anyone's transaction.
    try:
        tx.sender_public_key(suite)  # verified once: the Transaction caches the result
    except ChainError as exc:
        raise TxRejected(Status.INVALID_SIGNATURE, f"invalid signature: {exc}") from exc


def check_chain_id(tx: Transaction, chain_id: int) -> None:
    # A transaction signed for another chain must not be replayable here.
    if tx.chain_id != chain_id:
        raise TxRejected(Status.INVALID_CHAIN_ID, f"chainId {tx.chain_id} is not this chain's {chain_id}")


def check_group_id(tx: Transaction, group_id: int) -> None:
    # Nor one signed for another group of the same chain.
    if tx.group_id != group_id:
        raise TxRejected(Status.INVALID_GROUP_ID, f"groupId {tx.group_id} is not this group's {group_id}")


def check_block_limit(tx: Transaction, head: int) -> None:
    # Expired transactions are dead, and too-distant ones would outlive the nonce window.
    if not head < tx.block_limit <= head + BLOCK_LIMIT_WINDOW:
        raise TxRejected(
            Status.BLOCK_LIMIT_CHECK_FAIL,
            f"blockLimit {tx.block_limit} is outside ({head}, {head + BLOCK_LIMIT_WINDOW}] for head {head}",
        )


def check_nonce_not_pooled(pooled_hash: bytes | None) -> None:
    # One nonce, one transaction: another tx reusing a pooled nonce is a replay. (The same tx again
    # never gets here: the pool answers ALREADY_KNOWN by its hash before any rule runs.)
    if pooled_hash is not None:
        raise TxRejected(Status.NONCE_CHECK_FAIL, "another transaction with this nonce is in the pool")


def check_nonce_not_on_chain(tx: Transaction, tx_hash: bytes, chain: ChainView, head: int) -> None:
    # A nonce committed within the window cannot be used again (older ones fail the blockLimit rule).
    if not chain.nonce_on_chain(tx.nonce, max(0, head - NONCE_WINDOW + 1)):
        return
    if chain.transaction(tx_hash) is not None:
        raise TxRejected(Status.ALREADY_IN_CHAIN, "transaction already on chain")
    raise TxRejected(Status.NONCE_CHECK_FAIL, "a transaction with this nonce is already on chain")


def check_gas_limit(tx: Transaction, limit: int) -> None:
    # No transaction may ask for more gas than the chain lets one transaction use (system config).
    if tx.gas_limit > limit:
        raise TxRejected(Status.BLOCK_GAS_LIMIT_REACHED, f"gasLimit {tx.gas_limit} exceeds tx_gas_limit {limit}")


def check_account_active(chain: StateReader, sender: bytes) -> None:
    # On an auth chain a frozen or abolished account's transactions would only fail: refuse them here.
    refused = account_refusal(chain, sender) if is_auth_chain(chain) else None
    if refused is not None:
        raise TxRejected(refused[0], refused[1])


def check_sender_quota(sender: bytes, pooled: int, quota: int) -> None:
    # One account may not crowd everyone else out of the pool (and out of the blocks sealed from it).
    if pooled >= quota:
        raise TxRejected(
            Status.TX_POOL_IS_FULL,
            f"sender 0x{sender.hex()} already has {pooled} transactions waiting in the pool; "
            f"the per-sender quota is {quota}: wait until some are committed",
        )


def check_capacity(size: int, capacity: int) -> None:
    # A bounded pool keeps a flood from exhausting the node's memory.
    if size >= capacity:
        raise TxRejected(Status.TX_POOL_IS_FULL, "pool full")
