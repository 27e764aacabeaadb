"""Several groups per chain (docs/nodes.md "Groups"): what `chain build --groups` writes, and four
real node processes running group0 (all four sealers) and group1 (nodes 0-2) side by side."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from chain.errors import ConfigError
from chain.ledger.genesis import GenesisConfig, build_genesis, group_id_of, group_name_of
from chain.ledger.store import Store
from chain.crypto.suite import get_suite
from chain.node.builder import BuildOptions, build_chain, read_nodes
from chain.node.config import NodeConfig
from chain.channel.client import ChannelClient
from chain.node.ports import free_port_base, free_port_bases
from chain.sdk.account import Account

from tests.node.cluster import Cluster, channel_serves_group1, result, rpc, send_kv, wait_until

GROUPS = ("group0", "group1")
GROUP1_SEALERS = (("group1", (0, 1, 2)),)


def options(**extra: Any) -> BuildOptions:
    return BuildOptions(nodes=4, suite="standard", executor="kv", genesis_time_ms=1, **extra)


# --- names, ids and the build ------------------------------------------------------------------

def test_group_names_map_to_2x_ids() -> None:
    assert [group_id_of(name) for name in ("group0", "group1", "group12")] == [1, 2, 13]
    assert [group_name_of(i) for i in (1, 2, 13)] == ["group0", "group1", "group12"]
    for bad in ("group", "group01", "Group1", "g1", "group-1", "group10000"):
        with pytest.raises(ConfigError):
            group_id_of(bad)
    with pytest.raises(ConfigError):
        group_name_of(0)


def test_build_writes_each_groups_genesis_to_its_members_only(tmp_path: Path) -> None:
    chain = build_chain(tmp_path / "c", options(groups=GROUPS, group_sealers=GROUP1_SEALERS))
    root = chain.directory
    group0 = GenesisConfig.load(root / "genesis.toml")
    group1 = GenesisConfig.load(root / "genesis.group1.toml")
    assert (group0.group_id, group1.group_id) == (1, 2) and group1.chain_id == group0.chain_id
    assert [n for n, _ in group1.sealers] == [chain.nodes[i].node_id for i in (0, 1, 2)]
    suite = get_suite("standard")
    assert build_genesis(group0)[0].hash(suite) != build_genesis(group1)[0].hash(suite)
    for i, node in enumerate(chain.nodes):
        config = NodeConfig.load(node.directory)
        member = i < 3
        assert config.group_names == (("group0", "group1") if member else ("group0",))
        assert (node.directory / "genesis.group1.toml").exists() == member  # a non-member holds nothing of it
    assert (root / "sdk" / "genesis.group1.toml").exists()
    assert [n.groups for n in read_nodes(root)] == [GROUPS] * 3 + [("group0",)]


def test_build_without_groups_writes_what_it_always_wrote(tmp_path: Path) -> None:
    chain = build_chain(tmp_path / "c", options())
    text = (chain.nodes[0].directory / "config.toml").read_text()
    assert "[groups]" not in text and "groups" not in (tmp_path / "c" / "sdk" / "nodes.toml").read_text()
    assert not list((tmp_path / "c").glob("genesis.group*"))


@pytest.mark.parametrize("extra, message", [
    ({"groups": ("group1",)}, "must start with group0"),
    ({"groups": ("group0", "group0")}, "twice"),
    ({"groups": ("group0", "shop")}, "group<K>"),
    ({"groups": GROUPS, "group_id": 5}, "--group-id cannot be combined"),
    ({"groups": GROUPS, "group_sealers": (("group2", (0,)),)}, "does not list"),
    ({"groups": GROUPS, "group_sealers": (("group0", (0,)),)}, "group0's sealers"),
    ({"groups": GROUPS, "group_sealers": (("group1", (0, 4)),)}, "not a sealer index"),
    ({"groups": GROUPS, "group_sealers": (("group1", ()),)}, "names no sealer"),
    ({"groups": GROUPS, "group_sealers": (("group1", (1, 1)),)}, "twice"),
])
def test_bad_group_options_are_refused_before_anything_is_written(tmp_path: Path, extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_chain(tmp_path / "c", options(**extra))
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("names, message", [(["group0"], "besides group0"), (["group1", "group1"], "twice"),
                                            (["nope"], "group<K>"), ("group1", "list")])
def test_bad_groups_in_config_are_refused(tmp_path: Path, names: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        NodeConfig.loads(f'[node]\nname = "node0"\n[groups]\nnames = {json.dumps(names)}\n')


# --- four real processes -------------------------------------------------------------------------

def committed(url: str, group: int | str, hashes: list[str]) -> bool:
    """Whether every one of hashes has a receipt in group (a 2.x id, or a 3.x name)."""
    selector: list[Any] = [group, ""] if isinstance(group, str) else [group]
    return all(result(url, "getTransactionReceipt", [*selector, h]) is not None for h in hashes)


class GroupCluster(Cluster):
    def __init__(self, root: Path) -> None:  # Cluster's, with the groups
        p2p, rpc_base = free_port_bases(4)
        self.channel_base = free_port_base(4, avoid=set(range(p2p, p2p + 4)) | set(range(rpc_base, rpc_base + 4)))
        self.root = root
        self.chain = build_chain(root, BuildOptions(
            nodes=4, suite="standard", port_base=p2p, rpc_port_base=rpc_base, executor="kv",
            timeout_ms=1000, min_seal_time_ms=50, groups=GROUPS, group_sealers=GROUP1_SEALERS,
            channel_port_base=self.channel_base))
        self.processes = {}


@pytest.mark.integration
@pytest.mark.timeout(150)
def test_two_groups_on_four_processes_commit_apart_and_fail_apart(tmp_path: Path) -> None:
    """group0 (4 sealers) and group1 (nodes 0-2) commit side by side; each group's blocks hold only
    its own transactions; node3, outside group1, holds nothing of it and answers for it with FISCO's
    error; killing node2 takes group1's quorum (3 of 3) while group0 (3 of 4) keeps committing."""
    cluster = GroupCluster(tmp_path / "chain")
    urls = [cluster.url(i) for i in range(4)]
    account = Account.generate("standard")
    cluster.start_all()
    try:
        for i in range(4):
            cluster.wait_rpc(i)
        # by 2.x id and by 3.x name alike
        in0 = send_kv(urls[3], account, 3, "g0", group_id=1)
        in1 = send_kv(urls[0], account, 3, "g1", group_id=2)
        wait_until(lambda: all(committed(urls[i], 1, in0) for i in range(4)), 60, "group0's transactions everywhere")
        wait_until(lambda: all(committed(urls[i], 2, in1) for i in range(3)), 60, "group1's transactions on its three nodes")
        assert all(committed(urls[i], "group1", in1) and committed(urls[i], "group0", in0) for i in range(3))
        # Each group's ledger holds only its own transactions.
        for group, own, other in ((1, in0, in1), (2, in1, in0)):
            head = int(result(urls[0], "getBlockNumber", [group]), 16)
            held = {tx["hash"] for n in range(1, head + 1)
                    for tx in result(urls[0], "getBlockByNumber", [group, hex(n), True])["transactions"]}
            assert set(own) <= held and not set(other) & held
            assert all(result(urls[0], "getTransactionReceipt", [group, h]) is None for h in other)
        # The two groups are two ledgers with their own genesis.
        assert result(urls[0], "getBlockHashByNumber", [1, "0x0"]) != result(urls[0], "getBlockHashByNumber", [2, "0x0"])
        assert result(urls[0], "getGroupList", []) == [1, 2]
        assert result(urls[0], "getGroupList", ["group0", ""])["groupList"] == ["group0", "group1"]
        assert [g["groupID"] for g in result(urls[1], "getGroupInfoList", ["group0", ""])] == ["group0", "group1"]
        assert json.loads(result(urls[1], "getGroupInfo", ["group1"])["genesisConfig"])["sealerList"].__len__() == 3
        assert result(urls[1], "getGroupNodeInfo", ["group1", "node1"])["name"] == "node1"
        ids = {cluster.chain.nodes[i].node_id.hex() for i in range(4)}
        assert set(result(urls[0], "getGroupPeers", [2])) == ids - {cluster.chain.nodes[3].node_id.hex()}
        assert set(result(urls[0], "getGroupPeers", [1])) == ids
        assert set(result(urls[0], "getGroupPeers", ["group1"])) == ids - {cluster.chain.nodes[3].node_id.hex()}
        # node3 is outside group1: no file, no ledger, FISCO's error in both dialects.
        node3 = cluster.chain.nodes[3].directory
        assert not (node3 / "genesis.group1.toml").exists() and not (node3 / "data" / "group1").exists()
        assert result(urls[3], "getGroupList", []) == [1]
        assert rpc(urls[3], "getBlockNumber", [2])["error"]["code"] == -40001
        assert rpc(urls[3], "getBlockNumber", ["group1", ""])["error"] == {"code": -40001, "message": "The group group1 does not exist!"}
        assert rpc(urls[0], "getBlockNumber", [3])["error"]["code"] == -40001
        assert result(urls[3], "queryGroupStatus", [2])["status"] == "INEXISTENT"
        assert result(urls[0], "queryGroupStatus", [2])["status"] == "RUNNING"
        # An SDK on node1's channel port is served group1 as over HTTP, its receipts pushed too.
        with ChannelClient.from_chain_dir(cluster.root, "127.0.0.1", cluster.channel_base + 1) as c:
            channel_serves_group1(c, urls[1])

        # group1's third sealer crashes: group1 cannot reach 3 of 3, group0 still has 3 of 4.
        cluster.kill(2)
        height1 = int(result(urls[0], "getBlockNumber", [2]), 16)
        more0 = send_kv(urls[1], account, 3, "g0-after", group_id=1)
        more1 = send_kv(urls[1], account, 2, "g1-after", group_id=2)
        wait_until(lambda: all(committed(urls[i], 1, more0) for i in (0, 1, 3)), 60, "group0 commits without node2")
        assert int(result(urls[0], "getBlockNumber", [2]), 16) == height1
        assert not committed(urls[0], 2, more1) and not committed(urls[1], 2, more1)
        # node2 comes back: group1 has its quorum again and commits what waited.
        cluster.start(2)
        cluster.wait_rpc(2)
        wait_until(lambda: all(committed(urls[i], 2, more1) for i in range(3)), 60, "group1 commits once node2 is back")
    finally:
        cluster.stop_all()
    # After the stop: node3's data directory holds group0's store only, and group1's stores are separate files.
    assert [p.name for p in (cluster.chain.nodes[3].directory / "data").iterdir() if p.is_dir()] == []
    store = Store(cluster.chain.nodes[0].directory / "data" / "group1" / "chain.db", get_suite("standard"))
    try:
        assert store.head_number() >= 2
    finally:
        store.close()


# --- a node refuses a group that is not its chain's ----------------------------------------------

def test_a_node_refuses_a_group_of_another_chain_and_a_missing_one(tmp_path: Path) -> None:
    from chain.errors import ChainError
    from chain.node.node import Node

    chain = build_chain(tmp_path / "c", options(groups=GROUPS))
    node_dir = chain.nodes[0].directory
    genesis = node_dir / "genesis.group1.toml"
    text = genesis.read_text()
    genesis.write_text(text.replace("chain_id = 1", "chain_id = 9"))
    with pytest.raises(ChainError, match="group1 is on chain 9"):
        Node(node_dir)
    genesis.write_text(text.replace("group_id = 2", "group_id = 7"))
    with pytest.raises(ChainError, match="group1's genesis has group id 7; group1 is group id 2"):
        Node(node_dir)
    assert not (node_dir / "data" / "group1").exists()  # refused before any store was opened
    genesis.unlink()
    with pytest.raises(ConfigError, match="genesis.group1.toml"):
        Node(node_dir)
    genesis.write_text(text)
    node = Node(node_dir)  # group0's store was closed by each refusal: it opens again
    try:
        assert list(node.groups) == ["group0", "group1"] and node.store is node.groups["group0"].store
    finally:
        node._close_stores()


# --- the command ---------------------------------------------------------------------------------

def test_chain_build_groups_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from chain.cli.main import app

    runner = CliRunner()
    built = runner.invoke(app, ["build", "-n", "4", "-s", "standard", "--executor", "kv", "--groups", "group0,group1,group2",
                                "--group-sealers", "group1=0,1,2", "--group-sealers", "group2=1,2,3",
                                "-o", str(tmp_path / "c")])
    assert built.exit_code == 0, built.output
    assert "group1 (2.x group id 2): node0 node1 node2" in built.output
    assert "group2 (2.x group id 3): node1 node2 node3" in built.output
    assert NodeConfig.load(tmp_path / "c" / "node3").group_names == ("group0", "group2")
    for args, message in ((["--group-sealers", "group1=a,b"], "--group-sealers is group<K>=i,j"),
                          (["--group-sealers", "=0"], "--group-sealers is group<K>=i,j"),
                          (["--groups", "group0,group1", "--group-sealers", "group1=9"], "not a sealer index")):
        refused = runner.invoke(app, ["build", "-n", "4", "-s", "standard", *args, "-o", str(tmp_path / "d")])
        assert refused.exit_code != 0 and message in refused.output, refused.output
        assert not (tmp_path / "d").exists()
