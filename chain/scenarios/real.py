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

Both forms of node run it (``--form pro``: a node is its gateway, a core per group and its rpc
service, all in its namespace; crash, restart and pause act on all of them, crash_rpc/restart_rpc on
the rpc service alone). A scenario with several groups runs on a chain built with those groups:
every group has its own load, samples and record — judged per group by the simulator's ``judge`` —
and its own head, receipts and isolation from the other groups after the recovery (docs/nodes.md
"Pro form and groups on real processes").
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
from chain.ledger.genesis import FIRST_GROUP_NAME, group_id_of
from chain.node.builder import GENESIS_FILE, BuildOptions, BuiltChain, build_chain
from chain.node.config import NodeConfig, RpcSection
from chain.node.pro_process import service_name
from chain.node.process import terminate_all
from chain.scenarios.netns import Network, unavailable
from chain.scenarios.observations import RunRecord, Sample, Verdict
from chain.scenarios.runner import judge, narrate_record
from chain.scenarios.spec import LEADER, Scenario, ScenarioEvent, find_scenario, parse_scenario, split_expectation
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
PRO_ACTIONS = ("crash_rpc", "restart_rpc")  # a Pro node's rpc service alone (its gateway and cores run on)
REAL_ACTIONS = ("crash", "restart", "pause", "resume", "partition", "heal", "burst", *PRO_ACTIONS)
FORMS = ("air", "pro")
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


def check_runnable(scenario: Scenario, form: str = "air") -> None:
    """Refuse, before anything starts, what real processes cannot do (Byzantine nodes live in the simulator)."""
    if form not in FORMS:
        raise ScenarioError(f"--form must be one of {', '.join(FORMS)}, got {form!r}")
    if scenario.groups:
        # a built chain's group0 is every node's and its first group; its other groups are sealed by
        # some of the chain's sealers, without observers (chain.node.builder)
        if scenario.groups[0].name != FIRST_GROUP_NAME:
            raise ScenarioError(f"{scenario.name}: on real processes the first group is {FIRST_GROUP_NAME}")
        for spec in scenario.groups[1:]:
            if spec.observers:
                raise ScenarioError(f"{scenario.name}: on real processes only {FIRST_GROUP_NAME} has observers "
                                    f"({spec.name} names {list(spec.observers)})")
    for event in scenario.events:
        # a real node runs the honest code only; lies and governance are the simulator's tools
        if event.action not in REAL_ACTIONS:
            raise ScenarioError(f"{scenario.name}: action {event.action!r} runs only in the simulator "
                                f"(real processes can: {', '.join(REAL_ACTIONS)})")
        # an Air node is one process: there is no rpc service of its own to kill
        if event.action in PRO_ACTIONS and form != "pro":
            raise ScenarioError(f"{scenario.name}: action {event.action!r} needs Pro-form nodes (--form pro)")
    unsupported = [e for e in scenario.expect if split_expectation(e)[1] not in REAL_OBSERVATIONS]
    # an expectation the real run cannot judge would pass or fail for no reason
    if unsupported:
        raise ScenarioError(f"{scenario.name}: expectation(s) {unsupported} are judged only in the simulator")


# --- JSON-RPC over plain HTTP (one short timeout, no event loop in the sampler threads) -------------

def post(url: str, payload: Any, timeout: float = RPC_TIMEOUT_S) -> Any:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def rpc(url: str, method: str, params: list[Any], timeout: float = RPC_TIMEOUT_S, group_id: int = 1) -> Any:
    answer = post(url, {"jsonrpc": "2.0", "id": 1, "method": method, "params": [group_id, *params]}, timeout)
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


def rpc_batch(url: str, calls: list[tuple[str, list[Any]]], timeout: float = 5.0, group_id: int = 1) -> list[Any]:
    """Results in call order (each call to group group_id, a 2.x id); an error answer becomes None."""
    payload = [{"jsonrpc": "2.0", "id": k, "method": m, "params": [group_id, *p]} for k, (m, p) in enumerate(calls)]
    answers = post(url, payload, timeout) if payload else []
    # a whole batch refused (too big, say) must not read as "every answer is null"
    if not isinstance(answers, list):
        raise RuntimeError(f"{url} refused a batch of {len(calls)}: {str(answers)[:200]}")
    by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
    return [by_id.get(k, {}).get("result") for k in range(len(calls))]


# --- the chain of processes -----------------------------------------------------------------------

@dataclass(frozen=True)
class RealGroup:
    """One group of the real chain: its 2.x id and the nodes (host indexes) that serve it, in order."""

    name: str
    group_id: int
    hosts: tuple[int, ...]
    observers: tuple[int, ...] = ()  # those of hosts that keep the ledger without sealing


def chain_groups(scenario: Scenario) -> tuple[tuple[str, ...], tuple[tuple[str, tuple[int, ...]], ...]]:
    """The build's --groups and --group-sealers for the scenario's [[group]] tables (none: group0 only)."""
    if not scenario.groups:
        return (FIRST_GROUP_NAME,), ()
    return (tuple(g.name for g in scenario.groups),
            tuple((g.name, g.sealers) for g in scenario.groups if g.name != FIRST_GROUP_NAME))


class RealChain:
    """A built chain whose nodes run as processes in the namespaces of one Network.

    An Air node is one process; a Pro node (docs/nodes.md "Pro form") is a gateway, one core per group
    and an rpc service, all in the node's namespace: a crash kills them all, a restart starts them
    all on the same store, a pause stops them all. The client and the sampler talk to the rpc service.
    """

    def __init__(self, root: Path, scenario: Scenario, suite: str, network: Network, form: str = "air") -> None:
        self.network = network
        self.form = form
        names, sealers = chain_groups(scenario)
        self.chain: BuiltChain = build_chain(root, BuildOptions(nodes=scenario.nodes, suite=suite, executor="kv",
                                                                form=form, groups=names, group_sealers=sealers))
        self.processes: dict[int, dict[str, subprocess.Popen[bytes]]] = {}
        self.paused: set[int] = set()
        self.killed: set[int] = set()  # crashed by the scenario and not yet restarted
        self.rpc_down: set[int] = set()  # Pro nodes whose rpc service alone the scenario killed
        self.restarts = 0
        self.starts: dict[int, int] = {}  # launches of each node's logging process (Air: the node, Pro: its rpc)
        self.cut_short = 0  # restarts killed before their process logged its start (see crash)
        self.unexpected_exits: list[str] = []
        self._place_in_namespaces()
        if scenario.groups:
            self._seal_group0_as_the_scenario_says(scenario)
        node_ids = {n.node_id.hex(): i for i, n in enumerate(self.chain.nodes)}
        self.index_of_node_id = node_ids
        self.account = Account.from_key_file(self.chain.directory / "sdk" / "admin.key")
        observers = {self.index_of_node_id[k.hex()] for k in self.chain.genesis.observers}
        self.groups = tuple(RealGroup(name, self.chain.genesis.group_id if name == FIRST_GROUP_NAME else group_id_of(name),
                                      tuple(i for i, n in enumerate(self.chain.nodes)
                                            if name in NodeConfig.load(n.directory).group_names),
                                      tuple(sorted(observers)) if name == FIRST_GROUP_NAME else ())
                            for name in names)

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

    def _seal_group0_as_the_scenario_says(self, scenario: Scenario) -> None:
        """group0 is every node's group on a built chain, sealed by all of them; a scenario's group0
        may be sealed by some hosts only (the groups scenario: hosts 0-3 of 6). The other hosts are
        group0 observers here — they keep group0's ledger but have no vote, so crashing them costs
        group0 nothing, as in the simulator, where they are not in group0 at all."""
        spec = next(g for g in scenario.groups if g.name == FIRST_GROUP_NAME)
        genesis = self.chain.genesis
        keys = [n.node_id for n in self.chain.nodes]
        sealed = replace(genesis, sealers=tuple((keys[i], 1) for i in spec.sealers),
                         observers=tuple(k for i, k in enumerate(keys) if i not in spec.sealers))
        if sealed == genesis:
            return
        text = sealed.dumps()
        for directory in (self.chain.directory, *(n.directory for n in self.chain.nodes)):
            (directory / GENESIS_FILE).write_text(text, encoding="utf-8")
        self.chain = replace(self.chain, genesis=sealed)

    def url(self, i: int) -> str:
        return f"http://{self.network.ctl_ip(i)}:{RPC_PORT}/"

    def services(self, i: int) -> dict[str, list[str]]:
        """Each process of node i by name, with its command line (in start order: the rpc service last)."""
        directory = str(self.chain.nodes[i].directory)
        if self.form != "pro":
            return {"node": [sys.executable, "-m", "chain.cli.main", "node", "start", directory]}
        pro = [sys.executable, "-m", "chain.node.pro_process", directory, "--service"]
        groups = NodeConfig.load(directory).group_names
        return {"gateway": pro + ["gateway"],
                **{service_name("core", g): pro + ["core", "--group", g] for g in groups},
                "rpc": pro + ["rpc"]}

    def start(self, i: int, only: str | None = None) -> None:
        """Start node i's processes (or the one named), each with its output in <name>.stdout.log."""
        directory = self.chain.nodes[i].directory
        running = self.processes.setdefault(i, {})
        for name, command in self.services(i).items():
            if only not in (None, name) or name in running:
                continue
            if name in ("node", "rpc"):
                self.starts[i] = self.starts.get(i, 0) + 1
            log_name = "stdout.log" if name == "node" else f"{name}.stdout.log"
            with open(directory / log_name, "ab") as out:
                running[name] = subprocess.Popen(
                    self.network.exec_prefix(i) + command, stdout=out, stderr=subprocess.STDOUT, cwd=directory,
                    start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.killed.discard(i)
        if only in (None, "rpc"):
            self.rpc_down.discard(i)

    def running(self, i: int) -> bool:
        """Some process of node i runs (a Pro node whose rpc service alone is down still runs)."""
        return any(p.poll() is None for p in self.processes.get(i, {}).values())

    def answering(self, i: int) -> bool:
        """Its JSON-RPC process runs, not paused: the nodes a client can talk to."""
        process = self.processes.get(i, {}).get("node" if self.form != "pro" else "rpc")
        return process is not None and process.poll() is None and i not in self.paused

    def crash(self, i: int) -> None:
        killed = list(self.processes.pop(i, {}).values())
        for process in killed:
            process.send_signal(signal.SIGKILL)
        for process in killed:
            process.wait(timeout=15)
        self._note_cut_short(i)
        self.paused.discard(i)
        self.killed.add(i)
        self.rpc_down.discard(i)

    def _note_cut_short(self, i: int) -> None:
        """A process killed while still starting (a restart at 2 s, the leader crash at 3 s hitting the
        same node under load) never logs its start: such a restart is not one the logs can confirm."""
        logged = sum(1 for e in self.log_events(i) if e.get("event") == START_EVENTS[self.form])
        if logged < self.starts.get(i, 0):
            self.cut_short += self.starts[i] - logged
            self.starts[i] = logged

    def restart(self, i: int) -> None:
        # restarting a node that runs is a no-op, as in the simulator
        if self.running(i):
            return
        self.processes.pop(i, None)
        self.start(i)
        self.restarts += 1

    def crash_rpc(self, i: int) -> None:
        """SIGKILL node i's rpc service only (Pro): its gateway and cores go on."""
        if self.form != "pro":
            raise ScenarioError("crash_rpc needs Pro-form nodes (--form pro): an Air node is one process")
        process = self.processes.get(i, {}).pop("rpc", None)
        if process is None:
            return
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=15)
        self._note_cut_short(i)
        self.rpc_down.add(i)

    def restart_rpc(self, i: int) -> None:
        if i in self.rpc_down and self.running(i):
            self.start(i, only="rpc")
            self.restarts += 1

    def pause(self, i: int) -> None:
        for process in self.processes.get(i, {}).values():
            process.send_signal(signal.SIGSTOP)
        self.paused.add(i)

    def resume_all(self) -> list[int]:
        resumed = sorted(self.paused)
        for i in resumed:
            for process in self.processes.get(i, {}).values():
                if process.poll() is None:
                    process.send_signal(signal.SIGCONT)
        self.paused.clear()
        return resumed

    def note_exits(self) -> None:
        """Record a process that ended without the run killing it (a node must never crash)."""
        for i, services in list(self.processes.items()):
            for name, process in list(services.items()):
                if process.poll() is not None:
                    what = f"node {i}" if name == "node" else f"node {i}'s {name}"
                    self.unexpected_exits.append(f"{what} exited with status {process.returncode}")
                    del services[name]
            if not services:
                del self.processes[i]
                self.killed.add(i)

    def all_processes(self) -> list[subprocess.Popen[bytes]]:
        return [p for services in self.processes.values() for p in services.values()]

    def stop_all(self) -> None:
        self.resume_all()  # a stopped process cannot act on SIGTERM
        terminate_all(self.all_processes())
        self.processes.clear()

    def status(self, i: int, group_id: int = 1) -> dict[str, Any] | None:
        try:
            summary = rpc(self.url(i), "getConsensusStatus", [], group_id=group_id)[0]
        except (OSError, urllib.error.URLError, RuntimeError, ValueError, IndexError, KeyError, TypeError):
            return None
        return summary if isinstance(summary, dict) else None

    def wait_answering(self, nodes: list[int], timeout: float = START_TIMEOUT_S) -> None:
        """Every node answers for every group it serves (a Pro rpc service answers once its cores linked)."""
        deadline = time.monotonic() + timeout
        waiting = {(i, g.group_id) for g in self.groups for i in g.hosts if i in nodes}
        while waiting:
            waiting = {(i, g) for i, g in waiting if self.status(i, g) is None}
            self.note_exits()
            if waiting and time.monotonic() > deadline:
                raise ScenarioError(f"node(s) {sorted({i for i, _ in waiting})} did not answer RPC "
                                    f"within {timeout:.0f} s")
            if waiting:
                time.sleep(0.2)

    def log_files(self, i: int) -> list[tuple[str, Path]]:
        """(group the file's consensus events are of, or "" for any, path) of node i's JSON logs."""
        directory = self.chain.nodes[i].directory
        if self.form != "pro":
            return [("", directory / "node.log")]
        groups = NodeConfig.load(directory).group_names
        return [(g, directory / f"{service_name('core', g)}.log") for g in groups] + [
            ("", directory / "gateway.log"), ("", directory / "rpc.log")]

    def log_events(self, i: int) -> Iterator[dict[str, Any]]:
        """Node i's log records, each with "group" (the group of a Pro core's file, else as logged)."""
        for group, path in self.log_files(i):
            try:
                lines = path.read_text(errors="replace").splitlines()
            except OSError:
                continue
            for line in lines:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield {**record, "group": group} if group else record

    def log_tail(self, i: int, lines: int = 20) -> str:
        directory = self.chain.nodes[i].directory
        tails = []
        for name in self.services(i):
            path = directory / ("stdout.log" if name == "node" else f"{name}.stdout.log")
            if path.exists():
                text = "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
                tails.append(text if name == "node" else f"[{name}]\n{text}")
        return "\n".join(tails)


# --- the client load --------------------------------------------------------------------------------

class Load:
    """tx_rate kv writes a second to one group, round-robin over its answering nodes, one batch per tick."""

    def __init__(self, chain: RealChain, rate: int, seed: int, group: RealGroup | None = None) -> None:
        self.chain = chain
        self.group = group or chain.groups[0]
        self.rate = rate
        self.accepted: list[str] = []  # hashes a node accepted into its pool
        self.refused = 0
        self.head = 0  # the highest height seen by the sampler (for blockLimit)
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"scenario-load-{self.group.name}", daemon=True)
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
        nodes = [i for i in self.group.hosts if self.chain.answering(i)]
        if not nodes:
            self.refused += count
            return []
        node = nodes[self._sent % len(nodes)]
        genesis = self.chain.chain.genesis
        raws = []
        for _ in range(count):
            self._sent += 1
            key = f"{self.group.name}/k{self._sent}".encode()
            tx = new_transaction(to=bytes(20), data=encode_kv(key, b"v"),
                                 block_limit=self.head + BLOCK_LIMIT_AHEAD, chain_id=genesis.chain_id,
                                 group_id=self.group.group_id, nonce=self._rng.getrandbits(128))
            raws.append("0x" + self.chain.account.sign(tx).encode().hex())
        try:
            results = rpc_batch(self.chain.url(node), [("sendRawTransaction", [raw]) for raw in raws], timeout=2.0,
                                group_id=self.group.group_id)
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
    """What one real run produced beyond the simulator's record, for one group: the figures of the issue."""

    record: RunRecord
    restarts: int = 0  # node processes started again by the scenario and by the recovery
    restarts_in_logs: int = 0  # the same, counted from the nodes' own "started" log lines
    cut_short: int = 0  # of the restarts, those killed again before their process logged its start
    head_s: float | None = None  # recovery to the first moment every node reports one head hash
    converge_s: float | None = None  # recovery to one head hash with every receipt on every node
    head: tuple[int, str] = (-1, "")
    receipts: int = 0  # successful receipts found, each checked on every node
    fresh: int = 0  # transactions accepted after the recovery, which must be committed everywhere
    accepted: int = 0
    missing: list[str] = field(default_factory=list)
    unexpected_exits: list[str] = field(default_factory=list)
    view_changes_in_logs: dict[int, int] = field(default_factory=dict)  # by host
    resumed_after: list[tuple[str, float | None]] = field(default_factory=list)  # event, s until a new block
    hosts: tuple[int, ...] = ()  # the host of each of the record's nodes (several groups)
    observers: tuple[int, ...] = ()  # those hosts that observe in the group
    isolation_checked: int = 0  # several groups: (transaction, node of another group) pairs asked
    leaked: list[str] = field(default_factory=list)  # this group's transactions another group answered for


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
        """The node most answering nodes name as leader of their current view (in group0)."""
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

    def _named(self, node: int, event: ScenarioEvent) -> str:
        """"node 2 (the leader)", or with several groups "host 4 (group1)": a host is a node of each of its groups."""
        groups = getattr(self.chain, "groups", ())
        if len(groups) > 1:
            return f"host {node} ({', '.join(g.name for g in groups if node in g.hosts)})"
        return f"node {node}{' (the leader)' if event.node == LEADER else ''}"

    def apply(self, event: ScenarioEvent) -> str:
        chain, action = self.chain, event.action
        if action == "crash":
            node = self.resolve(event.node)
            chain.crash(node)
            return f"crash {self._named(node, event)} (SIGKILL{', every process' if chain.form == 'pro' else ''})"
        if action == "restart":
            node = self.resolve(event.node)
            chain.restart(node)
            return f"restart {self._named(node, event)}"
        if action == "crash_rpc":
            node = self.resolve(event.node)
            chain.crash_rpc(node)
            return f"crash the rpc service of {self._named(node, event)} (SIGKILL; its gateway and cores run on)"
        if action == "restart_rpc":
            node = self.resolve(event.node)
            chain.restart_rpc(node)
            return f"restart the rpc service of {self._named(node, event)}"
        if action == "pause":
            node = self.resolve(event.node)
            chain.pause(node)
            return f"pause {self._named(node, event)} (SIGSTOP)"
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


def _sample(chain: RealChain, pool: ThreadPoolExecutor, previous: Sample | None,
            group: RealGroup | None = None) -> tuple[dict[str, Any], ...]:
    """Every node of the group as the observations read it (numbered within the group); a node that
    cannot answer keeps its last known height."""
    group = group or chain.groups[0]
    answers = list(pool.map(lambda i: chain.status(i, group.group_id) if chain.answering(i) else None, group.hosts))
    partition = chain.network.groups
    cut = set(range(chain.size)) - set(partition[0]) if partition else set()
    rows = []
    for k, (i, status) in enumerate(zip(group.hosts, answers)):
        before = previous.nodes[k] if previous is not None else {"height": -1, "head": None, "view": 0, "role": "sealer"}
        if status is None:
            state = ("crashed" if not chain.running(i) else "paused" if i in chain.paused
                     else "rpc down" if i in chain.rpc_down else "unreachable")
            # what it last said of its chain stands; it leads nothing while it cannot answer
            role = "sealer" if before.get("role") == "leader" else before.get("role", "sealer")
            rows.append({**before, "role": role, "state": state, "cut": i in cut})
            continue
        leader_id = status.get(f"sealer.{status.get('leaderIndex')}")
        is_leader = chain.index_of_node_id.get(str(leader_id or "").removeprefix("0x")) == i
        rows.append({
            "index": k, "host": i, "role": "leader" if is_leader else str(status.get("role") or "sealer"),
            "view": int(status.get("currentView") or 0), "height": int(status.get("highestblockNumber", -1)),
            "head": status.get("highestblockHash"), "state": "ok", "phase": status.get("state"), "cut": i in cut,
        })
    return tuple(rows)


def group_rate(scenario: Scenario, name: str) -> int:
    """A group's client load: its own tx_rate if the scenario gives one, else the scenario's."""
    spec = next((g for g in scenario.groups if g.name == name), None)
    return int(spec.tx_rate) if spec is not None and spec.tx_rate is not None else scenario.tx_rate


def run_once(scenario: Scenario, suite: str, root: Path, *, form: str = "air",
             say: Callable[[str], None] = lambda line: None) -> tuple[RealRecord, ...]:
    """One run of the scenario on real processes, one RealRecord per group (one without groups);
    every process and namespace is gone when it returns."""
    started = time.perf_counter()
    network = Network(scenario.nodes)
    reals: dict[str, RealRecord] = {}
    chain: RealChain | None = None
    loads: dict[str, Load] = {}
    try:
        network.up()
        chain = RealChain(root, scenario, suite, network, form)
        several = len(chain.groups) > 1
        reals = {g.name: RealRecord(record=RunRecord(suite=suite, group=g.name if several else ""), hosts=g.hosts,
                                    observers=g.observers) for g in chain.groups}
        what = (f"{scenario.nodes} {form.capitalize()} nodes"
                + (f" ({', '.join(f'{g.name} on {list(g.hosts)}' for g in chain.groups)})" if several else ""))
        say(f"{scenario.name}: {what} in namespaces {network.tag}n*, data {network.data_net}, RPC {network.ctl_net}")
        for i in range(chain.size):
            chain.start(i)
        chain.wait_answering(list(range(chain.size)))
        script = RealScript(chain, next(iter(reals.values())).record)
        loads = {g.name: Load(chain, group_rate(scenario, g.name), scenario.seed + k, g)
                 for k, g in enumerate(chain.groups)}
        pending = list(scenario.events)
        with ThreadPoolExecutor(max_workers=chain.size) as pool:
            t0 = time.monotonic()
            now_ms = lambda: int((time.monotonic() - t0) * 1000)  # noqa: E731
            for g in chain.groups:
                reals[g.name].record.samples.append(Sample(0, _sample(chain, pool, None, g)))
            for load in loads.values():
                load.start()
            while True:
                while pending and pending[0].at_ms <= now_ms():
                    event = pending.pop(0)
                    text = script.apply(event)
                    at = now_ms()  # when the fault is in place (cutting links takes a moment)
                    if event.action == "burst":
                        for load in loads.values():
                            load.send(event.count)
                    for real in reals.values():
                        real.record.applied.append((at, text))
                    say(f"{at / 1000:7.3f} s  {text}")
                    if event.action in ("partition", "heal"):
                        script.verify_links()
                chain.note_exits()
                t = now_ms()
                for g in chain.groups:
                    record = reals[g.name].record
                    sample = Sample(t, _sample(chain, pool, record.samples[-1], g))
                    record.samples.append(sample)
                    loads[g.name].head = max(loads[g.name].head, max(int(n.get("height", 0)) for n in sample.nodes))
                if t >= scenario.duration_ms:
                    break
                time.sleep(max(0.0, SAMPLE_S - (now_ms() - t) / 1000))
            for load in loads.values():
                load.stop()
            for real in reals.values():
                real.record.last_fault_ms = max((t for t, _ in real.record.applied), default=0)
                real.resumed_after = _resumptions(real.record)
            _recover(chain, reals, say, loads)
            for g in chain.groups:
                if reals[g.name].head[0] >= 0:
                    reals[g.name].record.violations = _forks(chain, reals[g.name].head[0], g)
            if several:
                _check_isolation(chain, reals, loads)
        chain.note_exits()
        _read_logs(chain, reals, initial_starts=chain.size)
        for name, real in reals.items():
            real.record.trace_events = sum(1 for i in range(chain.size) for _ in chain.log_events(i))
            real.restarts = chain.restarts
            real.cut_short = chain.cut_short
            real.unexpected_exits = list(chain.unexpected_exits)
            real.accepted = len(loads[name].accepted) if name in loads else 0
    except Exception:  # a failure shows the nodes' last words; a stop (SIGTERM, Ctrl-C) does not
        if chain is not None:
            for i in range(chain.size):
                say(f"--- node{i} (last lines) ---\n{chain.log_tail(i)}")
        raise
    finally:
        for load in loads.values():
            load.stop()
        if chain is not None:
            chain.stop_all()
        network.down()
    for real in reals.values():
        real.record.wall_seconds = time.perf_counter() - started
    return tuple(reals.values())


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


def _recover(chain: RealChain, reals: dict[str, RealRecord], say: Callable[[str], None],
             loads: dict[str, Load]) -> None:
    """End every fault, commit a few fresh transactions in every group, then wait for one head hash
    and every successful receipt on every node of each group.

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
    rpc_restarted = sorted(chain.rpc_down)
    for i in rpc_restarted:
        chain.restart_rpc(i)
    chain.wait_answering(list(range(chain.size)))
    fresh = {name: [h for _ in range(2) for h in load.send(FRESH_TXS // 2)]  # to two different nodes, round-robin
             for name, load in loads.items()}
    for name, real in reals.items():
        real.fresh = len(fresh.get(name, []))
    say(f"recovery: healed, resumed {resumed}, restarted {crashed}"
        + (f", restarted the rpc service of {rpc_restarted}" if rpc_restarted else "")
        + f", {sum(map(len, fresh.values()))} fresh transactions accepted")
    deadline = t0 + CONVERGE_TIMEOUT_S
    waiting = {g.name: g for g in chain.groups}
    while waiting:
        chain.note_exits()
        for name, group in list(waiting.items()):
            real = reals[name]
            head = _same_head(chain, group)
            if head is None:
                continue
            if real.head_s is None:
                real.head_s = time.monotonic() - t0
            real.head = head
            missing, found = _receipts_everywhere(chain, loads[name].accepted, fresh[name], group)
            real.receipts, real.missing = found, missing
            if missing or not fresh[name]:
                continue
            # The head read above may predate the block the last receipts landed in (a fresh
            # transaction committed while they were being fetched): read it again, now that every
            # receipt is everywhere, so the head reported holds them.
            after = _same_head(chain, group)
            if after is None:
                continue
            real.head = after
            if real.head[0] >= 0:
                real.converge_s = time.monotonic() - t0
                del waiting[name]
        if time.monotonic() > deadline:
            return
        if waiting:
            time.sleep(0.3)


def _members(chain: RealChain, group: RealGroup | None) -> tuple[list[int], int]:
    """(nodes, 2.x group id) of the group; no group: every node, group 1 (a chain without groups)."""
    return (list(group.hosts), group.group_id) if group is not None else (list(range(chain.size)), 1)


def _same_head(chain: RealChain, group: RealGroup | None = None) -> tuple[int, str] | None:
    nodes, group_id = _members(chain, group)
    heads = set()
    for i in nodes:
        status = chain.status(i, group_id)
        if status is None:
            return None
        heads.add((int(status["highestblockNumber"]), str(status["highestblockHash"])))
    return heads.pop() if len(heads) == 1 else None


def _receipts(chain: RealChain, i: int, hashes: list[str], group_id: int) -> dict[str, Any]:
    """Node i's receipt of each hash in group group_id (None where it has none)."""
    answers = []
    for start in range(0, len(hashes), RECEIPT_BATCH):
        chunk = hashes[start:start + RECEIPT_BATCH]
        answers.extend(rpc_batch(chain.url(i), [("getTransactionReceipt", [h]) for h in chunk], timeout=20,
                                 group_id=group_id))
    return dict(zip(hashes, answers))


def _receipts_everywhere(chain: RealChain, accepted: list[str], required: list[str] | tuple[str, ...] = (),
                         group: RealGroup | None = None) -> tuple[list[str], int]:
    """(missing "node i: hash", successful receipts found): each one must be on every node of the
    group, in the same block; the required ones (sent after the recovery) must be among them — a
    halted chain has none."""
    hashes = sorted(set(accepted) | set(required))
    nodes, group_id = _members(chain, group)
    by_node = [(i, _receipts(chain, i, hashes, group_id)) for i in nodes]
    successful = {h for h in hashes for _, receipts in by_node
                  if isinstance(receipts.get(h), dict) and receipts[h].get("status") == "0x0"} | set(required)
    missing = []
    for i, receipts in by_node:
        for h in sorted(successful):
            got = receipts.get(h)
            blocks = {r[h].get("blockNumber") for _, r in by_node if isinstance(r.get(h), dict)}
            # present, successful, and in the one block all nodes put it in
            if not isinstance(got, dict) or got.get("status") != "0x0" or len(blocks) != 1:
                missing.append(f"node {i}: {h[:12]}…")
    return missing, len(successful)


def _check_isolation(chain: RealChain, reals: dict[str, RealRecord], loads: dict[str, Load]) -> None:
    """A client of one group never sees another group's data: every node of every other group,
    asked in that group for this group's transactions, has no receipt of any."""
    for group in chain.groups:
        real, hashes = reals[group.name], loads[group.name].accepted[:RECEIPT_BATCH]
        for other in chain.groups:
            if other is group:
                continue
            for i in other.hosts:
                seen = _receipts(chain, i, hashes, other.group_id)
                real.isolation_checked += len(hashes)
                real.leaked.extend(f"{other.name} on node {i}: {h[:12]}…" for h, r in seen.items() if r is not None)


def _forks(chain: RealChain, top: int, group: RealGroup | None = None) -> list[str]:
    """Heights at which two nodes hold different block hashes (the whole chains, not only the heads)."""
    nodes, group_id = _members(chain, group)
    numbers = list(range(top + 1))
    per_node = [[h for start in range(0, len(numbers), RECEIPT_BATCH)
                 for h in rpc_batch(chain.url(i), [("getBlockHashByNumber", [hex(n)])
                                                   for n in numbers[start:start + RECEIPT_BATCH]], timeout=20,
                                    group_id=group_id)]
                for i in nodes]
    found = []
    for n in numbers:
        hashes = {str(p[n]) for p in per_node if p[n] is not None}
        if len(hashes) > 1:
            found.append(f"height {n}: {len(hashes)} different blocks")
    return found


START_EVENTS = {"air": "node_started", "pro": "rpc_started"}  # logged once per start of a node's serving process


def _read_logs(chain: RealChain, reals: dict[str, RealRecord], initial_starts: int) -> None:
    """View changes per node and group, and restarts, from the nodes' own logs. A Pro node's rpc
    service starts with every node start and on its own after crash_rpc: its "rpc_started" lines
    count both kinds of restart the run did."""
    starts = 0
    changes: dict[str, dict[int, int]] = {name: {} for name in reals}
    for i in range(chain.size):
        for name in changes:
            changes[name][i] = 0
        for entry in chain.log_events(i):
            if entry.get("event") == START_EVENTS[chain.form]:
                starts += 1
            elif entry.get("event") == "view_changed":
                name = str(entry.get("group") or FIRST_GROUP_NAME)
                if name in changes:
                    changes[name][i] += 1
    for name, real in reals.items():
        real.view_changes_in_logs = {i: n for i, n in changes[name].items() if i in real.hosts or not real.hosts}
        real.restarts_in_logs = starts - initial_starts


def run_real(scenario: Scenario, workdir: Path | None = None, *, form: str = "air",
             say: Callable[[str], None] = lambda line: None) -> RealResult:
    """Run the scenario on real processes (once per suite) and judge it; ScenarioError if it cannot run here."""
    check_runnable(scenario, form)
    reason = unavailable()
    if reason:
        raise ScenarioError(f"cannot run {scenario.name} on real processes: {reason}")
    started = time.perf_counter()
    import tempfile
    runs: list[RealRecord] = []
    with tempfile.TemporaryDirectory(prefix="chain-real-", dir=workdir) as tmp:
        previous = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
        if previous is not None:
            # a SIGTERM must still run the cleanup (processes, namespaces, bridges)
            signal.signal(signal.SIGTERM, _raise_exit)
        try:
            for suite in scenario.suites:
                runs.extend(run_once(scenario, suite, Path(tmp) / suite, form=form, say=say))
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    # the simulator's judge: "group1:stall" over group1's record only, an unprefixed one over every record
    verdicts = list(judge(scenario, [r.record for r in runs]))
    verdicts.extend(_process_verdicts(runs))
    result_lines = narrate(scenario, runs, verdicts, form)
    return RealResult(scenario, tuple(runs), tuple(verdicts), tuple(result_lines), time.perf_counter() - started)


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _process_verdicts(runs: list[RealRecord]) -> list[Verdict]:
    """The end state of each run (per group: "group1:same_head"), and once per suite what its processes did."""
    verdicts = []
    suites_told: set[str] = set()
    several_suites = len({r.record.suite for r in runs}) > 1
    for run in runs:
        group = run.record.group
        name = (lambda observation: f"{group}:{observation}") if group else (lambda observation: observation)
        prefix = f"{run.record.suite}: " if several_suites else ""
        height, head = run.head
        same = run.converge_s is not None
        verdicts.append(Verdict(
            name("same_head"), run.head_s is not None and height >= 0,
            prefix + (f"one head on all nodes {run.head_s:.1f} s after recovery began; at the end height {height}, "
                      f"head {head[:18]}…"
                      if run.head_s is not None else f"no single head within {CONVERGE_TIMEOUT_S:.0f} s of recovery")))
        verdicts.append(Verdict(
            name("receipts_everywhere"), same and not run.missing and run.receipts > 0 and run.fresh > 0,
            prefix + ("not judged: the nodes never reached one head" if run.head_s is None
                      else "no fresh transaction was accepted after the recovery" if run.fresh == 0
                      else f"{run.receipts} successful receipts (of {run.accepted} accepted transactions), "
                           f"the {run.fresh} sent after the recovery among them, on every node"
                      if not run.missing else f"{len(run.missing)} missing, e.g. {run.missing[:3]}")))
        forks = run.record.violations
        verdicts.append(Verdict(name("same_chain"), not forks, prefix + ("every height holds one block on every node"
                                                                         if not forks else "; ".join(forks[:3]))))
        if group:
            verdicts.append(Verdict(
                name("isolated"), run.isolation_checked > 0 and not run.leaked,
                prefix + (f"the other groups' nodes had no receipt of its transactions ({run.isolation_checked} asked)"
                          if not run.leaked else f"{len(run.leaked)} seen elsewhere, e.g. {run.leaked[:3]}")
                if run.isolation_checked else "not judged: no transaction to ask the other groups about"))
        if run.record.suite in suites_told:
            continue  # the processes are the suite's, whatever group a record is of
        suites_told.add(run.record.suite)
        verdicts.append(Verdict(
            "no_unexpected_exit", not run.unexpected_exits,
            prefix + ("every process ran until the run stopped it" if not run.unexpected_exits
                      else "; ".join(run.unexpected_exits))))
        cut = f" ({run.cut_short} killed again before its process logged its start)" if run.cut_short else ""
        verdicts.append(Verdict(
            "restarts_logged", run.restarts_in_logs == run.restarts - run.cut_short,
            prefix + f"{run.restarts} restarts done{cut}, {run.restarts_in_logs} seen in the nodes' logs"))
    return verdicts


def narrate(scenario: Scenario, runs: list[RealRecord], verdicts: list[Verdict], form: str = "air") -> list[str]:
    groups = f" ({len(scenario.groups)} groups)" if scenario.groups else ""
    processes = "node processes" if form == "air" else "Pro nodes (gateway, rpc, a core per group)"
    lines = [f"== {scenario.name} (real processes): {scenario.title}",
             f"   {scenario.nodes} {processes}{groups}, each in its own network namespace, "
             f"{scenario.tx_rate} tx/s, {scenario.duration_ms} ms of wall time"]
    for run in runs:
        record = run.record
        if record.group:
            lines.append(f"-- {record.group} (suite {record.suite}): its nodes 0..{len(run.hosts) - 1} run on hosts "
                         f"{', '.join(map(str, run.hosts))}"
                         + (f" (host(s) {', '.join(map(str, run.observers))} observe: a built chain's group0 is "
                            f"every node's)" if run.observers else ""))
        else:
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


def run_from_cli(name: str, console: Any, form: str = "air") -> bool:
    """`chain scenario run NAME --real [--form pro]`: narrate the run as it goes, then the verdicts; True if all held."""
    scenario = find_real_scenario(name)
    result = run_real(scenario, form=form,
                      say=lambda line: console.print(line, highlight=False, markup=False, soft_wrap=True))
    for line in result.narration:
        style = "red" if "[FAILED]" in line else ("green" if "[held]" in line else None)
        console.print(line, style=style, highlight=False, markup=False, soft_wrap=True)
    console.print(f"wall time {result.wall_seconds:.1f} s", highlight=False)
    if not result.ok:
        console.print("[red]an expected observation did not hold[/red]")
    return result.ok
