"""``DMCExecutor``: a BlockExecutor that runs a block with FISCO BCOS's DMC scheduler.

Same contract as the serial ``EVMExecutor`` (which stays the reference): ``execute(block, state,
parent_state_root)`` gives the block's receipts, change set and roots, identical on every node.
What happens before any code runs is the serial executor's, in block order and in this process
(the scheduler's share, as FISCO's scheduler handles EOA nonces): sender recovery, an Ethereum
transaction's account nonce, no value transfers, intrinsic gas. Each remaining transaction
becomes a START message to its DMC contract, and the scheduler runs the rounds.

Executors: ``workers=0`` runs every contract executor in this process (the simulator's choice:
same scheduler, same result); ``workers=N`` starts N worker processes once (``pool``), each
owning the contracts assigned to it, so contracts really run on several cores. Contracts are
assigned to executors in order of first appearance, round-robin, and keep their executor for
later blocks (its cache of their rows stays useful). The assignment never changes a result.
"""

from __future__ import annotations

import logging
import time
from chain.crypto.suite import CryptoSuite
from chain.abi.codec import encode_error
from chain.execution import auth_rules
from chain.execution.dmc.collector import collector_paused
from chain.execution.dmc.contract_executor import ContractExecutor
from chain.execution.dmc.messages import CallMessage, Request, RequestKind, RoundBatch, RoundReplies, TxOutcome
from chain.execution.dmc.ownership import contract_key
from chain.execution.dmc.pool import WorkerFailed, WorkerPool
from chain.execution.dmc.scheduler import Scheduler, Stage
from chain.execution.evm import contract_address, execution_context
from chain.execution.executor import EVMExecutor, Outcome, net_changes, precheck
from chain.execution.result import ExecutionResult, block_result
from chain.ledger import permissions
from chain.ledger.block import Block
from chain.ledger.committee import is_auth_chain
from chain.ledger.eth_transaction import EthTransaction
from chain.ledger.receipt import Receipt
from chain.ledger.state import Changes, StateOverlay, StateReader
from chain.ledger.system import tx_gas_limit
from chain.ledger.transaction import Transaction

log = logging.getLogger(__name__)


class DMCExecutor:
    """A BlockExecutor running contracts in parallel with deterministic multi-contract (DMC) scheduling."""

    kind = "dmc"

    def __init__(self, suite: CryptoSuite, *, chain_id: int = 1, workers: int = 0, executors: int = 1) -> None:
        """workers: worker processes (0: in this process); executors: in-process executors when workers=0."""
        self.suite = suite
        self.chain_id = chain_id
        self.workers = workers
        self._serial = EVMExecutor(suite, chain_id=chain_id)  # read-only calls, EOA nonces
        self._assignment: dict[bytes, int] = {}
        self._load: list[int] = []
        self.last_stages: list[Stage] = []  # the last block's rounds, for lessons and the dashboard
        # the last block's CPU seconds: this process, the slowest worker of each round summed over
        # the rounds (the parallel part's critical path), all workers together
        self.last_cpu: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self._critical_cpu = self._total_cpu = 0.0
        self.worker_failures = 0  # blocks executed again in-process after a worker failed
        if workers > 0:
            self._pool: WorkerPool | None = WorkerPool(suite, workers)
            self._count = workers
            self._local: list[ContractExecutor] = []
        else:
            self._pool = None
            self._count = max(1, executors)
            self._local = [ContractExecutor(suite) for _ in range(self._count)]
        self._load = [0] * self._count

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        for executor in self._local:
            executor.close()

    # --- the BlockExecutor contract ---

    def execute(self, block: Block, state: StateReader, parent_state_root: bytes) -> ExecutionResult:
        """The block's result; if a worker process fails, the same block again in this process.

        A worker that raised or died (a bug, or the OS killing it) must neither stop the chain nor
        change the result: the in-process executors run the very same scheduler, so the block is
        executed again here with the same result, and a fresh pool serves the next block.
        """
        with collector_paused():
            return self._execute_or_retry(block, state, parent_state_root)

    def _execute_or_retry(self, block: Block, state: StateReader, parent_state_root: bytes) -> ExecutionResult:
        if self._pool is not None:
            try:
                return self._execute(block, state, parent_state_root, self._pool)
            except WorkerFailed as failure:
                log.error("dmc_worker_failed block=%d: %s; executing it in-process, restarting the workers",
                          block.number, str(failure).splitlines()[0])
                self.worker_failures += 1
                self._pool.close()
                self._pool = WorkerPool(self.suite, self.workers)
                if not self._local:
                    self._local = [ContractExecutor(self.suite) for _ in range(self._count)]
        return self._execute(block, state, parent_state_root, None)

    def _execute(self, block: Block, state: StateReader, parent_state_root: bytes,
                 pool: WorkerPool | None) -> ExecutionResult:
        started = time.process_time()
        self._critical_cpu = self._total_cpu = 0.0
        number = block.number
        gas_cap = tx_gas_limit(state, number)
        context = execution_context(block_number=number, timestamp=block.header.timestamp, gas_limit=gas_cap,
                                    chain_id=self.chain_id)
        overlay = StateOverlay(state)  # the scheduler's rows: Ethereum account nonces, deployers' admin rights
        auth = is_auth_chain(state)
        outcomes: dict[int, Outcome | TxOutcome] = {}
        starts: list[Request] = []
        for index, tx in enumerate(block.transactions):
            refused = self._serial.use_eth_nonce(tx, overlay) if isinstance(tx, EthTransaction) else None
            start = self._start(index, tx, gas_cap, overlay, auth) if refused is None else refused
            if isinstance(start, Request):
                starts.append(start)
                self._assign(start.contract)
            else:
                outcomes[index] = start
        if pool is not None:
            pool.begin_block(state, parent_state_root, context)
        else:
            for executor in self._local:
                executor.begin_block(state, context)
        scheduler = Scheduler(lambda batches: self._run_round(batches, pool), self._executor_of)
        try:
            outcomes.update(scheduler.run(starts))
        finally:
            self.last_stages = scheduler.stages
        if auth:  # the deployer administers the contract's method ACLs (as the serial executor records)
            for index, outcome in sorted(outcomes.items()):
                if isinstance(outcome, TxOutcome) and outcome.status == 0 and outcome.contract_address:
                    permissions.set_contract_admin(overlay, outcome.contract_address,
                                                   block.transactions[index].sender(self.suite))
        changes: Changes = dict(overlay.changes())
        parts = pool.end_block() if pool is not None else [e.end_block() for e in self._local]
        for part in parts:
            changes.update(part)  # executors own disjoint rows
        receipts = [self._receipt(block, index, tx, outcomes[index]) for index, tx in enumerate(block.transactions)]
        result = block_result(self.suite, block, receipts, net_changes(state, changes), parent_state_root)
        if pool is not None:
            pool.block_done(result.block.header.state_root, result.changes)
        self.last_cpu = (time.process_time() - started, self._critical_cpu, self._total_cpu)
        return result

    def call(self, state: StateReader, to: bytes, data: bytes, sender: bytes = b"\x00" * 20, block_number: int = 0,
             *, gas: int | None = None, deadline: float | None = None) -> tuple[int, bytes]:
        """Read-only calls run on the serial executor: one frame after another is all a query needs."""
        return self._serial.call(state, to, data, sender, block_number, gas=gas, deadline=deadline)

    # --- before the scheduler ---

    def _start(self, index: int, tx: Transaction, gas_cap: int, state: StateReader, auth: bool) -> Request | Outcome:
        """The serial executor's checks before code runs; the transaction's START message if it passes."""
        checked = precheck(self.suite, tx, gas_cap)
        if isinstance(checked, Outcome):
            return checked
        sender, gas_limit, intrinsic = checked
        to = contract_address(self.suite, sender, tx.nonce) if tx.is_create else tx.to
        if auth:  # an auth chain's permissions (chain.execution.auth_rules), on the block's starting state
            refused = auth_rules.refusal(state, sender, to, tx.data, tx.is_create)
            if refused is not None:
                return Outcome(refused[0], output=encode_error(self.suite, refused[1]))
        message = CallMessage(sender=sender, to=to, data=b"" if tx.is_create else tx.data, gas=gas_limit - intrinsic,
                              depth=0, create=tx.is_create, init_code=tx.data if tx.is_create else b"")
        return Request(RequestKind.START, index, 0, contract_key(to), message=message, origin=sender,
                       intrinsic=intrinsic, tx_hash=tx.hash(self.suite))

    # --- executors ---

    def _assign(self, contract: bytes) -> None:
        if contract not in self._assignment:
            executor = min(range(self._count), key=lambda i: (self._load[i], i))
            self._assignment[contract] = executor
            self._load[executor] += 1

    def _executor_of(self, contract: bytes) -> int:
        self._assign(contract)
        return self._assignment[contract]

    def _run_round(self, batches: dict[int, RoundBatch], pool: WorkerPool | None) -> dict[int, RoundReplies]:
        if pool is not None:
            replies = pool.run_round(batches)
            cpu = [r.cpu_seconds for r in replies.values()]
            self._critical_cpu += max(cpu, default=0.0)
            self._total_cpu += sum(cpu)
            return replies
        return {index: self._local[index].run_round(batch) for index, batch in sorted(batches.items())}

    def _receipt(self, block: Block, index: int, tx: Transaction, outcome: Outcome | TxOutcome) -> Receipt:
        if isinstance(outcome, TxOutcome):
            assert outcome.receipt is not None, "built by the executor the transaction ended on"
            return outcome.receipt
        return Receipt(status=int(outcome.status), output=outcome.output, contract_address=outcome.contract_address,
                       gas_used=outcome.gas_used, logs=outcome.logs, block_number=block.number,
                       transaction_hash=tx.hash(self.suite), transaction_index=index)
