"""web3.py, unmodified, against 4 real node processes serving the web3 endpoint (chain build --web3).

One chain for the module: a local eth-account signer middleware deploys HelloWorld with
``constructor().transact()``, transacts, calls back, reads the event through get_logs and a
filter, waits on receipts; the same contract is read through the FISCO methods and written with the
project's SDK (a FISCO transaction web3.py then reads back); bad input is
refused with Ethereum's error texts while the node keeps serving.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
import rlp
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import Web3RPCError
from web3.middleware import SignAndSendRawMiddlewareBuilder

from chain.contracts import load_artifact
from chain.node.builder import BuildOptions, build_chain
from chain.node.ports import free_port_base
from chain.sdk.account import Account as SdkAccount
from chain.sdk.client import SyncClient
from chain.sdk.contract import SyncContract
from tests.node.cluster import Cluster, wait_until

CHAIN_ID = 20200
pytestmark = pytest.mark.timeout(240)


class Web3Cluster(Cluster):
    """A Cluster whose nodes also serve the web3 endpoint, on ports of their own."""

    def __init__(self, root: Path, nodes: int = 4) -> None:  # noqa: D107 - Cluster's, with --web3
        p2p = free_port_base(nodes)
        rpc = free_port_base(nodes, avoid=set(range(p2p, p2p + nodes)))
        web3 = free_port_base(nodes, avoid=set(range(p2p, p2p + nodes)) | set(range(rpc, rpc + nodes)))
        self.web3_base = web3
        self.chain = build_chain(root, BuildOptions(
            nodes=nodes, suite="standard", port_base=p2p, rpc_port_base=rpc, executor="evm",
            timeout_ms=1000, min_seal_time_ms=50, web3_port_base=web3, web3_chain_id=CHAIN_ID,
        ))
        self.processes = {}

    def web3_url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.web3_base + i}/"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web3Cluster]:
    c = Web3Cluster(tmp_path_factory.mktemp("web3") / "chain")
    c.start_all()
    try:
        for i in range(c.size):
            c.wait_rpc(i)
        yield c
    finally:
        c.stop_all()


def raw_rpc(url: str, method: str, params: list[Any]) -> dict[str, Any]:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def test_web3py_deploys_transacts_calls_and_reads_events(cluster: Web3Cluster) -> None:
    w3 = Web3(Web3.HTTPProvider(cluster.web3_url(0), request_kwargs={"timeout": 30}))
    account = Account.create()
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(account), layer=0)
    w3.eth.default_account = account.address
    assert w3.is_connected()
    assert w3.eth.chain_id == CHAIN_ID
    assert w3.net.version == str(CHAIN_ID)

    artifact = load_artifact("HelloWorld", "standard")
    contract = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    deploy_hash = contract.constructor().transact()
    receipt = w3.eth.wait_for_transaction_receipt(deploy_hash, timeout=60, poll_latency=0.2)
    assert receipt["status"] == 1
    # Ethereum's rule, so a tool that predicts the address is right
    sender = bytes.fromhex(account.address[2:])
    assert receipt["contractAddress"] == to_checksum_address(keccak(rlp.encode([sender, 0]))[-20:])
    hello = w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)

    event_filter = hello.events.NameChanged.create_filter(from_block="latest")
    set_hash = hello.functions.set("from web3.py").transact()
    set_receipt = w3.eth.wait_for_transaction_receipt(set_hash, timeout=60, poll_latency=0.2)
    assert set_receipt["status"] == 1 and set_receipt["type"] == 2 and set_receipt["effectiveGasPrice"] == 0
    assert hello.functions.get().call() == "from web3.py"
    assert w3.eth.get_transaction_count(account.address) == 2

    logs = hello.events.NameChanged.get_logs(from_block=set_receipt["blockNumber"])
    assert [(log["args"]["name"], log["transactionHash"]) for log in logs] == [("from web3.py", set_hash)]
    changes = event_filter.get_new_entries()
    assert [log["args"]["name"] for log in changes] == ["from web3.py"]

    # PBFT finality: latest is already safe and finalized
    latest = w3.eth.get_block("latest")
    assert w3.eth.get_block("finalized")["hash"] == latest["hash"] == w3.eth.get_block("safe")["hash"]
    block = w3.eth.get_block(set_receipt["blockNumber"], full_transactions=True)
    assert set_hash in [tx["hash"] for tx in block["transactions"]]
    assert abs(block["timestamp"] - time.time()) < 120  # seconds, not FISCO's milliseconds

    # One ledger: another node's FISCO methods see the same transaction and state
    wait_until(lambda: cluster.height(2) >= set_receipt["blockNumber"], 30, "node2 catches up")
    fisco_receipt = cluster.rpc(2, "getTransactionReceipt", [set_hash.to_0x_hex()])
    assert fisco_receipt["status"] == "0x0" and fisco_receipt["from"].lower() == account.address.lower()
    fisco_call = cluster.rpc(2, "call", [{"from": account.address.lower(), "to": receipt["contractAddress"].lower(),
                                          "value": "0x0", "data": hello.encode_abi("get")}])
    assert hello.w3.codec.decode(["string"], bytes.fromhex(fisco_call["output"][2:])) == ("from web3.py",)
    other = Web3(Web3.HTTPProvider(cluster.web3_url(3)))
    other_hello = other.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)
    assert other_hello.functions.get().call() == "from web3.py"

    # ...and the project's own SDK, with a FISCO transaction, writes what web3.py then reads
    admin = SdkAccount.from_key_file(cluster.chain.directory / "sdk" / "admin.key")
    client = SyncClient(cluster.url(1), admin.suite, timeout=30)
    try:
        sdk_hello = SyncContract.at(client, artifact.abi, bytes.fromhex(receipt["contractAddress"][2:]), admin)
        assert sdk_hello.call("get") == "from web3.py"
        result = sdk_hello.transact("set", "from chain.sdk")
        assert result.receipt.ok and [e.name for e in result.events] == ["NameChanged"]
    finally:
        client.close()
    wait_until(lambda: cluster.height(3) >= result.receipt.block_number, 30, "node3 catches up")
    assert other_hello.functions.get().call() == "from chain.sdk"
    fisco_tx = other.eth.get_transaction(result.transaction_hash)  # a FISCO transaction, seen as Ethereum's
    assert fisco_tx["blockNumber"] == result.receipt.block_number


def test_bad_input_gets_ethereum_errors_and_the_node_keeps_serving(cluster: Web3Cluster) -> None:
    url = cluster.web3_url(1)
    account = Account.create()
    to = to_checksum_address(b"\x11" * 20)

    def send(**fields: Any) -> dict[str, Any]:
        tx = {"nonce": 0, "gasPrice": 0, "gas": 100_000, "to": to, "value": 0, "data": b"", "chainId": CHAIN_ID}
        tx.update(fields)
        raw = account.sign_transaction(tx).raw_transaction
        return raw_rpc(url, "eth_sendRawTransaction", [raw.to_0x_hex()])

    def error(answer: dict[str, Any]) -> str:
        assert "error" in answer, answer
        assert answer["error"]["code"] == -32000
        return str(answer["error"]["message"])

    assert "invalid chain id" in error(send(chainId=1))
    assert "no native coin" in error(send(value=1))
    assert "oversized data" in error(send(data=b"\x01" * 200_000, gas=5_000_000))
    assert "nonce too high" in error(send(nonce=100))
    assert "result" in send(nonce=1)  # a gap: it waits for nonce 0, sent below
    raw = bytes(account.sign_transaction({"nonce": 0, "gasPrice": 0, "gas": 100_000, "to": to, "value": 0,
                                          "chainId": CHAIN_ID}).raw_transaction)
    fields = rlp.decode(raw)
    fields[7] = b""  # r = 0
    assert "invalid sender" in error(raw_rpc(url, "eth_sendRawTransaction", ["0x" + rlp.encode(fields).hex()]))
    assert "invalid transaction" in error(raw_rpc(url, "eth_sendRawTransaction", ["0x02c0"]))
    first = send(nonce=0)
    assert "result" in first, first
    wait_until(lambda: raw_rpc(url, "eth_getTransactionReceipt", [first["result"]])["result"] is not None, 60, "receipt")
    wait_until(lambda: raw_rpc(url, "eth_getTransactionCount", [account.address, "latest"])["result"] == "0x2", 60,
               "the waiting nonce 1 committed after nonce 0")
    assert "nonce too low" in error(send(nonce=0, data=b"\x01"))
    unknown = raw_rpc(url, "eth_noSuchMethod", [])
    assert unknown["error"]["code"] == -32601 and "eth_noSuchMethod" in unknown["error"]["message"]
    assert raw_rpc(url, "eth_blockNumber", [])["result"].startswith("0x")


def test_web3py_subscribes_to_new_heads_and_logs_over_a_websocket(cluster: Web3Cluster) -> None:
    """eth_subscribe through web3.py's own WebSocketProvider, pushed by a real node as blocks commit."""
    import asyncio

    from web3 import AsyncWeb3, WebSocketProvider

    artifact = load_artifact("HelloWorld", "standard")
    w3 = Web3(Web3.HTTPProvider(cluster.web3_url(1), request_kwargs={"timeout": 30}))
    account = Account.create()
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(account), layer=0)
    w3.eth.default_account = account.address
    deployed = w3.eth.wait_for_transaction_receipt(
        w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode).constructor().transact(), timeout=60, poll_latency=0.2)
    hello = w3.eth.contract(address=deployed["contractAddress"], abi=artifact.abi)
    topic = hello.events.NameChanged().topic

    async def watch() -> tuple[list[int], list[Any]]:
        ws_url = cluster.web3_url(2).replace("http://", "ws://")
        async with AsyncWeb3(WebSocketProvider(ws_url)) as aw3:
            heads_id = await aw3.eth.subscribe("newHeads")
            logs_id = await aw3.eth.subscribe("logs", {"address": deployed["contractAddress"], "topics": [topic]})
            sent = await asyncio.to_thread(hello.functions.set("pushed").transact)
            heads: list[int] = []
            logs: list[Any] = []
            async for message in aw3.socket.process_subscriptions():
                if message["subscription"] == heads_id:
                    heads.append(message["result"]["number"])
                elif message["subscription"] == logs_id:
                    logs.append(message["result"])
                    assert message["result"]["transactionHash"] == sent
                if logs and heads and heads[-1] >= logs[0]["blockNumber"]:
                    return heads, logs
        raise AssertionError("the subscription ended")

    heads, logs = asyncio.run(asyncio.wait_for(watch(), 60))
    assert heads == sorted(heads) and len(logs) == 1
    assert logs[0]["address"].lower() == deployed["contractAddress"].lower()  # pushed raw, as the node sent it
    assert HexBytes(logs[0]["topics"][0]) == HexBytes(topic)
