"""The execution benchmark runs its real workloads (tiny sizes here) and every transaction succeeds."""

from __future__ import annotations

import pytest

from chain.bench.execution import WORKLOADS, measure

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("kind", sorted(WORKLOADS))
def test_measure_each_workload(suite_name: str, kind: str) -> None:
    figure = measure(suite_name, kind, 8)
    assert figure.transactions >= 2
    assert figure.micros_per_tx > 0 and figure.per_second > 0
