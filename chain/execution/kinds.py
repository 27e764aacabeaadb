"""The block executors a chain can run, by the name config.toml, `chain build --executor`, the
simulator and the benches use: one table, so adding an executor (DMC, say) is one entry here.

Every node of a chain must run the same kind: they re-execute each other's blocks and sign the
result. Each builder imports its executor when called, so naming one does not load py-evm.
"""

from __future__ import annotations

from typing import Callable

from chain.crypto.suite import CryptoSuite
from chain.errors import ConfigError
from chain.execution.result import BlockExecutor


def _evm(suite: CryptoSuite, chain_id: int, workers: int) -> BlockExecutor:
    from chain.execution.executor import EVMExecutor

    return EVMExecutor(suite, chain_id=chain_id)


def _kv(suite: CryptoSuite, chain_id: int, workers: int) -> BlockExecutor:
    from chain.execution.kv import KVExecutor

    return KVExecutor(suite)  # the key/value stand-in has no chain id to check


def _dmc(suite: CryptoSuite, chain_id: int, workers: int) -> BlockExecutor:
    from chain.execution.dmc import DMCExecutor

    return DMCExecutor(suite, chain_id=chain_id, workers=workers)  # workers=0: executors in this process


# builder(suite, chain_id, workers): workers is how many processes a parallel executor may use
EXECUTORS: dict[str, Callable[[CryptoSuite, int, int], BlockExecutor]] = {
    "evm": _evm,  # contracts (py-evm) and the system contracts
    "kv": _kv,  # key/value writes only: the lessons' and the simulator's default, no contracts
    "dmc": _dmc,  # the evm executor's contracts, run by FISCO's DMC scheduler on several cores
}
EXECUTOR_KINDS: tuple[str, ...] = tuple(EXECUTORS)


def make_executor(kind: str, suite: CryptoSuite, chain_id: int, *, workers: int = 0) -> BlockExecutor:
    """The executor named `kind`; ConfigError for a name not in EXECUTORS.

    workers: worker processes of the dmc executor (0: its contract executors run in this process).
    """
    if kind not in EXECUTORS:
        raise ConfigError(f"unknown executor kind {kind!r}; one of {', '.join(EXECUTOR_KINDS)}")
    return EXECUTORS[kind](suite, chain_id, workers)
