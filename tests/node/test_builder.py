"""`chain build`: the directory it writes, refusal to overwrite, certificates and genesis."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from chain.cli.main import app
from chain.crypto.certs import check_issued_by, load_certificate, node_id_of
from chain.crypto.keys import load_private_key
from chain.errors import ConfigError
from chain.ledger.genesis import GenesisConfig, build_genesis
from chain.node.builder import BuildOptions, ListedNode, build_chain, read_nodes
from chain.node.config import NodeConfig

NODE_FILES = {"config.toml", "genesis.toml", "node.key", "node.nodeid", "ca.crt", "ssl.crt", "ssl.key", "start.sh", "stop.sh", "channel.crt", "channel.key"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("chain") / "nodes"
    return build_chain(root, BuildOptions(nodes=4, observers=1, suite="sm", port_base=31000, rpc_port_base=32000))


def test_layout(built) -> None:  # type: ignore[no-untyped-def]
    root: Path = built.directory
    assert sorted(p.name for p in root.iterdir()) == [
        "ca", "genesis.toml", "node0", "node1", "node2", "node3", "node4", "sdk", "start_all.sh", "stop_all.sh",
    ]
    for i in range(5):
        assert {p.name for p in (root / f"node{i}").iterdir()} == NODE_FILES
    assert {p.name for p in (root / "sdk").iterdir()} == {"ca.crt", "admin.key", "genesis.toml", "nodes.toml", "sdk.crt", "sdk.key"}
    assert (root / "node0" / "ssl.key").stat().st_mode & 0o077 == 0  # private keys are owner-only
    assert (root / "start_all.sh").stat().st_mode & 0o100


def test_configs_list_every_other_node_as_peer(built) -> None:  # type: ignore[no-untyped-def]
    for i, node in enumerate(built.nodes):
        config = NodeConfig.load(node.directory)
        assert config.node.name == f"node{i}"
        assert config.network.listen_port == 31000 + i and config.rpc.listen_port == 32000 + i
        assert sorted(config.network.peers) == sorted(f"127.0.0.1:{31000 + j}" for j in range(5) if j != i)


def test_keys_certificates_and_genesis_agree(built) -> None:  # type: ignore[no-untyped-def]
    root: Path = built.directory
    ca = load_certificate((root / "ca" / "ca.crt").read_bytes())
    genesis_text = (root / "genesis.toml").read_text()
    genesis = GenesisConfig.loads(genesis_text)
    assert [n for n, _ in genesis.sealers] == [n.node_id for n in built.nodes[:4]]
    assert genesis.observers == (built.nodes[4].node_id,)
    assert genesis.suite == "sm"
    for node in built.nodes:
        key = load_private_key(node.directory / "node.key")
        assert key.public_key == node.node_id
        cert = load_certificate((node.directory / "ssl.crt").read_bytes())
        check_issued_by(cert, ca)  # chains to the chain CA
        assert node_id_of(cert) == node.node_id  # and names this node's consensus key
        assert (node.directory / "genesis.toml").read_text() == genesis_text  # identical everywhere
    assert (root / "sdk" / "genesis.toml").read_text() == genesis_text
    admin = load_private_key(root / "sdk" / "admin.key")
    assert genesis.admins == (admin.address,)
    build_genesis(genesis)  # the file yields a genesis block


def test_nodes_file_lists_every_node_for_client_tools(built, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert read_nodes(built.directory) == tuple(
        ListedNode(f"node{i}", f"http://127.0.0.1:{32000 + i}", "sealer" if i < 4 else "observer") for i in range(5)
    )
    with pytest.raises(ConfigError, match="not a chain built"):
        read_nodes(tmp_path / "nowhere")
    (tmp_path / "sdk").mkdir()
    for text in ("nodes = []\n", "nodes = 3\n", '[[nodes]]\nname = "node0"\n', "not toml ["):
        (tmp_path / "sdk" / "nodes.toml").write_text(text)
        with pytest.raises(ConfigError, match="not a chain built"):
            read_nodes(tmp_path)


def test_rebuild_is_refused_without_force(built) -> None:  # type: ignore[no-untyped-def]
    before = (built.directory / "genesis.toml").read_text()
    with pytest.raises(ConfigError, match="--force"):
        build_chain(built.directory, BuildOptions(nodes=4, observers=1))
    assert (built.directory / "genesis.toml").read_text() == before


def test_force_replaces_a_chain_but_not_a_foreign_directory(tmp_path: Path) -> None:
    first = build_chain(tmp_path / "c", BuildOptions(nodes=1, suite="standard"))
    second = build_chain(tmp_path / "c", BuildOptions(nodes=1, suite="standard", force=True))
    assert first.nodes[0].node_id != second.nodes[0].node_id
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "precious.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="does not look like a chain"):
        build_chain(tmp_path / "other", BuildOptions(nodes=1, force=True))
    assert (tmp_path / "other" / "precious.txt").exists()


def test_force_refuses_while_a_node_runs_there(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    first = build_chain(tmp_path / "c", BuildOptions(nodes=2, suite="standard"))
    (first.nodes[1].directory / "node.pid").write_text(f"{os.getpid()}\n")  # a live process
    with pytest.raises(ConfigError, match=r"still running .*\(node1\)"):
        build_chain(tmp_path / "c", BuildOptions(nodes=2, suite="standard", force=True))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (first.nodes[1].directory / "node.pid").write_text(gone.stdout)  # a stale pid file, as SIGKILL leaves
    second = build_chain(tmp_path / "c", BuildOptions(nodes=2, suite="standard", force=True))
    assert second.nodes[1].node_id != first.nodes[1].node_id


def test_bad_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        build_chain(tmp_path / "a", BuildOptions(nodes=0))
    with pytest.raises(ConfigError):
        build_chain(tmp_path / "b", BuildOptions(nodes=4, port_base=30300, rpc_port_base=30302))
    with pytest.raises(ConfigError):
        build_chain(tmp_path / "c", BuildOptions(nodes=1, executor="wasm"))


def test_cli_build_and_refusal(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    result = runner.invoke(app, ["build", "-n", "4", "--suite", "standard", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "node3" in result.output and (out / "node3" / "config.toml").exists()
    again = runner.invoke(app, ["build", "-n", "4", "-o", str(out)])
    assert again.exit_code == 1
    assert "--force" in again.output


def test_config_rejects_bad_values() -> None:
    good = NodeConfig.loads('[node]\nname = "node0"\n')
    assert good.network.listen_port == 30300
    for bad in (
        '[node]\nname = "n"\n[network]\nlisten_port = 70000\n',
        '[node]\nname = "n"\n[network]\npeers = ["nohost"]\n',
        '[node]\nname = "n"\n[network]\npeers = ["127.0.0.1:0"]\n',  # port 0 cannot be dialed
        '[node]\nname = "n"\n[network]\npeers = [":30300"]\n',
        '[node]\nname = "n"\n[executor]\nkind = "wasm"\n',
        '[node]\nname = "n"\n[rpc]\nlisten_port = "8545"\n',
        '[node]\nname = "n"\n[mystery]\n',
        '[network]\n',
        'not toml = = =',
    ):
        with pytest.raises(ConfigError):
            NodeConfig.loads(bad)


def test_directories_holding_keys_are_owner_only(built) -> None:  # type: ignore[no-untyped-def]
    """node*/ hold node.key and ssl.key, ca/ the CA key, sdk/ the admin key: 0700, whatever the umask."""
    root: Path = built.directory
    for name in ["ca", "sdk"] + [node.name for node in built.nodes]:
        assert (root / name).stat().st_mode & 0o777 == 0o700, name


def test_rpc_listens_on_loopback_unless_asked(tmp_path: Path) -> None:
    """`--ip` is where peers meet; unauthenticated JSON-RPC stays on 127.0.0.1 (as FISCO's default)."""
    spread = build_chain(tmp_path / "a", BuildOptions(nodes=1, suite="standard", ip="10.1.2.3"))
    config = NodeConfig.load(spread.nodes[0].directory)
    assert (config.network.listen_ip, config.rpc.listen_ip) == ("10.1.2.3", "127.0.0.1")
    assert read_nodes(spread.directory)[0].rpc == f"http://127.0.0.1:{spread.nodes[0].rpc_port}"

    exposed = build_chain(tmp_path / "b", BuildOptions(nodes=1, suite="standard", ip="10.1.2.3", rpc_ip="0.0.0.0"))
    assert NodeConfig.load(exposed.nodes[0].directory).rpc.listen_ip == "0.0.0.0"
    # A wildcard is not an address to dial: client tools use the node's own address.
    assert read_nodes(exposed.directory)[0].rpc == f"http://10.1.2.3:{exposed.nodes[0].rpc_port}"

    with pytest.raises(ConfigError, match="--rpc-ip"):
        build_chain(tmp_path / "c", BuildOptions(nodes=1, suite="standard", rpc_ip="everywhere"))
