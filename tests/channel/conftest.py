from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from chain.node.builder import BuildOptions, build_chain
from chain.node.ports import free_port_base, free_port_bases
from tests.node.cluster import Cluster


class ChannelCluster(Cluster):
    """tests.node.cluster.Cluster, built with channel ports of its own."""

    def __init__(self, root: Path, nodes: int = 4) -> None:
        p2p, rpc = free_port_bases(nodes)
        channel = free_port_base(nodes, avoid=set(range(p2p, p2p + nodes)) | set(range(rpc, rpc + nodes)))
        self.chain = build_chain(root, BuildOptions(
            nodes=nodes, suite="standard", port_base=p2p, rpc_port_base=rpc, channel_port_base=channel,
            executor="kv", timeout_ms=1000, min_seal_time_ms=50,
        ))
        self.channel_base = channel
        self.processes = {}

    def channel_port(self, i: int) -> int:
        return self.channel_base + i

    @property
    def sdk_dir(self) -> Path:
        return self.chain.directory / "sdk"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: starts real node processes on 127.0.0.1 (slower)")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelCluster]:
    c = ChannelCluster(tmp_path_factory.mktemp("channel") / "nodes")
    c.start_all()
    try:
        for i in range(c.size):
            c.wait_rpc(i)
        yield c
    finally:
        c.stop_all()
