"""The DMC Gantt chart's data: one committed block's rounds, as the dashboard draws them.

The simulator keeps the rounds the DMC scheduler ran for each of the newest committed heights
(chain.sim.dmc_load.StageLog). Here they become what a student reads off the chart:

* per round, which contract ran on which executor, and each frame it ran — a transaction's own
  frame (seq 0) or a call another contract made (seq > 0) — with why it ran in this round (the
  transaction starts, a call comes in, a callee's result comes back, a row it waited for is free)
  and how it stopped (finished, failed, paused at a call to another contract, waiting for a row);
* the sync point after each round: which waiting frames got their row, which frame a deadlock
  reverted;
* the links a transaction takes from round to round (its call, the call's result, a lock wait),
  so the chart can draw the path of a cross-contract call across the sync points;
* the block's transactions in words ("add_via(C3, 4) on C1"), with their receipt status.

Transactions are numbered from 1 (block order), as lesson 11 and `chain dmc example` do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chain.scenarios import world

if TYPE_CHECKING:  # the page server must not load py-evm for a chain without contracts
    from chain.execution.dmc.scheduler import Stage

WHY = {  # how a frame that ran in a round had stopped before, -> why it runs now
    None: "start",  # first time this (transaction, seq) runs
    "call_out": "resume",  # its callee ended: the result comes back
    "key_lock": "granted",  # the row it waited for is free now
}


def dmc_state(chain: object, number: int | None = None) -> dict[str, Any]:
    """The rounds of committed block `number` (None: the newest kept); {"dmc": False} without DMC.

    The answer always lists the kept heights, so the page can offer the others; a height not kept
    (too old, not committed yet) answers with "number" and no rounds.
    """
    if not isinstance(chain, world.SimChain) or chain.sim.config.executor != "dmc":
        return {"dmc": False}
    sim = chain.sim
    kept = sim.dmc_stages.by_height
    heights = sorted(kept)
    answer: dict[str, Any] = {"dmc": True, "executors": sim.config.dmc_executors, "heights": heights}
    if number is None:
        number = heights[-1] if heights else None
    answer["number"] = number
    if number is None or number not in kept:
        answer["rounds"] = None
        return answer
    block_hash, stages = kept[number]
    load = sim.contract_load
    name = (lambda address: load.name_of(address)) if load is not None else (lambda address: "0x" + address.hex()[:8])
    answer["hash"] = block_hash
    answer["rounds"], answer["links"] = _rounds(stages, name)
    answer["transactions"] = _transactions(chain, number, load)
    answer["summary"] = _summary(stages)
    return answer


def _rounds(stages: tuple[Stage, ...], name: Any) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    rounds: list[dict[str, Any]] = []
    links: list[dict[str, str]] = []
    last: dict[tuple[int, int], str] = {}  # (context, seq) -> how that frame last stopped
    waiting: dict[int, tuple[str, str]] = {}  # context -> (step id, link kind) of its last stop
    for stage in stages:
        runs = []
        for contract_hex, executor, steps in stage.contracts:
            shown = []
            for step in steps:
                key = (step.context, step.seq)
                step_id = f"r{stage.number}-t{step.context + 1}-s{step.seq}"
                before = last.get(key)
                why = WHY.get(before, "start") if step.seq == 0 or before is not None else "call"
                if stage.deadlock_victim == step.context and before == "key_lock":
                    why = "deadlock"  # chosen to break a deadlock: its row access reverts
                if step.context in waiting:
                    source, kind = waiting.pop(step.context)
                    links.append({"from": source, "to": step_id, "kind": kind})
                if step.reply == "call_out":
                    waiting[step.context] = (step_id, "call")
                elif step.reply == "key_lock":
                    waiting[step.context] = (step_id, "lock")
                elif step.seq > 0:  # a call ended: its result goes back to the caller
                    waiting[step.context] = (step_id, "return")
                last[key] = step.reply
                shown.append({"id": step_id, "tx": step.context + 1, "seq": step.seq, "why": why, "reply": step.reply,
                              "row": _row(step.row), "callee": name(bytes.fromhex(step.callee)) if step.callee else ""})
            runs.append({"executor": executor, "contract": name(bytes.fromhex(contract_hex)), "address": contract_hex,
                         "steps": shown})
        rounds.append({"round": stage.number, "runs": runs, "granted": [c + 1 for c in stage.granted],
                       "deadlock_victim": None if stage.deadlock_victim is None else stage.deadlock_victim + 1})
    return rounds, links


def _row(row: str) -> str:
    """"evm_storage/<address><slot>" -> "storage slot 0": the row a frame waits for, shortly."""
    if not row:
        return ""
    table, _, key = row.partition("/")
    if table.endswith("storage") and len(key) > 40:
        return f"storage slot {int(key[40:], 16)}"
    return f"{table} {key[:8]}…"


def _transactions(chain: world.SimChain, number: int, load: Any) -> list[dict[str, Any]]:
    store = world.best_store(chain)
    block = store.block_by_number(number)
    if block is None:
        return []
    receipts = store.receipts(number)
    return [{"tx": i + 1, "does": load.describe(tx) if load is not None else f"to 0x{tx.to.hex()[:8]}",
             "status": receipts[i].status if i < len(receipts) else None}
            for i, tx in enumerate(block.transactions)]


def _summary(stages: tuple[Stage, ...]) -> dict[str, int]:
    replies = [step.reply for stage in stages for _, _, steps in stage.contracts for step in steps]
    return {"rounds": len(stages), "sync_points": max(0, len(stages) - 1),
            "executors_used": len({executor for stage in stages for _, executor, _ in stage.contracts}),
            "most_at_once": max((len({e for _, e, _ in stage.contracts}) for stage in stages), default=0),
            "paused_calls": replies.count("call_out"), "lock_waits": replies.count("key_lock"),
            "deadlocks": sum(stage.deadlock_victim is not None for stage in stages)}
