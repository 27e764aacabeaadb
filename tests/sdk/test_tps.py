"""The TPS load generator: its arithmetic, and one small real run against four node processes."""

from __future__ import annotations

import pytest

from chain.bench.tps import Costs, Report, percentile, run
from chain.errors import ConfigError


def test_percentile_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 0.5) == 50 and percentile(values, 0.99) == 99 and percentile(values, 1.0) == 100
    assert percentile([7.0], 0.99) == 7.0 and percentile([], 0.5) == 0.0


def test_cpu_bound_is_cores_over_nodes_times_cost():
    report = Report("kv", "sm", 10, 10, 10, 1, 1.0, 250.0, 1, 2, Costs(400, 50, 50), nodes=4, cores=2, rejected={})
    assert report.bound_tps == pytest.approx(1000.0)  # 2 / (4 x 500 us)
    assert any("measured/bound = 25%" in line for line in report.lines())


def test_node_cpu_per_tx_and_cores_used():
    from chain.bench.tps import CpuUse

    cpu = CpuUse(node_seconds=4.0, machine_seconds=7.0, client_seconds=0.5, wall_seconds=4.0)
    report = Report("kv", "sm", 1000, 1000, 1000, 1, 4.0, 250.0, 1, 2, Costs(300, 150, 50), nodes=4, cores=2,
                    rejected={}, cpu=cpu)
    assert report.node_cpu_us == pytest.approx(1000.0)  # 4 s / 1000 txs / 4 nodes
    assert cpu.cores(cpu.node_seconds) == 1.0 and cpu.other_seconds == pytest.approx(2.5)
    line = next(line for line in report.lines() if line.startswith("node CPU"))
    assert "1000 us per tx" in line and "= 50% of it" in line and "other processes 0.62" in line


def test_options_are_checked():
    with pytest.raises(ConfigError, match="either --dir"):
        run(None, False, "sm", "kv", 10, 1, echo=lambda _: None)
    with pytest.raises(ConfigError, match="unknown workload"):
        run(None, True, "sm", "nft", 10, 1, echo=lambda _: None)
    with pytest.raises(ConfigError, match="rate"):
        run(None, True, "sm", "kv", 10, 1, echo=lambda _: None, rate=-5)


@pytest.mark.timeout(120)
def test_load_cluster_sends_to_sealers_of_the_chain_built_there(tmp_path):
    from chain.bench.tps import load_cluster
    from chain.node.builder import BuildOptions, build_chain

    build_chain(tmp_path / "c", BuildOptions(nodes=2, observers=1, suite="standard", executor="kv",
                                             port_base=31500, rpc_port_base=32500))
    cluster = load_cluster(tmp_path / "c")
    assert cluster.rpc_urls == ["http://127.0.0.1:32500", "http://127.0.0.1:32501"]  # not the observer's
    assert (cluster.executor, cluster.suite.name, cluster.chain_id) == ("kv", "standard", 1)
    with pytest.raises(ConfigError, match="not a chain built"):
        load_cluster(tmp_path / "nowhere")


def test_a_small_real_run_commits_everything():
    lines: list[str] = []
    report = run(None, True, "sm", "kv", 80, 2, batch=20, timeout=60, echo=lines.append)
    assert report.accepted == report.committed == 80 and report.rejected == {}
    assert 0 < report.offered_seconds < report.seconds  # all offered at once: acknowledged before committed
    assert report.tps > 0 and 0 < report.latency_p50_ms <= report.latency_p99_ms
    assert report.costs.verify_us > 0 and report.costs.execute_us > 0 and report.costs.store_us > 0
    assert report.nodes == 4 and report.bound_tps > 0
    assert report.cpu is not None and report.node_cpu_us > 0  # Linux: read from /proc
    assert any(line.startswith("throughput") for line in lines)


@pytest.mark.timeout(120)
def test_a_paced_run_offers_the_rate_asked_for():
    # 60 txs over 2 connections in batches of 10 at 100 tx/s: each connection sends a batch every
    # 0.2 s, so the last batches leave 0.4 s after the first.
    report = run(None, True, "standard", "kv", 60, 2, batch=10, timeout=60, echo=lambda _: None, rate=100)
    assert report.committed == 60 and report.offered_seconds >= 0.4


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["asset", "kv"])
def test_evm_workloads_are_valid_transactions_and_their_costs_measure(tmp_path, kind):
    """The setup goes through RPC; every load transaction then succeeds on the chain it was made for."""
    from chain.bench.tps import measure_costs
    from chain.bench.workloads import ChainFacts, asset_workload, kv_workload
    from chain.execution.executor import EVMExecutor
    from chain.crypto.suite import get_suite
    from tests.rpc.localnode import AutoSealer, LocalNode, serve

    node = LocalNode("sm", executor=EVMExecutor(get_suite("sm"), chain_id=7), seed=6)
    node.genesis.dump(tmp_path / "genesis.toml")
    served = serve(node)
    server = next(served)
    sealer = AutoSealer(node)
    try:
        facts = ChainFacts(node.suite, node.chain_id, node.group_id, "evm", tmp_path / "genesis.toml", server.url)
        workload = (asset_workload if kind == "asset" else kv_workload)(facts, 40, node.store.head_number())
    finally:
        sealer.stop()
        next(served, None)
    for tx in workload.transactions:
        node.submit_transaction(tx)
    block = node.seal()
    receipts = node.store.receipts(block.number)
    assert len(receipts) == 40 and all(r.ok for r in receipts)
    costs = measure_costs(node.suite, workload, sample=40)
    assert costs.verify_us > 0 and costs.execute_us > 0 and costs.store_us > 0


@pytest.mark.timeout(120)
def test_a_closed_loop_client_waits_for_each_commit():
    # One client that waits for each commit before sending the next never has two transactions
    # in one block: as many blocks as transactions, and each latency is one whole round.
    lines: list[str] = []
    report = run(None, True, "sm", "kv", 8, 1, echo=lines.append, closed_loop_clients=1)
    assert report.committed == report.accepted == 8 and report.rejected == {}
    assert report.blocks == 8 and report.closed_loop_clients == 1
    assert report.seconds * 1000 >= 8 * report.latency_p50_ms * 0.5  # sequential: rate ~ 1 / latency
    assert report.node_cpu_ms_per_block > 0
    assert any("closed loop: 1 client" in line for line in lines)
    assert any("ms per block per node" in line for line in lines)


def test_closed_loop_options_are_checked():
    with pytest.raises(ConfigError, match="closed-loop"):
        run(None, True, "sm", "kv", 10, 1, echo=lambda _: None, rate=5, closed_loop_clients=2)


def test_the_tps_bench_takes_the_executor_kinds_of_the_registry() -> None:
    """`chain bench tps --executor` accepts what chain.execution.kinds registers (dmc too), nothing else."""
    from chain.bench.tps import run as run_tps
    from chain.execution.kinds import EXECUTOR_KINDS

    assert "dmc" in EXECUTOR_KINDS
    with pytest.raises(ConfigError, match="choose one of " + ", ".join(EXECUTOR_KINDS)):
        run_tps(None, True, "sm", "kv", 10, 1, executor="wasm")
