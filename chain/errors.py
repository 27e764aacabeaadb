"""The project's own exception types.

Every error a peer, a client or a file can provoke is raised as a subclass of ChainError, so a
driver (RPC server, P2P link, CLI) can catch exactly what bad input produces and nothing else.
"""

from __future__ import annotations


class ChainError(Exception):
    """Base of every error the project raises on purpose."""


class CryptoError(ChainError):
    """Bad key, bad signature encoding, or a point that is not on the curve."""


class InvalidSignature(CryptoError):
    """A signature that is well formed but does not verify."""


class KeyFileError(CryptoError):
    """A key file that is corrupt, of the wrong suite, or protected by another password."""


class LedgerError(ChainError):
    """A transaction, block or receipt that cannot be decoded or is malformed."""


class StoreError(ChainError):
    """The durable store refused an operation (e.g. a block that does not extend the head)."""


class TxRejected(ChainError):
    """The tx pool refused a transaction; `status` is the FISCO status code a client is told."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ConfigError(ChainError):
    """A node configuration or chain directory that is missing, malformed or inconsistent."""


class CertificateError(CryptoError):
    """A TLS certificate that does not chain to the chain CA or carries no valid node id."""


class NetworkError(ChainError):
    """A peer broke the wire protocol: oversize or malformed frame, bad handshake, unknown node."""


class ScenarioError(ChainError):
    """A scenario file that is malformed or asks for something the simulator cannot do."""


class DashboardError(ChainError):
    """A dashboard API request with bad input (unknown node, unknown behaviour, bad JSON)."""


class ConsensusError(ChainError):
    """A consensus message that is malformed, wrongly signed, or breaks a PBFT rule; the replica rejects it."""
