"""A node of several groups (chain.rpc.api.ServesGroups): every grouped method reads the group its
2.x id or 3.x name selects, the group methods list them all, and an unknown group is -40001."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dataclasses import replace

from chain.crypto.keys import KeyPair
from chain.network.host import PeerInfo
from chain.ledger.genesis import GenesisConfig, open_chain
from chain.rpc.errors import GROUP_NOT_FOUND
from chain.rpc.methods import RpcContext, dispatch
from chain.rpc.errors import RpcError
from chain.rpc.server import handle_body
from chain.txpool.pool import TxPool
from tests.rpc.conftest import kv_tx
from tests.rpc.localnode import CHAIN_ID, LocalNode


class GroupOne(LocalNode):
    """group1 (2.x id 2) of the same node: its own genesis, store and pool."""

    group_name = "group1"

    def __init__(self) -> None:
        super().__init__("sm", seed=1)
        self.group_id = 2
        self.genesis = GenesisConfig(chain_id=CHAIN_ID, group_id=2, suite="sm",
                                     sealers=tuple((k.public_key, 1) for k in self.sealer_keys[:3]))
        self.store = open_chain(":memory:", self.genesis)
        self.txpool = TxPool(self.suite, self.store, chain_id=CHAIN_ID, group_id=2)


class TwoGroups(LocalNode):
    """group0 answered by the node itself, as chain.node.Node does."""

    def __init__(self) -> None:
        super().__init__("sm", seed=1)
        self.group1 = GroupOne()

    def groups_served(self) -> list[Any]:
        return [self, self.group1]

    def peers(self) -> list[PeerInfo]:  # the first peer serves group1 too, the others group0 only
        return [replace(peer, groups=(2,) if i == 0 else ()) for i, peer in enumerate(super().peers())]


@pytest.fixture()
def ctx() -> RpcContext:
    node = TwoGroups()
    user = KeyPair("sm", 424242)
    node.submit_transaction(kv_tx(user, b"a", b"1", 0))
    node.seal()  # group0 at height 1, group1 still at 0
    return RpcContext(node)


def call(ctx: RpcContext, method: str, params: list[Any]) -> Any:
    return dispatch(ctx, method, params)


def test_the_id_and_the_name_select_the_same_group(ctx: RpcContext) -> None:
    assert call(ctx, "getBlockNumber", [1]) == "0x1" and call(ctx, "getBlockNumber", ["group0", ""]) == 1
    assert call(ctx, "getBlockNumber", [2]) == "0x0" and call(ctx, "getBlockNumber", ["group1", ""]) == 0
    assert call(ctx, "getBlockNumber", ["0x2"]) == "0x0"
    # each group's own genesis, sealers and node list
    assert call(ctx, "getBlockHashByNumber", [1, "0x0"]) != call(ctx, "getBlockHashByNumber", ["group1", "", "0x0"])
    assert len(call(ctx, "getSealerList", [2])) == 3 and len(call(ctx, "getSealerList", [1])) == 4
    assert len(call(ctx, "getGroupPeers", [2])) == 3
    assert json.loads(call(ctx, "getGroupInfo", ["group1"])["genesisConfig"])["sealerList"].__len__() == 3


def test_the_group_methods_list_every_group(ctx: RpcContext) -> None:
    assert call(ctx, "getGroupList", []) == [1, 2] and call(ctx, "getGroupList", [1]) == [1, 2]
    assert call(ctx, "getGroupList", ["group0", ""]) == {"code": 0, "groupList": ["group0", "group1"], "msg": "success"}
    assert [g["groupID"] for g in call(ctx, "getGroupInfoList", ["group0", ""])] == ["group0", "group1"]
    assert call(ctx, "getGroupInfo", ["group1"])["groupID"] == "group1"
    assert call(ctx, "getGroupNodeInfo", ["group1", "node0"])["name"] == "node0"
    assert [call(ctx, "queryGroupStatus", [g])["status"] for g in (1, 2, 3)] == ["RUNNING", "RUNNING", "INEXISTENT"]


def test_getpeers_3x_names_the_groups_of_each_node(ctx: RpcContext) -> None:
    for selector in (["group0", ""], ["group1", ""], []):  # the node's answer, whichever group is named
        answer = call(ctx, "getPeers", selector)
        assert [g["group"] for g in answer["groupNodeIDInfo"]] == ["group0", "group1"]
        assert [[g["group"] for g in peer["groupNodeIDInfo"]] for peer in answer["peers"]] == \
            [["group0", "group1"], ["group0"], ["group0"]]


@pytest.mark.parametrize("params, message", [
    ([3], "GroupID does not exist"), (["group2", ""], "The group group2 does not exist!"),
    (["0x3"], "GroupID does not exist"), (["nope", ""], "The group nope does not exist!"),
])
def test_an_unknown_group_is_fiscos_error(ctx: RpcContext, params: list[Any], message: str) -> None:
    with pytest.raises(RpcError) as error:
        call(ctx, "getBlockNumber", params)
    assert error.value.code == GROUP_NOT_FOUND and message in error.value.message


def test_a_batch_sends_each_transaction_to_its_own_groups_pool(ctx: RpcContext) -> None:
    node = ctx.api
    assert isinstance(node, TwoGroups)
    user = KeyPair("sm", 434343)
    for_group0 = kv_tx(user, b"x", b"1", 1)
    for_group1 = kv_tx(user, b"y", b"1", 0, group_id=2)
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "sendRawTransaction", "params": [1, "0x" + for_group0.encode().hex()]},
        {"jsonrpc": "2.0", "id": 2, "method": "sendRawTransaction", "params": ["group1", "", "0x" + for_group1.encode().hex()]},
        # a transaction signed for group1, sent to group0: the pool's groupId rule refuses it
        {"jsonrpc": "2.0", "id": 3, "method": "sendRawTransaction", "params": [1, "0x" + for_group1.encode().hex()]},
    ]
    answers = handle_body(ctx, json.dumps(batch).encode())
    assert answers[0]["result"] == "0x" + for_group0.hash(node.suite).hex()
    assert answers[1]["result"] == "0x" + for_group1.hash(node.suite).hex()
    assert "error" in answers[2]
    assert len(node.txpool) == 1 and len(node.group1.txpool) == 1
    assert call(ctx, "getPendingTxSize", [2]) == "0x1" and call(ctx, "getPendingTxSize", ["group1", ""]) == 1


def test_a_node_of_one_group_answers_as_before() -> None:
    ctx = RpcContext(LocalNode("sm", seed=3))
    assert ctx.groups is None and call(ctx, "getGroupList", []) == [1]
    with pytest.raises(RpcError) as error:
        call(ctx, "getBlockNumber", [2])
    assert error.value.message == "GroupID does not exist: this node serves group 1"
