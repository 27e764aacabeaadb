"""Every FISCO 2.x method we serve answers in the shape FISCO 2.x documents for it.

The fixtures in fixtures/fisco2x/ are the example answers of FISCO-BCOS-DOC's 2.x api.md, copied
with their source noted in each file. Our answer for the same request must have the same field
names, JSON types and nesting (tests/rpc/shapes.py says exactly what is compared). Fields we add
beyond FISCO's example are listed in EXTRA_FIELDS, each with why a FISCO client is unaffected, and
in docs/rpc.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from chain.rpc.methods import METHODS
from tests.rpc.conftest import KV_ADDRESS, kv_tx
from tests.rpc.shapes import shape_differences

FIXTURES = Path(__file__).parent / "fixtures" / "fisco2x"

# Keys our answers add to FISCO's documented examples. FISCO's SDKs ignore unknown keys (java-sdk's
# ObjectMapperFactory turns Jackson's FAIL_ON_UNKNOWN_PROPERTIES off; python-sdk reads dicts).
EXTRA_FIELDS: dict[str, frozenset[str]] = {
    # "Chain Id" and "Supported Version" are in api.md's field list, not in its (2.0.0) example
    "getClientVersion": frozenset({"Chain Id", "Supported Version", "Client Version", "Crypto Suite",
                                   "Group Id", "Group Name", "Node Name"}),
    "getConsensusStatus": frozenset({"timeoutMs", "observers", "role", "state", "leaderIndex"}),
    "getPeers": frozenset({"connected"}),
    # FISCO 2.x Rpc.cpp parseReceiptIntoResponse writes both; the doc's example predates them
    "getTransactionReceipt": frozenset({"remainGas", "statusMsg"}),
    # the doc's second example (includeTransactions false) drops signatureList, its field list has it
    "getBlockByHash": frozenset({"signatureList"}),
    "getBlockByNumber": frozenset({"signatureList"}),
    # the proof examples are from 2.2's doc, before transactions carried these (getTransactionByHash has them)
    # "raw": the record's encoding, which our SDK hashes to check the proof (chain.sdk.proof)
    "getTransactionByHashWithProof": frozenset({"blockLimit", "chainId", "groupId", "extraData", "signature", "raw"}),
    "getTransactionReceiptByHashWithProof": frozenset({"remainGas", "statusMsg", "logsBloom", "raw"}),
    # python-sdk / java-sdk pending transactions: Rpc.cpp parseTransactionIntoResponse writes these too
    "getPendingTransactions": frozenset({"blockLimit", "chainId", "groupId", "extraData", "signature"}),
}


def h(data: bytes) -> str:
    return "0x" + data.hex()


def requests(chain: dict[str, Any], rpc: Callable[..., dict[str, Any]]) -> dict[str, list[list[Any]]]:
    """For each method, the params of each documented example, in the fixture's order."""
    node, user = chain["node"], chain["user"]
    suite = node.suite
    tx_hash = h(chain["good"][0].hash(suite))
    block_hash = rpc("getBlockHashByNumber", [1, "0x1"])["result"]
    head = node.store.head_number()
    fresh = [kv_tx(user, f"shape{i}".encode(), b"v", head) for i in range(2)]
    call = {"from": h(user.address), "to": h(KV_ADDRESS), "value": "0x0", "data": h(b"k0")}
    return {
        "getClientVersion": [[]], "getBlockNumber": [[1]], "getPbftView": [[1]], "getSealerList": [[1]],
        "getObserverList": [[1]], "getConsensusStatus": [[1]], "getSyncStatus": [[1]], "getPeers": [[1]],
        "getGroupPeers": [[1]], "getNodeIDList": [[1]], "getGroupList": [[]],
        "getBlockByHash": [[1, block_hash, True], [1, block_hash, False]],
        "getBlockByNumber": [[1, "0x1", True], [1, "0x1", False]],
        "getBlockHeaderByHash": [[1, block_hash, True]], "getBlockHeaderByNumber": [[1, "0x1", True]],
        "getBlockHashByNumber": [[1, "0x1"]],
        "getTransactionByHash": [[1, tx_hash]],
        "getTransactionByBlockHashAndIndex": [[1, block_hash, "0x0"]],
        "getTransactionByBlockNumberAndIndex": [[1, "0x1", "0x0"]],
        "getTransactionReceipt": [[1, tx_hash]],
        "getPendingTransactions": [[1]], "getPendingTxSize": [[1]],
        "getCode": [[1, h(KV_ADDRESS)]], "getTotalTransactionCount": [[1]],
        "getSystemConfigByKey": [[1, "tx_count_limit"]], "queryPeers": [[]],
        "call": [[1, call]],
        "sendRawTransaction": [[1, h(fresh[0].encode())], [1, h(fresh[1].encode())]],
        "sendRawTransactionAndGetProof": [[1, h(kv_tx(user, b"shape-proof", b"v", head).encode())],
                                          [1, h(kv_tx(user, b"shape-proof2", b"v", head).encode())]],
        "getTransactionByHashWithProof": [[1, tx_hash]],
        "getTransactionReceiptByHashWithProof": [[1, tx_hash]],
        "queryGroupStatus": [[1]], "getNodeInfo": [[]],
        "getBatchReceiptsByBlockNumberAndRange": [[1, "0x1", "0", "-1", False], [1, "0x1", "0", "-1", True]],
        "getBatchReceiptsByBlockHashAndRange": [[1, block_hash, "0", "1", False], [1, block_hash, "0", "1", True]],
    }


FIXTURE_NAMES = sorted(path.stem for path in FIXTURES.glob("*.json"))


def test_every_2x_method_we_serve_has_a_fixture():
    """The documented 2.x methods served here, minus the ones without a documented answer."""
    undocumented = {"getEpochSealersList"}  # rPBFT's: api.md has no section (its answer is getSealerList's array)
    not_2x = {"getTransaction", "sendTransaction", "getABI", "getGroupInfo", "getGroupInfoList", "getGroupNodeInfo",
              "getNodeListByType"}  # the 3.x dialect's (tests/rpc/test_fisco3x.py)
    log_layer = {m for m in METHODS if "Filter" in m or m == "getLogs"}  # the event-log layer's own tests
    own = {"getChannelStatus"}  # this project's, for its dashboard (tests/channel/test_private_topic.py)
    served_2x = set(METHODS) - undocumented - not_2x - log_layer - own
    assert served_2x <= set(FIXTURE_NAMES), sorted(served_2x - set(FIXTURE_NAMES))


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_answer_has_fiscos_documented_shape(name, chain, rpc):
    fixture = json.loads((FIXTURES / f"{name}.json").read_text())
    assert fixture["source"].startswith("FISCO-BCOS/FISCO-BCOS-DOC 2.x/docs/api.md")
    calls = requests(chain, rpc)[name]
    assert len(calls) == len(fixture["examples"]), name
    for params, documented in zip(calls, fixture["examples"]):
        answer = rpc(name, params)
        assert "error" not in answer, answer
        problems = shape_differences(documented, answer["result"], EXTRA_FIELDS.get(name, frozenset()))
        assert not problems, f"{name}{params}: " + "; ".join(problems)


def test_shape_comparison_catches_what_breaks_a_strict_sdk():
    """The comparison itself: each kind of difference a FISCO SDK would choke on is reported."""
    documented = {"extraData": [], "number": "0x1", "sealerList": ["ab"], "list": [{"a": 1}, ["x"]], "ok": True}
    same = {"extraData": ["0x01"], "number": "0x2", "sealerList": ["cd"], "list": [{"a": 2}, ["y"]], "ok": False}
    assert shape_differences(documented, same) == []
    assert shape_differences(documented, {**same, "extraData": "0x"})  # array became a string
    assert shape_differences(documented, {**same, "number": 2})  # hex string became a number
    assert shape_differences(documented, {**same, "number": "2"})  # hex lost its 0x
    assert shape_differences(documented, {**same, "sealerList": ["0xcd"]})  # a bare hex id grew 0x
    assert shape_differences(documented, {k: v for k, v in same.items() if k != "ok"})  # field missing
    assert shape_differences(documented, {**same, "extra": 1})  # field FISCO does not have
    assert shape_differences(documented, {**same, "extra": 1}, frozenset({"extra"})) == []
    assert shape_differences(documented, {**same, "list": [{"a": "1"}, ["y"]]})  # nested type
