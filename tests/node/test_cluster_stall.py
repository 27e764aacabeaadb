"""Four real node processes and one heavy transaction: the chain stays responsive while it runs.

The figure of issue 12 (``python -m chain.bench.stall``), bounded: a transaction that loops until
its gas is gone (2,000,000 gas here: seconds of execution on every node, not the minutes of
300,000,000) is sent to a 4-node EVM chain. Before the replica had a thread and a clock of its own,
every node's JSON-RPC went silent for the whole execution (24 s for 5,000,000 gas on this shared
2-core machine) and every node's view timer expired behind it (4 view changes). Now
``getBlockNumber`` keeps answering within a fraction of a second and no view change starts.
"""

from __future__ import annotations

import asyncio

import pytest

from chain.bench.stall import measure
from chain.bench.tps import build_cluster, wait_until_serving

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

HEAVY_GAS = 2_000_000
MAX_S = 180.0


def test_a_heavy_transaction_neither_freezes_rpc_nor_changes_the_view() -> None:
    cluster = build_cluster("standard", "evm", 4)
    try:
        asyncio.run(wait_until_serving(cluster))
        report = asyncio.run(measure(cluster, HEAVY_GAS, MAX_S))
    finally:
        cluster.stop()
    print("\n".join(report.lines()))
    assert report.heavy_committed_s is not None and report.heavy_status == "0xc"  # out of gas, as it must
    # The nodes kept answering while it executed (it took seconds: see the commit wait).
    assert report.small_longest_s > 2.0, "the heavy transaction was too light to test anything"
    assert max(report.rpc_stall_s) < 1.5, report.lines()
    # No node's view timer expired behind a correct block it was executing.
    assert sum(report.view_changes) == 0, report.lines()
