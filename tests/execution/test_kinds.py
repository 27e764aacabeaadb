"""One table of executor kinds: config.toml, `chain build`, the simulator and node start all read it."""

from __future__ import annotations

import pytest

from chain.crypto.suite import get_suite
from chain.errors import ConfigError, ScenarioError
from chain.execution.kinds import EXECUTOR_KINDS, make_executor
from chain.execution.result import BlockExecutor
from chain.sim.runner import SimConfig


@pytest.mark.parametrize("kind", EXECUTOR_KINDS)
def test_every_listed_kind_builds_an_executor(kind: str) -> None:
    executor: BlockExecutor = make_executor(kind, get_suite("standard"), 7)
    assert callable(executor.execute)


def test_an_unlisted_kind_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="'nope'.*evm, kv"):
        make_executor("nope", get_suite("standard"), 7)


def test_the_simulator_accepts_exactly_the_listed_kinds() -> None:
    for kind in EXECUTOR_KINDS:
        SimConfig(executor=kind)
    with pytest.raises(ScenarioError, match="unknown executor"):
        SimConfig(executor="nope")
