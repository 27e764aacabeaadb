"""The FISCO 3.x dialect: called ``["group0", "", ...]``, answers have FISCO 3.x's documented shapes.

fixtures/fisco3x/ holds FISCO-BCOS-DOC 3.x api.md's example answers (getTransaction's, which the
doc lacks, is written from JsonRpcImpl_2_0.cpp; its file says so). The comparison is the 2.x one
(tests/rpc/shapes.py); 3.x answers a few results as JSON *strings* (getSyncStatus,
getConsensusStatus), compared here after parsing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chain.rpc.dialect3 import METHODS3
from tests.rpc.conftest import KV_ADDRESS, kv_tx
from tests.rpc.shapes import shape_differences

FIXTURES = Path(__file__).parent / "fixtures" / "fisco3x"
FIXTURE_NAMES = sorted(path.stem for path in FIXTURES.glob("*.json"))
G = ["group0", ""]

# Documented keys that FISCO writes only on request (requireProof) or that this chain has no value
# for, and keys we add; each listed in docs/rpc.md.
OPTIONAL = frozenset({"receiptProof", "transactionProof", "txReceiptProof"})
EXTRA: dict[str, frozenset[str]] = {}


def h(data: bytes) -> str:
    return "0x" + data.hex()


def params_for(name: str, chain: dict[str, Any], rpc: Any) -> list[Any]:
    node, user = chain["node"], chain["user"]
    tx_hash = h(chain["good"][0].hash(node.suite))
    block_hash = rpc("getBlockHashByNumber", [1, "0x1"])["result"]
    head = node.store.head_number()
    return {
        "call": G + [h(KV_ADDRESS), h(b"k0")],
        "getBlockByHash": G + [block_hash, True, True],  # the doc's example: header only
        "getBlockByNumber": G + [0, False, False],  # the doc's example: genesis, full transactions
        "getBlockHashByNumber": G + [0],
        "getBlockNumber": G, "getCode": G + [h(KV_ADDRESS)], "getConsensusStatus": G,
        "getGroupInfo": ["group0"], "getGroupInfoList": [], "getGroupList": G, "getGroupPeers": ["group0"],
        "getObserverList": G, "getPbftView": G, "getPeers": G, "getPendingTxSize": G, "getSealerList": G,
        "getSyncStatus": G, "getSystemConfigByKey": G + ["tx_count_limit"], "getTotalTransactionCount": G,
        "getTransaction": G + [tx_hash, False],
        "getTransactionReceipt": G + [tx_hash, False],
        "sendTransaction": G + [h(kv_tx(user, b"three", b"x", head).encode()), False],
    }[name]


def parsed(value: Any) -> Any:
    """A result FISCO 3.x sends as a JSON string, parsed (other results unchanged)."""
    if isinstance(value, str) and value.startswith("{"):
        return json.loads(value)
    return value


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_answer_has_fiscos_3x_shape(name, chain, rpc):
    fixture = json.loads((FIXTURES / f"{name}.json").read_text())
    assert fixture["source"].startswith("FISCO-BCOS/")
    answer = rpc(name, params_for(name, chain, rpc))
    assert "error" not in answer, answer
    problems = shape_differences(parsed(fixture["examples"][0]), parsed(answer["result"]), EXTRA.get(name, frozenset()),
                                 optional=OPTIONAL)
    assert not problems, f"{name}: " + "; ".join(problems)


def test_block_transactions_have_the_3x_transaction_shape(chain, rpc):
    """Full transactions inside a 3.x block are getTransaction's shape (the doc's block example has none)."""
    documented = json.loads((FIXTURES / "getTransaction.json").read_text())["examples"][0]
    block = rpc("getBlockByNumber", G + [1, False, False])["result"]
    assert block["transactions"]
    for tx in block["transactions"]:
        assert shape_differences(documented, tx) == []
    hashes = rpc("getBlockByNumber", G + [1, False, True])["result"]["transactions"]
    assert hashes == [tx["hash"] for tx in block["transactions"]]
    assert "transactions" not in rpc("getBlockByNumber", G + [1, True, False])["result"]  # onlyHeader


def test_numbers_are_json_numbers_in_3x_and_hex_in_2x(chain, rpc):
    head = chain["node"].store.head_number()
    assert rpc("getBlockNumber", G)["result"] == head
    assert rpc("getBlockNumber", [1])["result"] == hex(head)
    tx_hash = h(chain["good"][0].hash(chain["node"].suite))
    receipt3 = rpc("getTransactionReceipt", G + [tx_hash, False])["result"]
    receipt2 = rpc("getTransactionReceipt", [1, tx_hash])["result"]
    assert receipt3["status"] == int(receipt2["status"], 16) and receipt3["blockNumber"] == int(receipt2["blockNumber"], 16)
    assert receipt3["logEntries"] == receipt2["logs"] and "logs" not in receipt3
    assert receipt3["gasUsed"] == str(int(receipt2["gasUsed"], 16))  # 3.x: a decimal string


def test_3x_parameters(chain, rpc):
    """3.x reads its own parameter lists: requireProof, onlyHeader/onlyTxHash, call [to, data]."""
    tx_hash = h(chain["good"][0].hash(chain["node"].suite))
    with_proof = rpc("getTransactionReceipt", G + [tx_hash, True])["result"]
    assert with_proof["receiptProof"] == rpc("getTransactionReceiptByHashWithProof", [1, tx_hash])["result"]["receiptProof"]
    assert "txProof" in rpc("getTransaction", G + [tx_hash, True])["result"]
    assert rpc("call", G + [h(KV_ADDRESS), h(b"k0")])["result"]["output"] == h(b"v0")
    assert rpc("getTransactionReceipt", G + [tx_hash, "yes"])["error"]["code"] == -32602  # strict as 2.x
    assert rpc("getBlockByNumber", G + [1, False, False, "extra"])["error"]["code"] == -32602


def test_3x_only_methods_are_3x_only(rpc):
    """getTransaction & co. answer the 3.x dialect; called 2.x style they do not exist (as in FISCO 2.x)."""
    for name in ("getTransaction", "getABI", "getGroupInfo", "getNodeListByType", "getGroupNodeInfo"):
        assert rpc(name, [1, "0x" + "00" * 32])["error"]["code"] == -32601, name
    assert set(METHODS3) >= {"getTransaction", "sendTransaction", "getABI", "getGroupInfo", "getGroupInfoList",
                             "getGroupNodeInfo", "getGroupPeers", "getNodeListByType"}


def test_node_list_by_type(chain, rpc):
    node = chain["node"]
    sealers = rpc("getNodeListByType", G + ["consensus_sealer"])["result"]
    assert sorted(n["nodeID"] for n in sealers) == sorted(k.public_key.hex() for k in node.sealer_keys)
    assert all(n["type"] == "consensus_sealer" and n["weight"] == 1 for n in sealers)
    observers = rpc("getNodeListByType", G + ["consensus_observer"])["result"]
    assert [n["nodeID"] for n in observers] == [node.observer_key.public_key.hex()]
    assert rpc("getNodeListByType", G + ["consensus_candidate_sealer"])["result"] == []
    assert rpc("getNodeListByType", G + ["leader"])["error"]["code"] == -32602


def test_group_and_abi(chain, rpc):
    info = rpc("getGroupInfo", ["group0"])["result"]
    assert info["groupID"] == "group0" and info["nodeList"][0]["nodeID"] == chain["node"].node_id.hex()
    assert rpc("getGroupInfoList", [])["result"] == [info]
    assert rpc("getGroupList", G)["result"]["groupList"] == ["group0"]
    assert rpc("getGroupList", [])["result"] == [1]  # called 2.x style: 2.x's answer
    assert rpc("getGroupNodeInfo", G)["result"]["name"] == "node0"
    assert rpc("getABI", G + [h(KV_ADDRESS)])["result"] == ""
    assert rpc("getGroupInfo", ["group9"])["error"]["code"] == -40001


def test_get_peers_without_params_is_3x(rpc):
    """java-sdk 3.x sends getPeers []; 2.x's getPeers needs the group, so [] can only mean 3.x."""
    assert rpc("getPeers", [])["result"] == rpc("getPeers", G)["result"]
    assert isinstance(rpc("getPeers", [1])["result"], list)  # 2.x's answer
