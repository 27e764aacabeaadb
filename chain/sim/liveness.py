"""Liveness after GST: once faults are healed, honest sealers must commit again within a bound.

PBFT promises safety always, but liveness only under *partial synchrony*: after some unknown
Global Stabilization Time (GST) messages arrive within a bound and the faulty weight is at most f.
A simulation knows its GST exactly, because it made the faults. This module follows the fault
state of a run over time and judges, at the end, whether the chain came back in time:

* **GST** is the last moment the fault state became *healed*: no partition, every crashed node
  restarted, message loss back to 0, and the weight of the sealers Byzantine right now at most
  f = max_faulty(total sealer weight). Byzantine nodes may stay Byzantine after GST (that is
  within what PBFT tolerates); a node that was Byzantine and turned honest no longer counts as
  faulty here — though the safety checker keeps excluding it, since its past messages were lies.
* The rule, **liveness after GST**, applies only when there is work: some honest node holds
  transactions or a proposal at GST, or a client submits a transaction to an honest node after
  it (no empty blocks: with nothing to do, no block is due). From that moment (the *work start*),
  within ``recovery_bound_ms``:

  1. an honest node commits a block above the highest honest height at GST, and
  2. every node that stayed honest since GST holds at least that height (it catches up).

With loss that never ends no hard bound exists (every message may be lost, with small odds), so
such a run is *not judged*; the sweep (chain.sim.sweep) still calls a run with no new block in its
recovery window a stall. A run that ends before the bound has passed, without the rule met yet, is
not judged either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Mapping

from chain.consensus.pbft.quorum import max_faulty, next_timeout_ms

if TYPE_CHECKING:
    from chain.sim.runner import Simulation


def recovery_bound_ms(timeout_ms: int, max_timeout_exponent: int, f: int, *, tick_ms: int = 1000,
                      min_seal_time_ms: int = 500, max_latency_ms: int = 50, sync_retry_ms: int = 1000,
                      resend_ms: int = 1000) -> int:
    """How long after GST (with work waiting) honest sealers may take to commit a new block.

    The derivation, worst case first. After GST every honest node runs, every message arrives
    within max_latency_ms, and at most f weight is Byzantine. The view timer of a replica is
    ``timeout_ms × 1.5^k`` for k consecutive view changes, k capped at max_timeout_exponent
    (``chain.consensus.pbft.quorum.next_timeout_ms``); call the capped value C.

    1. **Timers armed before GST** — one C. An honest replica may have armed its view timer at
       full length C just before GST (a long outage grows k to the cap). Within C it commits or
       its timer fires and it asks for the next view.
    2. **Reaching one view** — one C. The ViewChanges of step 1 now arrive, and a replica joins
       views that more than f weight asks for; honest replicas that were in different views
       before GST line up in one view within one more round of the (capped) timer.
    3. **Faulty leaders** — f × C. The leader of that view may be Byzantine (silent, equivocating,
       proposing invalid blocks); each costs one more view change. Leaders rotate by view, so at
       most f consecutive views have faulty leaders.
    4. **One honest round** — the slack: the leader waits min_seal_time, then PrePrepare, Prepare,
       Commit, Checkpoint and a transaction fetch (TxRequest / TxResponse) take a few message
       delays (8 × max_latency_ms covers them with margin); a message lost before GST is re-sent
       on the next Tick after resend_ms of no movement, and a missing block is fetched after
       sync_retry_ms — one of each is added, plus one tick_ms for the Tick to come round.

    bound = (f + 2) × C + min_seal_time + 8 × max_latency + tick + resend + sync_retry.

    For the FISCO defaults (3000 ms, exponent 6, f = 1) that is about 106 s; with 1000 ms timers
    about 37.8 s at f = 1 and 60.6 s at f = 3. It is an upper bound for the judgement, not a
    prediction: a healthy recovery takes a few seconds.
    """
    capped = next_timeout_ms(timeout_ms, max_timeout_exponent, max_timeout_exponent)
    slack = min_seal_time_ms + 8 * max_latency_ms + tick_ms + resend_ms + sync_retry_ms
    return (f + 2) * capped + slack


@dataclass(frozen=True)
class FaultState:
    """The faults in force at one moment of a run."""

    partitioned: bool = False
    crashed: frozenset[int] = frozenset()
    loss: float = 0.0
    byzantine: frozenset[int] = frozenset()  # nodes with a behaviour right now
    byzantine_weight: int = 0  # their sealer weight (observers weigh nothing)
    f: int = 0  # max_faulty of the total sealer weight

    @property
    def healed(self) -> bool:
        """No partition, nobody crashed, no loss, and at most f Byzantine weight: the GST condition."""
        return not self.partitioned and not self.crashed and self.loss == 0 and self.byzantine_weight <= self.f

    def describe(self) -> str:
        """What keeps the run from being healed, in words ("" when healed)."""
        parts = []
        if self.partitioned:
            parts.append("the network is partitioned")
        if self.crashed:
            parts.append(f"node(s) {sorted(self.crashed)} crashed")
        if self.loss:
            parts.append(f"loss {self.loss:g}")
        if self.byzantine_weight > self.f:
            parts.append(f"Byzantine weight {self.byzantine_weight} > f = {self.f} (nodes {sorted(self.byzantine)})")
        return "; ".join(parts)


def current_faults(sim: Simulation) -> FaultState:
    """The fault state of a simulation right now (sealer weights from an honest node's chain)."""
    from chain.ledger.system import consensus_nodes

    nodes = sim.honest_nodes() or sim.nodes
    store = max(nodes, key=lambda n: n.store.head_number()).store
    in_force = consensus_nodes(store, store.head_number() + 1)
    weight = {sim._index_of[node_id]: w for node_id, w in zip(in_force.sealer_ids, in_force.weights)
              if node_id in sim._index_of}
    byzantine = frozenset(n.index for n in sim.nodes if n.behaviour is not None)
    return FaultState(
        partitioned=bool(sim.network.groups),
        crashed=frozenset(n.index for n in sim.nodes if not n.alive),
        loss=sim.network.default.loss,
        byzantine=byzantine,
        byzantine_weight=sum(weight.get(i, 0) for i in byzantine),
        # rPBFT: the budget is the working set's, f = ⌊(K − 1)/3⌋, whatever n is (any sealer may be drawn)
        f=sim.config.fault_budget() if sim.config.consensus == "rpbft" else max_faulty(sum(weight.values())),
    )


@dataclass(frozen=True)
class LivenessVerdict:
    """The judgement of liveness after GST for one run."""

    live: bool | None  # None: not judged (faults never healed, loss never ends, no work, run too short)
    reason: str  # one line: why
    gst_ms: int | None
    bound_ms: int
    work_start_ms: int | None = None
    gst_height: int | None = None  # highest honest height at GST
    new_block_ms: int | None = None  # when the first block above it was committed (honest node)
    violations: tuple[str, ...] = ()

    @property
    def judged(self) -> bool:
        return self.live is not None


@dataclass
class LivenessMonitor:
    """Follows the fault state, the work and the honest commits of a run; ``verdict`` judges liveness after GST.

    The Simulation tells it every fault change (``faults_changed``, with each node's height and
    whether honest nodes have work at that moment), every client submission and every commit
    (with whether honest work remains after it). From these it keeps, online, the stretches of
    time in which honest nodes had work and no new block was committed; a stretch inside a healed
    period longer than the bound is a liveness violation.
    """

    bound_ms: int
    timeline: list[tuple[int, FaultState]] = field(default_factory=list)
    gst_ms: int | None = None  # the moment the current healed stretch began (None while unhealed)
    gst_heights: dict[int, int] = field(default_factory=dict)  # node -> height at GST (nodes honest then)
    faulty_since_gst: set[int] = field(default_factory=set)  # Byzantine at GST or after: not judged
    work_start_ms: int | None = None  # the first moment with honest work at or after GST
    top: int = 0  # the highest block committed by a node honest when it committed it
    tops: list[tuple[int, int]] = field(default_factory=list)  # (time, new top)
    stalls: list[str] = field(default_factory=list)  # stretches longer than the bound, in words
    _waiting_since: int | None = None  # honest work waits, and no new block came, since then
    _commits: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # node -> [(time, number)]

    @property
    def state(self) -> FaultState:
        return self.timeline[-1][1] if self.timeline else FaultState()

    def faults_changed(self, now_ms: int, state: FaultState, heights: Mapping[int, int], work: bool) -> None:
        """Record the fault state from now on; heights and work are the honest nodes' at this moment."""
        was_healed = bool(self.timeline) and self.state.healed
        if self.timeline and self.timeline[-1][1] == state:
            return
        if was_healed and not state.healed:
            self._measure(now_ms, closing=False)  # the healed period ends: judge its open stretch so far
        self.timeline.append((now_ms, state))
        if state.healed and not was_healed:
            self.gst_ms = now_ms
            self.gst_heights = {i: h for i, h in heights.items() if i not in state.byzantine}
            self.faulty_since_gst = set(state.byzantine)
            self.work_start_ms = now_ms if work else None
            if not work:
                self._waiting_since = None
            elif self._waiting_since is None:
                self._waiting_since = now_ms
        elif not state.healed:
            self.gst_ms = None
        else:
            self.faulty_since_gst |= state.byzantine  # a node turning Byzantine after GST is not judged

    def submitted(self, now_ms: int, node: int, honest: bool) -> None:
        """A client handed transactions to node: work for the honest sealers if node is honest."""
        if not honest:
            return
        if self._waiting_since is None:
            self._waiting_since = now_ms
        if self.gst_ms is not None and self.work_start_ms is None:
            self.work_start_ms = now_ms

    def committed(self, node: int, number: int, now_ms: int, *, honest: bool = True, work: bool = False) -> None:
        """Node committed block `number`; honest: it has no behaviour now; work: honest work remains after it."""
        self._commits.setdefault(node, []).append((now_ms, number))
        if not honest or number <= self.top:
            return
        self._measure(now_ms, closing=True)
        self.top = number
        self.tops.append((now_ms, number))
        self._waiting_since = now_ms if work else None

    def _measure(self, now_ms: int, *, closing: bool) -> None:
        """Judge the stretch of waiting that ends now (a new block, or the healed period ending)."""
        if self._waiting_since is None or self.gst_ms is None:
            return
        since = max(self._waiting_since, self.gst_ms)
        if now_ms - since > self.bound_ms:
            how = f"the next block came at {now_ms} ms" if closing else f"faults began again at {now_ms} ms"
            self.stalls.append(f"liveness after GST: no block above height {self.top} for {now_ms - since} ms "
                               f"(bound {self.bound_ms} ms) with work waiting since {since} ms (GST {self.gst_ms} ms); {how}")

    def height_reached(self, node: int, height: int, since_ms: int, start: int) -> int | None:
        """When node first held at least `height` at or after since_ms (start: its height at since_ms)."""
        if start >= height:
            return since_ms
        for time_ms, number in self._commits.get(node, ()):
            if time_ms >= since_ms and number >= height:
                return time_ms
        return None

    def height_of(self, node: int, at_ms: int) -> int:
        """The height node held at at_ms (from its commits; 0 if it committed nothing by then)."""
        return max((number for time_ms, number in self._commits.get(node, ()) if time_ms <= at_ms), default=0)

    def top_at(self, at_ms: int) -> int:
        return max((number for time_ms, number in self.tops if time_ms <= at_ms), default=0)

    def judged_nodes(self) -> list[int]:
        """The nodes held to the rule: honest at GST and ever since."""
        return sorted(i for i in self.gst_heights if i not in self.faulty_since_gst)

    def new_blocks(self, node: int) -> int:
        """How far node got above the highest honest height at GST (0 before GST)."""
        if self.gst_ms is None or not self.gst_heights:
            return 0
        top = max(self.gst_heights.values())
        heights = [number for time_ms, number in self._commits.get(node, ()) if time_ms >= self.gst_ms]
        return max(0, max(heights, default=0) - top)

    def verdict(self, now_ms: int, nodes_height: Mapping[int, int] | None = None) -> LivenessVerdict:
        """Judge the run up to now_ms; nodes_height: each node's height now (else read from its commits)."""
        bound = self.bound_ms
        state = self.state
        violations = list(self.stalls)
        gst = self.gst_ms
        judged = self.judged_nodes() if gst is not None else []
        top = max((self.gst_heights[i] for i in judged), default=0)
        start = self.work_start_ms if gst is not None else None
        new_at = None
        if gst is not None:
            new_at = min((t for i in judged for t, n in self._commits.get(i, ()) if t >= gst and n > top), default=None)
        gst_height = top if gst is not None else None

        def judgement(live: bool | None, reason: str, violations: tuple[str, ...] = ()) -> LivenessVerdict:
            return LivenessVerdict(live, reason, gst_ms=gst, bound_ms=bound, work_start_ms=start,
                                   gst_height=gst_height, new_block_ms=new_at, violations=violations)

        pending = ""
        if gst is not None and state.healed and judged:
            # The open stretch: work waiting since, and no block yet.
            if self._waiting_since is not None:
                since = max(self._waiting_since, gst)
                if now_ms - since > bound:
                    violations.append(f"liveness after GST: stalled at height {self.top}: no new block for "
                                      f"{now_ms - since} ms (bound {bound} ms) with work waiting since {since} ms "
                                      f"(GST {gst} ms)")
                elif new_at is None:
                    pending = f"the run ended {now_ms - since} ms after work began, before the bound of {bound} ms"
            # Catching up: every node honest since GST reaches the highest honest height at GST...
            if start is not None:
                for node in judged:
                    reached = self.height_reached(node, top, gst, self.gst_heights[node])
                    if reached is not None and reached <= start + bound:
                        continue
                    if reached is None and now_ms <= start + bound:
                        pending = pending or f"node {node} has not caught up yet; the run ended before the bound"
                    else:
                        violations.append(f"liveness after GST: node {node} did not reach height {top} within "
                                          f"{bound} ms of {start} ms (it was at {self.gst_heights[node]} at GST)")
                # ...and keeps up: at the end it holds what the honest chain had one bound earlier.
                if now_ms - bound >= start:
                    wanted = self.top_at(now_ms - bound)
                    for node in judged:
                        held = nodes_height[node] if nodes_height is not None else self.height_of(node, now_ms)
                        if held < wanted:
                            violations.append(f"liveness after GST: node {node} is at height {held} at the end, "
                                              f"below {wanted}, the honest height {bound} ms before")
        if violations:
            return judgement(False, violations[0], tuple(violations))
        if not state.healed:
            if state.loss and not state.partitioned and not state.crashed and state.byzantine_weight <= state.f:
                reason = f"not judged: loss {state.loss:g} never ends, so no bound exists"
            else:
                reason = f"not judged: faults not healed at the end ({state.describe()})"
            return judgement(None, reason)
        if not judged:
            return judgement(None, "not judged: no node stayed honest since GST")
        if start is None:
            return judgement(None, f"not judged: no work for the honest sealers after GST ({gst} ms)")
        if pending:
            return judgement(None, f"not judged yet: {pending}")
        if new_at is None:
            return judgement(None, "not judged: the work at GST went away without a block (nothing waits now)")
        first = f"first new block {new_at - start} ms after work began"
        return judgement(True, f"live: GST {gst} ms, {first}, no stall longer than the bound of {bound} ms")


def honest_work(sim: Simulation, nodes: Iterable[int]) -> bool:
    """Whether any of these (live) nodes has work: transactions waiting or a block in flight."""
    for index in nodes:
        replica = sim.nodes[index].replica
        if replica is not None and replica.pool_has_work():
            return True
    return False


def liveness_shown(sim: Simulation, blocks: int = 2) -> bool:
    """Every sealer honest since GST committed `blocks` blocks above the highest honest height at GST."""
    monitor = sim.liveness
    if monitor.gst_ms is None:
        return False
    judged = [i for i in monitor.judged_nodes() if i < sim.config.nodes]
    return bool(judged) and all(monitor.new_blocks(i) >= blocks for i in judged)


def run_until_live(sim: Simulation, max_ms: int, *, blocks: int = 2, step_ms: int = 500) -> bool:
    """Run until liveness is shown (``liveness_shown``) or max_ms of virtual time passed; True if shown.

    Showing liveness early is what makes long sweeps affordable: a healthy recovery takes a few
    seconds, while the bound it is judged against is a minute or more.
    """
    deadline = sim.now_ms + max_ms
    while sim.now_ms < deadline:
        sim.run_until(min(deadline, sim.now_ms + step_ms))
        if liveness_shown(sim, blocks):
            return True
    return False

