"""One sentence saying what a replica did with the message just delivered to it, and why.

Built from what the dashboard can see: the delivery (trace event), the receiver's card before and
after it (chain.web.observe), the refusal reason if it refused the message, and what the handling
emitted (sends, commits, view changes). The sentence names the rule at work: "node 2 has 3 of 3
needed Prepares for v0 → prepared; it sends Commit".
"""

from __future__ import annotations

from typing import Any

from chain.web.diagram import CONSENSUS_TYPES

COUNTED = {"PREPARE": "Prepare", "COMMIT": "Commit", "CHECKPOINT": "Checkpoint", "VIEW_CHANGE": "ViewChange"}
REASON_HINTS = {
    "old height": "it has already decided that block — late votes are normal and ignored",
    "old view": "it has moved on to a later view; votes of a view it left are void",
    "voted for two proposals": "a sealer may vote for only one proposal per view: this is double voting",
    "duplicate vote": "it already counted this sealer's vote",
    "signature does not verify": "the signature is not the sender's: forged or altered",
}


def _plural(kind: str) -> str:
    return kind + "s"


def _hint(reason: str) -> str:
    return next((f" ({hint})" for key, hint in REASON_HINTS.items() if key in reason), "")


def explain(event: dict[str, Any], refused: str | None, before: dict[str, Any], after: dict[str, Any],
            effects: list[dict[str, Any]]) -> str:
    """The sentence for one delivery (or loss) of a consensus message to `event["to"]`."""
    kind = CONSENSUS_TYPES.get(str(event.get("type")), str(event.get("type")))
    src, dst, view = event.get("from"), event.get("to"), event.get("view")
    what = f"{kind} v{view} of block {event.get('number')} from node {src}"
    if event.get("ev") == "drop":
        return f"node {dst} never gets {what}: it was lost ({event.get('reason')})."
    if refused is not None:
        return f"node {dst} refuses {what}: {refused}{_hint(refused)}."
    sentence = f"node {dst} takes {what}"
    counted = COUNTED.get(str(event.get("type")))
    have_before = (before.get("counts") or {}).get(counted or "", [0, 0])[0]
    have, needed = (after.get("counts") or {}).get(counted or "", [0, 0])
    new_marks = [m for m in after.get("marks", []) if m not in before.get("marks", [])]
    if event.get("type") == "PRE_PREPARE":
        sentence = (f"node {dst} accepts node {src}'s proposal for block {event.get('number')} in v{view}"
                    + (f" (digest {after['digest']})" if after.get("digest") else ""))
    elif counted:
        in_view = counted in ("ViewChange", "Checkpoint") or after.get("view") == view
        if not in_view:
            sentence = f"node {dst} keeps {what} for later (it is in view {after.get('view')})"
        elif any(e.get("ev") == "commit" and e.get("node") == dst for e in effects):
            # the vote completed the height: the receiver moved on, its counters start again
            sentence = f"node {dst} has {have_before + 1} of {needed} needed {_plural(counted)} for block {event.get('number')}"
        elif have > have_before:
            sentence = f"node {dst} has {have} of {needed} needed {_plural(counted)} for v{view}"
            if have < needed and not new_marks:
                sentence += f" ({needed - have} more to go)"
        else:
            sentence = f"node {dst} does not need {what}: it already has what that vote would give"
    if new_marks:
        sentence += " → " + ", ".join(new_marks)
    consequences = []
    sent = sorted({CONSENSUS_TYPES[e["type"]] for e in effects
                   if e.get("ev") == "send" and e.get("from") == dst and e.get("type") in CONSENSUS_TYPES})
    if sent:
        consequences.append("it sends " + " and ".join(sent))
    for e in effects:
        if e.get("node") != dst:
            continue
        if e.get("ev") == "commit":
            consequences.append(f"block {e.get('number')} is written to its store")
        elif e.get("ev") == "new_view":
            consequences.append(f"it enters view {e.get('view')}")
        elif e.get("ev") == "view_change":
            consequences.append(f"it asks for view {e.get('to_view')}")
    return sentence + ("; " + "; ".join(consequences) if consequences else "") + "."
