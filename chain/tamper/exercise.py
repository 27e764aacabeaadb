"""The tamper exercise on the simulator, told step by step.

1. Four sealers commit a few blocks; one node (the *lagging* one) is crashed early, so it will
   need the later blocks from someone else.
2. The attacker edits block N in the store of one node (chain.tamper.forge, chain.tamper.node_files).
   That node does not notice: nothing re-reads a stored block.
3. An auditor replays that node's store from genesis (chain.tamper.checks): which checks fail, why.
4. The lagging node restarts while the network lets it reach the tampered node only. It asks for
   the blocks it lacks; block sync refuses block N with the reason of the rule it breaks (a
   ``reject`` in the trace). After the heal it fetches block N from an honest node and catches up.
5. The simulator's invariant checker, an oracle outside the protocol, flags the edited store too.

Deterministic: the same arguments give the same story (the sm suite's randomized signatures change
only hashes' bytes, never which check fires).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chain.errors import ChainError, ScenarioError
from chain.execution.kv import KVExecutor
from chain.ledger.block import Block
from chain.sim import SimConfig, Simulation
from chain.tamper.checks import CHECKS, WHY, AuditReport, audit
from chain.tamper.forge import TAMPERS, tamper
from chain.tamper.node_files import overwrite_block, save_node

NODES = 4
SYNC_ALONE_MS = 4000  # how long the lagging node can reach only the tampered node
CATCH_UP_MS = 15000  # at most this long after the heal to catch up


@dataclass(frozen=True)
class Step:
    title: str
    lines: tuple[str, ...]


@dataclass
class ExerciseResult:
    what: str
    block: int
    node: int
    lagging: int
    steps: list[Step] = field(default_factory=list)
    report: AuditReport | None = None
    sync_refusals: list[dict[str, Any]] = field(default_factory=list)  # the lagging node's rejects of the tampered node
    lagging_height_alone: int = -1  # where the lagging node stood while it could reach only the tampered node
    caught_up: bool = False
    checker_violations: list[str] = field(default_factory=list)
    saved: Path | None = None

    @property
    def detected(self) -> bool:
        """Did every line of defence notice: the audit, block sync, and the invariant checker?"""
        return bool(self.report and not self.report.ok and self.sync_refusals and self.checker_violations)


def _short(data: bytes) -> str:
    return data.hex()[:12] + "…"


def describe_block(sim: Simulation, block: Block) -> list[str]:
    """The parts of a block the checks look at, with sealers named by node number."""
    suite = sim.suite
    node_of = {n.node_id: n.index for n in sim.nodes}
    lines = [f"hash {_short(block.hash(suite))}  parent {_short(block.header.parent_hash)}  "
             f"transactions root {_short(block.header.transactions_root)}  state root {_short(block.header.state_root)}"]
    for i, tx in enumerate(block.transactions[:3]):
        lines.append(f"transaction {i}: data {tx.data!r}  hash {_short(tx.hash(suite))}")
    if len(block.transactions) > 3:
        lines.append(f"… {len(block.transactions) - 3} more transaction(s)")
    signers = ", ".join(f"sealer {i} = node {node_of.get(block.header.sealer_list[i], '?')} ({_short(sig)})"
                        for i, sig in block.signatures)
    lines.append(f"signature list: {signers}")
    return lines


def _signature_change(original: Block, forged: Block) -> list[str]:
    """The byte an edited Checkpoint signature differs in (too deep in it for the short hex above)."""
    lines = []
    for (sealer, before), (_, after) in zip(original.signatures, forged.signatures):
        changed = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
        lines += [f"sealer {sealer}'s signature, byte {i}: {before[i]:#04x} -> {after[i]:#04x}" for i in changed]
    return lines


def _sender_note(sim: Simulation, original: Block, forged: Block, index: int) -> list[str]:
    """What the transaction check cannot see by itself: a changed transaction that still yields *a* sender."""
    if index >= len(forged.transactions) or forged.transactions[index] == original.transactions[index]:
        return []
    try:
        now = forged.transactions[index].sender(sim.suite)
    except ChainError:
        return []  # the check above already failed, with its reason
    before = original.transactions[index].sender(sim.suite)
    return [f"note: transaction {index} still verifies — for sender 0x{now.hex()}, while 0x{before.hex()} signed "
            "the original; only someone who knows the real sender (or the Merkle root) tells them apart"]


def run_exercise(*, what: str = "tx", suite: str = "sm", seed: int = 1, block: int = 3, node: int = 0,
                 index: int = 0, save: str | Path | None = None) -> ExerciseResult:
    """Run the whole exercise; ScenarioError / TamperError on impossible arguments."""
    if what not in TAMPERS:
        raise ScenarioError(f"unknown tamper {what!r} (choose from {', '.join(TAMPERS)})")
    # The node must exist, and the block must come after the first block so a lagging node can lack it.
    if not 0 <= node < NODES:
        raise ScenarioError(f"--node must be 0..{NODES - 1}")
    if not 2 <= block <= 50:
        raise ScenarioError("--block must be between 2 and 50")
    lagging = NODES - 1 if node != NODES - 1 else NODES - 2
    result = ExerciseResult(what=what, block=block, node=node, lagging=lagging)
    sim = Simulation(SimConfig(nodes=NODES, suite=suite, seed=seed))
    honest = next(i for i in range(NODES) if i not in (node, lagging))

    # 1. build a chain; the lagging node stops before block N
    sim.run_blocks(block - 1, max_time_ms=60_000)
    sim.crash(lagging)
    sim.run_blocks(3, max_time_ms=60_000)
    heights = {n.index: n.store.head_number() for n in sim.nodes}
    result.steps.append(Step("A chain of four sealers", (
        f"nodes 0..3 commit blocks with PBFT ({suite} suite, seed {seed}); node {lagging} crashed after block "
        f"{heights[lagging]}, so it will need the later blocks from someone else",
        f"heights now: {heights}")))
    target = sim.nodes[node].store
    original = target.block_by_number(block)
    if original is None:
        raise ScenarioError(f"node {node} has no block {block} (height {target.head_number()})")
    result.steps.append(Step(f"Block {block} as node {node} stores it", tuple(describe_block(sim, original))))

    # 2. the attacker edits node N's copy
    forged = tamper(original, what, index, suite)
    overwrite_block(target, forged)
    result.steps.append(Step(f"The attacker edits node {node}'s store: {what}", (
        f"in block {block}: " + TAMPERS[what].says.format(index=index),
        *describe_block(sim, forged),
        *_signature_change(original, forged),
        f"node {node} does not notice: it never re-reads a block it has stored, and keeps committing")))

    # 3. the auditor's replay
    report = audit(target, sim.genesis, KVExecutor(sim.suite))
    result.report = report
    lines = []
    for check in CHECKS:
        found = next((f for f in report.findings if f.number == block and f.check == check), None)
        if found is None:
            continue
        mark = "ok    " if found.ok else "CAUGHT"
        lines.append(f"[{mark}] {check}: {found.detail}")
        if not found.ok:
            lines.append(f"         why: {WHY[check]}")
    lines += _sender_note(sim, original, forged, index)
    earlier = [f for f in report.failures() if f.number < block]
    lines.append(f"blocks 1..{block - 1} pass every check" if not earlier else f"earlier failures: {earlier}")
    if report.refused_at is not None:
        lines.append(f"a node syncing from node {node} stops at block {report.refused_at}: {report.refusal}")
    result.steps.append(Step(f"An auditor replays node {node}'s store from genesis (the checks block sync runs)",
                             tuple(lines)))

    # 4. the lagging node syncs from the tampered node only, then from everyone
    rejects: list[dict[str, Any]] = []
    unsubscribe = sim.subscribe(lambda record: rejects.append(record) if record.get("ev") == "reject"
                                and record.get("node") == lagging else None)
    sim.partition([[node, lagging], [i for i in range(NODES) if i not in (node, lagging)]])
    sim.restart(lagging)
    sim.run_until(sim.now_ms + SYNC_ALONE_MS)
    result.lagging_height_alone = sim.nodes[lagging].store.head_number()
    result.sync_refusals = [r for r in rejects if r.get("sender") == node and r.get("type") == "SYNC_RESPONSE"]
    sim.heal()
    deadline = sim.now_ms + CATCH_UP_MS
    while sim.now_ms < deadline and sim.nodes[lagging].store.head_number() < sim.nodes[honest].store.head_number():
        sim.run_until(sim.now_ms + 500)
    unsubscribe()
    lagging_block = sim.nodes[lagging].store.block_by_number(block)
    result.caught_up = lagging_block is not None and lagging_block.hash(sim.suite) == original.hash(sim.suite) \
        and lagging_block.transactions == original.transactions
    reasons = sorted({str(r.get("reason")) for r in result.sync_refusals})
    lines = [f"node {lagging} restarts; the network lets it reach node {node} only, for {SYNC_ALONE_MS} ms",
             f"it asks node {node} for the blocks it lacks and applies only those that pass: "
             + (f"it stays at height {result.lagging_height_alone}" if result.lagging_height_alone == heights[lagging]
                else f"it reaches height {result.lagging_height_alone}")]
    lines += [f"it refuses node {node}'s SyncResponse: {reason}" for reason in reasons] or \
             [f"it never refused a block from node {node}"]
    lines.append(f"after the heal it fetches block {block} from an honest node: "
                 + ("caught up, holding the block the quorum signed" if result.caught_up
                    else f"not caught up (height {sim.nodes[lagging].store.head_number()})"))
    result.steps.append(Step(f"Node {lagging} catches up by block sync", tuple(lines)))

    # 5. the oracle
    result.checker_violations = [v for v in sim.check().violations if f"node {node} " in v]
    result.steps.append(Step("The simulator's invariant checker (an oracle outside the protocol)", tuple(
        result.checker_violations or [f"found nothing wrong in node {node}'s store"])))

    if save is not None:
        # the tampered copy and an untouched one, side by side, for the store-level commands
        result.saved = Path(save)
        for index_ in (node, honest):
            save_node(sim.nodes[index_].store, sim.genesis, result.saved / f"node{index_}", name=f"node{index_}",
                      executor_kind="kv")
        result.steps.append(Step("Saved", (
            f"{result.saved}/node{node} holds node {node}'s tampered store, {result.saved}/node{honest} node {honest}'s "
            "untouched one (config.toml, genesis.toml, data/chain.db: the files of a real node)",
            f"try: chain tamper verify {result.saved}/node{honest}")))
    return result
