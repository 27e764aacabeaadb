"""The Pro form's session endpoints (docs/nodes.md "Pro form"): the channel port, /ws and web3, all
held by the rpc service and relayed as streams to group0's core (chain.node.pro_streams).

One 2-node Pro chain of real processes (EVM, channel and web3 ports) for the module: the project's
channel client sends a transaction and gets its receipt and a block number pushed, an event-log
filter gets its log pushed, AMOP crosses from node0's SDK to node1's through the gateways;
web3.py reads the chain id and block number and gets a signed transaction's receipt; a /ws
subscription gets a block; garbage on the channel port and on a core's stream frames stops nothing;
a killed rpc service drops its SDKs and a restarted one serves them again.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import aiohttp
import pytest
from eth_account import Account as EthAccount
from web3 import Web3

from chain.channel.client import ChannelClient, ChannelError
from chain.channel.framing import ChannelMessage, ChannelResult, ChannelType
from chain.crypto.certs import generate_ca, issue_channel_certificate
from chain.crypto.keys import KeyPair
from chain.crypto.suite import get_suite
from chain.ledger.transaction import new_transaction, sign_transaction
from chain.node.builder import BuildOptions, BuiltChain, build_chain
from chain.node.config import NodeConfig
from chain.node.local_link import (
    KIND_HELLO, KIND_STREAM_ACK, KIND_STREAM_CLOSE, KIND_STREAM_DATA, KIND_STREAM_OPEN, LocalHello, core_socket, frame,
)
from chain.node.ports import free_port_base, free_port_bases
from chain.node.pro_process import service_pids
from chain.node.pro_streams import StreamOpen, numbered
from tests.channel import fisco_frames as ff
from tests.node.cluster import wait_until
from tests.node.test_pro_form import closed_by_peer, height, local_socket, rpc

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

CHAIN_ID = 20200
TOPIC = bytes(range(32))
# Init code that only logs: PUSH32 TOPIC, PUSH1 0 (size), PUSH1 0 (offset), LOG1, STOP.
LOGGING_DEPLOY = b"\x7f" + TOPIC + b"\x60\x00\x60\x00\xa1\x00"
NODES = 2


class ProEndpoints:
    def __init__(self, root: Path) -> None:
        p2p, rpc_base = free_port_bases(NODES)
        taken = set(range(p2p, p2p + NODES)) | set(range(rpc_base, rpc_base + NODES))
        channel = free_port_base(NODES, avoid=taken)
        web3 = free_port_base(NODES, avoid=taken | set(range(channel, channel + NODES)))
        self.root = root
        self.chain: BuiltChain = build_chain(root, BuildOptions(
            nodes=NODES, suite="standard", port_base=p2p, rpc_port_base=rpc_base, executor="evm",
            timeout_ms=1000, min_seal_time_ms=50, form="pro", channel_port_base=channel,
            web3_port_base=web3, web3_chain_id=CHAIN_ID))
        self.urls = [f"http://127.0.0.1:{n.rpc_port}/" for n in self.chain.nodes]
        self.channel_ports = [channel + i for i in range(NODES)]
        self.web3_urls = [f"http://127.0.0.1:{web3 + i}/" for i in range(NODES)]

    def directory(self, i: int) -> Path:
        return self.chain.nodes[i].directory

    def pids(self, i: int) -> dict[str, int | None]:
        return service_pids(self.directory(i), NodeConfig.load(self.directory(i)))

    def client(self, i: int) -> ChannelClient:
        return ChannelClient.from_chain_dir(self.root, "127.0.0.1", self.channel_ports[i])

    def stop(self) -> None:
        subprocess.run(["bash", str(self.root / "stop_all.sh")], timeout=30, capture_output=True)
        for i in range(NODES):  # only the processes this chain started
            for pid in self.pids(i).values():
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def pro(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProEndpoints]:
    chain = ProEndpoints(tmp_path_factory.mktemp("pro-endpoints") / "chain")
    subprocess.run(["bash", str(chain.root / "start_all.sh")], check=True, timeout=30, capture_output=True)
    try:
        wait_until(lambda: all(height(url) >= 0 for url in chain.urls), 60, "every rpc service answers")
        yield chain
    finally:
        chain.stop()


def signed_raw(suite: str = "standard") -> tuple[bytes, bytes]:
    """(the raw transaction bytes of a deployment that logs TOPIC, its hash)."""
    key = KeyPair.generate(suite)
    tx = sign_transaction(new_transaction(to=b"", data=LOGGING_DEPLOY, block_limit=500), key)
    return tx.encode(), tx.hash(get_suite(suite))


@pytest.mark.timeout(120)  # it starts the module's chain (see the fixture)
def test_channel_sdk_gets_its_receipt_a_block_number_and_its_event_log_pushed(pro: ProEndpoints) -> None:
    with pro.client(1) as c:
        assert c.handshake()["protocol"] == 1
        assert c.heartbeat() == b"1"
        assert c.rpc("getBlockNumber", [1]) == rpc(pro.urls[1], "getBlockNumber", [1])["result"]
        filter_id = c.register_event_log(topics=["0x" + TOPIC.hex()])
        raw, tx_hash = signed_raw()
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "sendRawTransaction",
                           "params": [1, "0x" + raw.hex()]}).encode()
        answer = c.request(ChannelType.TX_COMMITTED, body)  # the python-sdk's way: only the receipt comes back
        receipt = json.loads(answer.data)
        assert receipt["transactionHash"] == "0x" + tx_hash.hex() and receipt["status"] == "0x0"
        assert c.blocks.get(timeout=10) >= 1
        pushed = c.event_logs.get(timeout=10)
        assert pushed["filterID"] == filter_id and [log["topics"] for log in pushed["logs"]] == [["0x" + TOPIC.hex()]]


def test_amop_crosses_from_node0s_sdk_to_node1s_through_the_gateways(pro: ProEndpoints) -> None:
    with pro.client(0) as sender, pro.client(1) as listener:
        listener.subscribe(["pro-orders"])

        def answer() -> None:
            request, topic, content = listener.next_amop(timeout=20)
            listener.respond(request, b"ack:" + content)

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while True:  # node0's core learns node1's topics from its advertisement (every 2 s)
            try:
                reply = sender.publish("pro-orders", b"hello")
                break
            except ChannelError as exc:
                assert exc.result == ChannelResult.REMOTE_PEER_UNAVAILABLE and time.monotonic() < deadline
                time.sleep(0.3)
        assert reply == b"ack:hello"
        thread.join(5)
        # the dashboard's view: group0's core holds the sessions, the port is the rpc service's
        status = rpc(pro.urls[1], "getChannelStatus", [])["result"]
        assert status["port"] == pro.channel_ports[1] and "pro-orders" in status["topics"]
        assert "pro-orders" in rpc(pro.urls[0], "getChannelStatus", [])["result"]["peerTopics"][pro.chain.nodes[1].node_id.hex()]


def test_web3py_reads_the_chain_and_gets_a_signed_transactions_receipt(pro: ProEndpoints) -> None:
    w3 = Web3(Web3.HTTPProvider(pro.web3_urls[0], request_kwargs={"timeout": 20}))
    assert w3.eth.chain_id == CHAIN_ID
    assert w3.eth.block_number >= 0
    account = EthAccount.create()
    signed = account.sign_transaction({"to": "0x" + "11" * 20, "value": 0, "gas": 100000, "gasPrice": 0,
                                       "nonce": 0, "chainId": CHAIN_ID, "data": b"\x01"})
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.2)
    assert receipt["transactionHash"] == tx_hash and receipt["blockNumber"] >= 1

    async def subscribe_new_heads() -> dict[str, Any]:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(pro.web3_urls[1]) as ws:
                await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}))
                assert (await ws.receive_json(timeout=10))["result"].startswith("0x")
                send_logging_tx(pro, 1)
                return dict(await ws.receive_json(timeout=15))

    head = asyncio.run(subscribe_new_heads())
    assert head["method"] == "eth_subscription" and int(head["params"]["result"]["number"], 16) >= 1


def send_logging_tx(pro: ProEndpoints, i: int) -> str:
    raw, tx_hash = signed_raw()
    answer = rpc(pro.urls[i], "sendRawTransaction", [1, "0x" + raw.hex()])
    assert "result" in answer, answer
    return "0x" + tx_hash.hex()


def test_ws_subscription_gets_blocks_and_logs(pro: ProEndpoints) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(pro.urls[0] + "ws") as ws:
                await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": ["blocks"]}))
                blocks = (await ws.receive_json(timeout=10))["result"]
                await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "subscribe",
                                              "params": ["logs", {"topics": ["0x" + TOPIC.hex()]}]}))
                logs = (await ws.receive_json(timeout=10))["result"]
                await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": 3, "method": "getBlockNumber", "params": [1]}))
                assert (await ws.receive_json(timeout=10))["result"].startswith("0x")
                tx_hash = send_logging_tx(pro, 1)
                got: dict[str, dict[str, Any]] = {}
                while len(got) < 2:
                    note = await ws.receive_json(timeout=15)
                    sub = note["params"]["subscription"]
                    if sub == logs and note["params"]["result"]["transactionHash"] == tx_hash:
                        got["logs"] = note["params"]["result"]
                    elif sub == blocks:
                        got["blocks"] = note["params"]["result"]
                return got["blocks"], got["logs"]

    block, log = asyncio.run(scenario())
    assert int(block["number"], 16) >= 1 and log["topics"] == ["0x" + TOPIC.hex()]


def test_garbage_on_the_channel_port_and_on_a_cores_streams_stops_nothing(pro: ProEndpoints, tmp_path: Path) -> None:
    before = [pro.pids(i) for i in range(NODES)]
    # not TLS at all, then TLS with a certificate of another CA: refused by the rpc service
    with socket.create_connection(("127.0.0.1", pro.channel_ports[0]), timeout=5) as raw:
        raw.sendall(b"GET / HTTP/1.0\r\n\r\n" + os.urandom(512))
        assert closed_by_peer(raw)
    other = issue_channel_certificate(generate_ca("someone else"), "sdk")
    (tmp_path / "sdk.crt").write_bytes(other.cert_pem)
    (tmp_path / "sdk.key").write_bytes(other.key_pem)
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        tls = ff.connect("127.0.0.1", pro.channel_ports[0], pro.root / "sdk", tmp_path / "sdk.crt", tmp_path / "sdk.key")
        tls.sendall(ff.pack(0x13, b"0"))
        ff.read_message(tls)  # TLS 1.2: the refusal may only show on the first read
    # a client that passes TLS then sends a frame of nonsense: its session ends, the node goes on
    with pro.client(0) as c:
        c.sock.sendall(b"\x00\x00\x00\x2a" + os.urandom(60))
        assert c.closed.wait(10)
    with pro.client(0) as c:
        c.send(ChannelMessage(0x7777, b"x" * 32, 0, b"not a type"))
        assert c.closed.wait(10)
    # straight to group0's core, as a broken rpc process would: every one closes that link only
    node = pro.directory(0)
    hello = frame(KIND_HELLO, LocalHello("rpc", "group0").encode())
    opened = frame(KIND_STREAM_OPEN, numbered(7, StreamOpen("channel", "test").encode()))
    attempts = [
        hello + frame(KIND_STREAM_OPEN, numbered(1, b"{not json")),
        hello + frame(KIND_STREAM_OPEN, b"\x01\x02"),  # no stream number
        hello + opened + opened,  # one number opened twice
        hello + opened + frame(KIND_STREAM_ACK, numbered(7, b"\x01")),  # a count that is not 8 bytes
        hello + frame(KIND_STREAM_DATA, b"\x07"),  # no stream number
    ]
    for data in attempts:
        with local_socket(node, core_socket("group0")) as sock:
            sock.sendall(data)
            assert closed_by_peer(sock), f"the core kept a link that sent {data[:60]!r}"
    # a stream of garbage bytes: the channel session on it ends (CLOSE), the link stays
    with local_socket(node, core_socket("group0")) as sock:
        sock.sendall(hello + opened + frame(KIND_STREAM_DATA, numbered(7, b"\xff" * 64))
                     + frame(KIND_STREAM_DATA, numbered(99, b"for nobody")) + frame(KIND_STREAM_CLOSE, numbered(42)))
        kinds = read_frames(sock, until=KIND_STREAM_CLOSE)
        assert kinds[-1] == KIND_STREAM_CLOSE
        # and the link still serves: a /ws stream on it answers a request
        request = b'{"jsonrpc": "2.0", "id": 5, "method": "getBlockNumber", "params": [1]}'
        sock.sendall(frame(KIND_STREAM_OPEN, numbered(8, StreamOpen("ws", "test").encode()))
                     + frame(KIND_STREAM_DATA, numbered(8, request)))
        assert KIND_STREAM_DATA in read_frames(sock, until=KIND_STREAM_DATA)
    assert [pro.pids(i) for i in range(NODES)] == before
    with pro.client(0) as c:
        assert c.heartbeat() == b"1"
        assert int(c.rpc("getBlockNumber", [1]), 16) >= 0


def read_frames(sock: socket.socket, until: int) -> list[int]:
    """The kinds of the frames the core sends until one of kind `until` (within the socket's timeout)."""
    data, kinds = b"", []
    while until not in kinds:
        chunk = sock.recv(65536)
        assert chunk, "closed before the frame"
        data += chunk
        while len(data) >= 4 and len(data) >= 4 + int.from_bytes(data[:4], "big"):
            size = int.from_bytes(data[:4], "big")
            kinds.append(data[4])
            data = data[4 + size:]
    return kinds


@pytest.mark.timeout(90)
def test_a_killed_rpc_service_drops_its_sdks_and_a_restarted_one_serves_them(pro: ProEndpoints) -> None:
    c = pro.client(1)
    try:
        assert c.heartbeat() == b"1"
        pid = pro.pids(1)["rpc"]
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        assert c.closed.wait(10), "the SDK's session survived its rpc service"
    finally:
        c.close()
    start = height(pro.urls[0])
    send_logging_tx(pro, 0)  # consensus goes on through node0 (both nodes' cores seal)
    wait_until(lambda: height(pro.urls[0]) > start, 20, "a block while node1's rpc service is down")
    subprocess.run(["bash", str(pro.directory(1) / "start.sh")], check=True, timeout=30, capture_output=True)
    wait_until(lambda: height(pro.urls[1]) > start, 20, "node1's restarted rpc service answers")
    with pro.client(1) as again:
        assert again.heartbeat() == b"1"
        assert int(again.rpc("getBlockNumber", [1]), 16) > start
