"""The account row: an address's nonce and balance, as the EVM keeps them in state.

Why in the ledger: three parts read the same row — the EVM (contract nonces), the executor (an
Ethereum transaction's sequential nonce, raised once per transaction) and the pool's Ethereum
rules (replay protection) — and none of them may import another for it.

* ``evm_account`` key = 20-byte address, value = RLP [nonce, balance]; absent when both are 0.
"""

from __future__ import annotations

from chain.errors import LedgerError
from chain.ledger import codec
from chain.ledger.state import StateReader

ACCOUNT_TABLE = "evm_account"


def account_nonce(state: StateReader, address: bytes) -> int:
    """The account's nonce in state: the next nonce an Ethereum transaction from it must carry."""
    raw = state.get(ACCOUNT_TABLE, address)
    if raw is None:
        return 0
    try:
        return codec.as_int(codec.decode_list(raw, "evm account", 2)[0], "evm account nonce", 64)
    except LedgerError:
        return 0
