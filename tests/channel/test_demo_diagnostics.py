"""`chain amop demo` shows, when it fails, what each node logged about its links (a flaky CI run gave only "result 101")."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from chain.channel.demo import _peer_events
from chain.node.builder import BuiltChain, BuiltNode


def test_a_failed_demo_lists_each_nodes_link_events_and_warnings(tmp_path: Path) -> None:
    nodes = []
    for index, lines in enumerate([
        ['{"level":"info","event":"node_started"}', '{"level":"info","event":"peer_disconnected","peer":"ab"}'],
        ['{"level":"warning","event":"replica_still_executing"}', '{"level":"info","event":"block_committed"}'],
    ]):
        directory = tmp_path / f"node{index}"
        directory.mkdir()
        (directory / "node.log").write_text("\n".join(lines) + "\n")
        nodes.append(BuiltNode(f"node{index}", directory, bytes(64), "sealer", 0, 0))
    chain = BuiltChain(tmp_path, cast(Any, None), tuple(nodes), bytes(20))
    assert _peer_events(chain) == [
        '  node0: {"level":"info","event":"peer_disconnected","peer":"ab"}',
        '  node1: {"level":"warning","event":"replica_still_executing"}',
    ]
