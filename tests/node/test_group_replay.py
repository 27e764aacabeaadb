"""A signed consensus message of one group is worthless in another (docs/nodes.md "Groups").

Two groups with the same sealers give every sealer the same index in both, so only the signing
domain (the group's genesis hash, chain.consensus.pbft.messages.signing_domain) tells a group0
ViewChange from a group1 one. Replayed into group1 — by a peer, or by a frame naming group1 — it is
refused; through the node's own delivery path it is refused too and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.messages import MsgType, ViewChange, sign_message
from chain.crypto.keys import load_private_key
from chain.errors import ConsensusError
from chain.node.builder import BuildOptions, build_chain
from chain.node.node import Node


@pytest.fixture()
def node_and_peer(tmp_path: Path) -> tuple[Node, Path]:
    chain = build_chain(tmp_path / "c", BuildOptions(nodes=4, suite="standard", executor="kv", genesis_time_ms=1,
                                                     groups=("group0", "group1")))
    return Node(chain.nodes[0].directory), chain.nodes[1].directory


def test_a_group0_message_replayed_into_group1_is_refused(node_and_peer: tuple[Node, Path]) -> None:
    node, peer_dir = node_and_peer
    try:
        group0, group1 = node.groups["group0"].replica, node.groups["group1"].replica
        assert group0.sealer_ids == group1.sealer_ids  # same sealers, same indices: only the domain differs
        peer = load_private_key(peer_dir / "node.key")
        index = group0.node_ids.index(peer.public_key)
        body = ViewChange(view=1, number=1, committed_hash=node.store.block_hash(0) or b"", prepared=None)
        in_group0 = sign_message(peer.suite, peer.secret, MsgType.VIEW_CHANGE, index, body, group0.domain).raw
        in_group1 = sign_message(peer.suite, peer.secret, MsgType.VIEW_CHANGE, index,
                                 ViewChange(1, 1, node.groups["group1"].store.block_hash(0) or b"", None), group1.domain).raw
        group0.verify(in_group0)  # valid where it was signed
        group1.verify(in_group1)
        for replayed, replica in ((in_group0, group1), (in_group1, group0)):
            with pytest.raises(ConsensusError, match="signature does not verify"):
                replica.verify(replayed)
        # Through the replica's own receiving path: a Rejected effect, no view change begun.
        effects = group1.handle(fx.Deliver(peer.public_key, in_group0), 1000)
        assert [e.reason for e in effects if isinstance(e, fx.Rejected)] == [f"signature does not verify for sender {index}"]
        assert group1.to_view == group1.view == 0
    finally:
        node._close_stores()
