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


class ContractError(ChainError):
    """A contract call or transaction failed; ``status`` and the decoded revert ``reason`` say why."""

    def __init__(self, message: str, status: int = 0, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
