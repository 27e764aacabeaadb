"""chain.stats.percentile: the nearest rank, exact where floating point is not."""

from __future__ import annotations

from chain.stats import percentile


def test_nearest_rank_is_a_value_that_occurred() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50 and percentile(values, 0.99) == 99 and percentile(values, 1.0) == 100
    assert percentile(values, 0.0) == 1 and percentile([7.0], 0.99) == 7.0 and percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0  # unsorted input


def test_the_rank_is_exact_where_floating_point_is_not() -> None:
    assert percentile([float(v) for v in range(1, 101)], 0.07) == 7  # 0.07 × 100 = 7.000000000000001
    assert percentile([float(v) for v in range(1, 1001)], 0.99) == 990  # 0.99 × 1000 = 989.9999999999999
