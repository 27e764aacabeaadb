"""The channel port of real node processes: RPC, block pushes, AMOP across nodes, refusals."""

from __future__ import annotations

import json
import socket
import ssl
import struct
import threading
import time
from pathlib import Path

import pytest

from chain.channel.client import ChannelClient, ChannelEndpoint, ChannelError
from chain.cli.console import Console
from chain.channel.framing import ChannelResult
from chain.crypto.certs import generate_ca, issue_channel_certificate
from chain.execution.kv import encode_kv
from chain.node.builder import channel_endpoint
from chain.sdk.account import Account
from chain.sdk.client import SyncClient
from tests.channel import fisco_frames as ff
from tests.channel.conftest import ChannelCluster
from tests.node.cluster import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def client(cluster: ChannelCluster, i: int) -> ChannelClient:
    return ChannelClient.from_chain_dir(cluster.chain.directory, "127.0.0.1", cluster.channel_port(i))


def test_rpc_over_channel_answers_as_http(cluster: ChannelCluster) -> None:
    with client(cluster, 1) as c:
        assert c.rpc("getBlockNumber", [1]) == cluster.rpc(1, "getBlockNumber")
        assert c.rpc("getSealerList", [1]) == cluster.rpc(1, "getSealerList")
        with pytest.raises(ChannelError):
            c.rpc("noSuchMethod", [1])


def test_minimal_fisco_client_rpc_heartbeat_handshake(cluster: ChannelCluster) -> None:
    sock = ff.connect("127.0.0.1", cluster.channel_port(0), cluster.sdk_dir)
    try:
        sock.sendall(ff.pack(0x13, b"0", seq=b"h" * 32))
        assert ff.read_message(sock, 0x13) == (0x13, b"h" * 32, 0, b"1")
        sock.sendall(ff.pack(0x14, json.dumps({"minimumSupport": 1, "maximumSupport": 3}).encode()))
        assert json.loads(ff.read_message(sock, 0x14)[3])["protocol"] == 1
        body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "getClientVersion", "params": []}).encode()
        sock.sendall(ff.pack(0x12, body, seq=b"r" * 32))
        _, seq, result, data = ff.read_message(sock, 0x12)
        assert (seq, result, json.loads(data)["id"]) == (b"r" * 32, 0, 7)
    finally:
        sock.close()


def test_block_numbers_pushed_to_every_sdk(cluster: ChannelCluster) -> None:
    raw = ff.connect("127.0.0.1", cluster.channel_port(3), cluster.sdk_dir)
    with client(cluster, 0) as c:
        start = cluster.height(0)
        account = Account.generate("standard")
        sdk = SyncClient(cluster.url(0), account.suite, timeout=10)
        try:
            sdk.send_transaction(account, bytes(20), encode_kv(b"channel-push", b"v"))
        finally:
            sdk.close()
        assert c.blocks.get(timeout=20) > start
        _, seq, _, data = ff.read_message(raw, 0x1001)
        group, number = data.decode().split(",")
        assert seq == b"0" * 32 and group == "1" and int(number) > start
    raw.close()


def test_amop_unicast_from_node0_reaches_sdk_at_node2(cluster: ChannelCluster) -> None:
    with client(cluster, 0) as sender, client(cluster, 2) as listener:
        listener.subscribe(["orders"])

        def answer() -> None:
            request, topic, content = listener.next_amop(timeout=20)
            listener.respond(request, b"ack:" + topic.encode() + b":" + content)

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while True:  # node0 learns node2's topics from its advertisement (re-sent every 2 s)
            try:
                reply = sender.publish("orders", b"hello")
                break
            except ChannelError as exc:
                assert exc.result == ChannelResult.REMOTE_PEER_UNAVAILABLE and time.monotonic() < deadline
                time.sleep(0.3)
        assert reply == b"ack:orders:hello"
        thread.join(5)


def test_amop_multicast_reaches_every_listener(cluster: ChannelCluster) -> None:
    with client(cluster, 0) as sender, client(cluster, 1) as a, client(cluster, 3) as b:
        a.subscribe(["news"])
        b.subscribe(["news"])
        time.sleep(2.5)  # one advertisement round
        sender.multicast("news", b"extra")
        assert a.next_amop(timeout=10)[1:] == ("news", b"extra")
        assert b.next_amop(timeout=10)[1:] == ("news", b"extra")


def test_amop_nobody_listening_is_fisco_100(cluster: ChannelCluster) -> None:
    sock = ff.connect("127.0.0.1", cluster.channel_port(1), cluster.sdk_dir)
    try:
        sock.sendall(ff.pack(0x30, ff.amop("nobody-here", b"x"), seq=b"a" * 32))
        _, seq, result, _ = ff.read_message(sock, 0x31)
        assert (seq, result) == (b"a" * 32, 100)
    finally:
        sock.close()


def still_serves(cluster: ChannelCluster, i: int) -> None:
    with client(cluster, i) as c:
        assert c.heartbeat() == b"1"


def closed_by_node(sock: ssl.SSLSocket) -> bool:
    try:
        sock.settimeout(5)
        return sock.recv(1) == b""
    except (ConnectionError, ssl.SSLError):
        return True


@pytest.mark.parametrize("length", [10, 64 << 20])  # shorter than the header; far above the limit
def test_bad_length_closes_the_session_node_keeps_serving(cluster: ChannelCluster, length: int) -> None:
    sock = ff.connect("127.0.0.1", cluster.channel_port(2), cluster.sdk_dir)
    sock.sendall(struct.pack("!IH32sI", length, 0x12, b"0" * 32, 0))
    assert closed_by_node(sock)
    sock.close()
    still_serves(cluster, 2)


def test_unknown_type_closes_the_session(cluster: ChannelCluster) -> None:
    sock = ff.connect("127.0.0.1", cluster.channel_port(2), cluster.sdk_dir)
    sock.sendall(ff.pack(0x1001, b"1,99"))  # a push only nodes send
    assert closed_by_node(sock)
    sock.close()
    still_serves(cluster, 2)


def test_certificate_of_another_ca_is_refused(cluster: ChannelCluster, tmp_path: Path) -> None:
    other = issue_channel_certificate(generate_ca("someone else"), "sdk")
    (tmp_path / "sdk.crt").write_bytes(other.cert_pem)
    (tmp_path / "sdk.key").write_bytes(other.key_pem)
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        sock = ff.connect("127.0.0.1", cluster.channel_port(1), cluster.sdk_dir, tmp_path / "sdk.crt", tmp_path / "sdk.key")
        sock.sendall(ff.pack(0x13, b"0"))
        ff.read_message(sock)  # TLS 1.2: the refusal may only show on the first read
    plain = socket.create_connection(("127.0.0.1", cluster.channel_port(1)), timeout=5)
    plain.sendall(b"GET / HTTP/1.0\r\n\r\n")  # not TLS at all
    assert closed_by_node(plain)  # type: ignore[arg-type]
    plain.close()
    still_serves(cluster, 1)
    log = (cluster.chain.nodes[1].directory / "stdout.log").read_text()
    assert '"event":"channel_tls_rejected"' in log and "Traceback" not in log


def test_transaction_over_channel_gets_its_receipt_pushed(cluster: ChannelCluster) -> None:
    """python-sdk's sendRawTransactionGetReceipt: type 0x1000 in, the receipt as 0x1000 out (same seq)."""
    account = Account.generate("standard")
    http = SyncClient(cluster.url(0), account.suite, timeout=10)
    try:
        raw_tx = http.build_transaction(account, bytes(20), encode_kv(b"via-channel", b"v")).encode()
    finally:
        http.close()
    sock = ff.connect("127.0.0.1", cluster.channel_port(0), cluster.sdk_dir)
    try:
        body = {"jsonrpc": "2.0", "id": 1, "method": "sendRawTransaction", "params": [1, "0x" + raw_tx.hex()]}
        sock.sendall(ff.pack(0x1000, json.dumps(body).encode(), seq=b"t" * 32))
        _, seq, result, data = ff.read_message(sock, 0x1000)
        receipt = json.loads(data)
        assert (seq, result, receipt["status"]) == (b"t" * 32, 0, "0x0")
        assert cluster.rpc(0, "getTransactionReceipt", [receipt["transactionHash"]])["blockNumber"] == receipt["blockNumber"]
        sock.sendall(ff.pack(0x1000, json.dumps(body).encode(), seq=b"u" * 32))  # the same again: refused at once
        _, seq, _, data = ff.read_message(sock, 0x1000)
        assert seq == b"u" * 32 and "error" in json.loads(data)
    finally:
        sock.close()


def console_at(cluster: ChannelCluster, i: int) -> Console:
    shell = Console(None, None, {})  # type: ignore[arg-type]  # the channel commands need no RPC client
    shell.channel = ChannelEndpoint("127.0.0.1", cluster.channel_port(i), cluster.sdk_dir)
    return shell


def test_console_publish_reaches_subscribe_topic_at_another_node(cluster: ChannelCluster) -> None:
    assert channel_endpoint(cluster.chain.directory, 2).port == cluster.channel_port(2)  # type: ignore[union-attr]
    listener, sender = console_at(cluster, 2), console_at(cluster, 0)
    heard: list[str] = []
    thread = threading.Thread(target=lambda: heard.append(listener.execute("subscribeTopic lesson 1 20")), daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while (answer := sender.execute("publish lesson 'hello from node0'")).startswith("no SDK listens"):
        assert time.monotonic() < deadline, answer
        time.sleep(0.3)
    thread.join(10)
    assert answer == "answer: received"
    assert heard == ["request on lesson: hello from node0"]
    assert sender.execute("publish nobody-there x") == "no SDK listens on nobody-there at any node (FISCO result 100)"


def test_console_subscribe_blocks(cluster: ChannelCluster) -> None:
    shell = console_at(cluster, 1)
    result: list[str] = []
    thread = threading.Thread(target=lambda: result.append(shell.execute("subscribeBlocks 1 20")), daemon=True)
    thread.start()
    time.sleep(0.5)
    account = Account.generate("standard")
    sdk = SyncClient(cluster.url(1), account.suite, timeout=10)
    try:
        sdk.send_transaction(account, bytes(20), encode_kv(b"console-blocks", b"v"))
    finally:
        sdk.close()
    thread.join(20)
    assert result and result[0].startswith("block ") and int(result[0].split()[1]) >= 1
