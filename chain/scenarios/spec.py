"""What a scenario file says: the chain to start, the faults to inject and when, what to observe.

A scenario is a small TOML file a teacher can read and edit. It fixes everything that decides the
run (nodes, suite, seed, load, fault timing), so the same file gives the same trace every time, and
it names the *observation* a student should make — checked by code against the run, so a lesson
never claims something the chain did not do.

    name = "leader_crash"
    title = "The leader crashes and a view change elects the next one"
    family = "liveness"
    nodes = 4
    suite = "sm"
    seed = 1
    duration_ms = 20000
    tx_rate = 20                       # client transactions per virtual second
    expect = ["view_change", "progress", "no_fork"]
    watch = "what the student should look at"

    [[event]]
    at_ms = 3000
    action = "crash"
    node = "leader"                    # a node index, or "leader" (the leader at that moment)

Several groups on one network (chain.sim.groups): ``nodes`` counts the hosts, each ``[[group]]``
names the hosts that seal (and observe) in it, events name hosts (a fault hits every group on the
host; "leader" names no host), a burst goes to every group, and an expectation holds in every
group unless prefixed by one (``"group1:stall"``)::

    nodes = 6
    expect = ["group0:progress", "group1:stall", "no_fork"]

    [[group]]
    name = "group0"
    sealers = [0, 1, 2, 3]

    [[group]]
    name = "group1"
    sealers = [2, 3, 4, 5]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from chain.errors import ScenarioError
from chain.sim.groups import GroupSpec, GroupsConfig
from chain.tomlcompat import tomllib

SUITES = ("standard", "sm")

# What each action needs besides at_ms; the runner applies them through the simulator's control API.
ACTIONS: dict[str, tuple[str, ...]] = {
    "crash": ("node",),
    "restart": ("node",),
    "partition": ("groups",),
    "heal": (),
    "byzantine": ("node", "behaviour"),
    "honest": ("node",),
    "burst": ("count",),
    "add_sealer": ("node",),
    "pause": ("node",),  # real processes only (chain.scenarios.real): SIGSTOP
    "resume": (),  # real processes only: SIGCONT to every paused node
    "crash_rpc": ("node",),  # real Pro-form nodes only (--form pro): SIGKILL the node's rpc service alone
    "restart_rpc": ("node",),  # real Pro-form nodes only: start that rpc service again
    "tamper": ("node", "block", "what"),  # simulator only: edit a stored block of one node (chain.tamper)
    # auth chains (a scenario with `governors`): a governor's transactions to the committee
    "propose_sealer": ("node", "governor", "blocks"),  # propose the spare node as a sealer, open `blocks` blocks
    "vote": ("governor", "proposal", "agree"),
    "freeze_account": ("governor",),  # freeze the simulator's client account (AccountManager 0x10003)
}

# Observations a scenario can expect; chain.scenarios.observations checks each against the run.
OBSERVATIONS = (
    "progress",  # the live honest nodes keep committing blocks after the last fault
    "stall",  # no node commits a block after the last fault (liveness lost)
    "view_change",  # at least one view change completed
    "no_view_change",  # the run never left view 0
    "no_fork",  # the invariant checker found no two different blocks at one height
    "safety_violation",  # the invariant checker found two different blocks committed at one height
    "sealer_added",  # the sealer set grew through the Consensus system contract
    "tamper_detected",  # a node refused a tampered block over sync, and the invariant checker flagged it
    "suites_agree",  # (multi-suite) every suite made progress with no fork, signatures of their own size
    "proposal_passed",  # (auth) the first proposal passed and was executed
    "proposal_expired",  # (auth) the first proposal outlived its deadline without passing: nothing executed
    "account_frozen",  # (auth) the client account was frozen and none of its transactions was committed after
    "dmc_parallel",  # (executor dmc) contracts ran side by side, calls paused to a later round, same state roots on all nodes
)

# The block executor a scenario's nodes run (chain.execution.kinds). Left out: kv, or evm on a chain
# with governance. "dmc" also switches the client to contract calls (chain.sim.dmc_load).
EXECUTORS = ("kv", "evm", "dmc")

GOVERNANCE_ACTIONS = ("propose_sealer", "vote", "freeze_account")

# With several groups, events name hosts and act on every group the host is in; these act on one chain.
GROUPS_ACTIONS = ("crash", "restart", "partition", "heal", "byzantine", "honest", "burst")

LEADER = "leader"


@dataclass(frozen=True)
class ScenarioEvent:
    """One control action at a point of virtual time."""

    at_ms: int
    action: str
    node: int | str | None = None  # index, or "leader" resolved when the event fires
    groups: tuple[tuple[int, ...], ...] = ()
    behaviour: str | None = None
    count: int = 0
    block: int = 0  # tamper: the block number to edit
    what: str = ""  # tamper: which edit (chain.tamper.forge.TAMPERS)
    governor: int = 0  # auth chains: which governor sends it (index into the scenario's governors)
    proposal: int = 0  # vote: the proposal id (1 = the first proposal of the run)
    agree: bool = True  # vote: for or against
    blocks: int = 0  # propose_sealer: how many blocks the proposal stays open


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    family: str
    nodes: int
    suites: tuple[str, ...]
    seed: int
    duration_ms: int
    tx_rate: int
    events: tuple[ScenarioEvent, ...]
    expect: tuple[str, ...]
    watch: str = ""
    summary: str = ""
    source: str = field(default="", compare=False)
    governors: tuple[int, ...] = ()  # auth chain: the governors' weights (none: the admin list governs)
    participates_rate: int = 0
    win_rate: int = 0
    consensus: str = "pbft"  # or "rpbft" (chain.consensus.pbft.rpbft), with:
    epoch_sealers: int = 4  # K, working sealers per epoch
    epoch_blocks: int = 1000  # B, blocks per epoch
    executor: str = ""  # one of EXECUTORS; "": the simulator's choice (kv, or evm for governance)
    groups: tuple[GroupSpec, ...] = ()  # several groups on `nodes` hosts (none: one chain, group0)

    @property
    def suite(self) -> str:
        """The (first) suite; multi-suite scenarios run once per suite."""
        return self.suites[0]

    def expectations(self) -> list[tuple[str | None, str]]:
        """(group or None for every group, observation) of each expected observation."""
        return [split_expectation(e) for e in self.expect]


def split_expectation(entry: str) -> tuple[str | None, str]:
    """"group1:stall" -> ("group1", "stall"); "no_fork" -> (None, "no_fork")."""
    group, _, observation = entry.rpartition(":")
    return (group or None), observation


def _require(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise ScenarioError(f"{where}: missing {key!r}")
    value = table[key]
    # bool is an int in Python; a scenario saying `nodes = true` is a mistake, not 1 node
    if isinstance(value, bool) and kind is not bool:
        raise ScenarioError(f"{where}: {key!r} must be {getattr(kind, '__name__', kind)}, not a boolean")
    if not isinstance(value, kind):
        raise ScenarioError(f"{where}: {key!r} must be {getattr(kind, '__name__', kind)}")
    return value


def _node_ref(value: Any, nodes: int, where: str) -> int | str:
    # "leader" is resolved at the moment the event fires, because the leader changes with views
    if value == LEADER:
        return LEADER
    # an index must name one of the scenario's nodes (or the next one, for add_sealer)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < nodes:
        raise ScenarioError(f"{where}: node must be \"leader\" or an index 0..{nodes - 1}, got {value!r}")
    return value


def _parse_event(raw: Any, index: int, nodes: int, duration_ms: int) -> ScenarioEvent:
    where = f"event #{index}"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: must be a table")
    at_ms = _require(raw, "at_ms", int, where)
    action = _require(raw, "action", str, where)
    # unknown actions are refused rather than ignored, so a typo does not silently drop a fault
    if action not in ACTIONS:
        raise ScenarioError(f"{where}: unknown action {action!r} (known: {', '.join(ACTIONS)})")
    # an event after the end of the run would never fire
    if not 0 <= at_ms <= duration_ms:
        raise ScenarioError(f"{where}: at_ms {at_ms} outside 0..duration_ms ({duration_ms})")
    needs = ACTIONS[action]
    unknown = set(raw) - {"at_ms", "action", *needs}
    # extra keys are typos (e.g. "behavior") that would otherwise be silently ignored
    if unknown:
        raise ScenarioError(f"{where}: unexpected key(s) {sorted(unknown)} for action {action!r}")
    return ScenarioEvent(
        at_ms=at_ms,
        action=action,
        node=_event_node(raw, action, nodes, where) if "node" in needs else None,
        groups=_event_groups(raw, nodes, where) if "groups" in needs else (),
        behaviour=_require(raw, "behaviour", str, where) if "behaviour" in needs else None,
        count=_event_count(raw, where) if "count" in needs else 0,
        block=_event_block(raw, where) if "block" in needs else 0,
        what=_event_what(raw, where) if "what" in needs else "",
        governor=_event_index(raw, "governor", where) if "governor" in needs else 0,
        proposal=_event_index(raw, "proposal", where, low=1) if "proposal" in needs else 0,
        agree=_require(raw, "agree", bool, where) if "agree" in needs else True,
        blocks=_event_index(raw, "blocks", where, low=1) if "blocks" in needs else 0,
    )


def _event_index(raw: dict[str, Any], key: str, where: str, low: int = 0) -> int:
    value = _require(raw, key, int, where)
    # governors count from 0, proposals from 1, a proposal is open for at least a block
    if value < low:
        raise ScenarioError(f"{where}: {key} must be {low} or more")
    return int(value)


def _event_node(raw: dict[str, Any], action: str, nodes: int, where: str) -> int | str:
    # add_sealer names a node that is not yet a sealer: the one spare node after the scenario's nodes
    limit = nodes + 1 if action in ("add_sealer", "propose_sealer") else nodes
    return _node_ref(_require(raw, "node", (int, str), where), limit, where)


def _event_groups(raw: dict[str, Any], nodes: int, where: str) -> tuple[tuple[int, ...], ...]:
    raw_groups = _require(raw, "groups", list, where)
    # each group is itself a list of nodes
    if not all(isinstance(g, list) for g in raw_groups):
        raise ScenarioError(f"{where}: groups must be a list of lists of node indexes")
    groups = tuple(tuple(_node_ref(n, nodes, where) for n in g) for g in raw_groups)
    flat = [n for g in groups for n in g]
    # a partition splits nodes into disjoint groups; a node in two groups is meaningless
    if len(flat) != len(set(flat)) or LEADER in flat or len(groups) < 2:
        raise ScenarioError(f"{where}: groups must be at least two disjoint lists of node indexes")
    return tuple(tuple(n for n in g if isinstance(n, int)) for g in groups)  # all of them: "leader" was refused


def _event_count(raw: dict[str, Any], where: str) -> int:
    count = _require(raw, "count", int, where)
    # a burst of zero or negative transactions is a mistake
    if count <= 0:
        raise ScenarioError(f"{where}: count must be positive")
    return int(count)


def _event_block(raw: dict[str, Any], where: str) -> int:
    block = _require(raw, "block", int, where)
    # genesis is fixed by the configuration every node shares; a tamper edits a committed block
    if block < 1:
        raise ScenarioError(f"{where}: block must be 1 or more")
    return int(block)


def _event_what(raw: dict[str, Any], where: str) -> str:
    from chain.tamper.forge import TAMPER_KINDS

    what = _require(raw, "what", str, where)
    # an unknown edit would otherwise be found only when the event fires, mid-run
    if what not in TAMPER_KINDS:
        raise ScenarioError(f"{where}: what must be one of {', '.join(TAMPER_KINDS)}, got {what!r}")
    return str(what)


def parse_scenario(text: str, source: str = "<string>") -> Scenario:
    """Parse and validate a scenario; ScenarioError names the first problem found."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    where = source
    known = {"name", "title", "family", "summary", "nodes", "suite", "suites", "seed", "duration_ms",
             "tx_rate", "expect", "watch", "event", "governors", "participates_rate", "win_rate",
             "consensus", "epoch_sealers", "epoch_blocks", "executor", "group"}
    unknown = set(raw) - known
    # top-level typos ("node = 4", "expected = ...") must not silently fall back to defaults
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {sorted(unknown)}")
    name = _require(raw, "name", str, where)
    nodes = _require(raw, "nodes", int, where)
    # PBFT needs n >= 1; the lessons use 3..16, larger runs are for benchmarks, not scenarios
    if not 1 <= nodes <= 32:
        raise ScenarioError(f"{where}: nodes must be 1..32")
    if "suites" in raw:
        suites = tuple(_require(raw, "suites", list, where))
    else:
        suites = (raw.get("suite", "sm"),)
    # each suite must be one the chain implements, and a list must not repeat one
    if not suites or any(s not in SUITES for s in suites) or len(set(suites)) != len(suites):
        raise ScenarioError(f"{where}: suite(s) must be drawn from {SUITES}, got {list(suites)}")
    seed = raw.get("seed", 1)
    duration_ms = _require(raw, "duration_ms", int, where)
    # a run needs some virtual time, and an hour of it is far beyond any lesson
    if not 0 < duration_ms <= 3_600_000:
        raise ScenarioError(f"{where}: duration_ms must be 1..3600000")
    tx_rate = raw.get("tx_rate", 20)
    # the seed and load must be plain non-negative integers for the run to be reproducible
    if isinstance(seed, bool) or not isinstance(seed, int) or isinstance(tx_rate, bool) \
            or not isinstance(tx_rate, int) or tx_rate < 0 or seed < 0:
        raise ScenarioError(f"{where}: seed and tx_rate must be non-negative integers")
    consensus = raw.get("consensus", "pbft")
    epoch_sealers, epoch_blocks = raw.get("epoch_sealers", 4), raw.get("epoch_blocks", 1000)
    # rPBFT needs whole, positive epoch settings; anything else must not silently run plain PBFT
    if consensus not in ("pbft", "rpbft") or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                                                 for v in (epoch_sealers, epoch_blocks)):
        raise ScenarioError(f"{where}: consensus must be pbft or rpbft, epoch_sealers and epoch_blocks positive integers")
    executor = raw.get("executor", "")
    # a DMC observation on a chain that does not run DMC would fail for a reason the file does not show
    if executor not in ("",) + EXECUTORS or ("dmc_parallel" in raw.get("expect", []) and executor != "dmc"):
        raise ScenarioError(f"{where}: executor must be one of {EXECUTORS} (dmc for dmc_parallel), got {executor!r}")
    raw_events = raw.get("event", [])
    if not isinstance(raw_events, list):
        raise ScenarioError(f"{where}: [[event]] must be an array of tables")
    events = tuple(sorted(
        (_parse_event(e, i, nodes, duration_ms) for i, e in enumerate(raw_events)), key=lambda e: e.at_ms
    ))
    groups = _parse_groups(raw.get("group", []), nodes, where)
    expect = tuple(_require(raw, "expect", list, where))
    # every expectation must be one the checker knows, or the scenario would pass vacuously
    if not expect or not all(isinstance(o, str) for o in expect) \
            or any(split_expectation(o)[1] not in OBSERVATIONS for o in expect):
        raise ScenarioError(f"{where}: expect must list observations from {OBSERVATIONS}, got {list(expect)}")
    _check_groups_scenario(groups, expect, events, suites, raw, where)
    # "suites_agree" compares runs, so it needs at least two suites
    if "suites_agree" in expect and len(suites) < 2:
        raise ScenarioError(f"{where}: suites_agree needs suites = [\"standard\", \"sm\"]")
    governors = tuple(raw.get("governors", []))
    rates = (raw.get("participates_rate", 0), raw.get("win_rate", 0))
    # governors are weights (positive integers), rates percentages
    if any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in governors) \
            or any(isinstance(r, bool) or not isinstance(r, int) or not 0 <= r <= 100 for r in rates):
        raise ScenarioError(f"{where}: governors must be positive weights and the rates 0..100")
    for event in events:
        # a governance event needs a committee, and a governor of it
        if event.action in GOVERNANCE_ACTIONS and event.governor >= len(governors):
            raise ScenarioError(f"{where}: {event.action} at {event.at_ms} ms names governor {event.governor}, "
                                f"but the scenario has {len(governors)} (governors = [weights...])")
    return Scenario(
        name=name,
        title=str(raw.get("title", name)),
        family=str(raw.get("family", "general")),
        nodes=nodes,
        suites=suites,
        seed=seed,
        duration_ms=duration_ms,
        tx_rate=tx_rate,
        events=events,
        expect=expect,
        watch=str(raw.get("watch", "")).strip(),
        summary=str(raw.get("summary", "")).strip(),
        source=source,
        governors=governors,
        participates_rate=rates[0],
        win_rate=rates[1],
        consensus=consensus,
        epoch_sealers=epoch_sealers,
        epoch_blocks=epoch_blocks,
        executor=executor,
        groups=groups,
    )


def _parse_groups(raw_groups: Any, nodes: int, where: str) -> tuple[GroupSpec, ...]:
    """The [[group]] tables: each a name and the hosts (0..nodes-1) that seal or observe in it."""
    # an array of tables, each with exactly these keys
    if not isinstance(raw_groups, list) or not all(isinstance(g, dict) for g in raw_groups):
        raise ScenarioError(f"{where}: [[group]] must be an array of tables")
    specs = []
    for index, table in enumerate(raw_groups):
        at = f"{where}: group #{index}"
        unknown = set(table) - {"name", "sealers", "observers"}
        if unknown:
            raise ScenarioError(f"{at}: unexpected key(s) {sorted(unknown)}")
        hosts = {key: table.get(key, []) if key == "observers" else _require(table, key, list, at)
                 for key in ("sealers", "observers")}
        # hosts are plain indexes
        if not all(isinstance(h, int) and not isinstance(h, bool) for v in hosts.values() for h in v):
            raise ScenarioError(f"{at}: sealers and observers must be lists of host indexes")
        specs.append(GroupSpec(_require(table, "name", str, at), tuple(hosts["sealers"]), tuple(hosts["observers"])))
    if specs:
        try:
            GroupsConfig(hosts=nodes, groups=tuple(specs))  # names, hosts in range, one role per host
        except ScenarioError as exc:
            raise ScenarioError(f"{where}: {exc}") from None
    return tuple(specs)


def _check_groups_scenario(groups: tuple[GroupSpec, ...], expect: tuple[str, ...], events: tuple[ScenarioEvent, ...],
                           suites: tuple[str, ...], raw: dict[str, Any], where: str) -> None:
    """What a scenario with several groups may say (its events name hosts; an expectation may name a group)."""
    names = {g.name for g in groups}
    for entry in expect:
        group, observation = split_expectation(entry)
        # a prefix must name one of the scenario's groups, and only a scenario with groups has any
        if group is not None and group not in names:
            raise ScenarioError(f"{where}: expectation {entry!r} names no group of this scenario "
                                f"({', '.join(sorted(names)) or 'it has none'})")
        if groups and observation in ("suites_agree", "sealer_added", "tamper_detected", "proposal_passed",
                                      "proposal_expired", "account_frozen"):
            raise ScenarioError(f"{where}: {observation} is an observation of one chain, not of several groups")
    if not groups:
        return
    # one run per scenario: the suites and the governance of one chain do not apply
    if len(suites) > 1 or raw.get("governors"):
        raise ScenarioError(f"{where}: a scenario with groups runs one suite and has no governors")
    for event in events:
        # a host is a machine: "the leader" is a role in one group, and the other actions act on one chain
        if event.action not in GROUPS_ACTIONS or event.node == LEADER:
            raise ScenarioError(f"{where}: with groups, events name hosts and are one of {', '.join(GROUPS_ACTIONS)} "
                                f"(event at {event.at_ms} ms: {event.action} node {event.node!r})")


def load_scenario(path: str | Path) -> Scenario:
    """A scenario from a file on disk (a teacher's own)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc}") from None
    return parse_scenario(text, str(path))


def library() -> dict[str, Scenario]:
    """The scenarios shipped with the package, by name, in file order."""
    found: dict[str, Scenario] = {}
    folder = resources.files("chain.scenarios").joinpath("library")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            scenario = parse_scenario(entry.read_text(encoding="utf-8"), f"library/{entry.name}")
            found[scenario.name] = scenario
    return found


def find_scenario(name_or_path: str) -> Scenario:
    """A library scenario by name, or a scenario file by path."""
    scenarios = library()
    if name_or_path in scenarios:
        return scenarios[name_or_path]
    if name_or_path.endswith(".toml"):
        return load_scenario(name_or_path)
    raise ScenarioError(f"no scenario named {name_or_path!r} (try `chain scenario list`)")
