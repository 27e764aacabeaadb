"""DMC against the serial executor on the same blocks, measured side by side in one run.

Two blocks, both of ``count`` Asset transfers signed beforehand (signing and signature recovery
are outside the timing, as in ``chain.bench.execution``):

* **independent**: the transfers are spread round-robin over 16 Asset contracts — no transaction
  reaches two contracts, so DMC runs the contracts in parallel in a single round;
* **cross**: every transaction calls one of 16 Relay contracts, which calls ``transfer`` on another
  Asset — every transaction pauses once at the cross-contract call, and a contract runs one of its
  own transactions per two rounds (FISCO's stack flow: none starts while one is paused).

Each configuration first executes each block once on the parent state (untimed but shown: it
fills the worker processes' row caches, which on a node stay filled from block to block, see
``chain.execution.dmc.pool``); then the configurations take turns, ``reps`` times, and the median
run is reported — taking turns, so that other work on the machine slows them alike. The machine's
load average is printed with the figures.

Wall time needs free cores. On a machine busy with other work it says little about parallelism, so
the CPU seconds are printed too: for DMC with workers, this process's plus, round by round, the
busiest worker's — the *critical path*, what the block costs when each worker has a core — and
everybody's together (the price of parallelism: pickling, pipes, the scheduler).
"""

from __future__ import annotations

import os
import statistics
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
    seconds: float  # the median timed run
    first_seconds: float  # the first run (cold row caches in the workers)
    best_seconds: float  # the fastest timed run
    rounds: int  # DMC rounds (sync points); 0 for the serial executor
    # CPU seconds on the critical path (median run): serial, this process's; DMC, this process's
    # plus, per round, the busiest worker's — the time the block takes with a free core per worker
    cpu_path: float
    cpu_total: float  # CPU seconds of all processes together

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


def _timed(executor: BlockExecutor, chain: LocalChain, block: Block) -> tuple[float, ExecutionResult, float, float]:
    """(wall seconds, result, CPU seconds on the critical path, CPU seconds in all)."""
    state = chain.state.snapshot()
    start, cpu = time.perf_counter(), time.process_time()
    result = executor.execute(block, state, chain.head.header.state_root)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    if isinstance(executor, DMCExecutor) and executor.workers:
        own, critical, total = executor.last_cpu
        return wall, result, own + critical, own + total
    return wall, result, cpu, cpu


def measure(suite_name: str, count: int, executors: list[tuple[str, int]],
            reps: int = 3) -> tuple[list[Figure], tuple[float, float]]:
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
            firsts: dict[str, float] = {}
            runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _ in instances}
            rounds: dict[str, int] = {}
            for name, executor in instances:
                firsts[name], result, _, _ = _timed(executor, chain, block)
                failed = sorted({r.status for r in result.receipts if not r.ok})
                if failed:
                    raise RuntimeError(f"{name}: {workload} transactions failed with statuses {failed}")
                roots = (result.block.header.state_root, result.block.header.receipts_root)
                if name.startswith("dmc"):  # every DMC configuration must agree (serial may not, on cross)
                    if reference is not None and roots != reference:
                        raise RuntimeError(f"{name} disagrees with the other DMC runs on the {workload} block")
                    reference = roots
                rounds[name] = len(executor.last_stages) if isinstance(executor, DMCExecutor) else 0
            for _ in range(reps):  # taking turns: load from elsewhere falls on every configuration
                for name, executor in instances:
                    wall, _, path, total = _timed(executor, chain, block)
                    runs[name].append((wall, path, total))
            for name, _ in instances:
                ordered = sorted(runs[name])
                wall, path, total = ordered[len(ordered) // 2]  # the median run by wall time
                figures.append(Figure(workload, name, len(txs), statistics.median(w for w, _, _ in ordered), firsts[name],
                                      ordered[0][0], rounds[name], path, total))
    finally:
        for _, executor in instances:
            if isinstance(executor, DMCExecutor):
                executor.close()
    return figures, (load_before, os.getloadavg()[0])


def run(suite_name: str = "standard", count: int = 2000, executors: list[tuple[str, int]] | None = None,
        reps: int = 3) -> list[Figure]:
    from rich.console import Console
    from rich.table import Table

    chosen = executors or [("evm", 0), ("dmc", 1), ("dmc", 2)]
    figures, (before, after) = measure(suite_name, count, chosen, reps)
    table = Table(title=f"one block of {count} Asset transfers over {CONTRACTS} contracts ({suite_name} suite, "
                        f"{os.cpu_count()} cores, load average {before:.1f} before, {after:.1f} after)")
    for column in ("block", "executor", "s (median)", "s (best)", "s (1st run)", "tx / s", "× serial",
                   "CPU s: path / all", "× serial (CPU path)", "DMC rounds"):
        table.add_column(column, justify="left" if column in ("block", "executor") else "right")
    serial = {f.workload: f for f in figures if f.executor == "evm"}
    for f in figures:
        base = serial.get(f.workload)
        ratio = f"{base.seconds / f.seconds:.2f}" if base else "-"
        cpu_ratio = f"{base.cpu_path / f.cpu_path:.2f}" if base and f.cpu_path else "-"
        table.add_row(f.workload, f.executor, f"{f.seconds:.2f}", f"{f.best_seconds:.2f}", f"{f.first_seconds:.2f}",
                      f"{f.per_second:,.0f}", ratio, f"{f.cpu_path:.2f} / {f.cpu_total:.2f}", cpu_ratio,
                      str(f.rounds) if f.rounds else "-")
    Console(width=180).print(table)
    return figures
