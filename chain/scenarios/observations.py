"""Checking what a scenario promises the student against what the run actually did.

The checks read a *record* of the run: each node's status sampled at a fixed virtual-time period
(role, view, height, head hash, state) plus the simulator's own invariant checker verdict. They do
not depend on how the simulator implements anything — only on what every node reports — so a
check reads like the sentence a teacher would say: "after the leader crashed, the others kept
committing blocks".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

SAMPLE_MS = 100  # virtual time between two samples of every node's status
SETTLE_MS = 1500  # after a fault, time for blocks already in flight to land before "stall" is judged
PROGRESS_TAIL_MS = 10_000  # "progress" wants a new block this recently (or within the last half after the last fault)


@dataclass(frozen=True)
class Sample:
    t: int
    nodes: tuple[dict[str, Any], ...]


@dataclass
class RunRecord:
    """What one run of a scenario produced (for one suite)."""

    suite: str
    group: str = ""  # a scenario with several groups: one record per group, nodes numbered within it
    samples: list[Sample] = field(default_factory=list)
    trace_events: int = 0
    applied: list[tuple[int, str]] = field(default_factory=list)  # (virtual ms, description) of each event
    last_fault_ms: int = 0
    violations: list[str] = field(default_factory=list)  # the invariant checker's findings
    signature_sizes: tuple[int, ...] = ()  # sizes of the checkpoint signatures on a committed block
    wall_seconds: float = 0.0
    byzantine: frozenset[int] = frozenset()  # nodes made Byzantine at some point
    live: bool | None = None  # the checker's liveness after GST (chain.sim.liveness); None: not judged
    liveness: str = ""  # its one-line reason
    tampered: tuple[tuple[int, int], ...] = ()  # (node, block) edited in a node's store by a tamper event
    sync_refusals: tuple[tuple[int, int, int | None, str], ...] = ()  # (t, node, sender, reason) of refused SyncResponses
    governance: dict[str, Any] = field(default_factory=dict)  # auth chains: chain.scenarios.world.governance_summary
    dmc: dict[str, Any] = field(default_factory=dict)  # executor dmc: chain.scenarios.world.dmc_summary

    @property
    def final(self) -> Sample:
        return self.samples[-1]

    def sample_at(self, t: int) -> Sample:
        """The last sample taken at or before virtual time t."""
        best = self.samples[0]
        for sample in self.samples:
            if sample.t > t:
                break
            best = sample
        return best


def height(node: dict[str, Any]) -> int:
    return int(node.get("height", -1))


def is_sealer(node: dict[str, Any]) -> bool:
    return node.get("role") in ("leader", "sealer")


def honest_live(record: RunRecord, sample: Sample) -> list[dict[str, Any]]:
    """The nodes whose word counts: not crashed, not Byzantine."""
    return [n for i, n in enumerate(sample.nodes) if n["state"] != "crashed" and i not in record.byzantine]


@dataclass(frozen=True)
class Verdict:
    observation: str
    held: bool
    detail: str


def forks_seen(record: RunRecord) -> list[str]:
    """Heights at which two nodes reported different head hashes (from the samples)."""
    seen: dict[int, tuple[int, str]] = {}
    found: list[str] = []
    for sample in record.samples:
        for index, node in enumerate(sample.nodes):
            h, head = height(node), node.get("head")
            if h < 0 or not head:
                continue
            if h in seen and seen[h][1] != head and seen[h][0] != index:
                found.append(f"height {h}: node {seen[h][0]} has {seen[h][1][:10]}…, node {index} has {head[:10]}…")
                seen[h] = (index, head)  # report each divergence once per new hash
            seen.setdefault(h, (index, head))
    return found


def last_growth_ms(record: RunRecord) -> int | None:
    """The time of the last sample at which the honest live nodes' highest height grew."""
    found = None
    previous = max((height(n) for n in honest_live(record, record.samples[0])), default=-1)
    for sample in record.samples[1:]:
        top = max((height(n) for n in honest_live(record, sample)), default=-1)
        if top > previous:
            found = sample.t
        previous = max(previous, top)
    return found


def check_progress(record: RunRecord) -> Verdict:
    """The honest live nodes commit after the last fault, and are still committing at the end.

    Growing once is not enough: a chain that commits a block or two after its last fault and then
    halts for good has lost liveness — also when the last fault is a Byzantine node that stays
    Byzantine. So the last new block must be recent: within the last PROGRESS_TAIL_MS, or within
    the last half of the time after the last fault if that is shorter. And the invariant checker's
    liveness after GST must not be broken.
    """
    before = max((height(n) for n in honest_live(record, record.sample_at(record.last_fault_ms))), default=-1)
    after = max((height(n) for n in honest_live(record, record.final)), default=-1)
    tail = min(PROGRESS_TAIL_MS, (record.final.t - record.last_fault_ms) // 2)
    last = last_growth_ms(record)
    recent = last is not None and last > record.last_fault_ms and last >= record.final.t - tail
    held = after > before and recent and record.live is not False
    detail = (f"honest live nodes went from height {before} (at the last fault, {record.last_fault_ms} ms) to {after}; "
              f"last new block at {'-' if last is None else last} ms, wanted within the last {tail} ms "
              f"of {record.final.t} ms")
    if record.live is False:
        detail += f"; {record.liveness}"
    return Verdict("progress", held, detail)


def check_stall(record: RunRecord) -> Verdict:
    settled = record.sample_at(record.last_fault_ms + SETTLE_MS)
    before = max(height(n) for n in settled.nodes)
    after = max(height(n) for n in record.final.nodes)
    return Verdict("stall", after == before and record.final.t >= settled.t + 2 * SETTLE_MS,
                   f"highest height {before} at {settled.t} ms, {after} at the end ({record.final.t} ms)")


def max_view(sample: Sample) -> int:
    return max(int(n.get("view") or 0) for n in sample.nodes)


def check_view_change(record: RunRecord) -> Verdict:
    views = max(max_view(s) for s in record.samples)
    return Verdict("view_change", views > 0, f"highest view reached: {views}")


def check_no_view_change(record: RunRecord) -> Verdict:
    views = max(max_view(s) for s in record.samples)
    return Verdict("no_view_change", views == 0, f"highest view reached: {views}")


def check_no_fork(record: RunRecord) -> Verdict:
    problems = record.violations + forks_seen(record)
    return Verdict("no_fork", not problems,
                   "the invariant checker found no conflicting commits" if not problems else "; ".join(problems[:3]))


def check_safety_violation(record: RunRecord) -> Verdict:
    problems = record.violations + forks_seen(record)
    return Verdict("safety_violation", bool(problems),
                   "; ".join(problems[:3]) if problems else "no conflicting commits were found")


def check_sealer_added(record: RunRecord) -> Verdict:
    first = sum(is_sealer(n) for n in record.samples[0].nodes)
    last = sum(is_sealer(n) for n in record.final.nodes)
    return Verdict("sealer_added", last > first, f"sealers: {first} at the start, {last} at the end")


def check_tamper_detected(record: RunRecord) -> Verdict:
    """Each tampered store was noticed twice: by a node that refused its blocks over sync, and by the
    invariant checker, which re-checks every stored block (chain.tamper, lesson 8)."""
    if not record.tampered:
        return Verdict("tamper_detected", False, "the scenario tampered with no block")
    problems, found = [], []
    for node, number in record.tampered:
        refused = [r for r in record.sync_refusals if r[2] == node]
        flagged = [v for v in record.violations if f"node {node} block {number}:" in v]
        if not refused:
            problems.append(f"no node refused node {node}'s blocks over sync")
        if not flagged:
            problems.append(f"the invariant checker did not flag node {node}'s block {number}")
        if refused and flagged:
            found.append(f"node {refused[0][1]} refused node {node}'s block at {refused[0][0]} ms: {refused[0][3]}; "
                         f"the checker: {flagged[0]}")
    return Verdict("tamper_detected", not problems, "; ".join(problems or found))


PASSED, OUTDATED = 2, 5  # chain.ledger.committee.ProposalStatus


def _first_proposal(record: RunRecord) -> int | None:
    statuses = record.governance.get("proposals") or []
    return statuses[0] if statuses else None


def check_proposal_passed(record: RunRecord) -> Verdict:
    status = _first_proposal(record)
    return Verdict("proposal_passed", status == PASSED,
                   f"statuses of the proposals (1 open, 2 passed, 3 failed, 4 revoked, 5 outdated): "
                   f"{record.governance.get('proposals', [])}")


def check_proposal_expired(record: RunRecord) -> Verdict:
    status = _first_proposal(record)
    return Verdict("proposal_expired", status == OUTDATED,
                   f"statuses of the proposals (1 open, 2 passed, 3 failed, 4 revoked, 5 outdated): "
                   f"{record.governance.get('proposals', [])}")


def check_account_frozen(record: RunRecord) -> Verdict:
    g = record.governance
    held = g.get("client_status") == 1 and g.get("frozen_at") is not None and g.get("client_txs_after_freeze") == 0
    return Verdict("account_frozen", held,
                   f"client account status {g.get('client_status')} (1 = frozen) since block {g.get('frozen_at')}; "
                   f"its transactions executed after that: {g.get('client_txs_after_freeze')} "
                   f"({g.get('refused_in_blocks')} already pooled were refused by the executor, ACCOUNT_FROZEN)")


def check_dmc_parallel(record: RunRecord) -> Verdict:
    """DMC did what lesson 11 says: blocks calling several contracts ran them on several executors in
    one round, cross-contract calls paused into later rounds, and — the point of determinism — every
    node reached the same state root at every height (a node re-executes each block itself)."""
    d = record.dmc
    held = (bool(d) and d["several_contracts"] > 0 and d["parallel"] > 0 and d["call_outs"] > 0
            and d["several_rounds"] > 0 and not d["state_roots_differ_at"])
    if not d:
        return Verdict("dmc_parallel", False, "the chain does not run the dmc executor")
    return Verdict("dmc_parallel", held,
                   f"of the last {d['blocks']} blocks, {d['several_contracts']} called several contracts and "
                   f"{d['parallel']} ran contracts on several executors in one round; {d['several_rounds']} needed more "
                   f"than one round ({d['call_outs']} paused calls, {d['lock_waits']} lock waits, {d['deadlocks']} "
                   f"deadlocks broken); state roots "
                   + (f"DIFFER at heights {d['state_roots_differ_at'][:5]}" if d["state_roots_differ_at"]
                      else f"agree on every node at heights 1..{d['heights_checked']}"))


CHECKS: dict[str, Callable[[RunRecord], Verdict]] = {
    "dmc_parallel": check_dmc_parallel,
    "proposal_passed": check_proposal_passed,
    "proposal_expired": check_proposal_expired,
    "account_frozen": check_account_frozen,
    "progress": check_progress,
    "stall": check_stall,
    "view_change": check_view_change,
    "no_view_change": check_no_view_change,
    "no_fork": check_no_fork,
    "safety_violation": check_safety_violation,
    "sealer_added": check_sealer_added,
    "tamper_detected": check_tamper_detected,
}

EXPECTED_SIGNATURE_SIZE = {"standard": 65, "sm": 128}


def check_suites_agree(records: list[RunRecord]) -> Verdict:
    """Every suite progressed without a fork, each with signatures of its own size."""
    problems = []
    for record in records:
        if not check_progress(record).held:
            problems.append(f"{record.suite}: no progress")
        if not check_no_fork(record).held:
            problems.append(f"{record.suite}: fork")
        sizes = set(record.signature_sizes)
        if sizes != {EXPECTED_SIGNATURE_SIZE[record.suite]}:
            problems.append(f"{record.suite}: signature sizes {sorted(sizes)}, expected {EXPECTED_SIGNATURE_SIZE[record.suite]}")
    heights = ", ".join(f"{r.suite} height {max(height(n) for n in r.final.nodes)}" for r in records)
    return Verdict("suites_agree", not problems, "; ".join(problems) if problems else f"both live and safe: {heights}")


def check(observation: str, records: list[RunRecord]) -> Verdict:
    """One observation over all runs of a scenario (per-run observations must hold in every run)."""
    if observation == "suites_agree":
        return check_suites_agree(records)
    verdicts = [CHECKS[observation](r) for r in records]
    if len(verdicts) == 1:
        return verdicts[0]
    return Verdict(observation, all(v.held for v in verdicts),
                   "; ".join(f"{r.group or r.suite}: {v.detail}" for r, v in zip(records, verdicts)))
