"""Gas: a meter against runaway code, not a fee.

A consortium chain charges nobody (FISCO BCOS has no gas price and no balances): gas exists so that
an endless loop stops. Each transaction may use at most ``min(tx.gasLimit, tx_gas_limit)`` gas,
where ``tx_gas_limit`` is the system config value in force for the block. Inside the EVM, gas
follows Ethereum's schedule (py-evm, Prague); the numbers below are ours, for what happens outside
the EVM, and are chosen so that receipts show plausible, deterministic figures.
"""

from __future__ import annotations

# Intrinsic cost of any transaction, as in Ethereum (EIP-2028 calldata pricing).
TX_BASE = 21_000
TX_CREATE = 32_000
TX_DATA_ZERO = 4
TX_DATA_NONZERO = 16

# System contracts (Python precompiles): a flat cost per call, plus a per-byte cost on what they hash.
PRECOMPILED_READ = 2_000  # a query: getValueByKey, KVTable.get
PRECOMPILED_WRITE = 20_000  # one row written: setValueByKey, KVTable.set, createKVTable, Consensus.*
PRECOMPILED_HASH_BASE = 60
PRECOMPILED_HASH_WORD = 12
PRECOMPILED_SM2_VERIFY = 30_000


def intrinsic_gas(data: bytes, is_create: bool) -> int:
    """Gas charged before any code runs: the base, the creation surcharge and the call data."""
    zeros = data.count(0)
    return (
        TX_BASE
        + (TX_CREATE if is_create else 0)
        + zeros * TX_DATA_ZERO
        + (len(data) - zeros) * TX_DATA_NONZERO
    )


def hash_gas(length: int) -> int:
    return PRECOMPILED_HASH_BASE + PRECOMPILED_HASH_WORD * ((length + 31) // 32)
