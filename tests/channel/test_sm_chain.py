"""An sm chain's channel port: standard TLS (secp256k1) outside, SM2/SM3 inside (docs/channel.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chain.channel.client import ChannelClient
from chain.crypto.keys import KeyPair
from chain.execution.kv import encode_kv
from chain.ledger.transaction import new_transaction, sign_transaction
from chain.node.builder import BuildOptions, build_chain
from chain.node.node import Node
from chain.node.ports import free_port_base, free_port_bases

pytestmark = pytest.mark.timeout(60)


def test_sm_chain_serves_rpc_and_block_numbers_over_the_channel(tmp_path: Path) -> None:
    p2p, rpc = free_port_bases(1)
    channel = free_port_base(1, avoid={p2p, rpc})
    built = build_chain(tmp_path / "sm", BuildOptions(nodes=1, suite="sm", port_base=p2p, rpc_port_base=rpc,
                                                      channel_port_base=channel, executor="kv", min_seal_time_ms=10))
    admin = KeyPair.generate("sm")

    async def scenario() -> None:
        node = Node(built.nodes[0].directory)
        await node.start()
        try:
            client = await asyncio.to_thread(ChannelClient.from_chain_dir, built.directory, "127.0.0.1", channel)
            try:
                version = await asyncio.to_thread(client.rpc, "getClientVersion", [])
                assert version["Crypto Suite"] == "sm"
                tx = sign_transaction(new_transaction(to=bytes(20), data=encode_kv(b"k", b"v"), block_limit=100), admin)
                node.submit_transaction(tx)
                assert await asyncio.to_thread(client.blocks.get, True, 10) == 1
            finally:
                await asyncio.to_thread(client.close)
        finally:
            await node.stop()

    asyncio.run(scenario())
