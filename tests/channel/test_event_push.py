"""Event-log push over the channel (FISCO's 0x15 registration, 0x1002 pushes), fed by chain.logs."""

from __future__ import annotations

import asyncio
import json
import queue
from pathlib import Path

import pytest

from chain.channel.client import ChannelClient
from chain.crypto.keys import KeyPair
from chain.ledger.transaction import new_transaction, sign_transaction
from chain.node.builder import BuildOptions, build_chain
from chain.node.node import Node
from chain.node.ports import free_port_base, free_port_bases
from tests.channel import fisco_frames as ff

pytestmark = pytest.mark.timeout(90)

TOPIC = bytes(range(32))
# Init code that only logs: PUSH32 TOPIC, PUSH1 0 (size), PUSH1 0 (offset), LOG1, STOP.
LOGGING_DEPLOY = b"\x7f" + TOPIC + b"\x60\x00\x60\x00\xa1\x00"


def test_logs_of_committed_blocks_are_pushed_to_the_registered_filter(tmp_path: Path) -> None:
    p2p, rpc = free_port_bases(1)
    channel = free_port_base(1, avoid={p2p, rpc})
    built = build_chain(tmp_path / "solo", BuildOptions(nodes=1, suite="standard", port_base=p2p, rpc_port_base=rpc,
                                                         channel_port_base=channel, executor="evm", min_seal_time_ms=10))
    admin = KeyPair.generate("standard")

    async def scenario() -> None:
        node = Node(built.nodes[0].directory)
        await node.start()
        try:
            client = await asyncio.to_thread(ChannelClient.from_chain_dir, built.directory, "127.0.0.1", channel)
            try:
                filter_id = await asyncio.to_thread(client.register_event_log, topics=["0x" + TOPIC.hex()])
                other = await asyncio.to_thread(client.register_event_log, topics=["0x" + bytes(32).hex()])
                again = await asyncio.to_thread(client.request, 0x15, b"\x01" + json.dumps(
                    {"filterID": filter_id, "topics": []}).encode())  # a filter id used twice
                assert json.loads(again.data[1:])["result"] == -41000
                node.submit_transaction(sign_transaction(new_transaction(to=b"", data=LOGGING_DEPLOY, block_limit=100), admin))
                pushed = await asyncio.to_thread(client.event_logs.get, True, 15)
                assert pushed["filterID"] == filter_id and pushed["result"] == 0
                assert [log["topics"] for log in pushed["logs"]] == [["0x" + TOPIC.hex()]]
                assert pushed["logs"][0]["blockNumber"] == "0x1"
                with pytest.raises(queue.Empty):  # the other filter matched nothing
                    client.event_logs.get(timeout=0.5)
                assert other != filter_id
            finally:
                await asyncio.to_thread(client.close)
            # python-sdk's way, from the documented frames, asking for the past: fromBlock 1
            sock = await asyncio.to_thread(ff.connect, "127.0.0.1", channel, built.directory / "sdk")
            request = {"fromBlock": "1", "toBlock": "latest", "addresses": [], "topics": [], "groupID": "1",
                       "filterID": "f" * 32}
            sock.sendall(ff.pack(0x15, ff.amop_empty_topic(json.dumps(request).encode())))
            _, _, _, data = await asyncio.to_thread(ff.read_message, sock, 0x15)
            assert json.loads(data[data[0]:]) == {"filterID": "f" * 32, "result": 0}
            _, _, _, data = await asyncio.to_thread(ff.read_message, sock, 0x1002)
            assert json.loads(data)["logs"][0]["topics"] == ["0x" + TOPIC.hex()]
            sock.close()
        finally:
            await node.stop()

    asyncio.run(scenario())
