"""getSyncStatus's peer heights are what the replica learned from peers' checked messages (the
node keeps no second copy by decoding every frame itself)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chain.network.host import PeerInfo
from chain.node.node import Node
from tests.node.test_node import one_sealer


def test_known_heights_are_the_replicas_peer_heads_of_linked_peers(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    node = Node(one_sealer(tmp_path))
    try:
        linked, gone = b"\x01" * 64, b"\x02" * 64
        monkeypatch.setattr(node.host, "connected", lambda: [linked])
        monkeypatch.setattr(node.host, "peer_info", lambda: [PeerInfo("127.0.0.1:1", linked, True),
                                                             PeerInfo("127.0.0.1:2", gone, False)])
        node.replica.sync.peer_heads.update({linked: 5, gone: 9})  # a peer no longer linked does not count
        status = node.sync_status()
        assert status["knownHighestNumber"] == 5 and status["isSyncing"] is True
        assert status["peers"] == [{"nodeId": linked.hex(), "endpoint": "127.0.0.1:1", "connected": True,
                                    "blockNumber": 5}]
    finally:
        node.store.close()
