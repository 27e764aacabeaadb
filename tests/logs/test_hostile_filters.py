"""Whatever filter a client sends, the log methods answer a result or -32602, never crash (-32603)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain.crypto.suite import get_suite
from chain.ledger.receipt import Log
from chain.ledger.store import Store
from chain.rpc.methods import RpcContext
from chain.rpc.server import handle_body
from tests.logs.chainmaker import EMITTER, commit, topic
from tests.logs.test_rpc_logs import Api

SUITE = get_suite("standard")
STORE = Store(":memory:", SUITE)
commit(STORE, [])
commit(STORE, [[Log(EMITTER, (topic("A", SUITE),), b"1")]])
CTX = RpcContext(Api(STORE, suite=SUITE))  # type: ignore[arg-type]

hexes = st.integers(min_value=0, max_value=40).flatmap(lambda n: st.binary(min_size=n, max_size=n)).map(lambda b: "0x" + b.hex())
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70), hexes,
                    st.sampled_from(["latest", "earliest", "pending", "0x", "0x-1", "１", "", "0xgg"]), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=6), max_leaves=12)
filters = st.dictionaries(st.sampled_from(["fromBlock", "toBlock", "address", "topics", "blockHash", "blockhash", "x"]),
                          values, max_size=5)
methods = st.sampled_from(["getLogs", "newFilter", "getFilterChanges", "getFilterLogs", "uninstallFilter"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=methods, body=st.one_of(filters, values))
def test_hostile_filters_get_a_result_or_invalid_params(method: str, body: object) -> None:
    request = {"jsonrpc": "2.0", "id": 1, "method": method, "params": ["group0", "", body]}
    answer = handle_body(CTX, json.dumps(request).encode())
    assert ("result" in answer) != ("error" in answer)
    if "error" in answer:
        assert answer["error"]["code"] == -32602, answer
