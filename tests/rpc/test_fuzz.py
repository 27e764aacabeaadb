"""Whatever JSON a client sends, the server answers JSON-RPC — never an exception."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain.rpc.dialect3 import METHODS3
from chain.rpc.methods import METHODS
from chain.rpc.server import handle_body

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**300),
                    st.text(max_size=20), st.sampled_from(["0x", "0x1", "0xzz", "latest", "group0", "", "node0",
                                                           "0x" + "00" * 32, "0x" + "11" * 20, "0xc0"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                      max_leaves=8)
# Mostly a valid group selector, so that the handlers themselves see the random parameters.
grouped = st.builds(lambda group, rest: group + rest,
                    st.sampled_from([[1], ["0x1"], ["group0", ""], ["group0", "node0"]]), st.lists(values, max_size=3))
requests = st.fixed_dictionaries(
    {"jsonrpc": st.sampled_from(["2.0", "2.0", "1.0"]), "method": st.sampled_from(sorted(set(METHODS) | set(METHODS3)) + ["nope"]),
     "params": st.one_of(grouped, grouped, st.lists(values, max_size=4), values)},
    optional={"id": st.one_of(st.integers(), st.text(max_size=5), st.none())},
)


def check(answer: object) -> None:
    json.dumps(answer)  # serializable
    for item in answer if isinstance(answer, list) else [answer]:
        if item is None:
            continue
        assert item["jsonrpc"] == "2.0" and ("result" in item) != ("error" in item)
        if "error" in item:
            # -32603 only for a refused transaction (FISCO 2.x's answer, its status in data)
            refusal = isinstance(item["error"].get("data"), dict) and "status" in item["error"]["data"]
            assert isinstance(item["error"]["code"], int) and (item["error"]["code"] != -32603 or refusal), item


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=st.one_of(requests, st.lists(requests, min_size=1, max_size=3)))
def test_random_requests_get_jsonrpc_answers(rpc, request):
    # -32603 would mean a handler crashed on input it should have refused as invalid params.
    check(handle_body(rpc.ctx, json.dumps(request).encode()))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=64))
def test_random_bytes_get_a_parse_or_request_error(rpc, body):
    check(handle_body(rpc.ctx, body))
