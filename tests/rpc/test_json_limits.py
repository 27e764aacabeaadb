"""The JSON depth bound: exact on valid JSON, linear on garbage, and what the server answers."""

from __future__ import annotations

import json
import inspect
import subprocess
import sys
from typing import Any, Callable

import pytest
from hypothesis import given, settings, strategies as st

from chain.recursion import EVM_RECURSION_LIMIT
from chain.rpc.errors import INVALID_REQUEST, PARSE_ERROR
from chain.rpc.server import handle_body
from chain.wire.json_limits import MAX_JSON_DEPTH, JsonTooDeep, check_depth, loads_bounded, nesting_depth

_text = st.text(alphabet='[]{}"\\ax', max_size=8)
_json = st.recursive(
    st.none() | st.integers() | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=40,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@settings(max_examples=150, deadline=None)
@given(_json)
def test_depth_is_exact_on_valid_json_whatever_its_strings_hold(value: Any) -> None:
    assert nesting_depth(json.dumps(value).encode()) == _depth(value)


def test_deeper_than_the_bound_is_refused_before_parsing() -> None:
    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert _depth(loads_bounded(at_limit)) == MAX_JSON_DEPTH
    with pytest.raises(JsonTooDeep):
        loads_bounded("[" + at_limit + "]")
    with pytest.raises(JsonTooDeep):
        check_depth(b'{"a":' * (MAX_JSON_DEPTH + 1))  # unclosed still counts
    check_depth(b'"' + b"[" * 100_000 + b'"')  # inside a string: no nesting at all
    check_depth(b'"\\"' + b"[" * 100_000)  # an unterminated string swallows the rest


def test_counting_stops_once_over_the_bound() -> None:
    hostile = b"[" * 1_000_000
    assert MAX_JSON_DEPTH < nesting_depth(hostile, stop_above=MAX_JSON_DEPTH) < 1_000_000
    assert nesting_depth(hostile) == 1_000_000


def test_server_answers_a_parse_error_for_too_deep(rpc: Callable[..., dict[str, Any]]) -> None:
    ctx = rpc.ctx  # type: ignore[attr-defined]
    deep = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
    assert handle_body(ctx, deep)["error"]["code"] == PARSE_ERROR
    # One level less parses: an (invalid) batch of nested arrays, not a parse error.
    shallow = deep[1:-1]
    assert handle_body(ctx, shallow)[0]["error"]["code"] == INVALID_REQUEST


def test_loading_py_evm_leaves_a_recursion_limit_the_c_stack_can_take() -> None:
    """py_ecc sets 100,000 on import; the EVM bridge puts it back to py-evm's own figure."""
    probe = "import sys, chain.execution.executor; print(sys.getrecursionlimit())"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert int(out.stdout) == EVM_RECURSION_LIMIT


def test_a_parser_hitting_the_recursion_limit_is_still_a_parse_error() -> None:
    """Defence in depth: should the stack already be deep when a body is parsed, RecursionError
    becomes the same ValueError (-32700) as any bad JSON, never an escaping exception."""
    from chain.rpc.server import parse_body

    body = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + MAX_JSON_DEPTH // 2)  # too shallow for 64 levels
    try:
        with pytest.raises(ValueError, match="nested too deeply"):
            parse_body(body)
    finally:
        sys.setrecursionlimit(limit)
