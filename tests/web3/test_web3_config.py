"""[web3_rpc] in config.toml: off by default, typed, a chain id EIP-155 can carry."""

from __future__ import annotations

import pytest

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
