"""A real node (one sealer, in-process) pushes its committed blocks to a WebSocket subscriber:
the commit hook in chain.node.node feeds the log layer's hub."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from chain.crypto.keys import KeyPair
from chain.execution.kv import encode_kv
from chain.ledger.transaction import new_transaction, sign_transaction
from chain.node.builder import BuildOptions, build_chain
from chain.node.node import Node
from chain.node.ports import free_port_bases

pytestmark = pytest.mark.timeout(60)


def test_a_committed_block_reaches_a_websocket_subscriber(tmp_path: Path) -> None:
    p2p, rpc = free_port_bases(1)
    built = build_chain(tmp_path / "solo", BuildOptions(nodes=1, suite="standard", port_base=p2p, rpc_port_base=rpc,
                                                         executor="kv", min_seal_time_ms=10))
    admin = KeyPair.generate("standard")

    async def scenario() -> None:
        node = Node(built.nodes[0].directory)
        await node.start()
        try:
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(f"http://127.0.0.1:{node.rpc_port}/ws") as ws:
                    await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": ["blocks"]})
                    sub = (await ws.receive_json(timeout=5))["result"]
                    tx = sign_transaction(new_transaction(to=bytes(20), data=encode_kv(b"k", b"v"), block_limit=100), admin)
                    node.submit_transaction(tx)
                    pushed = await ws.receive_json(timeout=10)
                    assert pushed["params"]["subscription"] == sub
                    head = node.store.head()
                    assert pushed["params"]["result"]["number"] == "0x1" == hex(head.number)
                    assert pushed["params"]["result"]["hash"] == "0x" + head.hash(node.suite).hex()
                    assert pushed["params"]["result"]["transactionCount"] == "0x1"
                    assert pushed["params"]["result"]["transactions"] == ["0x" + tx.hash(node.suite).hex()]
        finally:
            await node.stop()

    asyncio.run(scenario())
