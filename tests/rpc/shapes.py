"""Comparing the *shape* of two JSON values: field names, JSON types and nesting, not the values.

A FISCO SDK deserialises answers into fixed classes (java-sdk's ``BcosBlockHeader`` and friends):
a missing field, a number where it expects a string, or an array where it expects a string breaks
it, whatever the values are. So a documented example answer and ours must agree on:

* objects: every documented key present (ours may add keys, but only those the caller allows);
* arrays: each of our items shaped like the documented item (positionally when the documented
  items differ from one another, as getConsensusStatus's ``[object, array]``);
* scalars: the same JSON type, and hex stays hex: a documented ``"0x..."`` string is ``"0x..."`` in
  ours, a documented string without ``0x`` (node ids, decimal counts) has none in ours ("" is
  FISCO 3.x's "none", e.g. a call's contractAddress, and fits either).
"""

from __future__ import annotations

from typing import Any


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_differences(documented: Any, ours: Any, allowed_extra: frozenset[str] = frozenset(), path: str = "result",
                      optional: frozenset[str] = frozenset()) -> list[str]:
    """Every way ours is shaped unlike documented (empty when they agree); keys of ours not in the
    documented object are fine only when named in allowed_extra (by key, at any depth), documented
    keys may be absent from ours only when named in optional (fields FISCO adds on request)."""
    if json_type(documented) != json_type(ours):
        return [f"{path}: documented {json_type(documented)}, ours {json_type(ours)} ({str(ours)[:60]})"]
    if isinstance(documented, dict):
        problems = []
        for key, value in documented.items():
            if key not in ours:
                if key not in optional:
                    problems.append(f"{path}.{key}: missing")
            else:
                problems += shape_differences(value, ours[key], allowed_extra, f"{path}.{key}", optional)
        problems += [f"{path}.{key}: not in FISCO's answer" for key in ours if key not in documented and key not in allowed_extra]
        return problems
    if isinstance(documented, list):
        if not documented or not ours:
            return []
        if len({json_type(item) for item in documented}) > 1:  # a tuple: compare position by position
            if len(documented) != len(ours):
                return [f"{path}: documented {len(documented)} items, ours {len(ours)}"]
            return [p for i, (d, o) in enumerate(zip(documented, ours))
                    for p in shape_differences(d, o, allowed_extra, f"{path}[{i}]", optional)]
        return [p for i, item in enumerate(ours) for p in shape_differences(documented[0], item, allowed_extra, f"{path}[{i}]", optional)]
    if isinstance(documented, str) and documented and ours and documented.startswith("0x") != ours.startswith("0x"):
        return [f"{path}: documented {documented[:20]!r}, ours {ours[:20]!r} (hex with 0x in one only)"]
    return []
