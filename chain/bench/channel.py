"""Figures of the channel port on a fresh 4-node chain: ``python -m chain.bench.channel``.

It builds a standard/kv chain in a temporary directory, starts the nodes as processes on 127.0.0.1,
and prints medians of: a JSON-RPC round trip over HTTP (one kept-alive connection) and over the
channel; an AMOP request from an SDK at node0 answered by one at node2 (two P2P relays); a
transaction sent over the channel as python-sdk does (0x1000) until its receipt is pushed.
"""

from __future__ import annotations

import http.client
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from chain.channel.client import ChannelClient, ChannelError
from chain.channel.framing import ChannelResult, ChannelType
from chain.execution.kv import encode_kv
from chain.node.builder import BuildOptions, build_chain
from chain.node.ports import free_port_base, free_port_bases
from chain.sdk.account import Account
from chain.sdk.client import SyncClient


def _ms(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1000:.2f} ms, p90 {sorted(samples)[int(len(samples) * 0.9)] * 1000:.2f} ms (n={len(samples)})"


def main(rounds: int = 300) -> None:
    directory = Path(tempfile.mkdtemp(prefix="chain-channel-"))
    p2p, rpc = free_port_bases(4)
    channel = free_port_base(4, avoid=set(range(p2p, p2p + 4)) | set(range(rpc, rpc + 4)))
    built = build_chain(directory / "nodes", BuildOptions(nodes=4, suite="standard", executor="kv", port_base=p2p,
                                                          rpc_port_base=rpc, channel_port_base=channel,
                                                          min_seal_time_ms=50))
    processes = [subprocess.Popen([sys.executable, "-m", "chain.cli.main", "node", "start", str(n.directory)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for n in built.nodes]
    try:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getBlockNumber", "params": [1]})
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", rpc, timeout=5)
                conn.request("POST", "/", body, {"Content-Type": "application/json"})
                conn.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        http_times = []
        for _ in range(rounds):
            start = time.perf_counter()
            conn.request("POST", "/", body, {"Content-Type": "application/json"})
            conn.getresponse().read()
            http_times.append(time.perf_counter() - start)
        conn.close()
        sender = ChannelClient.from_chain_dir(built.directory, "127.0.0.1", channel)
        listener = ChannelClient.from_chain_dir(built.directory, "127.0.0.1", channel + 2)
        channel_times = []
        for _ in range(rounds):
            start = time.perf_counter()
            sender.rpc("getBlockNumber", [1])
            channel_times.append(time.perf_counter() - start)
        print(f"getBlockNumber over HTTP:    {_ms(http_times)}")
        print(f"getBlockNumber over channel: {_ms(channel_times)}")

        listener.subscribe(["bench"])
        stop = threading.Event()

        def answer() -> None:
            while not stop.is_set():
                try:
                    request, _, content = listener.next_amop(timeout=0.5)
                except Exception:
                    continue
                listener.respond(request, content)

        threading.Thread(target=answer, daemon=True).start()
        while True:  # until node0 has heard node2's topics
            try:
                sender.publish("bench", b"warm-up")
                break
            except ChannelError as exc:
                if exc.result != ChannelResult.REMOTE_PEER_UNAVAILABLE:
                    raise
                time.sleep(0.2)
        amop_times = []
        for i in range(rounds // 3):
            start = time.perf_counter()
            assert sender.publish("bench", b"x%d" % i) == b"x%d" % i
            amop_times.append(time.perf_counter() - start)
        stop.set()
        print(f"AMOP node0 -> node2 -> node0: {_ms(amop_times)}")

        account = Account.generate("standard")
        http_client = SyncClient(f"http://127.0.0.1:{rpc}/", account.suite, timeout=10)
        receipt_times = []
        for i in range(20):
            raw = http_client.build_transaction(account, bytes(20), encode_kv(b"bench-%d" % i, b"v")).encode()
            request = {"jsonrpc": "2.0", "id": 1, "method": "sendRawTransaction", "params": [1, "0x" + raw.hex()]}
            start = time.perf_counter()
            answer_ = sender.request(ChannelType.TX_COMMITTED, json.dumps(request).encode())
            assert json.loads(answer_.data)["status"] == "0x0"
            receipt_times.append(time.perf_counter() - start)
        http_client.close()
        print(f"tx over channel until its receipt is pushed (min_seal_time 50 ms): {_ms(receipt_times)}")
        sender.close()
        listener.close()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
