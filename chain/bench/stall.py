"""How long one heavy transaction stalls a real chain: the figure of issue 12.

    python -m chain.bench.stall [--gas 300000000] [--nodes 4] [--suite standard] [--max-s 900]

Builds a fresh EVM chain in a temporary directory, starts its nodes as processes, deploys a
contract that loops for ever (``JUMPDEST; PUSH1 0; JUMP``), and sends it ONE transaction from an
ordinary (non-admin) account with ``--gas`` gas — it runs until that gas is gone, on every node.
While that transaction is pending and executing it measures, on every node:

* **RPC stall** — the longest wait for an answer to ``getBlockNumber``, asked every 100 ms;
* **commit wait** — how long small transactions sent meanwhile (one at a time, round robin over
  the nodes) take from ``sendRawTransaction`` to their receipt: the chain's own stall;
* **view changes** — ``view_change_started`` lines in the nodes' logs.

It stops by itself once the heavy transaction is committed (or after ``--max-s``) and prints the
figures, after the rate (Mgas/s) at which this EVM runs such loops in-process, on this machine. The nodes run whatever ``chain`` package Python imports, so the same command measures an
older checkout with ``PYTHONPATH=<that checkout>``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from chain.bench.tps import Cluster, build_cluster, wait_until_serving
from chain.crypto.keys import KeyPair
from chain.errors import ChainError
from chain.ledger.transaction import new_transaction, sign_transaction

DEPLOY_LOOP = bytes.fromhex("635b600056600052600460" "1c" "f3")  # PUSH4 <loop>; PUSH1 0; MSTORE; RETURN 4 bytes
# Loops that run until their gas is gone: the cheapest instructions per unit of gas, so the slowest
# gas this EVM executes (a real contract's SSTOREs and hashes cost far more gas per microsecond).
LOOPS = {
    "JUMPDEST PUSH1 JUMP": bytes.fromhex("5b600056"),
    "JUMPDEST PUSH1 ADD PUSH1 JUMP": bytes.fromhex("60005b600101600256"),
}
PROBE_S = 0.1  # getBlockNumber is asked this often on every node
SMALL_GAS = 100_000


@dataclass
class StallReport:
    gas: int
    nodes: int
    heavy_committed_s: float | None  # from sending the heavy transaction to its receipt (None: not within max_s)
    heavy_status: str | None
    rpc_stall_s: list[float]  # per node: the longest wait for getBlockNumber
    small_sent: int = 0
    small_longest_s: float = 0.0  # the longest a small transaction waited to be committed
    view_changes: list[int] = field(default_factory=list)  # per node

    def lines(self) -> list[str]:
        heavy = (f"committed after {self.heavy_committed_s:.1f} s (status {self.heavy_status})"
                 if self.heavy_committed_s is not None else "NOT committed within the time limit")
        return [
            f"heavy transaction: {self.gas:,} gas on {self.nodes} nodes, {heavy}",
            f"max stall while it was pending (longest getBlockNumber wait, any node): {max(self.rpc_stall_s):.2f} s",
            "  per node: " + ", ".join(f"node{i} {s:.2f} s" for i, s in enumerate(self.rpc_stall_s)),
            f"small transactions sent meanwhile: {self.small_sent}, longest wait to be committed: {self.small_longest_s:.1f} s",
            f"view changes started: {sum(self.view_changes)} (" + ", ".join(
                f"node{i} {n}" for i, n in enumerate(self.view_changes)) + ")",
        ]


def loop_gas_rates(suite: str, gas: int = 2_000_000) -> dict[str, float]:
    """Mgas/s at which one in-process executor runs each of LOOPS to the end of `gas`."""
    from chain.execution.local import LocalChain

    chain = LocalChain(suite)
    key = KeyPair.generate(suite)
    rates: dict[str, float] = {}
    for name, runtime in LOOPS.items():
        n = len(runtime)
        init = bytes([0x60 + n - 1]) + runtime + bytes.fromhex("600052") + bytes([0x60, n, 0x60, 32 - n, 0xF3])
        address = chain.send(key, b"", init).contract_address
        tx = chain.transaction(key, address, b"", gas_limit=gas)
        started = time.perf_counter()
        receipt = chain.run_block([tx]).receipts[0]
        rates[name] = receipt.gas_used / (time.perf_counter() - started) / 1e6
    return rates


async def _rpc(session: aiohttp.ClientSession, url: str, method: str, params: list[Any]) -> Any:
    async with session.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}) as response:
        answer = await response.json(content_type=None)
    if "error" in answer:
        raise ChainError(f"{method}: {answer['error']}")
    return answer["result"]


class _Client:
    def __init__(self, session: aiohttp.ClientSession, cluster: Cluster, key: KeyPair) -> None:
        self.session, self.cluster, self.key = session, cluster, key
        self.group = cluster.group_id

    async def send(self, url: str, to: bytes, data: bytes, gas: int) -> str:
        head = int(await _rpc(self.session, url, "getBlockNumber", [self.group]), 16)
        tx = sign_transaction(new_transaction(to=to, data=data, gas_limit=gas, block_limit=head + 900,
                                              chain_id=self.cluster.chain_id, group_id=self.group), self.key)
        return str(await _rpc(self.session, url, "sendRawTransaction", [self.group, "0x" + tx.encode().hex()]))

    async def receipt(self, url: str, tx_hash: str, until: float) -> dict[str, Any] | None:
        while time.monotonic() < until:
            receipt = await _rpc(self.session, url, "getTransactionReceipt", [self.group, tx_hash])
            if receipt is not None:
                return receipt
            await asyncio.sleep(0.2)
        return None


async def measure(cluster: Cluster, gas: int, max_s: float) -> StallReport:
    urls = cluster.rpc_urls
    timeout = aiohttp.ClientTimeout(total=max_s + 60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        client = _Client(session, cluster, KeyPair.generate(cluster.suite.name))
        deployed = await client.receipt(urls[0], await client.send(urls[0], b"", DEPLOY_LOOP, 1_000_000), time.monotonic() + 60)
        if deployed is None or deployed.get("status") != "0x0":
            raise ChainError(f"deploying the loop contract failed: {deployed}")
        loop_address = bytes.fromhex(deployed["contractAddress"][2:])
        stop = asyncio.Event()
        stalls = [0.0] * len(urls)

        async def probe(i: int) -> None:
            while not stop.is_set():
                asked = time.monotonic()
                try:
                    await _rpc(session, urls[i], "getBlockNumber", [cluster.group_id])
                except (aiohttp.ClientError, ChainError, asyncio.TimeoutError):
                    pass
                stalls[i] = max(stalls[i], time.monotonic() - asked)
                await asyncio.sleep(PROBE_S)

        small = {"sent": 0, "longest": 0.0}

        async def small_transactions() -> None:
            turn = 0
            while not stop.is_set():
                url = urls[turn % len(urls)]
                turn += 1
                sent = time.monotonic()
                tx_hash = await client.send(url, (0x100).to_bytes(20, "big"), b"", SMALL_GAS)
                small["sent"] += 1
                await client.receipt(url, tx_hash, sent + max_s)
                small["longest"] = max(small["longest"], time.monotonic() - sent)
                await asyncio.sleep(0.5)

        probes = [asyncio.ensure_future(probe(i)) for i in range(len(urls))]
        await asyncio.sleep(1.0)
        smalls = asyncio.ensure_future(small_transactions())
        started = time.monotonic()
        heavy_hash = await client.send(urls[0], loop_address, b"", gas)
        heavy = await client.receipt(urls[0], heavy_hash, started + max_s)
        heavy_s = time.monotonic() - started if heavy is not None else None
        await asyncio.sleep(2.0)  # the small transaction in flight gets its commit
        stop.set()
        await asyncio.wait(probes + [smalls], timeout=30)
        for task in probes + [smalls]:
            task.cancel()
    views = [(cluster.directory / f"node{i}" / "stdout.log").read_text(errors="replace").count("view_change_started")
             for i in range(len(urls))]
    return StallReport(gas, len(urls), heavy_s, heavy.get("status") if heavy else None, stalls,
                       int(small["sent"]), float(small["longest"]), views)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m chain.bench.stall", description=__doc__.split("\n\n")[0])
    parser.add_argument("--gas", type=int, default=300_000_000, help="gas of the heavy transaction")
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--suite", default="standard", choices=["standard", "sm"])
    parser.add_argument("--max-s", type=float, default=900.0, help="give up waiting for the heavy transaction after this long")
    args = parser.parse_args(argv)
    for name, rate in loop_gas_rates(args.suite).items():
        print(f"in-process EVM ({args.suite}), loop {name}: {rate:.2f} Mgas/s")
    cluster = build_cluster(args.suite, "evm", args.nodes)
    try:
        asyncio.run(wait_until_serving(cluster))
        report = asyncio.run(measure(cluster, args.gas, args.max_s))
    finally:
        cluster.stop()
    print("\n".join(report.lines()))


if __name__ == "__main__":
    main()
