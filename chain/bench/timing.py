"""A tiny measuring helper shared by the benchmarks."""

from __future__ import annotations

import time
from typing import Callable


def ops_per_second(operation: Callable[[], object], seconds: float = 0.5, min_runs: int = 5) -> float:
    """Run operation repeatedly for about `seconds` (at least min_runs times); return runs per second."""
    operation()  # warm caches and lazy imports outside the measurement
    runs = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds or runs < min_runs:
        operation()
        runs += 1
        elapsed = time.perf_counter() - start
    return runs / elapsed
