"""DMC: FISCO BCOS 3.x's deterministic multi-contract parallel execution.

A block's transactions are split by the contract they call; different contracts run at the same
time on different executors; a transaction pauses at a cross-contract call, or at a row another
running transaction holds, until the next global synchronisation point, where the scheduler
routes calls, results and lock grants by fixed rules. Every node reaches the same result without
pre-analysis, pre-execution or retries. See docs/execution.md ("DMC").

| module | concept |
|---|---|
| ``messages`` | what the scheduler and the executors say to each other |
| ``ownership`` | which contract owns which rows (contracts share no data) |
| ``locks`` | key locks and the deterministic deadlock rule |
| ``scheduler`` | rounds and the routing rules at each sync point |
| ``contract_executor`` | an executor: per-contract flows, paused frames, journals |
| ``fiber`` | pausing py-evm mid-transaction |
| ``pool`` | executors in worker processes |
| ``executor`` | ``DMCExecutor``, the BlockExecutor |
"""

from chain.execution.dmc.executor import DMCExecutor

__all__ = ["DMCExecutor"]
