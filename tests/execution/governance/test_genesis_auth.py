"""Genesis [auth]: the committee an auth chain starts with, its TOML form and its validation."""

from __future__ import annotations

from typing import Any

import pytest

from chain.crypto.suite import get_suite
from chain.errors import ConfigError
from chain.ledger import committee, system
from chain.ledger.genesis import AuthGenesis, GenesisConfig, genesis_changes
from chain.ledger.state import MemoryState

GOVERNOR = bytes.fromhex("11" * 20)
OTHER = bytes.fromhex("22" * 20)


def config(**auth: Any) -> GenesisConfig:
    fields: dict[str, Any] = {"governors": ((GOVERNOR, 2), (OTHER, 1)), "participates_rate": 51, "win_rate": 60,
                              "proposal_lifetime": 50}
    fields.update(auth)
    return GenesisConfig(chain_id=1, group_id=1, suite="standard",
                         sealers=((get_suite("standard").public_key(7), 1),), auth=AuthGenesis(**fields))


def test_auth_genesis_writes_the_committee_and_round_trips() -> None:
    genesis = config()
    assert GenesisConfig.loads(genesis.dumps()) == genesis
    state = MemoryState(genesis_changes(genesis))
    assert committee.committee(state) == committee.Committee(((GOVERNOR, 2), (OTHER, 1)), 51, 60)
    assert committee.proposal_lifetime(state) == 50
    assert system.get_config(state, system.AUTH_CHECK_STATUS, 0) == "1"


def test_a_chain_without_auth_writes_no_committee() -> None:
    plain = GenesisConfig(chain_id=1, group_id=1, suite="standard", sealers=((get_suite("standard").public_key(7), 1),))
    state = MemoryState(genesis_changes(plain))
    assert not committee.is_auth_chain(state)
    assert "auth" not in plain.to_dict()  # files written before governance existed read back the same
    assert system.get_config(state, system.AUTH_CHECK_STATUS, 0) == "0"


@pytest.mark.parametrize("auth, message", [
    ({"governors": ()}, "at least one governor"),
    ({"governors": ((GOVERNOR, 0),)}, "weight"),
    ({"governors": ((GOVERNOR, 1 << 32),)}, "weight"),
    ({"governors": ((b"\x01" * 19, 1),)}, "20 bytes"),
    ({"governors": ((GOVERNOR, 1), (GOVERNOR, 2))}, "twice"),
    ({"participates_rate": 101}, "participates_rate"),
    ({"win_rate": -1}, "win_rate"),
    ({"proposal_lifetime": 0}, "proposal_lifetime"),
])
def test_bad_auth_genesis_is_refused(auth: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(**auth)


def test_auth_check_status_follows_the_auth_table() -> None:
    with pytest.raises(ConfigError, match="auth"):
        GenesisConfig(chain_id=1, group_id=1, suite="standard", sealers=((get_suite("standard").public_key(7), 1),),
                      system_config={"auth_check_status": "1"})
    with pytest.raises(ConfigError, match="unknown genesis auth fields"):
        GenesisConfig.from_dict({**config().to_dict(), "auth": {"governors": [], "quorum": 3}})


def test_chain_build_auth_writes_a_committee(tmp_path: Any) -> None:
    from chain.crypto.keys import load_private_key
    from chain.node.builder import BuildOptions, build_chain

    built = build_chain(tmp_path / "nodes", BuildOptions(
        nodes=1, suite="standard", auth=True, governor_weights=(2, 1), participates_rate=60, win_rate=50,
        proposal_lifetime=30, genesis_time_ms=0, port_base=41000, rpc_port_base=42000))
    auth = built.genesis.auth
    assert auth is not None and [w for _, w in auth.governors] == [2, 1] and built.genesis.admins == ()
    assert (auth.participates_rate, auth.win_rate, auth.proposal_lifetime) == (60, 50, 30)
    keys = [tmp_path / "nodes" / "sdk" / name for name in ("admin.key", "governor1.key")]
    assert [load_private_key(k).address for k in keys] == [a for a, _ in auth.governors]
    assert GenesisConfig.load(tmp_path / "nodes" / "node0" / "genesis.toml") == built.genesis
    with pytest.raises(ConfigError, match="win_rate"):
        build_chain(tmp_path / "bad", BuildOptions(nodes=1, suite="standard", auth=True, win_rate=101))
    assert not (tmp_path / "bad").exists()  # refused before anything was written
