"""What an attacker with one node's disk can change in a stored block — one pure function per edit.

The edits climb a ladder: each covers the tracks the previous one left, and so moves the evidence
to a check further out (chain.tamper.checks says which):

* ``tx``           — change what a transaction writes; nothing else;
* ``tx-resigned``  — the same, then sign the changed transaction with the attacker's own key, so it
  carries a valid signature again;
* ``tx-and-root``  — the same as ``tx``, then recompute the header's transactions root so the
  Merkle root matches again;
* ``signature``    — leave the block alone and flip one bit of one sealer's Checkpoint signature.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from chain.crypto.keys import KeyPair
from chain.errors import ChainError
from chain.execution.kv import decode_kv, encode_kv
from chain.ledger.block import Block
from chain.ledger.merkle import transactions_root
from chain.ledger.transaction import Transaction, sign_transaction

TAMPERED_VALUE = b"tampered"
ATTACKER_SECRET = 0xBAD5EED  # a fixed key, so the exercise is the same every time


class TamperError(ChainError):
    """The requested edit cannot be made to this block (no such transaction or signature)."""


def attacker_key(suite_name: str) -> KeyPair:
    """The attacker's own account: a valid key, just not the sender's."""
    return KeyPair(suite_name, ATTACKER_SECRET)


def changed_transaction(tx: Transaction) -> Transaction:
    """tx writing something else: a kv write gets the value "tampered", any other tx one more unit of value.

    The signature fields are kept as they were: the attacker cannot sign for the sender.
    """
    write = decode_kv(tx.data)
    if write is not None:
        key, _ = write
        return replace(tx, data=encode_kv(key, TAMPERED_VALUE))
    return replace(tx, value=tx.value + 1)


def _transaction_index(block: Block, index: int) -> int:
    # The edit names a transaction the block holds.
    if not 0 <= index < len(block.transactions):
        raise TamperError(f"block {block.number} holds {len(block.transactions)} transaction(s); there is no index {index}")
    return index


def _with_transaction(block: Block, index: int, tx: Transaction) -> Block:
    txs = list(block.transactions)
    txs[index] = tx
    return replace(block, transactions=tuple(txs))


def tamper_transaction(block: Block, index: int = 0) -> Block:
    """Change transaction `index`; the header, its Merkle root and the signature list stay."""
    index = _transaction_index(block, index)
    return _with_transaction(block, index, changed_transaction(block.transactions[index]))


def tamper_transaction_resigned(block: Block, index: int = 0, *, suite_name: str) -> Block:
    """Change transaction `index` and sign it with the attacker's key: a valid transaction, from someone else."""
    index = _transaction_index(block, index)
    forged = sign_transaction(changed_transaction(block.transactions[index]), attacker_key(suite_name))
    return _with_transaction(block, index, forged)


def tamper_transaction_and_root(block: Block, index: int = 0, *, suite_name: str) -> Block:
    """Change transaction `index` and put the new Merkle root of the transactions in the header."""
    from chain.crypto.suite import get_suite

    changed = tamper_transaction(block, index)
    header = replace(changed.header, transactions_root=transactions_root(get_suite(suite_name), changed.transactions))
    return replace(changed, header=header)


def tamper_signature(block: Block, index: int = 0) -> Block:
    """Flip one bit of r in the `index`-th signature of the signature list; the block itself is untouched.

    r is the first 32 bytes in both suites (standard r‖s‖v, sm r‖s‖public key), so the edit gives a
    well-formed signature that does not verify, rather than an unreadable one.
    """
    # The edit names a signature the list holds.
    if not 0 <= index < len(block.signatures):
        raise TamperError(f"block {block.number} carries {len(block.signatures)} signature(s); there is no index {index}")
    signatures = list(block.signatures)
    sealer, signature = signatures[index]
    signatures[index] = (sealer, signature[:31] + bytes([signature[31] ^ 1]) + signature[32:])
    return replace(block, signatures=tuple(signatures))


@dataclass(frozen=True)
class Tamper:
    """One named edit: what it does, in a sentence, and the function that does it."""

    name: str
    says: str
    apply: Callable[[Block, int, str], Block]  # (block, index, suite name) -> tampered block


TAMPERS: dict[str, Tamper] = {t.name: t for t in (
    Tamper("tx", "change what transaction {index} writes; its signature, the header and the signature list are left alone",
           lambda block, index, suite: tamper_transaction(block, index)),
    Tamper("tx-resigned", "change transaction {index} and sign it again with the attacker's own key",
           lambda block, index, suite: tamper_transaction_resigned(block, index, suite_name=suite)),
    Tamper("tx-and-root", "change transaction {index} and put the new Merkle root in the header",
           lambda block, index, suite: tamper_transaction_and_root(block, index, suite_name=suite)),
    Tamper("signature", "flip one bit of signature {index} in the signature list; the block itself is left alone",
           lambda block, index, suite: tamper_signature(block, index)),
)}


TAMPER_KINDS = tuple(TAMPERS)


def tamper(block: Block, what: str, index: int, suite_name: str) -> Block:
    """Apply the edit named `what` (a key of TAMPERS); TamperError if unknown or impossible."""
    if what not in TAMPERS:
        raise TamperError(f"unknown tamper {what!r} (choose from {', '.join(TAMPERS)})")
    return TAMPERS[what].apply(block, index, suite_name)
