"""Summary statistics the simulator's checker and the benchmarks both report (one definition).

A percentile here is the *nearest rank* (no interpolation), so the figure printed is a latency
that really occurred. The fraction is taken in millionths with integer arithmetic: ``0.99 * n``
in floating point is 98.99999… for n = 100 and 989.99999… for n = 1000, which a ceiling or a
truncation would turn into the wrong rank.
"""

from __future__ import annotations

from typing import Sequence

_SCALE = 1_000_000


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The smallest value with at least `fraction` of the values at or below it; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-round(fraction * _SCALE) * len(ordered) // _SCALE)  # ceil(fraction × n), exactly
    return float(ordered[min(max(rank, 1), len(ordered)) - 1])
