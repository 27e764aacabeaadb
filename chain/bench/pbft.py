"""`chain bench pbft`: what simulated PBFT (and rPBFT) costs, with real signatures on every message.

For n = 4, 16 and 64 sealers and each suite, run the simulator until `blocks` blocks are committed
and report: wall-clock seconds, messages per block, virtual seconds simulated per wall second,
blocks per virtual second, and commit latency. Every receiver verifies every message it can still
use (once), so the cost grows with n² and with the suite's verify cost (SM2 is slower than secp256k1).
CPU seconds are shown next to wall seconds: on a shared machine they are the steadier figure.

``--consensus rpbft`` runs the same chains with rPBFT (chain.consensus.pbft.rpbft): K working
sealers per epoch (FISCO's default K = 4), so the all-to-all phases cost O(K²) and the messages
every node needs O(K·n): side by side with PBFT, the messages per block stop growing with n².

``--tree-width 3`` sends proposals (and rPBFT's decided blocks) down a 3-ary tree (FISCO 2.x
``broadcast_prepare_by_tree``); the "leader" columns are what the proposer of each block sent about
its height (proposal, votes, pushes to followers; start-up sync requests left out), which the tree
keeps from growing with n — in messages; in bytes, only each header's list of every sealer grows.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from chain.sim import SimConfig, Simulation

DEFAULT_SIZES = (4, 16, 64)


def measure(nodes: int, suite: str, blocks: int, seed: int = 1, tx_rate: float = 20.0, consensus: str = "pbft",
            epoch_sealers: int = 4, epoch_blocks: int = 1000, tree_width: int = 0) -> dict[str, float]:
    # Every receiver pays for its own verifications here: no sharing across the simulated nodes.
    sim = Simulation(SimConfig(nodes=nodes, suite=suite, seed=seed, tx_rate=tx_rate, consensus=consensus,
                               epoch_sealers=epoch_sealers, epoch_blocks=epoch_blocks, tree_width=tree_width,
                               share_verifications=False))
    started, cpu_started = time.perf_counter(), time.process_time()
    committed = sim.run_blocks(blocks, 3_600_000)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    report = sim.check()
    consensus_messages = sum(count for name, count in sim.messages_by_type.items() if name in
                    ("PRE_PREPARE", "PREPARE", "COMMIT", "CHECKPOINT", "VIEW_CHANGE", "NEW_VIEW"))
    leader_messages, leader_bytes = sim.leader_sends()
    return {
        "leader_messages_per_block": leader_messages, "leader_kb_per_block": leader_bytes / 1024,
        "nodes": nodes, "blocks": committed, "wall_s": wall, "cpu_s": cpu, "sim_s": sim.now_ms / 1000,
        "cpu_s_per_block": cpu / max(committed, 1),
        "messages_per_block": sum(sim.messages_by_type.values()) / max(committed, 1),
        "consensus_messages_per_block": consensus_messages / max(committed, 1),
        "sim_s_per_wall_s": sim.now_ms / 1000 / max(wall, 1e-9), "blocks_per_sim_s": report.blocks_per_second,
        "latency_p50_ms": report.latency_p50_ms or 0.0, "ok": float(report.ok),
    }


def blocks_for(nodes: int, blocks: int, consensus: str = "pbft") -> int:
    """64 PBFT sealers cost ~16× as much per block as 16: run fewer blocks there by default (rPBFT: all)."""
    return blocks if nodes <= 16 or consensus == "rpbft" else max(3, blocks // 10)


def run(sizes: tuple[int, ...] = DEFAULT_SIZES, suites: tuple[str, ...] = ("standard", "sm"), blocks: int = 100,
        echo: Callable[[str], None] = print, consensus: tuple[str, ...] = ("pbft",),
        epoch_sealers: int = 4, tree_widths: tuple[int, ...] = (0,)) -> list[dict[str, float | str]]:
    from rich.console import Console
    from rich.table import Table

    title = "PBFT" if consensus == ("pbft",) else f"PBFT and rPBFT (K = {epoch_sealers} working sealers)"
    table = Table(title=f"{title} in the simulator (every message signed, every receiver verifies what it uses)")
    for column in ("consensus", "suite", "n", "blocks", "wall s", "cpu s", "cpu s/block", "msgs/block",
                   "consensus msgs/block", "leader msgs/block", "leader KB/block", "sim-s per wall-s",
                   "blocks per sim-s", "p50 latency ms", "safe"):
        table.add_column(column, justify="left" if column in ("consensus", "suite") else "right")
    rows: list[dict[str, float | str]] = []
    for suite in suites:
        for nodes in sizes:
            for kind in consensus:
                for width in tree_widths:
                    row = measure(nodes, suite, blocks_for(nodes, blocks, kind), consensus=kind,
                                  epoch_sealers=epoch_sealers, tree_width=width)
                    label = kind if width == 0 else f"{kind} tree {width}"
                    rows.append({**row, "suite": suite, "consensus": kind, "tree_width": width})
                    _add_row(table, label, suite, row)
    Console(width=180).print(table)
    return rows


def _add_row(table: Any, kind: str, suite: str, row: dict[str, float]) -> None:
    table.add_row(kind, suite, str(int(row["nodes"])), str(int(row["blocks"])), f"{row['wall_s']:.2f}",
                  f"{row['cpu_s']:.2f}", f"{row['cpu_s_per_block']:.3f}", f"{row['messages_per_block']:.0f}",
                  f"{row['consensus_messages_per_block']:.0f}", f"{row['leader_messages_per_block']:.1f}",
                  f"{row['leader_kb_per_block']:.1f}", f"{row['sim_s_per_wall_s']:.2f}",
                  f"{row['blocks_per_sim_s']:.2f}", f"{row['latency_p50_ms']:.0f}", "yes" if row["ok"] else "NO")
