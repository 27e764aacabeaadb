"""An in-process node for RPC and SDK tests: a real Store, a real TxPool, an executor, no network.

``LocalNode`` implements ``chain.rpc.api.NodeApi``; ``seal()`` plays the consensus engine's part —
cut a block from the pool, execute it, sign it with every sealer, commit it — so tests can move the
chain forward exactly when they want. ``serve()`` runs the real aiohttp server on 127.0.0.1 in a
background thread, so clients go over real HTTP.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Iterator

from chain.crypto.keys import KeyPair
from chain.crypto.suite import CryptoSuite, get_suite
from chain.execution.kv import KV_TABLE, KVExecutor
from chain.ledger.block import Block, BlockHeader
from chain.ledger.genesis import GenesisConfig, open_chain
from chain.ledger.merkle import transactions_root
from chain.ledger.status import Status
from chain.ledger.transaction import Transaction
from chain.network.host import PeerInfo
from chain.rpc.server import bound_port, start_rpc_server
from chain.txpool.pool import TxPool

CHAIN_ID = 7
GROUP_ID = 1


class LocalNode:
    group_name = "group0"
    node_name = "node0"

    def __init__(self, suite_name: str = "sm", executor: Any = None, n_sealers: int = 4, seed: int = 1) -> None:
        self.suite: CryptoSuite = get_suite(suite_name)
        # Deterministic node keys: tests are reproducible and key generation costs nothing.
        self.sealer_keys = [KeyPair(suite_name, 1000 * seed + i + 1) for i in range(n_sealers)]
        self.observer_key = KeyPair(suite_name, 1000 * seed + 999)
        self.admin = KeyPair(suite_name, 1000 * seed + 777)
        self.chain_id = CHAIN_ID
        self.group_id = GROUP_ID
        self.genesis = config = GenesisConfig(
            chain_id=CHAIN_ID, group_id=GROUP_ID, suite=suite_name,
            sealers=tuple((k.public_key, 1) for k in self.sealer_keys),
            observers=(self.observer_key.public_key,), admins=(self.admin.address,),
        )
        self.store = open_chain(":memory:", config)
        self.txpool = TxPool(self.suite, self.store, chain_id=CHAIN_ID, group_id=GROUP_ID)
        self.executor = executor or KVExecutor(self.suite)
        self.node_id = self.sealer_keys[0].public_key
        self.view = 3
        self.lock = threading.Lock()  # the server thread and the test thread share the pool

    # --- NodeApi ----------------------------------------------------------------------------

    def submit_transaction(self, tx: Transaction) -> bytes:
        with self.lock:
            return self.txpool.submit(tx)

    def call(self, to: bytes, data: bytes, sender: bytes) -> tuple[int, bytes]:
        call = getattr(self.executor, "call", None)
        if call is not None:  # the EVM executor: run on the head state as the next block would
            return call(self.store, to, data, sender, self.store.head_number() + 1)
        # The KV stand-in has no contracts: a "call" reads the row named by data.
        value = self.store.get(KV_TABLE, data)
        return (int(Status.SUCCESS), value) if value is not None else (int(Status.CALL_ADDRESS_ERROR), b"")

    def consensus_status(self) -> dict:
        sealers = sorted(k.public_key for k in self.sealer_keys)
        return {"view": self.view, "leader": 1, "nodeIndex": sealers.index(self.node_id),
                "sealers": [s.hex() for s in sealers], "observers": [self.observer_key.public_key.hex()],
                "height": self.store.head_number() + 1, "timeoutMs": 3000}

    def sync_status(self) -> dict:
        head = self.store.head()
        return {"blockNumber": self.store.head_number(), "latestHash": "0x" + head.hash(self.suite).hex(),
                "knownHighestNumber": self.store.head_number(), "isSyncing": False,
                "peers": [{"nodeId": k.public_key.hex(), "blockNumber": self.store.head_number()}
                          for k in self.sealer_keys[1:]]}

    def peers(self) -> list[PeerInfo]:
        return [PeerInfo(f"127.0.0.1:{30301 + i}", k.public_key, True) for i, k in enumerate(self.sealer_keys[1:])]

    def node_ids(self) -> list[bytes]:
        return [k.public_key for k in self.sealer_keys] + [self.observer_key.public_key]

    def code_at(self, address: bytes) -> bytes:
        from chain.execution.evm import CODE_TABLE

        return self.store.get(CODE_TABLE, address) or b""

    # --- playing consensus ------------------------------------------------------------------

    def seal(self, limit: int = 1000) -> Block:
        """Commit one block holding up to limit pooled transactions (possibly none)."""
        with self.lock:
            txs = self.txpool.select(limit)
            head = self.store.head()
            number = head.number + 1
            sealers = tuple(sorted(k.public_key for k in self.sealer_keys))
            header = BlockHeader(
                parent_hash=head.hash(self.suite), number=number, timestamp=1_700_000_000_000 + number,
                sealer=number % len(sealers), sealer_list=sealers,
                transactions_root=transactions_root(self.suite, txs),
            )
            result = self.executor.execute(Block(header, tuple(txs)), self.store, self.store.state_root())
            block_hash = result.block.hash(self.suite)
            by_id = {k.public_key: k for k in self.sealer_keys}
            signatures = [(i, by_id[node].sign(block_hash)) for i, node in enumerate(sealers[:3])]
            block = result.block.with_signatures(signatures)
            self.store.commit_block(block, result.receipts, result.changes)
            self.txpool.remove_committed(block)
            return block


class Served:
    """The real RPC server for a node, running on its own event loop in a daemon thread."""

    def __init__(self, api: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(api,), daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("RPC server did not start")
        self.url = f"http://127.0.0.1:{self.port}/"

    def _run(self, api: Any) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = self.loop.run_until_complete(start_rpc_server(api, "127.0.0.1", 0))
        self.port = bound_port(self.runner)
        self.ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def serve(api: Any) -> Iterator[Served]:
    served = Served(api)
    try:
        yield served
    finally:
        served.stop()


class AutoSealer:
    """Seal a block whenever transactions are pending, every `interval` seconds, in a daemon thread."""

    def __init__(self, node: LocalNode, interval: float = 0.03) -> None:
        self.node = node
        self.interval = interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            if self.node.txpool.ready:
                self.node.seal()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(5)
