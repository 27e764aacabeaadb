"""The interpreter's recursion limit, put back down after py-evm's imports raised it.

py-evm raises it to 12,288 (its figure for 1,024 nested EVM calls); its dependency py_ecc raises
it to 100,000. At 100,000 a parser that recurses in C — ``json.loads`` of a 100,000-deep array —
overflows the 8 MiB C stack before Python's check fires, and the process dies with SIGSEGV instead
of raising RecursionError. At 12,288 the check fires first (measured: 49,000 levels still fit).
"""

from __future__ import annotations

import sys

EVM_RECURSION_LIMIT = 12 * 1024


def cap_recursion_limit(limit: int = EVM_RECURSION_LIMIT) -> int:
    """Lower the recursion limit to `limit` if an import raised it above; returns the limit now set."""
    if sys.getrecursionlimit() > limit:
        sys.setrecursionlimit(limit)
    return sys.getrecursionlimit()
