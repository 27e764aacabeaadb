"""Parsing JSON from strangers: the nesting depth is bounded before the parser sees the text.

Why: ``json.loads`` recurses once per nested array or object. A 100,000-deep ``[[[...]]]`` (200 KB)
overflows the C stack once py-evm's dependency py_ecc has raised the recursion limit to 100,000 —
the node dies with SIGSEGV — and without that it raises ``RecursionError``. No JSON-RPC request
needs more than a handful of levels (batch, request, params, call object), so anything deeper than
``MAX_JSON_DEPTH`` is refused as a parse error without being parsed at all.

The check costs nothing for ordinary bodies: it counts the opening brackets first (one C-speed
``bytes.count`` each) and only walks the text when there are more of them than the depth allowed.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

MAX_JSON_DEPTH = 64

# A JSON string literal, or an unterminated one running to the end (so every match attempt at a
# quote succeeds and removing strings stays linear); possessive, so it never backtracks.
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_CHUNK = 1 << 16  # brackets counted per step
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class JsonTooDeep(ValueError):
    """The text nests arrays/objects deeper than allowed (a ValueError, like every JSON parse error)."""


def nesting_depth(text: bytes, stop_above: int | None = None) -> int:
    """The deepest nesting of arrays and objects in text (brackets inside strings do not count).

    Exact for valid JSON; for invalid JSON an upper bound of what a parser would reach before failing.
    With stop_above, counting stops as soon as the depth exceeds it (a hostile ``[[[[…`` is refused
    after its first few kilobytes, not after all of them).
    """
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", text))
    depth = deepest = 0
    for start in range(0, len(brackets), _CHUNK):
        levels = list(accumulate(map(_STEP.__getitem__, brackets[start : start + _CHUNK]), initial=depth))
        depth, deepest = levels[-1], max(deepest, max(levels))
        if stop_above is not None and deepest > stop_above:
            break
    return deepest


def check_depth(text: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> None:
    """JsonTooDeep if text nests deeper than max_depth."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return  # cannot nest deeper than it has opening brackets
    if nesting_depth(raw, stop_above=max_depth) > max_depth:
        raise JsonTooDeep(f"JSON nested more than {max_depth} levels deep")


def loads_bounded(text: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads, refusing (JsonTooDeep) text nested deeper than max_depth before parsing it."""
    check_depth(text, max_depth)
    return json.loads(text)
