"""What the dashboard shows of each simulated replica beyond its status: the truth of a fault.

During a view change or a stall a student needs to see what each replica is *trying* to do, not
only what it last did: the view it is in and the view it asks for ("view 3 → 5"), which node
leads its current view (also when that node is crashed), how long until its view timer fires, how
many of the needed Prepares, Commits, Checkpoints and ViewChanges it holds, and which phase marks
it has reached for the height it decides. All of it is read from the replicas' existing state
(nothing is added to the protocol); the simulator is in this process, real nodes are not, so real
mode shows less.

One card is the leader: the leader of the height in progress in the view most live honest
replicas are in — even when it is the crashed node, for that is why the others wait.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Protocol

from chain.consensus.pbft.effects import VIEW_TIMER
from chain.consensus.pbft.quorum import VoteSet
from chain.consensus.pbft.replica import Replica
from chain.ledger.system import consensus_nodes
from chain.sim.runner import SimNode

PHASE_MARKS = ("pre-prepared", "prepared", "committed", "executed")


class ObservedChain(Protocol):
    """chain.scenarios.world.SimChain: student-shaped statuses plus the simulation (`sim`)."""

    sim: Any

    def node_status(self) -> list[dict[str, Any]]: ...


def _weight(votes: VoteSet[Any] | None) -> int:
    return votes.weight if votes is not None else 0


def counts(replica: Replica) -> dict[str, list[int]]:
    """[have, needed] weight of each phase's votes for the proposal of the replica's current view."""
    view = replica.view
    proposal = replica.proposals.get(view)

    def phase(table: dict[tuple[int, bytes], VoteSet[Any]]) -> int:
        if proposal is not None:
            return _weight(table.get((view, proposal.digest)))
        return max((v.weight for (w, _), v in table.items() if w == view), default=0)

    result = {"Prepare": [phase(replica.prepares), replica.quorum], "Commit": [phase(replica.commits), replica.quorum],
              "Checkpoint": [max((v.weight for v in replica.checkpoints.values()), default=0), replica.quorum]}
    if replica.to_view > replica.view:
        result["ViewChange"] = [_weight(replica.view_changes.get(replica.to_view)), replica.quorum]
    return result


def marks(replica: Replica) -> list[str]:
    """The phases this replica has reached for the height it decides, in its current view."""
    reached = []
    if replica.view in replica.proposals:
        reached.append("pre-prepared")
    if replica.prepared is not None and replica.prepared[0] == replica.view:
        reached.append("prepared")
    if replica.committed is not None:
        reached.append("committed")
    if replica.executed is not None:
        reached.append("executed")
    return reached


def node_number(chain: ObservedChain, node_id: bytes) -> int | None:
    return next((n.index for n in chain.sim.nodes if n.node_id == node_id), None)


def _leader_of(chain: ObservedChain, replica: Replica, view: int) -> int | None:
    """Node number of the sealer that proposes the replica's height in `view`."""
    if not replica.sealer_ids:
        return None
    return node_number(chain, replica.sealer_ids[replica.leader(view)])


def consensus_view(chain: ObservedChain) -> tuple[int, int, int | None]:
    """(height in progress, the view most live honest replicas there are in, that view's leader)."""
    live = [n for n in chain.sim.nodes if n.replica is not None and n.behaviour is None and n.replica.is_sealer]
    live = live or [n for n in chain.sim.nodes if n.replica is not None]
    if not live:
        top = max(n.store.head_number() for n in chain.sim.nodes)
        return top + 1, 0, None
    height = max(n.replica.height for n in live)
    at_top = [n.replica for n in live if n.replica.height == height]
    views = Counter(r.view for r in at_top)
    view = max(views, key=lambda v: (views[v], v))  # the most common; on a tie, the higher
    replica = next(r for r in at_top if r.view == view)
    return height, view, _leader_of(chain, replica, view)


def observe(chain: ObservedChain) -> list[dict[str, Any]]:
    """Every node's card: the student-shaped status plus view target, leader, timer, quorum counters, marks."""
    rows = chain.node_status()
    height, view, leader = consensus_view(chain)
    for row, node in zip(rows, chain.sim.nodes):
        row.update(_details(chain, node))
        # one leader card: the leader of the height in progress, in the view most nodes are in
        if row["role"] == "leader" and row["index"] != leader:
            row["role"] = "sealer"
        if row["index"] == leader and row["role"] != "observer":
            row["role"] = "leader"
    return rows


def _details(chain: ObservedChain, node: SimNode) -> dict[str, Any]:
    replica = node.replica
    if replica is None:
        in_force = consensus_nodes(node.store, node.store.head_number() + 1)
        return {"to_view": None, "leader": None, "timer_deadline": None, "counts": {}, "marks": [],
                "deciding": node.store.head_number() + 1, "sealer_position": in_force.index_of(node.node_id)}
    leader = _leader_of(chain, replica, replica.view)
    leader_node = chain.sim.nodes[leader] if leader is not None else None
    proposal = replica.proposals.get(replica.view)
    return {
        "to_view": replica.to_view,
        "leader": leader,
        "leader_crashed": leader_node is not None and leader_node.replica is None,
        "timer_deadline": replica.timer_deadline(VIEW_TIMER),  # absolute virtual ms; the page counts down
        "counts": counts(replica) if replica.is_sealer else {},
        "marks": marks(replica),
        "deciding": replica.height,
        "digest": proposal.digest[:4].hex() if proposal is not None else None,
        "sealer_position": replica.my_index if replica.is_sealer else None,
    }


def phase_key(chain: ObservedChain) -> tuple[Any, ...]:
    """What changes when any node reaches a new phase: heights, views, targets and marks."""
    return tuple((n.replica.height, n.replica.view, n.replica.to_view, tuple(marks(n.replica)))
                 if n.replica is not None else None for n in chain.sim.nodes)
