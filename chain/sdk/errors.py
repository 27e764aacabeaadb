"""Errors a client sees: the node said no, the node's answer does not check out, or it never came."""

from __future__ import annotations

from typing import Any

from chain.errors import ChainError


class RpcCallError(ChainError):
    """The node answered a JSON-RPC error (code and message as the node sent them)."""

    def __init__(self, code: int, message: str, data: Any = None, method: str = "") -> None:
        super().__init__(f"{method + ': ' if method else ''}{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data
        self.method = method


class RpcTransportError(ChainError):
    """The node could not be reached, or answered something that is not JSON-RPC."""


class ProofError(ChainError):
    """A Merkle proof, or the block header it hangs from, does not check out."""


class ReceiptTimeout(ChainError):
    """No receipt appeared within the time allowed (the transaction may still be committed later)."""


class TransactionExpired(ChainError):
    """The chain passed the transaction's blockLimit without committing it: it never will be.

    Final, unlike ReceiptTimeout: every node refuses the transaction from now on and no block may
    hold it, so sending a new one (new nonce, new blockLimit) cannot commit the same thing twice.
    """

    def __init__(self, tx_hash: bytes, block_limit: int, head: int, url: str) -> None:
        super().__init__(
            f"transaction 0x{tx_hash.hex()} expired: {url} is at block {head} >= its blockLimit {block_limit} "
            f"and has no receipt for it, so no block can ever hold it; build and send a new transaction"
        )
        self.tx_hash = tx_hash
        self.block_limit = block_limit
        self.head = head
        self.url = url


class ContractError(ChainError):
    """A contract call or transaction failed; ``status`` and the decoded revert ``reason`` say why."""

    def __init__(self, message: str, status: int = 0, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
