"""End to end on an sm chain: a Solidity event's topic is SM3 of its signature, and getLogs (console,
over real HTTP) finds it by that topic — not by the Keccak one a standard chain would use."""

from __future__ import annotations

import json

import pytest
from eth_utils import keccak

from chain.cli.console import Console, default_contract_dirs, load_artifacts
from chain.crypto.suite import get_suite
from chain.execution.executor import EVMExecutor
from chain.ledger.bloom import may_contain
from chain.sdk.account import Account
from chain.sdk.client import SyncClient
from tests.rpc.localnode import AutoSealer, LocalNode, serve

pytestmark = pytest.mark.timeout(90)
SIGNATURE = b"NameChanged(address,string)"


def test_console_get_logs_finds_an_sm_event_by_its_sm3_topic() -> None:
    suite = get_suite("sm")
    node = LocalNode("sm", executor=EVMExecutor(suite, chain_id=7), seed=9)
    served_iter = serve(node)
    served = next(served_iter)
    sealer = AutoSealer(node)
    try:
        with SyncClient(served.url, suite) as client:
            console = Console(client, Account(node.admin), load_artifacts(default_contract_dirs("sm")))
            address = console.execute("deploy HelloWorld").split()[-1]
            assert "event NameChanged(" in console.execute('sendtx HelloWorld latest set "logged"')
            sm3_topic, keccak_topic = "0x" + suite.hash(SIGNATURE).hex(), "0x" + keccak(SIGNATURE).hex()
            found = json.loads(console.execute(f"getLogs 0 latest {address} {sm3_topic}"))
            assert [(x["address"], x["topics"][0]) for x in found] == [(address, sm3_topic)]
            assert json.loads(console.execute(f"getLogs 0 latest - {keccak_topic}")) == []
            block = client.block_by_number(int(found[0]["blockNumber"], 16), False)
            bloom = bytes.fromhex(block["logsBloom"][2:])  # the header's bloom (chain.wire.views) holds the SM3 topic
            assert may_contain(suite, bloom, suite.hash(SIGNATURE)) and may_contain(suite, bloom, bytes.fromhex(address[2:]))
            assert "invalid block range params" in console.execute("getLogs 5 2")
    finally:
        sealer.stop()
        for _ in served_iter:
            pass
