"""What the simulator adds for DMC (lesson 11, scenario `dmc_parallel`): a client load that calls
several contracts, some of them calling each other, and a record of each block's DMC rounds.

The simulator's usual client writes keys of the key/value stand-in: with the DMC executor every one
of those transactions goes to the same address, one contract, and DMC has nothing to run in
parallel. ``ContractLoad`` instead deploys a few ``Counter`` contracts (the contract of
``chain dmc example``) and then calls them at random: ``add`` on one contract, or ``add_via``, which
adds on its own contract and then calls ``add`` on another — a cross-contract call, which pauses the
transaction until the next sync point, and whose row locks other transactions may have to wait for.

``StageLog`` keeps, per committed height (the newest ``KEEP_HEIGHTS``), the rounds the DMC
scheduler ran (``chain.execution.dmc.scheduler.Stage``): the dashboard draws them as a Gantt chart.
Every node executes every block; the rounds are the same on all of them (the scheduler decides a
round from the previous round's replies in a fixed order), so the log keeps the first it is told.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from chain.abi.artifact import Artifact
from chain.abi.codec import ABIError, ContractABI, decode_args
from chain.crypto.keys import KeyPair
from chain.crypto.suite import CryptoSuite
from chain.execution.result import ExecutionResult
from chain.ledger.block import Block
from chain.ledger.state import StateReader
from chain.ledger.transaction import BLOCK_LIMIT_AHEAD, Transaction, new_transaction, sign_transaction

if TYPE_CHECKING:  # imported when used: the simulator must not load py-evm for a kv chain
    from chain.execution.dmc import DMCExecutor
    from chain.execution.dmc.scheduler import Stage

# The Counter of `chain dmc example` (chain.execution.dmc.example reads the same file; a data
# file, so this layer below it imports nothing of it).
COUNTER_SOURCE = (Path(__file__).parents[1] / "contracts" / "sources" / "Counter.vy").read_text()

CONTRACTS = 4  # Counters deployed by the load: with 4 DMC executors, one each
VIA_PERCENT = 35  # share of calls that go through add_via: a cross-contract call
KEEP_HEIGHTS = 64  # heights whose DMC rounds the simulation keeps for the dashboard
PENDING_EXECUTIONS = 256  # executed-but-not-yet-committed blocks remembered (bounded: view changes may abandon some)


def contract_address(suite: CryptoSuite, sender: bytes, nonce: int) -> bytes:
    from chain.execution.evm import contract_address as address_of

    return address_of(suite, sender, nonce)


@lru_cache(maxsize=None)
def counter_artifact(suite_name: str) -> Artifact:
    """Compiled once per suite (Vyper, ~0.5 s): the sm suite hashes selectors with SM3."""
    from chain.crypto.suite import get_suite
    from chain.sdk.compiler import compile_vyper

    return compile_vyper("Counter", COUNTER_SOURCE, get_suite(suite_name))


class ContractLoad:
    """The client's transactions when the simulation runs contracts (SimConfig(workload="contracts")).

    First the deployments of CONTRACTS Counters (their addresses follow from the sender and the
    transaction nonces, so they are known before they are mined); once every deployment is on some
    node's chain, calls: a seeded random contract, ``add(n)`` or, VIA_PERCENT of the time,
    ``add_via(other, n)``. Until then there is nothing to call: the client sends nothing more.
    """

    def __init__(self, suite: CryptoSuite, key: KeyPair, *, chain_id: int, group_id: int,
                 contracts: int = CONTRACTS) -> None:
        self.suite, self.key, self.chain_id, self.group_id = suite, key, chain_id, group_id
        self.count = contracts
        self.artifact = counter_artifact(suite.name)
        self.abi = ContractABI(suite, self.artifact.abi)
        self.addresses: list[bytes] = []
        self.deploy_hashes: list[bytes] = []
        self.deployed = False

    def next_transactions(self, count: int, head: int, rng: random.Random,
                          on_chain: Callable[[bytes], bool]) -> list[Transaction]:
        """Up to `count` signed transactions; the deployments first (whatever count is)."""
        if not self.addresses:
            return [self._deploy(head, rng) for _ in range(self.count)]
        if not self.deployed:
            self.deployed = all(on_chain(h) for h in self.deploy_hashes)
            if not self.deployed:
                return []
        return [self._call(head, rng) for _ in range(count)]

    def name_of(self, address: bytes) -> str:
        """C1..Cn for the load's Counters (in deployment order), else the address's first bytes."""
        return f"C{self.addresses.index(address) + 1}" if address in self.addresses else "0x" + address.hex()[:8]

    def describe(self, tx: Transaction) -> str:
        """What a transaction of this load asks, for the dashboard: "add(4) on C2", "add_via(C3, 4) on C1"."""
        if tx.is_create:
            return f"deploy {self.name_of(contract_address(self.suite, self.key.address, tx.nonce))}"
        for name in ("add", "add_via"):
            function = self.abi.function(name)
            if tx.data[:4] == function.selector:
                try:
                    args = decode_args(function.inputs, tx.data[4:])
                except ABIError:
                    break
                shown = [self.name_of(bytes.fromhex(a[2:])) if isinstance(a, str) else str(a) for a in args]
                return f"{name}({', '.join(shown)}) on {self.name_of(tx.to)}"
        return f"call {self.name_of(tx.to)}"

    def _deploy(self, head: int, rng: random.Random) -> Transaction:
        nonce = rng.getrandbits(250)
        tx = sign_transaction(new_transaction(to=b"", data=self.artifact.bytecode, block_limit=head + BLOCK_LIMIT_AHEAD,
                                              chain_id=self.chain_id, group_id=self.group_id, nonce=nonce), self.key)
        self.addresses.append(contract_address(self.suite, self.key.address, nonce))
        self.deploy_hashes.append(tx.hash(self.suite))
        return tx

    def _call(self, head: int, rng: random.Random) -> Transaction:
        target = rng.randrange(self.count)
        amount = rng.randrange(1, 10)
        if rng.randrange(100) < VIA_PERCENT:
            other = (target + 1 + rng.randrange(self.count - 1)) % self.count
            data = self.abi.encode_call("add_via", self.addresses[other], amount)
        else:
            data = self.abi.encode_call("add", amount)
        tx = new_transaction(to=self.addresses[target], data=data, block_limit=head + BLOCK_LIMIT_AHEAD, chain_id=self.chain_id,
                             group_id=self.group_id, nonce=rng.getrandbits(250))
        return sign_transaction(tx, self.key)


class StageLog:
    """The DMC rounds of each committed height, the newest KEEP_HEIGHTS of them."""

    def __init__(self, keep: int = KEEP_HEIGHTS) -> None:
        self.keep = keep
        self._executed: OrderedDict[bytes, tuple[int, tuple[Stage, ...]]] = OrderedDict()  # block hash -> rounds
        self.by_height: OrderedDict[int, tuple[str, tuple[Stage, ...]]] = OrderedDict()  # number -> (hash, rounds)

    def executed(self, number: int, block_hash: bytes, stages: list[Stage]) -> None:
        """A node executed a block (it may yet be abandoned by a view change: kept until committed)."""
        if block_hash not in self._executed:
            self._executed[block_hash] = (number, tuple(stages))
            while len(self._executed) > PENDING_EXECUTIONS:
                self._executed.popitem(last=False)

    def committed(self, number: int, block_hash: bytes) -> None:
        """The block at `number` was committed: its rounds are the ones the dashboard shows."""
        found = self._executed.pop(block_hash, None)
        if found is None or number in self.by_height:
            return
        self.by_height[number] = (block_hash.hex(), found[1])
        while len(self.by_height) > self.keep:
            self.by_height.popitem(last=False)
        for old in [h for h, (n, _) in self._executed.items() if n <= number]:
            del self._executed[old]  # other nodes' executions of this height are the same rounds


class RecordingDMCExecutor:
    """A DMCExecutor (contract executors in this process) that tells a StageLog each block's rounds.

    It wraps rather than subclasses, so that importing this module does not load py-evm."""

    def __init__(self, suite: CryptoSuite, log: StageLog, *, chain_id: int, executors: int) -> None:
        from chain.execution.dmc import DMCExecutor

        self.inner: DMCExecutor = DMCExecutor(suite, chain_id=chain_id, workers=0, executors=executors)
        self.suite = suite
        self._log = log

    def execute(self, block: Block, state: StateReader, parent_state_root: bytes) -> ExecutionResult:
        result = self.inner.execute(block, state, parent_state_root)
        self._log.executed(block.number, result.block.hash(self.suite), self.inner.last_stages)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # kind, call, close, last_stages: the DMCExecutor's
