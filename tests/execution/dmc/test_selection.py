"""Choosing the dmc executor: the registry, config.toml, and the simulator (same result as evm)."""

from __future__ import annotations

import pytest

from chain.crypto.suite import get_suite
from chain.errors import ConfigError
from chain.execution.dmc import DMCExecutor
from chain.execution.kinds import EXECUTOR_KINDS, make_executor
from chain.node.config import ExecutorSection, NodeConfig, NodeSection
from chain.sim import SimConfig, Simulation


def test_dmc_is_an_executor_kind_with_workers() -> None:
    assert "dmc" in EXECUTOR_KINDS
    executor = make_executor("dmc", get_suite("standard"), 1)
    assert isinstance(executor, DMCExecutor) and executor.workers == 0


def test_config_refuses_a_negative_or_huge_worker_count() -> None:
    NodeConfig(node=NodeSection(name="node0"), executor=ExecutorSection(kind="dmc", workers=2))
    for workers in (-1, 65):
        with pytest.raises(ConfigError, match="executor.workers"):
            NodeConfig(node=NodeSection(name="node0"), executor=ExecutorSection(kind="dmc", workers=workers))


def test_config_round_trips_the_workers() -> None:
    config = NodeConfig(node=NodeSection(name="node0"), executor=ExecutorSection(kind="dmc", workers=3))
    assert NodeConfig.loads(config.dumps()).executor == ExecutorSection(kind="dmc", workers=3)


def test_simulation_with_dmc_commits_what_evm_commits() -> None:
    roots = {}
    for kind in ("evm", "dmc"):
        simulation = Simulation(SimConfig(nodes=4, seed=5, executor=kind))
        simulation.run_blocks(3, 60_000)
        store = simulation.nodes[0].store
        roots[kind] = [store.block_by_number(n).header.state_root for n in range(1, 4)]  # type: ignore[union-attr]
    assert roots["dmc"] == roots["evm"]
