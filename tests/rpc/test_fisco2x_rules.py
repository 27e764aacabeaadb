"""The FISCO 2.x rules a shape comparison cannot see: values, parameters SDKs send, the added methods."""

from __future__ import annotations

import base64
import json
import re
import zlib
from typing import Any

import pytest

from chain.crypto.keys import KeyPair
from chain.crypto.suite import get_suite
from chain.ledger.status import Status
from chain.ledger.transaction import new_transaction, sign_transaction
from chain.wire.views import EMPTY_BLOOM, ZERO_ADDRESS, header_from_json, transaction_json
from tests.rpc.conftest import KV_ADDRESS, kv_tx


def h(data: bytes) -> str:
    return "0x" + data.hex()


def ok(response: dict[str, Any]) -> Any:
    assert "error" not in response, response
    return response["result"]


@pytest.mark.parametrize("suite_name", ["sm", "standard"])
def test_transaction_signature_object_and_deploy_to(suite_name):
    """signature {r, s, v, signature} as FISCO 2.x: signature is r||s||v in the suite's layout (v the
    recovery id 0/1, or the sm public key); a contract creation's ``to`` is the zero address."""
    suite = get_suite(suite_name)
    user = KeyPair(suite_name, 77)
    deploy = sign_transaction(new_transaction(to=b"", data=b"\x60\x00", block_limit=10), user)
    view = transaction_json(suite, deploy)
    assert view["to"] == ZERO_ADDRESS
    sig = view["signature"]
    assert sig["signature"] == h(deploy.signature_bytes(suite))
    assert sig["r"] == h(deploy.r.to_bytes(32, "big")) and sig["s"] == h(deploy.s.to_bytes(32, "big"))
    if suite_name == "sm":
        assert sig["v"] == h(user.public_key)
    else:
        assert sig["v"] in ("0x0", "0x1") and sig["signature"].endswith(format(int(sig["v"], 16), "02x"))


def test_block_header_fields(chain, rpc):
    block = ok(rpc("getBlockByNumber", [1, "0x1", False]))
    assert isinstance(block["extraData"], list) and all(isinstance(item, str) for item in block["extraData"])
    assert block["dbHash"] == block["stateRoot"] and re.fullmatch(r"0x[0-9a-f]{512}", block["logsBloom"])
    header = header_from_json(block)  # the array form still rebuilds the hashed header
    assert h(header.hash(chain["node"].suite)) == block["hash"]
    no_sigs = ok(rpc("getBlockHeaderByNumber", [1, "0x1"]))
    with_sigs = ok(rpc("getBlockHeaderByHash", [1, block["hash"], True]))
    assert "signatureList" not in no_sigs and with_sigs["signatureList"] == ok(rpc("getBlockByNumber", [1, "0x1", False]))["signatureList"]
    assert "transactions" not in with_sigs and with_sigs["hash"] == block["hash"]


def test_receipt_remain_gas_status_msg_and_bloom(chain, rpc):
    suite = chain["node"].suite
    good = ok(rpc("getTransactionReceipt", [1, h(chain["good"][0].hash(suite))]))
    assert good["statusMsg"] == "None"  # FISCO's name for success
    assert int(good["remainGas"], 16) == chain["good"][0].gas_limit - int(good["gasUsed"], 16)
    assert good["logsBloom"] == EMPTY_BLOOM  # no logs, empty bloom
    bad = ok(rpc("getTransactionReceipt", [1, h(chain["bad"].hash(suite))]))
    status = Status(int(bad["status"], 16))
    assert status != Status.SUCCESS and bad["statusMsg"] == "".join(w.capitalize() for w in status.name.split("_"))


def test_sync_status_peers_and_protocol(chain, rpc):
    node = chain["node"]
    status = ok(rpc("getSyncStatus", [1]))
    assert isinstance(status["protocolId"], int)
    assert status["peers"] and all(set(peer) == {"nodeId", "genesisHash", "blockNumber", "latestHash"} for peer in status["peers"])
    for peer in status["peers"]:
        assert peer["genesisHash"] == status["genesisHash"]
        assert peer["latestHash"] == h(node.store.block_hash(peer["blockNumber"]))  # the block we hold at its height


def test_consensus_status_fields(chain, rpc, monkeypatch):
    node = chain["node"]
    status, views = ok(rpc("getConsensusStatus", [1]))
    assert status["accountType"] == 1 and status["allowFutureBlocks"] is True and status["cfgErr"] is False
    assert status["connectedNodes"] == len(node.peers()) and isinstance(status["protocolId"], int)
    assert {v["nodeId"] for v in views} == {k.public_key.hex() for k in node.sealer_keys}
    original = node.consensus_status
    monkeypatch.setattr(node, "consensus_status", lambda: {**original(), "toView": node.view + 1})
    assert ok(rpc("getConsensusStatus", [1]))[0]["leaderFailed"] is True  # a view change under way


def test_client_version_build_fields(rpc):
    version = ok(rpc("getClientVersion"))
    assert re.fullmatch(r"\d{8} \d{2}:\d{2}:\d{2}", version["Build Time"])
    assert version["Git Branch"] and re.fullmatch(r"[0-9a-f]{40}|unknown", version["Git Commit Hash"])


def test_parameters_fisco_sdks_send(chain, rpc):
    """python-sdk sends getGroupList [groupId] and call {value: 0, to: ""}: FISCO accepts both."""
    assert ok(rpc("getGroupList", [1])) == [1]
    user = chain["user"]
    answer = ok(rpc("call", [1, {"from": h(user.address), "to": h(KV_ADDRESS), "value": 0, "data": h(b"k0")}]))
    assert answer["output"] == h(b"v0")
    assert "status" in ok(rpc("call", [1, {"from": h(user.address), "to": "", "value": 0, "data": "0x"}]))
    assert rpc("call", [1, {"from": h(user.address), "to": h(KV_ADDRESS), "value": "lots"}])["error"]["code"] == -32602


def test_batch_receipts(chain, rpc):
    block_hash = ok(rpc("getBlockHashByNumber", [1, "0x1"]))
    everything = ok(rpc("getBatchReceiptsByBlockNumberAndRange", [1, "0x1", "0", "-1", False]))
    assert everything["blockInfo"]["receiptsCount"] == "0x3" and len(everything["transactionReceipts"]) == 3
    assert [r["transactionIndex"] for r in everything["transactionReceipts"]] == ["0x0", "0x1", "0x2"]
    middle = ok(rpc("getBatchReceiptsByBlockHashAndRange", [1, block_hash, "1", "1", False]))
    assert middle["transactionReceipts"] == everything["transactionReceipts"][1:2]
    assert len(ok(rpc("getBatchReceiptsByBlockNumberAndRange", [1, "0x1", "2", "10", False]))["transactionReceipts"]) == 1
    packed = ok(rpc("getBatchReceiptsByBlockNumberAndRange", [1, "0x1", "0", "-1", True]))
    assert json.loads(zlib.decompress(base64.b64decode(packed))) == everything
    past = rpc("getBatchReceiptsByBlockNumberAndRange", [1, "0x1", "3", "-1", False])
    assert past["error"]["code"] == -40099 and "start index out of range" in past["error"]["message"]


def test_added_2x_methods(chain, rpc):
    node = chain["node"]
    block_hash = ok(rpc("getBlockHashByNumber", [1, "0x1"]))
    assert ok(rpc("getTransactionByBlockHashAndIndex", [1, block_hash, "0x2"])) == \
        ok(rpc("getTransactionByBlockNumberAndIndex", [1, "0x1", "0x2"]))
    assert rpc("getTransactionByBlockHashAndIndex", [1, block_hash, "0x3"])["error"]["code"] == -40005
    sealers = ok(rpc("getSealerList", [1]))
    refused = rpc("getEpochSealersList", [1])["error"]  # a PBFT chain has no epochs: FISCO refuses
    assert refused["code"] == -32600 and "only supported when rpbft is used" in refused["message"]
    assert ok(rpc("getGroupPeers", [1])) == sealers + ok(rpc("getObserverList", [1]))
    assert ok(rpc("getNodeInfo"))["NodeID"] == node.node_id.hex()
    assert ok(rpc("queryPeers")) == [peer.endpoint for peer in node.peers()]
    assert ok(rpc("queryGroupStatus", [1]))["status"] == "RUNNING"
    assert ok(rpc("queryGroupStatus", [2]))["status"] == "INEXISTENT"
    assert rpc("queryGroupStatus", [0])["error"]["code"] == -32602
    tx = kv_tx(chain["user"], b"with-proof", b"1", node.store.head_number())
    assert ok(rpc("sendRawTransactionAndGetProof", [1, h(tx.encode())])) == h(tx.hash(node.suite))
    refused = rpc("sendRawTransactionAndGetProof", [1, h(tx.encode())])["error"]  # the same refusals
    assert refused["code"] == -32603 and refused["data"]["status"] == hex(Status.ALREADY_KNOWN)


def test_node_info_endpoint_from_the_node_config(chain, rpc, monkeypatch):
    """A real node's P2P endpoint comes from its config's [network] section."""
    from types import SimpleNamespace

    node = chain["node"]
    assert ok(rpc("getNodeInfo"))["IPAndPort"] == ""  # the in-process node listens nowhere
    monkeypatch.setattr(node, "config", SimpleNamespace(network=SimpleNamespace(listen_ip="127.0.0.1", listen_port=30300)),
                        raising=False)
    assert ok(rpc("getNodeInfo"))["IPAndPort"] == "127.0.0.1:30300"
    assert ok(rpc("getPeers", ["group0", ""]))["endPoint"] == "127.0.0.1:30300"
