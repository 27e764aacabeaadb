"""Running a scenario file against real node processes, each in its own network namespace.

`chain scenario run NAME --real` builds a chain, starts one OS process per node inside the private
network of chain.scenarios.netns, and plays the scenario's events on the wall clock: crash is
SIGKILL, restart starts the process again on its own store, pause/resume are SIGSTOP/SIGCONT,
partition and heal move the nodes' data links between bridges (checked with a connect probe from
every namespace). A client sends the scenario's load (kv writes, tx_rate a second) through the
nodes' JSON-RPC, and every node is sampled over RPC (getConsensusStatus) every SAMPLE_S seconds.

The samples are the same record the simulator produces, so the scenario's expectations are judged
by the very functions of chain.scenarios.observations. Then the run *recovers*: the network heals,
paused nodes resume, crashed ones restart — and two more things must hold, which only real
processes can show: every node reaches the same head hash, and every transaction that got a
successful receipt anywhere has that receipt on every node. The nodes' logs say how often each one
started and changed view (the restarts counted are checked against them), and no process may exit
unless the run killed it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator

from chain.crypto.certs import Issued, issue_node_certificate, write_private
from chain.errors import ScenarioError
from chain.execution.kv import encode_kv
from chain.ledger.transaction import BLOCK_LIMIT_AHEAD, new_transaction
from chain.node.builder import BuildOptions, BuiltChain, build_chain
from chain.node.config import NodeConfig, RpcSection
from chain.node.process import terminate_all
from chain.scenarios.netns import Network, unavailable
from chain.scenarios.observations import RunRecord, Sample, Verdict, check
from chain.scenarios.runner import narrate_record
from chain.scenarios.spec import LEADER, Scenario, ScenarioEvent, find_scenario, parse_scenario
from chain.sdk.account import Account

P2P_PORT = 30300  # every node has an address of its own, so all can use the same ports
RPC_PORT = 8545
SAMPLE_S = 0.25  # wall time between two samples of every node
RPC_TIMEOUT_S = 0.5  # a paused or cut-off node must not hold the sampler up
START_TIMEOUT_S = 60.0  # a node process answers RPC within this after it is started
CONVERGE_TIMEOUT_S = 90.0  # after recovery, the nodes agree on one head within this
IN_FLIGHT_MS = 1000  # a block proposed before a fault lands within this (min seal time 500 ms)
FRESH_TXS = 8  # committed after the recovery: the chain must still work, and every node must learn of them
RECEIPT_BATCH = 200  # receipts asked for in one JSON-RPC batch
GROUP_MS = 1000  # events closer than this are one fault (crash all four, then restart all four)
REAL_ACTIONS = ("crash", "restart", "pause", "resume", "partition", "heal", "burst")
REAL_OBSERVATIONS = ("progress", "stall", "view_change", "no_view_change", "no_fork")
# The CI campaign: the faults the issue lists, each ending with one head and every receipt everywhere.
CAMPAIGN = ("leader_crash", "f_crashed", "minority_partition", "all_crash", "pause_leader")


def campaign_scenarios() -> dict[str, Scenario]:
    """The scenarios written for real processes (chain/scenarios/campaign/*.toml), by name."""
    found: dict[str, Scenario] = {}
    folder = resources.files("chain.scenarios").joinpath("campaign")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            scenario = parse_scenario(entry.read_text(encoding="utf-8"), f"campaign/{entry.name}")
            found[scenario.name] = scenario
    return found


def find_real_scenario(name_or_path: str) -> Scenario:
    """A campaign scenario by name, else a library scenario or a file (as `chain scenario run`)."""
    return campaign_scenarios().get(name_or_path) or find_scenario(name_or_path)


def check_runnable(scenario: Scenario) -> None:
    """Refuse, before anything starts, what real processes cannot do (Byzantine nodes live in the simulator)."""
    # the campaign builds one-group chains; several groups on one network are the simulator's (chain.sim.groups)
    if scenario.groups:
        raise ScenarioError(f"{scenario.name}: a scenario with several groups runs only in the simulator")
    for event in scenario.events:
        # a real node runs the honest code only; lies and governance are the simulator's tools
        if event.action not in REAL_ACTIONS:
            raise ScenarioError(f"{scenario.name}: action {event.action!r} runs only in the simulator "
                                f"(real processes can: {', '.join(REAL_ACTIONS)})")
    unsupported = [o for o in scenario.expect if o not in REAL_OBSERVATIONS]
    # an expectation the real run cannot judge would pass or fail for no reason
    if unsupported:
        raise ScenarioError(f"{scenario.name}: expectation(s) {unsupported} are judged only in the simulator")


# --- JSON-RPC over plain HTTP (one short timeout, no event loop in the sampler threads) -------------

def post(url: str, payload: Any, timeout: float = RPC_TIMEOUT_S) -> Any:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def rpc(url: str, method: str, params: list[Any], timeout: float = RPC_TIMEOUT_S) -> Any:
    answer = post(url, {"jsonrpc": "2.0", "id": 1, "method": method, "params": [1, *params]}, timeout)
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


def rpc_batch(url: str, calls: list[tuple[str, list[Any]]], timeout: float = 5.0) -> list[Any]:
    """Results in call order; an error answer becomes None."""
    payload = [{"jsonrpc": "2.0", "id": k, "method": m, "params": [1, *p]} for k, (m, p) in enumerate(calls)]
    answers = post(url, payload, timeout) if payload else []
    # a whole batch refused (too big, say) must not read as "every answer is null"
    if not isinstance(answers, list):
        raise RuntimeError(f"{url} refused a batch of {len(calls)}: {str(answers)[:200]}")
    by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
    return [by_id.get(k, {}).get("result") for k in range(len(calls))]


# --- the chain of processes -----------------------------------------------------------------------

class RealChain:
    """A built chain whose nodes run as processes in the namespaces of one Network."""

    def __init__(self, root: Path, scenario: Scenario, suite: str, network: Network) -> None:
        self.network = network
        self.chain: BuiltChain = build_chain(root, BuildOptions(nodes=scenario.nodes, suite=suite, executor="kv"))
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self.paused: set[int] = set()
        self.killed: set[int] = set()  # crashed by the scenario and not yet restarted
        self.restarts = 0
        self.unexpected_exits: list[str] = []
        self._place_in_namespaces()
        node_ids = {n.node_id.hex(): i for i, n in enumerate(self.chain.nodes)}
        self.index_of_node_id = node_ids
        self.account = Account.from_key_file(self.chain.directory / "sdk" / "admin.key")

    @property
    def size(self) -> int:
        return len(self.chain.nodes)

    def _place_in_namespaces(self) -> None:
        """Give each node its namespace's addresses: config (listen, peers, RPC) and a TLS certificate naming them."""
        ca_dir = self.chain.directory / "ca"
        ca = Issued(key_pem=(ca_dir / "ca.key").read_bytes(), cert_pem=(ca_dir / "ca.crt").read_bytes())
        peers = [f"{self.network.data_ip(i)}:{P2P_PORT}" for i in range(self.size)]
        for i, node in enumerate(self.chain.nodes):
            config = NodeConfig.load(node.directory)
            config = replace(
                config,
                network=replace(config.network, listen_ip=self.network.data_ip(i), listen_port=P2P_PORT,
                                peers=tuple(p for j, p in enumerate(peers) if j != i)),
                rpc=RpcSection(listen_ip=self.network.ctl_ip(i), listen_port=RPC_PORT),
            )
            config.dump(node.directory)
            issued = issue_node_certificate(ca, node.name, node.node_id, self.network.data_ip(i))
            (node.directory / "ssl.crt").write_bytes(issued.cert_pem)
            (node.directory / "ssl.key").unlink()
            write_private(node.directory / "ssl.key", issued.key_pem)

    def url(self, i: int) -> str:
        return f"http://{self.network.ctl_ip(i)}:{RPC_PORT}/"

    def start(self, i: int) -> None:
        directory = self.chain.nodes[i].directory
        with open(directory / "stdout.log", "ab") as out:
            self.processes[i] = subprocess.Popen(
                self.network.exec_prefix(i) + [sys.executable, "-m", "chain.cli.main", "node", "start", str(directory)],
                stdout=out, stderr=subprocess.STDOUT, cwd=directory, start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.killed.discard(i)

    def running(self, i: int) -> bool:
        process = self.processes.get(i)
        return process is not None and process.poll() is None

    def answering(self, i: int) -> bool:
        """Running, not paused: the nodes a client can talk to."""
        return self.running(i) and i not in self.paused

    def crash(self, i: int) -> None:
        process = self.processes.pop(i)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=15)
        self.paused.discard(i)
        self.killed.add(i)

    def restart(self, i: int) -> None:
        # restarting a node that runs is a no-op, as in the simulator
        if self.running(i):
            return
        self.start(i)
        self.restarts += 1

    def pause(self, i: int) -> None:
        self.processes[i].send_signal(signal.SIGSTOP)
        self.paused.add(i)

    def resume_all(self) -> list[int]:
        resumed = sorted(self.paused)
        for i in resumed:
            if self.running(i):
                self.processes[i].send_signal(signal.SIGCONT)
        self.paused.clear()
        return resumed

    def note_exits(self) -> None:
        """Record a process that ended without the run killing it (a node must never crash)."""
        for i, process in list(self.processes.items()):
            if process.poll() is not None:
                self.unexpected_exits.append(f"node {i} exited with status {process.returncode}")
                del self.processes[i]
                self.killed.add(i)

    def stop_all(self) -> None:
        self.resume_all()  # a stopped process cannot act on SIGTERM
        terminate_all(self.processes.values())
        self.processes.clear()

    def status(self, i: int) -> dict[str, Any] | None:
        try:
            summary = rpc(self.url(i), "getConsensusStatus", [])[0]
        except (OSError, urllib.error.URLError, RuntimeError, ValueError, IndexError, KeyError, TypeError):
            return None
        return summary if isinstance(summary, dict) else None

    def wait_answering(self, nodes: list[int], timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        waiting = set(nodes)
        while waiting:
            waiting = {i for i in waiting if self.status(i) is None}
            self.note_exits()
            if waiting and time.monotonic() > deadline:
                raise ScenarioError(f"node(s) {sorted(waiting)} did not answer RPC within {timeout:.0f} s")
            if waiting:
                time.sleep(0.2)

    def log_events(self, i: int) -> Iterator[dict[str, Any]]:
        path = self.chain.nodes[i].directory / "node.log"
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            return
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record

    def log_tail(self, i: int, lines: int = 20) -> str:
        path = self.chain.nodes[i].directory / "stdout.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


# --- the client load --------------------------------------------------------------------------------

class Load:
    """tx_rate kv writes a second, round-robin over the answering nodes, in one batch per tick."""

    def __init__(self, chain: RealChain, rate: int, seed: int) -> None:
        self.chain = chain
        self.rate = rate
        self.accepted: list[str] = []  # hashes a node accepted into its pool
        self.refused = 0
        self.head = 0  # the highest height seen by the sampler (for blockLimit)
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scenario-load", daemon=True)
        self._sent = 0

    def start(self) -> None:
        if self.rate > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        tick = 0.25
        owed = 0.0
        while not self._stop.wait(tick):
            owed += self.rate * tick
            count, owed = int(owed), owed - int(owed)
            if count:
                self.send(count)

    def send(self, count: int) -> list[str]:
        """Sign and submit count transactions to the next answering node; the hashes it accepted."""
        nodes = [i for i in range(self.chain.size) if self.chain.answering(i)]
        if not nodes:
            self.refused += count
            return []
        node = nodes[self._sent % len(nodes)]
        genesis = self.chain.chain.genesis
        raws = []
        for _ in range(count):
            self._sent += 1
            tx = new_transaction(to=bytes(20), data=encode_kv(f"k{self._sent}".encode(), b"v"),
                                 block_limit=self.head + BLOCK_LIMIT_AHEAD, chain_id=genesis.chain_id,
                                 group_id=genesis.group_id, nonce=self._rng.getrandbits(128))
            raws.append("0x" + self.chain.account.sign(tx).encode().hex())
        try:
            results = rpc_batch(self.chain.url(node), [("sendRawTransaction", [raw]) for raw in raws], timeout=2.0)
        except (OSError, urllib.error.URLError, ValueError):
            self.refused += count
            return []
        taken = [result for result in results if isinstance(result, str)]
        self.accepted.extend(taken)
        self.refused += len(results) - len(taken)
        return taken


# --- one run ------------------------------------------------------------------------------------------

@dataclass
class RealRecord:
    """What one real run produced beyond the simulator's record: the figures of the issue."""

    record: RunRecord
    restarts: int = 0  # node processes started again by the scenario and by the recovery
    restarts_in_logs: int = 0  # the same, counted from the nodes' own "node_started" log lines
    head_s: float | None = None  # recovery to the first moment every node reports one head hash
    converge_s: float | None = None  # recovery to one head hash with every receipt on every node
    head: tuple[int, str] = (-1, "")
    receipts: int = 0  # successful receipts found, each checked on every node
    fresh: int = 0  # transactions accepted after the recovery, which must be committed everywhere
    accepted: int = 0
    missing: list[str] = field(default_factory=list)
    unexpected_exits: list[str] = field(default_factory=list)
    view_changes_in_logs: dict[int, int] = field(default_factory=dict)
    resumed_after: list[tuple[str, float | None]] = field(default_factory=list)  # event, s until a new block


@dataclass(frozen=True)
class RealResult:
    scenario: Scenario
    runs: tuple[RealRecord, ...]
    verdicts: tuple[Verdict, ...]
    narration: tuple[str, ...]
    wall_seconds: float

    @property
    def ok(self) -> bool:
        return all(v.held for v in self.verdicts)


class RealScript:
    """The scenario's events applied to the processes as wall time passes."""

    def __init__(self, chain: RealChain, record: RunRecord) -> None:
        self.chain = chain
        self.record = record

    def resolve(self, node: int | str | None) -> int:
        if node == LEADER:
            return self.leader()
        if not isinstance(node, int):
            raise ScenarioError(f"an event names node {node!r}")
        return node

    def leader(self) -> int:
        """The node most answering nodes name as leader of their current view."""
        votes: dict[int, int] = {}
        for i in range(self.chain.size):
            status = self.chain.status(i) if self.chain.answering(i) else None
            if status is None or status.get("leaderIndex") is None:
                continue
            node_id = status.get(f"sealer.{status['leaderIndex']}", "")
            leader = self.chain.index_of_node_id.get(str(node_id).removeprefix("0x"))
            if leader is not None:
                votes[leader] = votes.get(leader, 0) + 1
        if not votes:
            raise ScenarioError("no node is leader at this moment")
        return max(sorted(votes), key=lambda i: votes[i])

    def apply(self, event: ScenarioEvent) -> str:
        chain, action = self.chain, event.action
        if action == "crash":
            node = self.resolve(event.node)
            chain.crash(node)
            return f"crash node {node}{' (the leader)' if event.node == LEADER else ''} (SIGKILL)"
        if action == "restart":
            node = self.resolve(event.node)
            chain.restart(node)
            return f"restart node {node}"
        if action == "pause":
            node = self.resolve(event.node)
            chain.pause(node)
            return f"pause node {node}{' (the leader)' if event.node == LEADER else ''} (SIGSTOP)"
        if action == "resume":
            return f"resume node(s) {chain.resume_all()} (SIGCONT)"
        if action == "partition":
            chain.network.partition([list(g) for g in event.groups])
            return "partition the network into " + " | ".join(str(list(g)) for g in chain.network.groups)
        if action == "heal":
            chain.network.heal()
            return "heal the network"
        if action == "burst":
            return f"a burst of {event.count} transactions"  # sent by the caller, which owns the load
        raise ScenarioError(f"action {action!r} cannot run on real processes")

    def verify_links(self, settle_s: float = 5.0) -> None:
        """Every node reaches exactly the nodes of its own group, as the partition says.

        Probed again until it holds, for settle_s at most: right after a link moves bridge, the
        neighbours' ARP entries and a loaded machine's probe processes may need a moment (a single
        probe once saw node 1 miss node 3 just after a heal).
        """
        groups = self.chain.network.groups or (tuple(range(self.chain.size)),)
        deadline = time.monotonic() + settle_s
        while True:
            seen = self.chain.network.reachable(P2P_PORT)
            wrong = [(i, group) for group in groups for i in group if seen[i] != set(group) - {i}]
            if not wrong:
                return
            if time.monotonic() >= deadline:
                i, group = wrong[0]
                raise ScenarioError(f"the network is not as planned: node {i} reaches {sorted(seen[i])}, "
                                    f"its group is {list(group)}")
            time.sleep(0.25)


def _sample(chain: RealChain, pool: ThreadPoolExecutor, previous: Sample | None) -> tuple[dict[str, Any], ...]:
    """Every node as the observations read it; a node that cannot answer keeps its last known height."""
    answers = list(pool.map(lambda i: chain.status(i) if chain.answering(i) else None, range(chain.size)))
    groups = chain.network.groups
    cut = set(range(chain.size)) - set(groups[0]) if groups else set()
    rows = []
    for i, status in enumerate(answers):
        before = previous.nodes[i] if previous is not None else {"height": -1, "head": None, "view": 0, "role": "sealer"}
        if status is None:
            state = "crashed" if not chain.running(i) else ("paused" if i in chain.paused else "unreachable")
            # what it last said of its chain stands; it leads nothing while it cannot answer
            rows.append({**before, "role": "sealer", "state": state, "cut": i in cut})
            continue
        leader_id = status.get(f"sealer.{status.get('leaderIndex')}")
        is_leader = chain.index_of_node_id.get(str(leader_id or "").removeprefix("0x")) == i
        rows.append({
            "index": i, "role": "leader" if is_leader else str(status.get("role") or "sealer"),
            "view": int(status.get("currentView") or 0), "height": int(status.get("highestblockNumber", -1)),
            "head": status.get("highestblockHash"), "state": "ok", "phase": status.get("state"), "cut": i in cut,
        })
    return tuple(rows)


def run_once(scenario: Scenario, suite: str, root: Path, *,
             say: Callable[[str], None] = lambda line: None) -> RealRecord:
    """One run of the scenario on real processes; every process and namespace is gone when it returns."""
    started = time.perf_counter()
    network = Network(scenario.nodes)
    record = RunRecord(suite=suite)
    real = RealRecord(record=record)
    chain: RealChain | None = None
    load: Load | None = None
    try:
        network.up()
        chain = RealChain(root, scenario, suite, network)
        say(f"{scenario.name}: {scenario.nodes} nodes in namespaces {network.tag}n*, data {network.data_net}, "
            f"RPC {network.ctl_net}")
        for i in range(chain.size):
            chain.start(i)
        chain.wait_answering(list(range(chain.size)))
        script = RealScript(chain, record)
        load = Load(chain, scenario.tx_rate, scenario.seed)
        pending = list(scenario.events)
        with ThreadPoolExecutor(max_workers=chain.size) as pool:
            t0 = time.monotonic()
            now_ms = lambda: int((time.monotonic() - t0) * 1000)  # noqa: E731
            record.samples.append(Sample(0, _sample(chain, pool, None)))
            load.start()
            while True:
                while pending and pending[0].at_ms <= now_ms():
                    event = pending.pop(0)
                    text = script.apply(event)
                    at = now_ms()  # when the fault is in place (cutting links takes a moment)
                    if event.action == "burst":
                        load.send(event.count)
                    record.applied.append((at, text))
                    say(f"{at / 1000:7.3f} s  {text}")
                    if event.action in ("partition", "heal"):
                        script.verify_links()
                chain.note_exits()
                sample = Sample(now_ms(), _sample(chain, pool, record.samples[-1]))
                record.samples.append(sample)
                load.head = max(load.head, max(int(n.get("height", 0)) for n in sample.nodes))
                if sample.t >= scenario.duration_ms:
                    break
                time.sleep(max(0.0, SAMPLE_S - (now_ms() - sample.t) / 1000))
            load.stop()
            record.last_fault_ms = max((t for t, _ in record.applied), default=0)
            real.resumed_after = _resumptions(record)
            _recover(chain, real, say, load)
            if real.head[0] >= 0:
                record.violations = _forks(chain, real.head[0])
        chain.note_exits()
        record.trace_events = sum(1 for i in range(chain.size) for _ in chain.log_events(i))
        _read_logs(chain, real, initial_starts=chain.size)
        real.restarts = chain.restarts
        real.unexpected_exits = list(chain.unexpected_exits)
        if load is not None:
            real.accepted = len(load.accepted)
    except Exception:  # a failure shows the nodes' last words; a stop (SIGTERM, Ctrl-C) does not
        if chain is not None:
            for i in range(chain.size):
                say(f"--- node{i} (last lines) ---\n{chain.log_tail(i)}")
        raise
    finally:
        if load is not None:
            load.stop()
        if chain is not None:
            chain.stop_all()
        network.down()
    record.wall_seconds = time.perf_counter() - started
    return real


def _resumptions(record: RunRecord) -> list[tuple[str, float | None]]:
    """For each fault (the last of events less than a second apart): seconds until every answering
    node holds one head again, above the highest head IN_FLIGHT_MS after the fault (a block already
    in flight then lands without proving anything)."""
    found = []
    for k, (at, text) in enumerate(record.applied):
        if k + 1 < len(record.applied) and record.applied[k + 1][0] - at < GROUP_MS:
            continue  # one fault in several steps (crash four nodes) is measured from its last step
        settled = max((int(n.get("height", -1)) for n in record.sample_at(at + IN_FLIGHT_MS).nodes), default=-1)
        agreed = None
        for sample in record.samples:
            # a node cut off by a partition is measured when the heal lets it catch up, not before
            answering = [n for n in sample.nodes if n["state"] == "ok" and not n.get("cut")]
            heads = {(int(n.get("height", -1)), n.get("head")) for n in answering}
            if sample.t > at and answering and len(heads) == 1 and next(iter(heads))[0] > settled:
                agreed = (sample.t - at) / 1000
                break
        found.append((text, agreed))
    return found


def _recover(chain: RealChain, real: RealRecord, say: Callable[[str], None], load: Load) -> None:
    """End every fault, commit a few fresh transactions, then wait for one head hash and every
    successful receipt on every node.

    The fresh transactions are part of the test, not a nudge to hide a fault: after the faults the
    chain must still commit, and a node restarted into an idle chain hears of the blocks it lacks
    from the consensus traffic they cause (without them, see docs/nodes.md, it may wait forever).
    """
    t0 = time.monotonic()
    if chain.network.groups:
        chain.network.heal()
    resumed = chain.resume_all()
    crashed = sorted(chain.killed)
    for i in crashed:
        chain.restart(i)
    everyone = list(range(chain.size))
    chain.wait_answering(everyone)
    fresh = [h for _ in range(2) for h in load.send(FRESH_TXS // 2)]  # to two different nodes, round-robin
    real.fresh = len(fresh)
    say(f"recovery: healed, resumed {resumed}, restarted {crashed}, {len(fresh)} fresh transactions accepted")
    deadline = t0 + CONVERGE_TIMEOUT_S
    while True:
        chain.note_exits()
        head = _same_head(chain)
        if head is not None:
            if real.head_s is None:
                real.head_s = time.monotonic() - t0
            real.head = head
            missing, found = _receipts_everywhere(chain, load.accepted, fresh)
            real.receipts, real.missing = found, missing
            if not missing and real.head[0] >= 0 and fresh:
                real.converge_s = time.monotonic() - t0
                return
        if time.monotonic() > deadline:
            return
        time.sleep(0.3)


def _same_head(chain: RealChain) -> tuple[int, str] | None:
    heads = set()
    for i in range(chain.size):
        status = chain.status(i)
        if status is None:
            return None
        heads.add((int(status["highestblockNumber"]), str(status["highestblockHash"])))
    return heads.pop() if len(heads) == 1 else None


def _receipts_everywhere(chain: RealChain, accepted: list[str], required: list[str] | tuple[str, ...] = ()
                         ) -> tuple[list[str], int]:
    """(missing "node i: hash", successful receipts found): each one must be on every node, in the same
    block; the required ones (sent after the recovery) must be among them — a halted chain has none."""
    hashes = sorted(set(accepted) | set(required))
    by_node = []
    for i in range(chain.size):
        answers = []
        for start in range(0, len(hashes), RECEIPT_BATCH):
            chunk = hashes[start:start + RECEIPT_BATCH]
            answers.extend(rpc_batch(chain.url(i), [("getTransactionReceipt", [h]) for h in chunk], timeout=20))
        by_node.append(dict(zip(hashes, answers)))
    successful = {h for h in hashes for receipts in by_node
                  if isinstance(receipts.get(h), dict) and receipts[h].get("status") == "0x0"} | set(required)
    missing = []
    for i, receipts in enumerate(by_node):
        for h in sorted(successful):
            got = receipts.get(h)
            blocks = {r[h].get("blockNumber") for r in by_node if isinstance(r.get(h), dict)}
            # present, successful, and in the one block all nodes put it in
            if not isinstance(got, dict) or got.get("status") != "0x0" or len(blocks) != 1:
                missing.append(f"node {i}: {h[:12]}…")
    return missing, len(successful)


def _forks(chain: RealChain, top: int) -> list[str]:
    """Heights at which two nodes hold different block hashes (the whole chains, not only the heads)."""
    numbers = list(range(top + 1))
    per_node = [[h for start in range(0, len(numbers), RECEIPT_BATCH)
                 for h in rpc_batch(chain.url(i), [("getBlockHashByNumber", [hex(n)])
                                                   for n in numbers[start:start + RECEIPT_BATCH]], timeout=20)]
                for i in range(chain.size)]
    found = []
    for n in numbers:
        hashes = {str(p[n]) for p in per_node if p[n] is not None}
        if len(hashes) > 1:
            found.append(f"height {n}: {len(hashes)} different blocks")
    return found


def _read_logs(chain: RealChain, real: RealRecord, initial_starts: int) -> None:
    starts = 0
    for i in range(chain.size):
        changes = 0
        for entry in chain.log_events(i):
            if entry.get("event") == "node_started":
                starts += 1
            elif entry.get("event") == "view_changed":
                changes += 1
        real.view_changes_in_logs[i] = changes
    real.restarts_in_logs = starts - initial_starts


def run_real(scenario: Scenario, workdir: Path | None = None, *,
             say: Callable[[str], None] = lambda line: None) -> RealResult:
    """Run the scenario on real processes (once per suite) and judge it; ScenarioError if it cannot run here."""
    reason = unavailable()
    if reason:
        raise ScenarioError(f"cannot run {scenario.name} on real processes: {reason}")
    check_runnable(scenario)
    started = time.perf_counter()
    import tempfile
    runs = []
    with tempfile.TemporaryDirectory(prefix="chain-real-", dir=workdir) as tmp:
        previous = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
        if previous is not None:
            # a SIGTERM must still run the cleanup (processes, namespaces, bridges)
            signal.signal(signal.SIGTERM, _raise_exit)
        try:
            for suite in scenario.suites:
                runs.append(run_once(scenario, suite, Path(tmp) / suite, say=say))
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    verdicts = []
    for observation in scenario.expect:
        verdicts.append(check(observation, [r.record for r in runs]))
    verdicts.extend(_process_verdicts(runs))
    result_lines = narrate(scenario, runs, verdicts)
    return RealResult(scenario, tuple(runs), tuple(verdicts), tuple(result_lines), time.perf_counter() - started)


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _process_verdicts(runs: list[RealRecord]) -> list[Verdict]:
    verdicts = []
    for run in runs:
        prefix = f"{run.record.suite}: " if len(runs) > 1 else ""
        height, head = run.head
        same = run.converge_s is not None
        verdicts.append(Verdict(
            "same_head", run.head_s is not None and height >= 0,
            prefix + (f"one head on all nodes {run.head_s:.1f} s after recovery began; at the end height {height}, "
                      f"head {head[:18]}…"
                      if run.head_s is not None else f"no single head within {CONVERGE_TIMEOUT_S:.0f} s of recovery")))
        verdicts.append(Verdict(
            "receipts_everywhere", same and not run.missing and run.receipts > 0 and run.fresh > 0,
            prefix + ("not judged: the nodes never reached one head" if run.head_s is None
                      else "no fresh transaction was accepted after the recovery" if run.fresh == 0
                      else f"{run.receipts} successful receipts (of {run.accepted} accepted transactions), "
                           f"the {run.fresh} sent after the recovery among them, on every node"
                      if not run.missing else f"{len(run.missing)} missing, e.g. {run.missing[:3]}")))
        forks = run.record.violations
        verdicts.append(Verdict("same_chain", not forks, prefix + ("every height holds one block on every node"
                                                                   if not forks else "; ".join(forks[:3]))))
        verdicts.append(Verdict(
            "no_unexpected_exit", not run.unexpected_exits,
            prefix + ("every process ran until the run stopped it" if not run.unexpected_exits
                      else "; ".join(run.unexpected_exits))))
        verdicts.append(Verdict(
            "restarts_logged", run.restarts_in_logs == run.restarts,
            prefix + f"{run.restarts} restarts done, {run.restarts_in_logs} seen in the nodes' logs"))
    return verdicts


def narrate(scenario: Scenario, runs: list[RealRecord], verdicts: list[Verdict]) -> list[str]:
    lines = [f"== {scenario.name} (real processes): {scenario.title}",
             f"   {scenario.nodes} node processes, each in its own network namespace, "
             f"{scenario.tx_rate} tx/s, {scenario.duration_ms} ms of wall time"]
    for run in runs:
        record = run.record
        lines.append(f"-- suite {record.suite}")
        body = narrate_record(record)
        lines.extend("   " + line.replace("trace events", "log events") for line in body)
        for text, seconds in run.resumed_after:
            lines.append(f"   after '{text}': " + ("no common new head before the end" if seconds is None
                                                    else f"every answering node at one new head {seconds:.2f} s later"))
        lines.append(f"   logs: view changes per node {run.view_changes_in_logs}; node restarts done: {run.restarts}")
        lines.append(f"   time to the same head after recovery: "
                     + ("never" if run.converge_s is None else f"{run.converge_s:.2f} s (with every receipt)"))
    lines.append("-- expected observations")
    for verdict in verdicts:
        lines.append(f"   [{'held' if verdict.held else 'FAILED'}] {verdict.observation}: {verdict.detail}")
    return lines


def run_from_cli(name: str, console: Any) -> bool:
    """`chain scenario run NAME --real`: narrate the run as it goes, then the verdicts; True if all held."""
    scenario = find_real_scenario(name)
    result = run_real(scenario, say=lambda line: console.print(line, highlight=False, markup=False, soft_wrap=True))
    for line in result.narration:
        style = "red" if "[FAILED]" in line else ("green" if "[held]" in line else None)
        console.print(line, style=style, highlight=False, markup=False, soft_wrap=True)
    console.print(f"wall time {result.wall_seconds:.1f} s", highlight=False)
    if not result.ok:
        console.print("[red]an expected observation did not hold[/red]")
    return result.ok
