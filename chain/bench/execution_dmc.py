"""DMC against the serial executor on the same blocks, measured side by side in one run.

Two blocks, both of ``count`` Asset transfers signed beforehand (signing and signature recovery
are outside the timing, as in ``chain.bench.execution``):

* **independent**: the transfers are spread round-robin over 16 Asset contracts — no transaction
  reaches two contracts, so DMC runs the contracts in parallel in a single round;
* **cross**: every transaction calls one of 16 Relay contracts, which calls ``transfer`` on another
  Asset — every transaction pauses once at the cross-contract call, and a contract runs one of its
  own transactions per two rounds (FISCO's stack flow: none starts while one is paused).

Each configuration executes each block twice on the same parent state and the second run is
timed: the first fills the worker processes' row caches, which on a node stay filled from block to
block (``chain.execution.dmc.pool``). The machine's load average is printed with the figures:
other work on the same cores changes them, the ratio between columns measured together less.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from chain.abi.codec import ContractABI
from chain.contracts import load_artifact
from chain.crypto.keys import KeyPair
from chain.execution.dmc import DMCExecutor
from chain.execution.executor import EVMExecutor
from chain.execution.local import LocalChain
from chain.execution.result import BlockExecutor, ExecutionResult
from chain.ledger.block import Block, BlockHeader
from chain.ledger.merkle import transactions_root
from chain.ledger.transaction import Transaction

CONTRACTS = 16

RELAY_SOURCE = """
# pragma version ^0.4.0
interface Asset:
    def transfer(to: address, amount: uint256): nonpayable

forwarded: public(uint256)

@external
def forward(asset: address, to: address, amount: uint256):
    self.forwarded += 1
    extcall Asset(asset).transfer(to, amount)
"""


@dataclass(frozen=True)
class Figure:
    workload: str
    executor: str  # "evm" (serial) or "dmc-N" (N worker processes; dmc-0: in-process)
    transactions: int
    seconds: float  # the timed (second) run
    first_seconds: float  # the first run (cold row caches in the workers)
    rounds: int  # DMC rounds (sync points); 0 for the serial executor

    @property
    def per_second(self) -> float:
        return self.transactions / self.seconds


@dataclass
class Blocks:
    chain: LocalChain
    independent: list[Transaction]
    cross: list[Transaction]


def build_blocks(suite_name: str, count: int) -> Blocks:
    """A chain with 16 Assets and 16 Relays (each Relay holding units of the next Asset), and the two blocks."""
    from chain.sdk.compiler import compile_vyper

    key = KeyPair(suite_name, 0xD3C)
    chain = LocalChain(suite_name, admins=[key.address])
    asset = load_artifact("Asset", suite_name)
    relay = compile_vyper("Relay", RELAY_SOURCE, chain.suite)
    asset_abi, relay_abi = ContractABI(chain.suite, asset.abi), ContractABI(chain.suite, relay.abi)
    deployed = chain.run_block([chain.transaction(key, b"", asset.bytecode) for _ in range(CONTRACTS)]
                               + [chain.transaction(key, b"", relay.bytecode) for _ in range(CONTRACTS)])
    addresses = [r.contract_address for r in deployed.receipts]
    assets, relays = addresses[:CONTRACTS], addresses[CONTRACTS:]
    issue = [chain.transaction(key, a, asset_abi.encode_call("issue", key.address, 10 * count)) for a in assets]
    issue += [chain.transaction(key, assets[(i + 1) % CONTRACTS], asset_abi.encode_call("issue", r, 10 * count))
              for i, r in enumerate(relays)]
    assert all(r.ok for r in chain.run_block(issue).receipts)
    independent = [
        chain.transaction(key, assets[i % CONTRACTS], asset_abi.encode_call("transfer", (i + 1).to_bytes(20, "big"), 1))
        for i in range(count)
    ]
    cross = [
        chain.transaction(key, relays[i % CONTRACTS], relay_abi.encode_call(
            "forward", assets[(i % CONTRACTS + 1) % CONTRACTS], (i + 1).to_bytes(20, "big"), 1))
        for i in range(count)
    ]
    return Blocks(chain, independent, cross)


def _block(chain: LocalChain, txs: list[Transaction]) -> Block:
    header = BlockHeader(parent_hash=chain.head.hash(chain.suite), number=chain.number + 1,
                         timestamp=chain.head.header.timestamp + 1000, sealer=0,
                         sealer_list=chain.head.header.sealer_list,
                         transactions_root=transactions_root(chain.suite, tuple(txs)))
    return Block(header, tuple(txs))


def _timed(executor: BlockExecutor, chain: LocalChain, block: Block) -> tuple[float, ExecutionResult]:
    state = chain.state.snapshot()
    start = time.perf_counter()
    result = executor.execute(block, state, chain.head.header.state_root)
    return time.perf_counter() - start, result


def measure(suite_name: str, count: int, executors: list[tuple[str, int]]) -> tuple[list[Figure], tuple[float, float]]:
    """Figures for each (kind, workers) on both blocks; and the load average before and after."""
    blocks = build_blocks(suite_name, count)
    chain = blocks.chain
    load_before = os.getloadavg()[0]
    figures: list[Figure] = []
    instances: list[tuple[str, BlockExecutor]] = []
    for kind, workers in executors:
        if kind == "evm":
            instances.append(("evm", EVMExecutor(chain.suite, chain_id=chain.chain_id)))
        else:
            instances.append((f"dmc-{workers}", DMCExecutor(chain.suite, chain_id=chain.chain_id, workers=workers)))
    try:
        for workload, txs in (("independent", blocks.independent), ("cross", blocks.cross)):
            block = _block(chain, txs)
            reference: tuple[bytes, bytes] | None = None
            for name, executor in instances:
                first, _ = _timed(executor, chain, block)
                seconds, result = _timed(executor, chain, block)
                failed = sorted({r.status for r in result.receipts if not r.ok})
                if failed:
                    raise RuntimeError(f"{name}: {workload} transactions failed with statuses {failed}")
                roots = (result.block.header.state_root, result.block.header.receipts_root)
                if name.startswith("dmc"):  # every DMC configuration must agree (serial may not, on cross)
                    if reference is not None and roots != reference:
                        raise RuntimeError(f"{name} disagrees with the other DMC runs on the {workload} block")
                    reference = roots
                rounds = len(executor.last_stages) if isinstance(executor, DMCExecutor) else 0
                figures.append(Figure(workload, name, len(txs), seconds, first, rounds))
    finally:
        for _, executor in instances:
            if isinstance(executor, DMCExecutor):
                executor.close()
    return figures, (load_before, os.getloadavg()[0])


def run(suite_name: str = "standard", count: int = 2000, executors: list[tuple[str, int]] | None = None) -> list[Figure]:
    from rich.console import Console
    from rich.table import Table

    chosen = executors or [("evm", 0), ("dmc", 1), ("dmc", 2)]
    figures, (before, after) = measure(suite_name, count, chosen)
    table = Table(title=f"one block of {count} Asset transfers over {CONTRACTS} contracts ({suite_name} suite, "
                        f"{os.cpu_count()} cores, load average {before:.1f} before, {after:.1f} after)")
    for column in ("block", "executor", "s (2nd run)", "s (1st run)", "tx / s", "× serial", "DMC rounds"):
        table.add_column(column, justify="left" if column in ("block", "executor") else "right")
    serial = {f.workload: f.seconds for f in figures if f.executor == "evm"}
    for f in figures:
        ratio = f"{serial[f.workload] / f.seconds:.2f}" if f.workload in serial else "-"
        table.add_row(f.workload, f.executor, f"{f.seconds:.2f}", f"{f.first_seconds:.2f}", f"{f.per_second:,.0f}",
                      ratio, str(f.rounds) if f.rounds else "-")
    Console().print(table)
    return figures
