"""JSON-RPC error codes: the JSON-RPC 2.0 standard ones and FISCO BCOS 2.x's own (-400xx).

A handler raises ``RpcError``; the server turns it into the response's ``error`` member and keeps
serving. Transaction-pool rejections are answered as FISCO 2.x answers them over HTTP: -32603
(INTERNAL_ERROR) with the status's name in the message and the FISCO transaction status in ``data``
(``{"status": "0x2710"}`` for 10000 "already known"); see chain.rpc.methods.refusal.
"""

from __future__ import annotations

from typing import Any

from chain.errors import ChainError

# JSON-RPC 2.0
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# FISCO BCOS 2.x RPC error codes
GROUP_NOT_FOUND = -40001
BLOCK_HASH_NOT_FOUND = -40003
BLOCK_NUMBER_NOT_FOUND = -40004
TX_INDEX_OUT_OF_RANGE = -40005
CALL_NEEDS_FROM = -40006
INVALID_SYSTEM_CONFIG = -40008
# our own: the HTTP body is over the limit (the HTTP status is 413 as well)
REQUEST_TOO_LARGE = -40013


class RpcError(ChainError):
    """An error answered to the client as ``{"code", "message", "data"?}``."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_params(message: str) -> RpcError:
    return RpcError(INVALID_PARAMS, f"invalid params: {message}")
