"""Genesis: reproducible block 0, its system rows, TOML round trip, and refusing another chain's store."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from chain.crypto.keys import KeyPair
from chain.crypto.suite import CryptoSuite, get_suite
from chain.errors import ConfigError, StoreError
from chain.ledger.block import EMPTY_ROOT
from chain.ledger.genesis import GenesisConfig, build_genesis, is_admin, open_chain
from chain.ledger.state import MemoryState, next_state_root
from chain.ledger.system import consensus_nodes, get_config, get_config_int


def config_for(suite: CryptoSuite, **overrides: object) -> GenesisConfig:
    keys = [KeyPair(suite.name, 1000 + i) for i in range(5)]
    fields: dict[str, object] = dict(
        chain_id=1, group_id=1, suite=suite.name,
        sealers=tuple((k.public_key, 1 + i % 2) for i, k in enumerate(keys[:4])),
        observers=(keys[4].public_key,),
        system_config={"tx_count_limit": "500"},
        admins=(b"\xaa" * 20, b"\xbb" * 20),
    )
    fields.update(overrides)
    return GenesisConfig(**fields)  # type: ignore[arg-type]


def test_two_builds_give_the_same_block(suite: CryptoSuite) -> None:
    block1, changes1 = build_genesis(config_for(suite))
    block2, changes2 = build_genesis(config_for(suite))
    assert block1.encode() == block2.encode()
    assert block1.hash(suite) == block2.hash(suite)
    assert changes1 == changes2


def test_every_defining_field_changes_the_hash(suite: CryptoSuite) -> None:
    base = build_genesis(config_for(suite))[0].hash(suite)
    variants = [
        config_for(suite, chain_id=2), config_for(suite, group_id=2), config_for(suite, timestamp=5),
        config_for(suite, admins=()), config_for(suite, observers=()),
        config_for(suite, system_config={"tx_count_limit": "501"}),
    ]
    hashes = {build_genesis(v)[0].hash(suite) for v in variants}
    assert base not in hashes and len(hashes) == len(variants)


def test_genesis_state_holds_config_nodes_and_admins(suite: CryptoSuite) -> None:
    config = config_for(suite)
    block, changes = build_genesis(config)
    assert block.number == 0 and block.transactions == ()
    assert block.header.parent_hash == EMPTY_ROOT
    assert block.header.state_root == next_state_root(suite, EMPTY_ROOT, changes)
    state = MemoryState()
    state.apply(changes)
    assert get_config_int(state, "tx_count_limit", 0) == 500
    assert get_config(state, "tx_gas_limit", 0) == "300000000"  # default written explicitly
    nodes = consensus_nodes(state, 0)
    assert set(nodes.sealer_ids) == {n for n, _ in config.sealers}
    assert list(nodes.sealer_ids) == sorted(nodes.sealer_ids)
    assert block.header.sealer_list == nodes.sealer_ids
    assert dict(config.sealers)[nodes.sealers[0].node_id] == nodes.weights[0]
    assert [n.node_id for n in nodes.observers] == list(config.observers)
    assert is_admin(state, b"\xaa" * 20) and not is_admin(state, b"\xcc" * 20)


def test_toml_round_trip(tmp_path: Path, suite: CryptoSuite) -> None:
    config = config_for(suite)
    path = tmp_path / "genesis.toml"
    config.dump(path)
    loaded = GenesisConfig.load(path)
    assert loaded == config
    assert build_genesis(loaded)[0].hash(suite) == build_genesis(config)[0].hash(suite)


def test_toml_accepts_integer_config_values_and_default_weight() -> None:
    suite = get_suite("standard")
    node = KeyPair("standard", 7).public_key
    text = f'chain_id = 3\ngroup_id = 4\nsuite = "standard"\n[[sealers]]\nnode_id = "{node.hex()}"\n' \
           '[system_config]\ntx_count_limit = 20\n'
    config = GenesisConfig.loads(text)
    assert config.sealers == ((node, 1),)
    assert config.system_config == {"tx_count_limit": "20"}
    assert build_genesis(config)[0].hash(suite)


@pytest.mark.parametrize("mutation", [
    lambda t: t.replace('suite = "standard"', 'suite = "rsa"'),
    lambda t: t.replace("chain_id = 3", 'chain_id = "three"'),
    lambda t: t.replace("chain_id = 3", "chain_id = -1"),
    lambda t: t.replace("tx_count_limit = 20", "tx_count_lmit = 20"),
    lambda t: t.replace("tx_count_limit = 20", 'tx_count_limit = "lots"'),
    lambda t: t.replace('node_id = "', 'node_id = "zz'),
    lambda t: t.replace('node_id = "', 'node_id = "00'),
    lambda t: t + "colour = 1\n",
    lambda t: t.replace("[[sealers]]", "[[sealers]]\nweight = 0"),
    lambda t: t.replace("group_id = 4\n", ""),
    lambda t: t + "admins = [\"0x1234\"]\n",
    lambda t: t.replace("[[sealers]]", "sealers = 5\n[[x]]"),
    lambda t: "chain_id = = 1",
])
def test_bad_toml_is_a_config_error(mutation) -> None:  # type: ignore[no-untyped-def]
    node = KeyPair("standard", 7).public_key
    text = f'chain_id = 3\ngroup_id = 4\nsuite = "standard"\n[[sealers]]\nnode_id = "{node.hex()}"\n' \
           '[system_config]\ntx_count_limit = 20\n'
    GenesisConfig.loads(text)  # the unmutated text is fine
    with pytest.raises(ConfigError):
        GenesisConfig.loads(mutation(text))


def test_config_checks(suite: CryptoSuite) -> None:
    node = KeyPair(suite.name, 7).public_key
    with pytest.raises(ConfigError):
        config_for(suite, sealers=())
    with pytest.raises(ConfigError):
        config_for(suite, sealers=((node, 1), (node, 1)))
    with pytest.raises(ConfigError):
        config_for(suite, sealers=((node, 1),), observers=(node,))
    with pytest.raises(ConfigError):  # not a point on the curve
        config_for(suite, sealers=((b"\x01" * 64, 1),))
    other = "sm" if suite.name == "standard" else "standard"
    with pytest.raises(ConfigError):  # another suite's key is (almost surely) not on this curve
        config_for(suite, sealers=((KeyPair(other, 7).public_key, 1),))


def test_open_chain_commits_genesis_once_and_refuses_another(tmp_path: Path, suite: CryptoSuite) -> None:
    path = tmp_path / "chain.db"
    config = config_for(suite)
    store = open_chain(path, config)
    genesis, _ = build_genesis(config)
    assert store.head_number() == 0 and store.head() == genesis
    assert get_config_int(store, "tx_count_limit", 1) == 500
    store.close()
    store = open_chain(path, config)  # reopening with the same config: same chain, nothing rewritten
    assert store.head_number() == 0 and store.block_hash(0) == genesis.hash(suite)
    store.close()
    with pytest.raises(StoreError, match="genesis"):
        open_chain(path, replace(config, chain_id=9))
    assert open_chain(":memory:", config).head_number() == 0


def test_lists_and_tuples_make_the_same_config(suite: CryptoSuite) -> None:
    config = config_for(suite)
    as_lists = GenesisConfig(chain_id=1, group_id=1, suite=suite.name, sealers=[list(s) for s in config.sealers],  # type: ignore[arg-type, misc]
                             observers=list(config.observers), system_config=dict(config.system_config),  # type: ignore[arg-type]
                             admins=list(config.admins))  # type: ignore[arg-type]
    assert as_lists == config
    with pytest.raises(ConfigError):
        GenesisConfig(chain_id=1, group_id=1, suite=suite.name, sealers=[b"\x01" * 64])  # type: ignore[list-item]


def test_node_list_encodes_the_same_from_a_list_or_a_generator() -> None:
    """encode_node_list takes any iterable: a one-shot generator must not be consumed by its checks."""
    from chain.ledger.system import ConsensusNode, decode_node_list, encode_node_list

    nodes = [ConsensusNode(bytes([i]) * 64, "sealer", i + 1, 0) for i in (3, 1, 2)]
    raw = encode_node_list(nodes)
    assert encode_node_list(node for node in nodes) == raw
    assert [n.node_id[0] for n in decode_node_list(raw)] == [1, 2, 3]
