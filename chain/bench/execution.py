"""Execution benchmark: what one transaction costs the executor, per kind and per suite.

Each measurement executes one block of N pre-signed transactions with ``EVMExecutor.execute`` on
an in-memory state and divides by N. Signing is outside the timing, and so is signature
verification: ``sign_transaction`` leaves the sender cached on the transaction, as the tx pool's
admission check does on a node. What remains is execution proper: ABI decoding, py-evm, the system
contracts, the journal, the change set, receipts and the two roots.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from chain.abi.codec import ContractABI, encode_call
from chain.contracts import load_artifact
from chain.crypto.keys import KeyPair
from chain.crypto.suite import SUITE_NAMES
from chain.execution.local import LocalChain
from chain.execution.precompiled import KV_TABLE_ADDRESS, TABLE_MANAGER_ADDRESS
from chain.ledger.transaction import Transaction


@dataclass(frozen=True)
class Figure:
    suite: str
    kind: str
    transactions: int
    micros_per_tx: float
    gas_per_tx: float  # EVM gas used: the instructions' cost, deterministic where the µs are not

    @property
    def per_second(self) -> float:
        return 1e6 / self.micros_per_tx


def _time_block(chain: LocalChain, txs: list[Transaction]) -> tuple[float, float]:
    """(µs, gas) per transaction of one block of txs."""
    start = time.perf_counter()
    result = chain.run_block(txs)
    elapsed = time.perf_counter() - start
    failed = [r.status for r in result.receipts if not r.ok]
    if failed:
        raise RuntimeError(f"benchmark transactions failed with statuses {sorted(set(failed))}")
    return elapsed * 1e6 / len(txs), sum(r.gas_used for r in result.receipts) / len(txs)


def _kv_set(chain: LocalChain, key: KeyPair, n: int) -> list[Transaction]:
    chain.send(key, TABLE_MANAGER_ADDRESS, encode_call(chain.suite, "createKVTable(string,string,string)", "t_bench", "k", "v"))
    return [chain.transaction(key, KV_TABLE_ADDRESS,
                              encode_call(chain.suite, "set(string,string,string)", "t_bench", f"key{i}", f"value{i}"))
            for i in range(n)]


def _transfer(chain: LocalChain, key: KeyPair, n: int) -> list[Transaction]:
    artifact = load_artifact("Asset", chain.suite.name)
    abi = ContractABI(chain.suite, artifact.abi)
    address = chain.deploy(key, artifact).contract_address
    chain.send(key, address, abi.encode_call("issue", key.address, 10 * n))
    return [chain.transaction(key, address, abi.encode_call("transfer", (i + 1).to_bytes(20, "big"), 1)) for i in range(n)]


def _deploy(chain: LocalChain, key: KeyPair, n: int) -> list[Transaction]:
    artifact = load_artifact("Asset", chain.suite.name)
    return [chain.transaction(key, b"", artifact.bytecode) for _ in range(n)]


WORKLOADS: dict[str, tuple[str, Callable[[LocalChain, KeyPair, int], list[Transaction]], int]] = {
    "kv": ("KV set via KVTable 0x1009", _kv_set, 1),
    "transfer": ("Asset.transfer (EVM)", _transfer, 1),
    "deploy": ("deploy Asset (EVM)", _deploy, 4),
}


def measure(suite_name: str, kind: str, n: int) -> Figure:
    label, build, divisor = WORKLOADS[kind]
    key = KeyPair(suite_name, 0xBE7C4)
    chain = LocalChain(suite_name, admins=[key.address])
    count = max(1, n // divisor)
    _time_block(chain, build(chain, key, 5))  # warm caches (selector tables, py-evm classes)
    return Figure(suite_name, label, count, *_time_block(chain, build(chain, key, count)))


def run(n: int = 200) -> list[Figure]:
    from rich.console import Console
    from rich.table import Table

    figures = [measure(suite, kind, n) for suite in SUITE_NAMES for kind in WORKLOADS]
    table = Table(title=f"execution cost per transaction (one block of up to {n} txs, one core)")
    for column in ("suite", "transaction", "txs", "µs / tx", "tx / s", "gas / tx"):
        table.add_column(column, justify="left" if column in ("suite", "transaction") else "right")
    order = sorted(figures, key=lambda f: (list(WORKLOADS.values()).index(
        next(w for w in WORKLOADS.values() if w[0] == f.kind)), SUITE_NAMES.index(f.suite)))
    for f in order:  # each transaction's suites side by side
        table.add_row(f.suite, f.kind, str(f.transactions), f"{f.micros_per_tx:,.0f}", f"{f.per_second:,.0f}",
                      f"{f.gas_per_tx:,.0f}")
    Console().print(table)
    return figures
