"""What the dashboard's kept history costs: `python -m chain.web.memory [--minutes 10] [--nodes 4]`.

Runs a simulated chain paced like the dashboard (100 ms ticks at 1×, the default 20 tx/s load)
for that much virtual time and prints the events, snapshots and heights kept, and the memory
Python allocated for them and the chain (tracemalloc: the run's growth after start-up).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from chain.web.live import TICK_MS
from chain.web.simulated import simulated_live_chain


def measure(minutes: float, nodes: int, suite: str) -> str:
    tracemalloc.start()
    live = simulated_live_chain(nodes=nodes, suite=suite, seed=1, tx_rate=20)
    start_bytes, _ = tracemalloc.get_traced_memory()
    started = time.perf_counter()
    for _ in range(int(minutes * 60_000 / TICK_MS)):
        live.advance(TICK_MS)
    grown = tracemalloc.get_traced_memory()[0] - start_bytes
    tracemalloc.stop()
    return (f"{minutes:g} virtual min, {nodes} nodes, suite {suite}: {len(live.trace)} trace events, "
            f"{len(live.snapshots)} snapshots, {len(live.heights.by_number)} heights indexed, top block "
            f"{live.heights.top_at(len(live.trace))}; memory grown {grown / 1e6:.1f} MB "
            f"({grown / max(1, len(live.trace)):.0f} B per event); {time.perf_counter() - started:.0f} s wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--suite", default="standard")
    args = parser.parse_args()
    print(measure(args.minutes, args.nodes, args.suite))


if __name__ == "__main__":
    main()
