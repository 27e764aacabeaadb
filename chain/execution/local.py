"""A chain of one, without consensus: execute blocks straight away on an in-memory state.

For tests, benchmarks and lessons about contracts, where ordering is not the point. Each call to
``run_block`` executes a block with the real executor and applies its change set, exactly as a node
commits a block — only nobody votes on it.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from chain.abi.artifact import Artifact
from chain.abi.codec import ContractABI
from chain.crypto.keys import KeyPair
from chain.crypto.suite import CryptoSuite, get_suite
from chain.execution.executor import EVMExecutor
from chain.execution.result import ExecutionResult
from chain.ledger.block import Block, BlockHeader
from chain.ledger.genesis import AuthGenesis, GenesisConfig, build_genesis
from chain.ledger.merkle import transactions_root
from chain.ledger.receipt import Receipt
from chain.ledger.state import MemoryState
from chain.ledger.transaction import Transaction, new_transaction, sign_transaction


class LocalChain:
    """Genesis, then one block per ``run_block``; the state is a MemoryState."""

    def __init__(self, suite_name: str, *, admins: Sequence[bytes] = (), sealers: Sequence[bytes] = (),
                 chain_id: int = 1, group_id: int = 1, system_config: dict[str, str] | None = None,
                 auth: AuthGenesis | None = None) -> None:
        self.suite: CryptoSuite = get_suite(suite_name)
        self.chain_id, self.group_id = chain_id, group_id
        if not sealers:  # one placeholder sealer: the list may not be empty
            sealers = (self.suite.public_key(1),)
        config = GenesisConfig(
            chain_id=chain_id, group_id=group_id, suite=suite_name,
            sealers=tuple((node_id, 1) for node_id in sealers), admins=tuple(admins),
            system_config=dict(system_config or {}), auth=auth,
        )
        genesis, changes = build_genesis(config)
        self.state = MemoryState()
        self.state.apply(changes)
        self.head = genesis
        self.executor = EVMExecutor(self.suite, chain_id=chain_id)

    @property
    def number(self) -> int:
        return self.head.number

    def transaction(self, key: KeyPair, to: bytes, data: bytes, **fields: Any) -> Transaction:
        """A signed transaction valid for the next blocks."""
        tx = new_transaction(to=to, data=data, block_limit=self.number + 500, chain_id=self.chain_id,
                             group_id=self.group_id, **fields)
        return sign_transaction(tx, key)

    def run_block(self, transactions: Iterable[Transaction], timestamp: int | None = None) -> ExecutionResult:
        txs = tuple(transactions)
        header = BlockHeader(
            parent_hash=self.head.hash(self.suite), number=self.number + 1,
            timestamp=self.head.header.timestamp + 1000 if timestamp is None else timestamp,
            sealer=0, sealer_list=self.head.header.sealer_list,
            transactions_root=transactions_root(self.suite, txs),
        )
        result = self.executor.execute(Block(header, txs), self.state, self.head.header.state_root)
        self.state.apply(result.changes)
        self.head = result.block
        return result

    def send(self, key: KeyPair, to: bytes, data: bytes, **fields: Any) -> Receipt:
        """One transaction in its own block; its receipt."""
        return self.run_block([self.transaction(key, to, data, **fields)]).receipts[0]

    def deploy(self, key: KeyPair, artifact: Artifact, *args: Any) -> Receipt:
        abi = ContractABI(self.suite, artifact.abi)
        return self.send(key, b"", abi.encode_deploy(artifact.bytecode, *args))

    def call(self, to: bytes, data: bytes, sender: bytes = b"\x00" * 20) -> tuple[int, bytes]:
        """A read-only call as the next block would see it."""
        return self.executor.call(self.state, to, data, sender, self.number + 1)

