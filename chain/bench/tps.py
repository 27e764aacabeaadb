"""`chain bench tps`: how many transactions per second a local 4-node cluster commits, and why.

The load generator is honest about what it measures:

* transactions are **signed before the clock starts** (signing is the client's cost, not the chain's);
* they go out over ``--connections`` HTTP connections, spread over every node's JSON-RPC port, in
  JSON-RPC batches (one HTTP request carries ``--batch`` transactions; each is still admitted alone);
* a transaction counts when it is **seen in a committed block** on node0 (getBlockByNumber polled),
  so TPS = committed / (last commit seen − first send) and latency = commit seen − send acknowledged;
* in the same run the primitive costs are measured in-process — verify the signature, execute,
  store — giving a CPU bound: every node does all three for every transaction, so with N nodes on
  C cores the chain cannot beat ``C / (N × per-tx cost)``. The ratio measured / bound says how much
  goes to everything else (HTTP, JSON, gossip, PBFT messages, Python);
* on Linux the CPU time the node processes spent during the load is read from ``/proc``, giving
  the **node CPU per transaction** — compared with the primitive costs it says how much work is
  not verify/execute/store, whatever else runs on the machine — and how many cores the nodes,
  this client and *other* processes used (a shared machine lowers TPS without changing the work).

Workloads (``chain.bench.workloads``): ``kv`` — one key/value row set per transaction (the KV
stand-in executor, or KVTable 0x1009 on an EVM chain); ``asset`` — transfers of the sample Asset
contract between accounts (EVM).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import aiohttp

from chain import stats
from chain.bench.workloads import ChainFacts, Workload, asset_workload, kv_workload, next_block
from chain.crypto.suite import CryptoSuite, get_suite
from chain.errors import ChainError, ConfigError
from chain.execution.kinds import EXECUTOR_KINDS
from chain.ledger.genesis import GenesisConfig
from chain.ledger.transaction import Transaction
from chain.node.builder import GENESIS_FILE, BuildOptions, build_chain, read_nodes
from chain.node.config import NodeConfig
from chain.node.ports import free_port_bases
from chain.node.process import read_pid

KINDS = ("kv", "asset")


def percentile(values: Sequence[float], fraction: float) -> float:
    """chain.stats.percentile (nearest rank); 0.0 for no values, so a report always prints a number."""
    return stats.percentile(values, fraction) or 0.0


# --- the cluster -----------------------------------------------------------------------------

@dataclass
class Cluster:
    """The nodes under load: their RPC URLs, the chain's facts, and processes we started (if any)."""

    directory: Path
    rpc_urls: list[str]
    suite: CryptoSuite
    chain_id: int
    group_id: int
    executor: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    temporary: bool = False  # built for this run: removed by stop()

    def node_pids(self) -> list[int]:
        """The node processes to account CPU to: those we started, else the running nodes' pid files."""
        if self.processes:
            return [p.pid for p in self.processes]
        pids = (read_pid(node_dir) for node_dir in sorted(self.directory.glob("node*")))
        return [pid for pid in pids if pid is not None]

    def stop(self) -> None:
        for process in self.processes:  # only the processes this run started
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self.temporary:
            shutil.rmtree(self.directory, ignore_errors=True)


def load_cluster(directory: Path) -> Cluster:
    """A chain built by `chain build` (its nodes may or may not be running yet)."""
    nodes = read_nodes(directory)
    genesis = GenesisConfig.load(directory / GENESIS_FILE)
    node0 = NodeConfig.load(directory / "node0")
    return Cluster(
        directory=directory, rpc_urls=[n.rpc for n in nodes if n.role == "sealer"],
        suite=get_suite(genesis.suite), chain_id=genesis.chain_id, group_id=genesis.group_id,
        executor=node0.executor.kind,
    )


def build_cluster(suite: str, executor: str, nodes: int = 4) -> Cluster:
    """Build a fresh chain in a temporary directory and start its nodes as child processes."""
    directory = Path(tempfile.mkdtemp(prefix="chain-tps-"))
    p2p, rpc = free_port_bases(nodes)
    build_chain(directory, BuildOptions(nodes=nodes, suite=suite, executor=executor, port_base=p2p,
                                        rpc_port_base=rpc, min_seal_time_ms=100))
    cluster = load_cluster(directory)
    cluster.temporary = True
    for i in range(nodes):
        node_dir = directory / f"node{i}"
        with open(node_dir / "stdout.log", "wb") as log:  # the child keeps its own copy of the handle
            cluster.processes.append(subprocess.Popen(
                [sys.executable, "-m", "chain.cli.main", "node", "start", str(node_dir)],
                stdout=log, stderr=subprocess.STDOUT, cwd=directory,
            ))
    return cluster


async def wait_until_serving(cluster: Cluster, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        for url in cluster.rpc_urls:
            while True:
                try:
                    await _rpc(session, url, "getBlockNumber", [cluster.group_id])
                    break
                except (aiohttp.ClientError, OSError, ChainError):
                    for process in cluster.processes:
                        if process.poll() is not None:
                            raise ChainError(f"a node exited with code {process.returncode}; see {cluster.directory}/node*/stdout.log")
                    if time.monotonic() > deadline:
                        raise ChainError(f"{url} did not answer within {timeout:g} s")
                    await asyncio.sleep(0.2)


async def _rpc(session: aiohttp.ClientSession, url: str, method: str, params: list[Any]) -> Any:
    async with session.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}) as response:
        answer = await response.json(content_type=None)
    if "error" in answer:
        raise ChainError(f"{method}: {answer['error']}")
    return answer["result"]


# --- workloads (chain.bench.workloads) ------------------------------------------------------

def make_workload(cluster: Cluster, kind: str, count: int, head: int) -> Workload:
    facts = ChainFacts(cluster.suite, cluster.chain_id, cluster.group_id, cluster.executor,
                       cluster.directory / "genesis.toml", cluster.rpc_urls[0])
    return (kv_workload if kind == "kv" else asset_workload)(facts, count, head)


# --- primitive costs -------------------------------------------------------------------------

@dataclass(frozen=True)
class Costs:
    verify_us: float  # decode + recover/verify the sender, per transaction
    execute_us: float  # executor.execute on a block of verified transactions, per transaction
    store_us: float  # Store.commit_block of that block (file SQLite, synchronous=FULL), per transaction

    @property
    def total_us(self) -> float:
        return self.verify_us + self.execute_us + self.store_us


def measure_costs(suite: CryptoSuite, workload: Workload, sample: int = 200, trials: int = 3) -> Costs:
    """Per-transaction cost of each primitive: the best of `trials` runs over `sample` transactions.

    The best run, because on a shared machine every disturbance only ever adds time.
    """
    raws = [tx.encode() for tx in workload.transactions[:sample]]
    verify = execute = commit = float("inf")
    for _ in range(trials):
        start = time.perf_counter()
        for raw in raws:
            Transaction.decode(raw).sender_public_key(suite)  # fresh objects: no memoised sender
        verify = min(verify, (time.perf_counter() - start) / len(raws))
        spent_executing, spent_storing = _execute_and_store(suite, workload, raws)
        execute, commit = min(execute, spent_executing / len(raws)), min(commit, spent_storing / len(raws))
    return Costs(verify * 1e6, execute * 1e6, commit * 1e6)


def _execute_and_store(suite: CryptoSuite, workload: Workload, raws: Sequence[bytes]) -> tuple[float, float]:
    """Seconds to execute the transactions as one block, and to commit it, in a scratch store."""
    scratch = Path(tempfile.mkdtemp(prefix="chain-tps-cost-"))
    store = workload.genesis_state(scratch)
    try:
        head = store.head()
        assert head is not None  # a scratch store starts at genesis
        fresh = [Transaction.decode(raw) for raw in raws]
        for tx in fresh:  # a node's pool verified each sender on admission (timed above, as verify);
            tx.sender_public_key(suite)  # the executor reads the cached result, so must this timing
        block = next_block(suite, head, fresh)
        start = time.perf_counter()
        result = workload.executor.execute(block, store, store.state_root())
        executed = time.perf_counter()
        store.commit_block(result.block, result.receipts, result.changes)
        return executed - start, time.perf_counter() - executed
    finally:
        store.close()
        shutil.rmtree(scratch, ignore_errors=True)


# --- CPU accounting (Linux /proc; absent elsewhere) --------------------------------------------

@dataclass(frozen=True)
class CpuSample:
    nodes: float  # CPU seconds the node processes have used so far
    machine: float  # busy CPU seconds of the whole machine (all cores)
    client: float  # CPU seconds of this process
    wall: float  # time.perf_counter()


@dataclass(frozen=True)
class CpuUse:
    """What the load cost in CPU, between two samples."""

    node_seconds: float
    machine_seconds: float
    client_seconds: float
    wall_seconds: float

    def cores(self, seconds: float) -> float:
        return seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def other_seconds(self) -> float:
        """Busy time of everything else on the machine (never negative: samples are not atomic)."""
        return max(0.0, self.machine_seconds - self.node_seconds - self.client_seconds)


def _clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_seconds(pid: int) -> float:
    # /proc/<pid>/stat: fields 14 and 15 are utime and stime in clock ticks; the name (field 2) may hold spaces
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / _clock_ticks()


def _machine_busy_seconds() -> float:
    # /proc/stat "cpu" line: user nice system idle iowait irq softirq steal (clock ticks, all cores)
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / _clock_ticks()


def cpu_sample(pids: Sequence[int]) -> CpuSample | None:
    """CPU used so far by the nodes, the machine and this process; None where /proc is not there."""
    try:
        nodes = sum(_process_seconds(pid) for pid in pids)
        machine = _machine_busy_seconds()
    except (OSError, ValueError, IndexError):
        return None
    own = os.times()
    return CpuSample(nodes, machine, own.user + own.system, time.perf_counter())


def cpu_use(before: CpuSample | None, after: CpuSample | None) -> CpuUse | None:
    if before is None or after is None:
        return None
    return CpuUse(after.nodes - before.nodes, after.machine - before.machine, after.client - before.client,
                  after.wall - before.wall)


# --- the load --------------------------------------------------------------------------------

@dataclass
class Run:
    sent_at: dict[bytes, float] = field(default_factory=dict)  # tx hash -> when its submission was acknowledged
    committed_at: dict[bytes, float] = field(default_factory=dict)  # tx hash -> when seen in a block
    rejected: dict[str, int] = field(default_factory=dict)  # error message -> count
    first_send: float = 0.0
    blocks: int = 0
    cpu: CpuUse | None = None  # from the first send until the watcher stopped


async def _sender(url: str, txs: Sequence[Transaction], batch: int, group_id: int, suite: CryptoSuite, run: Run,
                  interval: float = 0.0) -> None:
    """Send txs in batches over one connection; with an interval, batch i leaves no earlier than
    first_send + i × interval (a steady offered load), otherwise as fast as answers come back."""
    connector = aiohttp.TCPConnector(limit=1)  # one connection per sender: --connections means connections
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        for number, start in enumerate(range(0, len(txs), batch)):
            delay = run.first_send + number * interval - time.perf_counter()
            if interval and delay > 0:
                await asyncio.sleep(delay)
            chunk = txs[start:start + batch]
            payload = [{"jsonrpc": "2.0", "id": i, "method": "sendRawTransaction",
                        "params": [group_id, "0x" + tx.encode().hex()]} for i, tx in enumerate(chunk)]
            async with session.post(url, json=payload) as response:
                answers = await response.json(content_type=None)
            now = time.perf_counter()
            by_id = {a.get("id"): a for a in answers} if isinstance(answers, list) else {}
            for i, tx in enumerate(chunk):
                answer = by_id.get(i, {})
                if "result" in answer:
                    run.sent_at[tx.hash(suite)] = now
                else:
                    message = str(answer.get("error", {}).get("message", "no answer"))[:60]
                    run.rejected[message] = run.rejected.get(message, 0) + 1


async def _watcher(url: str, group_id: int, start_number: int, wanted: int, run: Run, stop: asyncio.Event,
                   deadline: float) -> None:
    async with aiohttp.ClientSession() as session:
        seen = start_number
        while time.perf_counter() < deadline:
            head = int(await _rpc(session, url, "getBlockNumber", [group_id]), 16)
            for number in range(seen + 1, head + 1):
                block = await _rpc(session, url, "getBlockByNumber", [group_id, hex(number), False])
                now = time.perf_counter()
                run.blocks += 1
                for tx_hash in block["transactions"]:
                    run.committed_at.setdefault(bytes.fromhex(tx_hash[2:]), now)
            seen = max(seen, head)
            if stop.is_set() and len(run.committed_at) >= min(wanted, len(run.sent_at)):
                return
            await asyncio.sleep(0.01)


async def drive(cluster: Cluster, workload: Workload, connections: int, batch: int, timeout: float,
                rate: float = 0.0) -> Run:
    """Offer the workload's transactions: all at once (rate 0), or `rate` per second in total."""
    run = Run()
    async with aiohttp.ClientSession() as session:
        start_number = int(await _rpc(session, cluster.rpc_urls[0], "getBlockNumber", [cluster.group_id]), 16)
    txs = workload.transactions
    shares = [txs[i::connections] for i in range(connections)]
    stop = asyncio.Event()
    pids = cluster.node_pids()
    before = cpu_sample(pids)
    watcher = asyncio.create_task(_watcher(cluster.rpc_urls[0], cluster.group_id, start_number, len(txs), run, stop,
                                           time.perf_counter() + timeout))
    run.first_send = time.perf_counter()
    interval = batch * connections / rate if rate > 0 else 0.0  # each connection offers rate / connections
    await asyncio.gather(*(
        _sender(cluster.rpc_urls[i % len(cluster.rpc_urls)], share, batch, cluster.group_id, cluster.suite, run,
                interval)
        for i, share in enumerate(shares) if share
    ))
    stop.set()
    await watcher
    run.cpu = cpu_use(before, cpu_sample(pids))
    return run


# --- the report ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Report:
    kind: str
    suite: str
    count: int
    accepted: int
    committed: int
    blocks: int
    seconds: float
    tps: float
    latency_p50_ms: float
    latency_p99_ms: float
    costs: Costs
    nodes: int
    cores: int
    rejected: dict[str, int]
    cpu: CpuUse | None = None
    offered_seconds: float = 0.0  # first send -> last submission acknowledged
    closed_loop_clients: int = 0  # > 0: that many clients each waited for its commit before sending again

    @property
    def node_cpu_ms_per_block(self) -> float:
        """CPU the node processes spent per committed block, per node (0.0 if not measured).

        With one closed-loop client every block holds one transaction, so this is the fixed cost
        of deciding a block (votes, signatures, fsyncs, messages) plus one transaction's work.
        """
        if self.cpu is None or not self.blocks or not self.nodes:
            return 0.0
        return self.cpu.node_seconds / self.blocks / self.nodes * 1e3

    @property
    def node_cpu_us(self) -> float:
        """CPU the node processes spent per committed transaction, per node (0.0 if not measured)."""
        if self.cpu is None or not self.committed or not self.nodes:
            return 0.0
        return self.cpu.node_seconds / self.committed / self.nodes * 1e6

    @property
    def bound_tps(self) -> float:
        return self.cores / (self.nodes * self.costs.total_us / 1e6) if self.costs.total_us else 0.0

    def lines(self) -> list[str]:
        c = self.costs
        closed = self.closed_loop_clients
        mode = (f"closed loop: {closed} client(s), each waits for its commit before sending the next" if closed
                else "open loop: offered without waiting for commits")
        out = [
            f"workload      {self.kind} ({self.suite} suite), {self.count} pre-signed transactions, {self.nodes} nodes",
            f"mode          {mode}",
            f"accepted      {self.accepted} in {self.offered_seconds:.2f} s   committed {self.committed} in {self.blocks} blocks",
            f"throughput    {self.tps:.1f} tx/s over {self.seconds:.2f} s (first send -> last commit seen)",
            f"latency       p50 {self.latency_p50_ms:.0f} ms   p99 {self.latency_p99_ms:.0f} ms "
            + ("(send -> commit seen)" if closed else "(send acknowledged -> commit seen)"),
            f"cost per tx   verify {c.verify_us:.0f} us + execute {c.execute_us:.0f} us + store {c.store_us:.0f} us "
            f"= {c.total_us:.0f} us per node",
            f"CPU bound     {self.cores} cores / ({self.nodes} nodes x {c.total_us:.0f} us) = {self.bound_tps:.0f} TPS"
            f"   measured/bound = {self.tps / self.bound_tps:.0%}" if self.bound_tps else "CPU bound     n/a",
        ]
        if self.cpu is not None and self.node_cpu_us:
            cpu = self.cpu
            out.append(
                f"node CPU      {self.node_cpu_us:.0f} us per tx per node (verify+execute+store = "
                f"{c.total_us / self.node_cpu_us:.0%} of it)   cores used: nodes {cpu.cores(cpu.node_seconds):.2f}, "
                f"this client {cpu.cores(cpu.client_seconds):.2f}, other processes {cpu.cores(cpu.other_seconds):.2f}"
            )
            out.append(f"node CPU      {self.node_cpu_ms_per_block:.2f} ms per block per node "
                       f"({self.committed / max(self.blocks, 1):.1f} tx per block)")
        for message, n in sorted(self.rejected.items(), key=lambda item: -item[1]):
            out.append(f"rejected      {n} x {message}")
        return out


def summarize(kind: str, suite: str, count: int, run: Run, costs: Costs, nodes: int, closed_loop_clients: int = 0) -> Report:
    committed = [h for h in run.sent_at if h in run.committed_at]
    latencies = [(run.committed_at[h] - run.sent_at[h]) * 1000 for h in committed]
    last = max((run.committed_at[h] for h in committed), default=run.first_send)
    seconds = max(last - run.first_send, 1e-9)
    offered = max(run.sent_at.values(), default=run.first_send) - run.first_send
    return Report(kind, suite, count, len(run.sent_at), len(committed), run.blocks, seconds,
                  len(committed) / seconds if committed else 0.0,
                  percentile(latencies, 0.5), percentile(latencies, 0.99), costs, nodes, os.cpu_count() or 1,
                  dict(run.rejected), run.cpu, offered, closed_loop_clients)


def run(directory: Path | None, build: bool, suite: str, kind: str, count: int, connections: int, batch: int = 50,
        timeout: float = 120.0, echo: Callable[[str], None] = print, executor: str | None = None,
        rate: float = 0.0, closed_loop_clients: int = 0) -> Report:
    """Run the benchmark against a chain directory (nodes running) or a freshly built one.

    rate 0 offers every transaction at once (throughput; latency is then mostly queueing); a rate
    offers that many per second (latency at that load, if the chain keeps up).

    closed_loop_clients > 0 runs that many clients that each wait for their transaction's commit
    before sending the next (``chain.bench.closed_loop``); connections, batch and rate do not apply.

    A built chain uses the KV stand-in executor for kind kv and the EVM for asset, unless
    `executor` says otherwise (kv on an EVM chain sets rows of a KVTable through 0x1009).
    """
    if kind not in KINDS:
        raise ConfigError(f"unknown workload {kind!r}; choose from {list(KINDS)}")
    if (directory is None) == (not build):
        raise ConfigError("give either --dir CHAINDIR (nodes running) or --build")
    if executor is not None and executor not in EXECUTOR_KINDS:
        raise ConfigError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTOR_KINDS)}")
    if rate < 0:
        raise ConfigError("--rate must be 0 (all at once) or a positive number of transactions per second")
    if closed_loop_clients < 0 or (closed_loop_clients and rate):
        raise ConfigError("--closed-loop takes a positive --clients and no --rate (each client's rate is its latency)")
    if directory is None:  # exactly when building (checked above)
        cluster = build_cluster(suite, executor or ("kv" if kind == "kv" else "evm"))
    else:
        cluster = load_cluster(directory)
    try:
        if build:
            echo(f"built a 4-node {suite} chain ({cluster.executor} executor) in {cluster.directory}; starting nodes...")
        asyncio.run(wait_until_serving(cluster))
        head = asyncio.run(_head(cluster))
        echo(f"signing {count} transactions...")
        workload = make_workload(cluster, kind, count, head)
        if closed_loop_clients:
            from chain.bench.closed_loop import drive_closed_loop

            echo(f"{closed_loop_clients} closed-loop client(s) over {len(cluster.rpc_urls)} nodes...")
            result = asyncio.run(drive_closed_loop(cluster, workload, closed_loop_clients))
        else:
            pace = f" at {rate:g} tx/s" if rate else ""
            echo(f"sending over {connections} connections to {len(cluster.rpc_urls)} nodes{pace}...")
            result = asyncio.run(drive(cluster, workload, connections, batch, timeout, rate))
        echo("measuring primitive costs in-process...")
        costs = measure_costs(cluster.suite, workload)
    finally:
        cluster.stop()
    report = summarize(f"{kind} on the {cluster.executor} executor", cluster.suite.name, count, result, costs,
                       len(cluster.rpc_urls), closed_loop_clients)
    for line in report.lines():
        echo(line)
    return report


async def _head(cluster: Cluster) -> int:
    async with aiohttp.ClientSession() as session:
        return int(await _rpc(session, cluster.rpc_urls[0], "getBlockNumber", [cluster.group_id]), 16)
