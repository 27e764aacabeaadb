"""The transactions `chain bench tps` sends, each with the state it expects, for both executors.

A workload is a list of pre-signed transactions plus a way to rebuild, in a scratch store, the state
they run against — so the benchmark can execute the very same transactions in-process and time the
primitives. Workloads that need setup (a deployed contract, a created table) send the setup
transactions through the SDK first, wait for their receipts, and replay them in the scratch store.

* ``kv`` on a chain with the KV stand-in executor: data is ``key ‖ 0x00 ‖ value``;
* ``kv`` on an EVM chain: ``KVTable.set(table, key, value)`` on the system contract 0x1009 (FISCO's
  KV table), after ``TableManager.createKVTable``;
* ``asset``: the sample ``Asset`` contract — deploy, ``issue`` to the senders, then ``transfer``s.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from chain.abi.codec import ContractABI, encode_call
from chain.contracts import load_artifact
from chain.crypto.keys import KeyPair
from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError
from chain.execution.result import BlockExecutor
from chain.ledger.block import Block, BlockHeader
from chain.ledger.genesis import GenesisConfig, open_chain
from chain.ledger.merkle import transactions_root
from chain.ledger.store import Store
from chain.ledger.transaction import Transaction, new_transaction, sign_transaction
from chain.sdk.account import Account
from chain.sdk.client import Client

SENDERS = 16  # signing accounts; transactions are spread over them


@dataclass(frozen=True)
class ChainFacts:
    suite: CryptoSuite
    chain_id: int
    group_id: int
    executor: str  # "kv" or "evm"
    genesis_file: Path
    rpc_url: str


@dataclass(frozen=True)
class Workload:
    transactions: list[Transaction]
    executor: BlockExecutor  # the kind the nodes run
    genesis_state: Callable[[Path], Store]  # a store in the given directory with the state the txs expect


def _accounts(suite: CryptoSuite, n: int) -> list[KeyPair]:
    return [KeyPair.generate(suite.name) for _ in range(n)]


def _sign(facts: ChainFacts, key: KeyPair, to: bytes, data: bytes, block_limit: int) -> Transaction:
    tx = new_transaction(to=to, data=data, block_limit=block_limit, chain_id=facts.chain_id, group_id=facts.group_id)
    return sign_transaction(tx, key)


def next_block(suite: CryptoSuite, head: Block, txs: Sequence[Transaction]) -> Block:
    """The block after head carrying txs, as a sealer would propose it: what a scratch store executes."""
    header = BlockHeader(parent_hash=head.hash(suite), number=head.number + 1, timestamp=head.header.timestamp + 1,
                         sealer=0, sealer_list=head.header.sealer_list,
                         transactions_root=transactions_root(suite, txs))
    return Block(header, tuple(txs))


def _replaying(facts: ChainFacts, executor: BlockExecutor, setup: Sequence[Transaction]) -> Callable[[Path], Store]:
    """A scratch store at genesis with the setup transactions executed in block 1."""
    def build(directory: Path) -> Store:
        store = open_chain(directory / "store.db", GenesisConfig.load(facts.genesis_file))
        if setup:
            head = store.head()
            assert head is not None  # open_chain writes the genesis block
            result = executor.execute(next_block(facts.suite, head, setup), store, store.state_root())
            if not all(r.ok for r in result.receipts):
                raise ChainError("the workload's setup transactions fail in the scratch store")
            store.commit_block(result.block, result.receipts, result.changes)
        return store
    return build


async def _send_setup(facts: ChainFacts, txs: Sequence[Transaction]) -> None:
    """Send setup transactions and wait until every one is committed successfully."""
    async with Client(facts.rpc_url, facts.suite, facts.group_id) as client:
        hashes = [await client.send_raw(tx) for tx in txs]
        for tx_hash in hashes:
            receipt = await client.wait_for_receipt(tx_hash, timeout=60)
            if not receipt.ok:
                raise ChainError(f"workload setup transaction failed with status {receipt.status}")


def kv_workload(facts: ChainFacts, count: int, head: int) -> Workload:
    """One key/value row set per transaction."""
    senders = _accounts(facts.suite, SENDERS)
    if facts.executor == "kv":
        from chain.execution.kv import KVExecutor, encode_kv

        txs = [_sign(facts, senders[i % SENDERS], bytes(20), encode_kv(b"key-%08d" % i, b"value-%d" % i), head + 900)
               for i in range(count)]
        executor: BlockExecutor = KVExecutor(facts.suite)
        return Workload(txs, executor, _replaying(facts, executor, ()))
    from chain.execution.executor import EVMExecutor
    from chain.execution.precompiled import KV_TABLE_ADDRESS, TABLE_MANAGER_ADDRESS

    table = "bench%06d" % random.randrange(10**6)  # a fresh table per run: reruns on one chain work
    create = _sign(facts, senders[0], TABLE_MANAGER_ADDRESS,
                   encode_call(facts.suite, "createKVTable(string,string,string)", table, "k", "v"), head + 900)
    asyncio.run(_send_setup(facts, [create]))
    txs = [_sign(facts, senders[i % SENDERS], KV_TABLE_ADDRESS,
                 encode_call(facts.suite, "set(string,string,string)", table, "key-%08d" % i, "value-%d" % i), head + 900)
           for i in range(count)]
    executor = EVMExecutor(facts.suite, chain_id=facts.chain_id)
    return Workload(txs, executor, _replaying(facts, executor, [create]))


def asset_workload(facts: ChainFacts, count: int, head: int) -> Workload:
    """Asset transfers between SENDERS funded accounts and fresh recipients (EVM)."""
    if facts.executor not in ("evm", "dmc"):  # both run the EVM (the cost replay uses the serial one)
        raise ChainError("the asset workload needs a chain whose executor runs the EVM (evm or dmc)")
    from chain.execution.executor import EVMExecutor

    artifact = load_artifact("Asset", facts.suite.name)
    abi = ContractABI(facts.suite, artifact.abi)
    issuer, senders = KeyPair.generate(facts.suite.name), _accounts(facts.suite, SENDERS)
    deploy = _sign(facts, issuer, b"", abi.encode_deploy(artifact.bytecode), head + 900)
    from chain.execution.evm import contract_address

    asset = contract_address(facts.suite, issuer.address, deploy.nonce)  # where the deploy puts it
    issues = [_sign(facts, issuer, asset, abi.encode_call("issue", "0x" + s.address.hex(), 10**9), head + 900)
              for s in senders]
    asyncio.run(_send_setup(facts, [deploy]))
    asyncio.run(_send_setup(facts, issues))
    recipients = [Account.generate(facts.suite.name).address for _ in range(64)]
    txs = [_sign(facts, senders[i % SENDERS], asset,
                 abi.encode_call("transfer", "0x" + recipients[i % len(recipients)].hex(), 1), head + 900)
           for i in range(count)]
    executor = EVMExecutor(facts.suite, chain_id=facts.chain_id)
    return Workload(txs, executor, _replaying(facts, executor, [deploy, *issues]))
