"""The transaction pool: admission rules for submitted transactions, and the txs a sealer proposes."""

from chain.txpool.pool import TxPool

__all__ = ["TxPool"]
