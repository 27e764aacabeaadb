"""The invariant checker: what must hold in every run, and the liveness figures of the run.

Safety (must hold whenever at most f sealers are Byzantine):

* **agreement** — no two honest nodes committed different blocks at one height;
* **validity** — every block an honest node stored extends its parent, commits to its transactions,
  is not empty, and carries valid signatures of a quorum of the sealers named in its header;
* **no gaps** — an honest node's chain is 0, 1, 2, … with no height missing;
* **no double signing** — an honest node never signs two different proposals, votes or execution
  results for one (phase, height, view), not even across a crash and restart (it reads back what it
  signed from its store). Every consensus message an honest node sends is scanned for this.

Liveness after GST (``liveness_after_gst``, chain.sim.liveness): once the faults are healed — no
partition, every crashed node restarted, no loss, at most f Byzantine weight — honest sealers with
work must commit a new block, and every node honest since then must catch up, within
``recovery_bound_ms`` (derived from the view-change timers). ``ok`` stays the safety verdict; ``live``
is True, False, or None when the run cannot be judged (faults never healed, loss that never ends,
no work, or a run that ended before the bound). Also measured: blocks per virtual second, view
changes, and commit latency (a transaction's submission to its first commit by an honest node).

The checker *can* fail: with f + 1 colluding Byzantine sealers it reports the fork they cause.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chain.consensus.pbft.messages import MsgType, decode_envelope
from chain.consensus.pbft import rpbft, vrf_rotation
from chain.consensus.pbft.quorum import quorum
from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError
from chain.ledger.merkle import merkle_root
from chain.ledger.system import RPBFT_EPOCH_SEALER_NUM, all_consensus_nodes, get_config
from chain.sim.liveness import LivenessMonitor, LivenessVerdict
from chain.stats import percentile

if TYPE_CHECKING:
    from chain.sim.runner import SimNode


@dataclass(frozen=True)
class CheckReport:
    agreement: bool
    validity: bool
    no_gaps: bool
    violations: tuple[str, ...]
    heights: tuple[int, ...]  # per node (all nodes, Byzantine included)
    honest: tuple[int, ...]  # indices of the nodes judged
    highest: int  # highest block committed by an honest node
    duration_ms: int
    blocks_per_second: float
    view_changes: int
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    committed_txs: int
    no_double_signing: bool = True
    live: bool | None = None  # liveness after GST: None when not judged (see chain.sim.liveness)
    liveness_after_gst: str = ""  # the one-line verdict, with its reason
    liveness_violations: tuple[str, ...] = ()  # kept apart from `violations`, which are safety only
    gst_ms: int | None = None
    recovery_bound_ms: int | None = None

    @property
    def ok(self) -> bool:
        """Safety only: liveness depends on the faults a run had, and is read from `live`."""
        return self.agreement and self.validity and self.no_gaps and self.no_double_signing

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__} | {"ok": self.ok}


def signed_slots(suite: CryptoSuite, msg_type: MsgType, body: Any) -> list[tuple[MsgType, int, int, bytes]]:
    """The (phase, height, view, what) a consensus message commits its signer to.

    A sealer may sign at most one `what` per slot: one proposal per view (as leader), one Prepare
    and one Commit per view, one execution result per height, one ViewChange per target view. A
    NewView's own PrePrepare travels inside it, so it is read out of it.
    """
    if msg_type == MsgType.PRE_PREPARE:
        return [(msg_type, body.number, body.view, body.header.hash(suite))]
    if msg_type in (MsgType.PREPARE, MsgType.COMMIT):
        return [(msg_type, body.number, body.view, body.digest)]
    if msg_type == MsgType.CHECKPOINT:
        return [(msg_type, body.number, 0, body.block_hash)]
    if msg_type == MsgType.VIEW_CHANGE:
        proof = b"" if body.prepared is None else body.prepared.pre_prepare
        return [(msg_type, body.number, body.view, proof)]
    if msg_type == MsgType.NEW_VIEW and body.pre_prepare:
        try:
            inner = decode_envelope(body.pre_prepare)
            return signed_slots(suite, inner.type, inner.body())
        except ChainError:
            return []
    return []


def _liveness_fields(verdict: LivenessVerdict | None) -> dict[str, Any]:
    if verdict is None:
        return {}
    return {"live": verdict.live, "liveness_after_gst": verdict.reason, "liveness_violations": verdict.violations,
            "gst_ms": verdict.gst_ms, "recovery_bound_ms": verdict.bound_ms}


PROBLEM_MEMO_SIZE = 4096  # verdicts kept: the nodes are checked one after another, height by height


@dataclass
class Checker:
    suite: CryptoSuite
    nodes: list[SimNode]
    highest: int = 0
    _commits: dict[int, dict[int, bytes]] = field(default_factory=dict)  # node -> number -> hash
    _submitted: dict[bytes, int] = field(default_factory=dict)  # tx hash -> submit time
    _latencies: list[int] = field(default_factory=list)
    _first_commit: set[int] = field(default_factory=set)
    _view_changes: set[tuple[int, int]] = field(default_factory=set)
    _verified: set[tuple[bytes, int, bytes]] = field(default_factory=set)
    # Judged once for all nodes that hold the same block (Block.decode shares equal bytes' result):
    # (epoch, seed block, sealers, K, node weights) -> weights; (block, parent hash, weights) -> problem.
    _weights_memo: dict[tuple[Any, ...], dict[bytes, int]] = field(default_factory=dict)
    _problem_memo: dict[tuple[int, bytes, int], tuple[Any, dict[bytes, int], str | None]] = field(default_factory=dict)
    _signed: dict[tuple[int, int, int, int], bytes] = field(default_factory=dict)  # (node, type, number, view) -> what
    _double_signed: list[str] = field(default_factory=list)
    liveness: LivenessMonitor | None = None  # set by the Simulation, which knows the timers and the faults

    # --- online observations ------------------------------------------------------------------

    def submitted(self, tx_hash: bytes, now_ms: int) -> None:
        self._submitted.setdefault(tx_hash, now_ms)

    def committed(self, node: SimNode, number: int, block_hash: bytes, tx_hashes: list[bytes], now_ms: int) -> None:
        self._commits.setdefault(node.index, {})[number] = block_hash
        if node.ever_byzantine:
            return
        self.highest = max(self.highest, number)
        if number not in self._first_commit:
            self._first_commit.add(number)
            for tx_hash in tx_hashes:
                submitted = self._submitted.pop(tx_hash, None)
                if submitted is not None:
                    self._latencies.append(now_ms - submitted)

    def sent(self, node: SimNode, raw: bytes) -> None:
        """Scan a message an honest node sent for a second, different signature on one slot.

        Only what it signed, under its index in its node list as it sends: a message signed by
        another index is one it passes on (a proposal forwarded down a broadcast tree, possibly a
        lying leader's).
        """
        if node.ever_byzantine:
            return
        try:
            envelope = decode_envelope(raw)
            body = envelope.body()
        except ChainError:
            return  # honest nodes send well-formed messages; receivers reject anything else
        signer = node.replica.my_index if node.replica is not None else None
        if signer is not None and envelope.sender != signer:
            return
        for msg_type, number, view, what in signed_slots(self.suite, envelope.type, body):
            key = (node.index, int(msg_type), number, view)
            first = self._signed.setdefault(key, what)
            if first != what:
                self._double_signed.append(
                    f"double signing: node {node.index} signed two different {msg_type.name}s "
                    f"at height {number}, view {view}")

    def view_changed(self, node: SimNode, number: int, view: int) -> None:
        if not node.ever_byzantine:
            self._view_changes.add((number, view))

    # --- the report ---------------------------------------------------------------------------

    def report(self, now_ms: int) -> CheckReport:
        honest = [n for n in self.nodes if not n.ever_byzantine]
        violations: list[str] = list(self._double_signed)
        agreement = self._check_agreement(honest, violations)
        validity, no_gaps = True, True
        for node in honest:
            v, g = self._check_chain(node, violations)
            validity, no_gaps = validity and v, no_gaps and g
        seconds = max(now_ms, 1) / 1000
        heights = {n.index: n.store.head_number() for n in self.nodes}
        verdict = self.liveness.verdict(now_ms, heights) if self.liveness is not None else None
        return CheckReport(
            agreement=agreement, validity=validity, no_gaps=no_gaps, violations=tuple(violations),
            heights=tuple(n.store.head_number() for n in self.nodes), honest=tuple(n.index for n in honest),
            highest=self.highest, duration_ms=now_ms, blocks_per_second=self.highest / seconds,
            view_changes=len(self._view_changes),
            latency_p50_ms=percentile(self._latencies, 0.50), latency_p99_ms=percentile(self._latencies, 0.99),
            committed_txs=len(self._latencies), no_double_signing=not self._double_signed,
            **_liveness_fields(verdict),
        )

    def _check_agreement(self, honest: list[SimNode], violations: list[str]) -> bool:
        by_height: dict[int, dict[bytes, list[int]]] = {}
        for node in honest:
            # What the node announced, and what its store holds, must both agree with the others.
            announced = self._commits.get(node.index, {})
            for number in range(1, node.store.head_number() + 1):
                stored = node.store.block_hash(number)
                if stored is not None:
                    by_height.setdefault(number, {}).setdefault(stored, []).append(node.index)
            for number, block_hash in announced.items():
                by_height.setdefault(number, {}).setdefault(block_hash, [])
                if node.index not in by_height[number][block_hash]:
                    by_height[number][block_hash].append(node.index)
        ok = True
        for number in sorted(by_height):
            hashes = by_height[number]
            if len(hashes) > 1:
                ok = False
                sides = "; ".join(f"nodes {sorted(who)} have {h.hex()[:12]}…" for h, who in hashes.items())
                violations.append(f"agreement: height {number} has {len(hashes)} different blocks ({sides})")
        return ok

    def _check_chain(self, node: SimNode, violations: list[str]) -> tuple[bool, bool]:
        store = node.store
        weights = {n.node_id: n.weight for n in all_consensus_nodes(store)}
        weights_key = tuple(sorted(weights.items()))
        valid, no_gaps = True, True
        parent = store.block_by_number(0)
        for number in range(1, store.head_number() + 1):
            block = store.block_by_number(number)
            # Heights run 0, 1, 2, … with nothing missing.
            if block is None or block.number != number:
                violations.append(f"gap: node {node.index} has no block {number}")
                no_gaps = False
                break
            block_weights = self._epoch_weights(store, block, weights, weights_key)
            # The same block object (equal stored bytes), after the same parent, under the same
            # weights: the same verdict, so a block held by 100 nodes is judged once.
            parent_hash = parent.hash(self.suite) if parent is not None else b""
            key = (id(block), parent_hash, id(block_weights))
            known = self._problem_memo.get(key)
            if known is not None and known[0] is block and known[1] is block_weights:
                problem = known[2]
            else:
                problem = self._block_problem(block, parent, block_weights)
                if len(self._problem_memo) >= PROBLEM_MEMO_SIZE:
                    self._problem_memo.clear()
                self._problem_memo[key] = (block, block_weights, problem)  # holding both keeps their ids unique
            if problem:
                violations.append(f"validity: node {node.index} block {number}: {problem}")
                valid = False
            parent = block
        return valid, no_gaps

    def _epoch_weights(self, store: Any, block: Any, weights: dict[bytes, int],
                       weights_key: tuple[tuple[bytes, int], ...]) -> dict[bytes, int]:
        """The sealers' weights for this block: in rPBFT, the sealers resting in its epoch weigh 0.

        The working set is drawn with chain.consensus.pbft.vrf_rotation.working_set — the code judged
        here — but from the block's own header and its epoch's seed as stored, not the replica's view.
        """
        if not rpbft.rpbft_enabled(store, block.number):
            return self._weights_memo.setdefault((weights_key,), weights)  # one object for equal weights
        start, length = rpbft.epoch_start(store, block.number)
        sealers = tuple(block.header.sealer_list)
        count = int(get_config(store, RPBFT_EPOCH_SEALER_NUM, block.number))
        # The draw reads the chain before the epoch, which the hash of its last block stands for.
        key = (start, length, store.block_hash(start - 1), sealers, count, weights_key)
        if key not in self._weights_memo:
            # the rotations since the anchor, each seeded by the VRF proof in the block before its epoch
            working = {sealers[i] for i in vrf_rotation.working_set(self.suite, store, start, length, sealers, count)}
            self._weights_memo[key] = {node_id: weights.get(node_id, 1) if node_id in working else 0 for node_id in sealers}
        return self._weights_memo[key]

    def _block_problem(self, block: Any, parent: Any, weights: dict[bytes, int]) -> str | None:
        suite = self.suite
        # Each block extends the previous one.
        if parent is None or block.header.parent_hash != parent.hash(suite):
            return "does not extend its parent"
        # No empty blocks.
        if not block.transactions:
            return "empty block"
        # The header commits to the transactions stored with it.
        if merkle_root(suite, [tx.hash(suite) for tx in block.transactions]) != block.header.transactions_root:
            return "transactions root does not match its transactions"
        # Checked here, not with chain.consensus.pbft.checkpoint.verify_block_signatures: the oracle
        # must not share the code it judges, and it verifies each signature once for all nodes.
        sealers = block.header.sealer_list
        block_weights = [weights.get(node_id, 1) for node_id in sealers]
        block_hash = block.hash(suite)
        signed = 0
        seen: set[int] = set()
        for index, signature in block.signatures:
            # Each signature is a distinct sealer's, over this block's hash.
            if not 0 <= index < len(sealers) or index in seen:
                return f"signature list names sealer {index} twice or out of range"
            seen.add(index)
            key = (block_hash, index, signature)
            if key not in self._verified:
                try:
                    if not suite.verify(sealers[index], block_hash, signature):
                        return f"signature of sealer {index} does not verify"
                except ChainError as exc:
                    return f"signature of sealer {index} is malformed: {exc}"
                self._verified.add(key)
            signed += block_weights[index]
        # A quorum vouched for it.
        if signed < quorum(sum(block_weights)):
            return f"signatures weigh {signed}, below the quorum {quorum(sum(block_weights))}"
        return None
