"""[web3_rpc] in config.toml: off by default, typed, a chain id EIP-155 can carry."""

from __future__ import annotations

import pytest

from pathlib import Path

from chain.errors import ConfigError
from chain.node.config import NodeConfig


def test_web3_section_round_trips_and_is_off_by_default() -> None:
    assert NodeConfig.loads('[node]\nname = "node0"\n').web3_rpc.enabled is False
    config = NodeConfig.loads('[node]\nname = "n"\n[web3_rpc]\nenabled = true\nlisten_port = 9545\nchain_id = 31337\n')
    assert (config.web3_rpc.enabled, config.web3_rpc.listen_port, config.web3_rpc.chain_id) == (True, 9545, 31337)
    assert NodeConfig.loads(config.dumps()) == config


@pytest.mark.parametrize("body, message", [
    ("enabled = 1", "true or false"),
    ("chain_id = 0", "chain_id"),
    ("listen_port = 70000", "TCP port"),
    ("chain_idd = 5", "unknown keys"),
])
def test_web3_section_refuses_bad_values(body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        NodeConfig.loads(f'[node]\nname = "n"\n[web3_rpc]\n{body}\n')


@pytest.mark.parametrize("options, message", [
    ({"suite": "sm", "web3_port_base": 9545}, "--suite standard"),
    ({"suite": "standard", "web3_port_base": 8545}, "overlaps"),
    ({"suite": "standard", "web3_port_base": 65534}, "no room"),
])
def test_build_refuses_web3_on_sm_and_overlapping_ports(tmp_path: Path, options: dict, message: str) -> None:
    from chain.node.builder import BuildOptions, build_chain
    with pytest.raises(ConfigError, match=message):
        build_chain(tmp_path / "chain", BuildOptions(rpc_port_base=8545, **options))
    assert not (tmp_path / "chain").exists()  # refused before anything is written


def test_build_writes_web3_sections_and_node_list(tmp_path: Path) -> None:
    from chain.node.builder import BuildOptions, build_chain, read_nodes
    chain = build_chain(tmp_path / "chain", BuildOptions(nodes=1, suite="standard", web3_port_base=9545, web3_chain_id=77))
    config = NodeConfig.load(chain.nodes[0].directory)
    assert (config.web3_rpc.enabled, config.web3_rpc.listen_port, config.web3_rpc.chain_id) == (True, 9545, 77)
    assert read_nodes(tmp_path / "chain")[0].web3 == "http://127.0.0.1:9545"
