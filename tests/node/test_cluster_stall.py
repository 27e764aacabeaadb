"""Four real node processes and one heavy transaction: the chain stays responsive while it runs.

The figure of issue 12 (``python -m chain.bench.stall``), bounded: a transaction that loops until
its gas is gone (sized to this machine's EVM: seconds on every node, not the minutes
of 300,000,000) is sent to a 4-node EVM chain. Before the replica had a thread and a clock of its own,
every node's JSON-RPC went silent for the whole execution (24 s for 5,000,000 gas on this shared
2-core machine) and every node's view timer expired behind it (4 view changes). Now
``getBlockNumber`` keeps answering within a fraction of a second and no view change starts.
"""

from __future__ import annotations

import asyncio

import pytest

from chain.bench.stall import LOOPS, loop_gas_rates, measure
from chain.bench.tps import build_cluster, wait_until_serving

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

# Seconds the heavy transaction takes one in-process EVM here (4 nodes on 2 cores take longer). The
# rate is measured at the start under whatever load the suite puts on the machine then: at 1.5 s a
# lighter load later made the block take under the 2 s the test needs (CI, stop 28), hence the margin.
HEAVY_S = 2.5
MAX_S = 180.0


def heavy_gas() -> int:
    """Gas for HEAVY_S of this machine's EVM: a fixed amount took 1.3 s on a quiet machine and 20 s on a loaded one."""
    rate = loop_gas_rates("standard", 300_000)["JUMPDEST PUSH1 JUMP"]  # Mgas/s, the loop measure() deploys
    assert list(LOOPS)[0] == "JUMPDEST PUSH1 JUMP"
    return max(2_000_000, min(40_000_000, int(rate * 1e6 * HEAVY_S)))


def test_a_heavy_transaction_neither_freezes_rpc_nor_changes_the_view() -> None:
    gas = heavy_gas()
    cluster = build_cluster("standard", "evm", 4)
    try:
        asyncio.run(wait_until_serving(cluster))
        report = asyncio.run(measure(cluster, gas, MAX_S))
    finally:
        cluster.stop()
    print("\n".join(report.lines()))
    assert report.heavy_committed_s is not None and report.heavy_status == "0xc"  # out of gas, as it must
    # The nodes kept answering while it executed (it took seconds: see the commit wait).
    assert report.small_longest_s > 2.0, "the heavy transaction was too light to test anything"
    assert max(report.rpc_stall_s) < 1.5, report.lines()
    # No node's view timer expired behind a correct block it was executing.
    assert sum(report.view_changes) == 0, report.lines()
