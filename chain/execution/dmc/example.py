"""FISCO's DMC worked example on a real block, executed three ways (lesson 11, `chain dmc example`).

Six transactions call three Counter contracts: 1, 1, 2, 3, 2, 3; transaction 2's function also
calls contract 3. The same block is run:

* **serially** — one transaction after another, the reference;
* **DAG-style** (FISCO 2.x's parallel transactions) — each transaction *declares* what it touches
  (here: the contracts it reaches, which the sender must know in advance, calls included);
  transactions sharing a declared resource keep block order, the others run side by side in levels;
* **with DMC** — nothing declared: rounds and sync points, as ``chain.execution.dmc`` runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chain.abi.codec import ContractABI
from chain.crypto.keys import KeyPair
from chain.execution.dmc.executor import DMCExecutor
from chain.execution.dmc.scheduler import Stage
from chain.execution.local import LocalChain
from chain.execution.result import BlockExecutor, ExecutionResult
from chain.ledger.block import Block, BlockHeader
from chain.ledger.merkle import transactions_root

# the Counter of FISCO's worked example, shared with the simulator's contract load (chain.sim.dmc_load)
COUNTER_SOURCE = (Path(__file__).parents[2] / "contracts" / "sources" / "Counter.vy").read_text()

# (contract index, amount, contract called on its behalf or None): FISCO's messages 1..6
BLOCK = ((0, 1, None), (0, 5, 2), (1, 2, None), (2, 3, None), (1, 4, None), (2, 6, None))


@dataclass(frozen=True)
class Run:
    name: str
    totals: list[list[int]]  # per transaction: the `total` of each Added event (what each add saw)
    state_root: bytes
    receipts_root: bytes


@dataclass(frozen=True)
class Example:
    contracts: list[bytes]
    serial: Run
    dmc: Run
    dag_levels: list[list[int]]  # transaction numbers (1-based) per level
    stages: list[Stage]


def dag_levels(declared: list[set[int]]) -> list[list[int]]:
    """FISCO 2.x DAG: a transaction waits for every earlier one that declared a shared resource."""
    level: list[int] = []
    for i, resources in enumerate(declared):
        before = [level[j] for j in range(i) if declared[j] & resources]
        level.append(max(before) + 1 if before else 0)
    return [[i + 1 for i in range(len(declared)) if level[i] == n] for n in range(max(level) + 1)]


def run_example(executors: int = 3, suite_name: str = "standard") -> Example:
    from chain.sdk.compiler import compile_vyper

    key = KeyPair(suite_name, 0xD3C)
    chain = LocalChain(suite_name, admins=[key.address])
    artifact = compile_vyper("Counter", COUNTER_SOURCE, chain.suite)
    abi = ContractABI(chain.suite, artifact.abi)
    deployed = chain.run_block([chain.transaction(key, b"", artifact.bytecode, nonce=n + 1) for n in range(3)])
    contracts = [r.contract_address for r in deployed.receipts]
    txs = tuple(
        chain.transaction(key, contracts[c], abi.encode_call("add", amount) if via is None
                          else abi.encode_call("add_via", contracts[via], amount), nonce=100 + i)
        for i, (c, amount, via) in enumerate(BLOCK)
    )
    header = BlockHeader(parent_hash=chain.head.hash(chain.suite), number=chain.number + 1,
                         timestamp=chain.head.header.timestamp + 1000, sealer=0,
                         sealer_list=chain.head.header.sealer_list, transactions_root=transactions_root(chain.suite, txs))
    block = Block(header, txs)

    def execute(name: str, executor: BlockExecutor) -> tuple[Run, ExecutionResult]:
        result = executor.execute(block, chain.state.snapshot(), chain.head.header.state_root)
        totals = [[event.args["total"] for event in abi.decode_logs(r.logs)] for r in result.receipts]
        return Run(name, totals, result.block.header.state_root, result.block.header.receipts_root), result

    serial, _ = execute("serial", chain.executor)
    dmc_executor = DMCExecutor(chain.suite, chain_id=chain.chain_id, executors=executors)
    dmc, _ = execute("dmc", dmc_executor)
    declared = [{c} if via is None else {c, via} for c, _, via in BLOCK]
    return Example(contracts, serial, dmc, dag_levels(declared), dmc_executor.last_stages)


def describe(example: Example) -> list[str]:
    """The lesson's printout: the three ways, side by side."""
    name = {c.hex(): f"contract {i + 1}" for i, c in enumerate(example.contracts)}
    lines = ["The block: transactions 1..6 call contracts 1, 1, 2, 3, 2, 3; transaction 2 also calls contract 3.", ""]
    lines.append("Serial: 1, 2, 3, 4, 5, 6 — one at a time, 6 steps.")
    lines.append("DAG-style (2.x, each transaction declares the contracts it reaches):")
    for n, level in enumerate(example.dag_levels):
        lines.append(f"  level {n}: transaction{'s' if len(level) > 1 else ''} {', '.join(map(str, level))}")
    lines.append("DMC (nothing declared):")
    for stage in example.stages:
        parts = []
        for contract, executor, steps in stage.contracts:
            runs = ", ".join(f"tx {s.context + 1}{'' if s.seq == 0 else f' (its call, seq {s.seq})'} {s.reply}"
                             for s in steps)
            parts.append(f"{name.get(contract, contract)} on executor {executor}: {runs}")
        lines.append(f"  round {stage.number}: " + "; ".join(parts))
    lines.append("")
    lines.append("What each add saw (the Added event's total), per transaction:")
    for run in (example.serial, example.dmc):
        lines.append(f"  {run.name:6}: {run.totals}   state root {run.state_root.hex()[:12]}…"
                     f"  receipts root {run.receipts_root.hex()[:12]}…")
    if example.serial.receipts_root == example.dmc.receipts_root:
        lines.append("Same receipts as serial.")
    else:
        lines.append("The receipts differ from serial: transaction 2's call reached contract 3 after 4 and 6 ran there,"
                     " so it saw 14 where serially it sees 5 (the final values agree here: additions commute)."
                     " The same on every node, whatever the number of executors.")
    return lines
