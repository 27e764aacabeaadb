"""getEpochSealersList (FISCO 2.x) on an rPBFT chain: the working sealers of the next block's epoch."""

from __future__ import annotations

import json
from dataclasses import replace

from chain.consensus.pbft import rpbft
from chain.ledger.genesis import open_chain
from chain.ledger.system import FEATURE_RPBFT, RPBFT_EPOCH_BLOCK_NUM, RPBFT_EPOCH_SEALER_NUM, consensus_nodes
from chain.rpc.methods import RpcContext
from chain.rpc.server import handle_body
from tests.rpc.localnode import LocalNode


def test_the_working_sealers_of_the_epoch_are_k_of_the_sealers_in_node_list_order() -> None:
    node = LocalNode("sm", n_sealers=7)
    node.genesis = replace(node.genesis, system_config={FEATURE_RPBFT: "1", RPBFT_EPOCH_SEALER_NUM: "4",
                                                        RPBFT_EPOCH_BLOCK_NUM: "10"})
    node.store = open_chain(":memory:", node.genesis)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getEpochSealersList", "params": [1]}).encode()
    answer = handle_body(RpcContext(node), body)["result"]
    sealers = [n.node_id.hex() for n in consensus_nodes(node.store, 1).sealers]
    drawn = rpbft.select_working(node.suite, node.store.block_hash(0), tuple(bytes.fromhex(s) for s in sealers), 4)
    assert answer == [sealers[i] for i in drawn]
    assert len(answer) == 4 and set(answer) < set(sealers)
