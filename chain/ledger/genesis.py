"""The genesis block: the one block every node builds for itself, from the same configuration.

Nodes do not download block 0; each builds it from the chain's genesis configuration, so two nodes
agree on the chain only if they agree on this file. Everything that defines the chain goes in:

* the chain id, group id and crypto suite (written into the header's extra data, so two chains
  that differ only there still have different genesis hashes);
* the consensus node list — sealers with their weights, observers — as the ``s_consensus`` row;
* the initial system configuration as ``s_config`` rows (defaults for every key not given);
* the governance accounts as ``s_admin`` rows (key = 20-byte address, value = b"\\x01");
* a fixed timestamp in Unix epoch ms (from the file, default 0), never the node's clock, so the hash
  is reproducible: ``chain build`` writes the time it built the chain into the file, the simulator
  its fixed genesis epoch.

Every row is enabled from block 0. Block 0 has no transactions; its state root is the state rule
(`next_state_root`) applied to the empty root and these rows.

The TOML form::

    chain_id = 1
    group_id = 1
    suite = "sm"
    timestamp = 0
    admins = ["0x…20 bytes…"]
    observers = ["0x…64 bytes…"]

    [[sealers]]
    node_id = "0x…64 bytes…"
    weight = 1

    [system_config]
    tx_count_limit = "1000"
    tx_gas_limit = "30000000"
    block_gas_limit = "60000000"   # ours: the gas one block's transactions may claim together

    [auth]                         # only on a chain built with --auth (FISCO's -A)
    participates_rate = 0          # percent of the committee's weight that must vote
    win_rate = 0                   # percent of the voted weight that must agree
    proposal_lifetime = 604800     # blocks a proposal stays open (the clients' default interval)
    [[auth.governors]]
    address = "0x…20 bytes…"
    weight = 1

With ``[auth]`` genesis also writes the committee rows (``chain.ledger.committee``) and sets
``auth_check_status`` to 1: the admin list then governs nothing, the committee does. Without it
nothing is written, so chains built before governance existed keep their genesis hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import tomli_w

from chain.crypto.suite import SUITE_NAMES, get_suite
from chain.errors import ConfigError, CryptoError, LedgerError, StoreError
from chain.ledger import codec
from chain.ledger import committee
from chain.ledger.block import EMPTY_ROOT, Block, BlockHeader
from chain.ledger.merkle import merkle_root
from chain.ledger.state import Changes, StateReader, next_state_root
from chain.ledger.store import Store
from chain.ledger.system import (
    AUTH_CHECK_STATUS,
    CONFIG_TABLE,
    CONSENSUS_KEY,
    CONSENSUS_TABLE,
    DEFAULT_CONFIG,
    OBSERVER,
    ROW_ONLY_WHEN_SET,
    SEALER,
    ConsensusNode,
    encode_config_row,
    encode_node_list,
)
from chain.tomlcompat import tomllib

ADMIN_TABLE = "s_admin"
ADMIN_FLAG = b"\x01"
GENESIS_TAG = b"chain-genesis-v1"
NODE_ID_SIZE = 64
ADDRESS_SIZE = 20
MAX_ID = (1 << 64) - 1

# Groups (docs/nodes.md "Groups"): FISCO 3.x names a group ("group0"), 2.x numbers it from 1. Here
# group<K> is 2.x group id K + 1, on every chain: group0 <-> 1, group1 <-> 2, ...
FIRST_GROUP_NAME = "group0"
_GROUP_NAME = re.compile(r"group(0|[1-9][0-9]{0,3})")
MAX_GROUPS = 10_000  # group9999 <-> 10000: the 2.x id must fit FISCO's 15-bit group field


def group_id_of(name: str) -> int:
    """The 2.x group id of a 3.x group name: group<K> -> K + 1; ConfigError for any other name."""
    match = _GROUP_NAME.fullmatch(name) if isinstance(name, str) else None
    # One spelling per group, so a name and an id always select the same ledger.
    if match is None:
        raise ConfigError(f"a group name is group<K> (group0, group1, ...), got {name!r}")
    return int(match.group(1)) + 1


def genesis_group_id(genesis: Block) -> int:
    """The 2.x group id a genesis block names (its extra data, as ``build_genesis`` writes it); LedgerError if not one."""
    fields = codec.decode_list(genesis.header.extra_data, "genesis extra data")
    if len(fields) != 4 or fields[0] != GENESIS_TAG:
        raise LedgerError("block 0 is not a genesis block (extra data without the genesis tag)")
    return codec.as_int(fields[2], "genesis group id", 64)


def group_name_of(group_id: int) -> str:
    """The 3.x group name of a 2.x group id: 1 -> group0, 2 -> group1, ..."""
    if not 1 <= group_id <= MAX_GROUPS:
        raise ConfigError(f"group id {group_id} has no group name (ids run from 1 to {MAX_GROUPS})")
    return f"group{group_id - 1}"


@dataclass(frozen=True)
class AuthGenesis:
    """The committee an auth chain starts with (FISCO 3.x: the initial governors of CommitteeManager)."""

    governors: tuple[tuple[bytes, int], ...]  # (20-byte account address, weight)
    participates_rate: int = 0
    win_rate: int = 0
    proposal_lifetime: int = committee.DEFAULT_PROPOSAL_LIFETIME

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "governors", tuple((bytes(a), w) for a, w in self.governors))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"genesis auth: governors must be (address, weight) pairs: {exc}") from exc
        # Without a governor no proposal could ever be made: the chain could never be governed.
        if not self.governors:
            raise ConfigError("genesis auth needs at least one governor")
        for address, weight in self.governors:
            # Governors are accounts.
            if len(address) != ADDRESS_SIZE:
                raise ConfigError("a governor address must be 20 bytes")
            # A weight is a count of votes (uint32 in FISCO's Committee).
            if not isinstance(weight, int) or isinstance(weight, bool) or not 0 < weight <= committee.MAX_GOVERNOR_WEIGHT:
                raise ConfigError(f"governor weight must be an integer in [1, 2^32), got {weight!r}")
        if len({a for a, _ in self.governors}) != len(self.governors):
            raise ConfigError("a governor is listed twice")
        for name in ("participates_rate", "win_rate"):
            value = getattr(self, name)
            # Rates are percentages.
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= committee.MAX_RATE:
                raise ConfigError(f"genesis auth {name} must be an integer in [0, 100], got {value!r}")
        # A proposal must stay open for at least the block after the one that made it.
        if not isinstance(self.proposal_lifetime, int) or isinstance(self.proposal_lifetime, bool) \
                or not 0 < self.proposal_lifetime <= MAX_ID:
            raise ConfigError(f"genesis auth proposal_lifetime must be a positive integer, got {self.proposal_lifetime!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "participates_rate": self.participates_rate,
            "win_rate": self.win_rate,
            "proposal_lifetime": self.proposal_lifetime,
            "governors": [{"address": "0x" + a.hex(), "weight": w} for a, w in self.governors],
        }

    @classmethod
    def from_dict(cls, data: Any) -> AuthGenesis:
        if not isinstance(data, Mapping):
            raise ConfigError("genesis auth must be a table")
        unknown = set(data) - {"participates_rate", "win_rate", "proposal_lifetime", "governors"}
        if unknown:
            raise ConfigError(f"unknown genesis auth fields: {sorted(unknown)}")
        governors = []
        for entry in _list(data.get("governors", []), "auth.governors"):
            if not isinstance(entry, Mapping) or set(entry) - {"address", "weight"} or "address" not in entry:
                raise ConfigError("each [[auth.governors]] entry needs address and optional weight")
            governors.append((_hex(entry["address"], "auth.governors.address"), entry.get("weight", 1)))
        return cls(
            governors=tuple(governors),
            participates_rate=data.get("participates_rate", 0),
            win_rate=data.get("win_rate", 0),
            proposal_lifetime=data.get("proposal_lifetime", committee.DEFAULT_PROPOSAL_LIFETIME),
        )


@dataclass(frozen=True)
class GenesisConfig:
    chain_id: int
    group_id: int
    suite: str
    sealers: tuple[tuple[bytes, int], ...]  # (64-byte node id, weight)
    observers: tuple[bytes, ...] = ()
    system_config: Mapping[str, str] = field(default_factory=dict)  # overrides of DEFAULT_CONFIG
    admins: tuple[bytes, ...] = ()  # 20-byte governance account addresses
    timestamp: int = 0
    auth: AuthGenesis | None = None  # a committee governs (--auth); the admin list then governs nothing

    def __post_init__(self) -> None:
        # Lists given by a caller become tuples, so equal configs compare equal however they were built.
        try:
            object.__setattr__(self, "sealers", tuple((bytes(n), w) for n, w in self.sealers))
            object.__setattr__(self, "observers", tuple(self.observers))
            object.__setattr__(self, "admins", tuple(self.admins))
            object.__setattr__(self, "system_config", dict(self.system_config))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"genesis: sealers must be (node id, weight) pairs: {exc}") from exc
        # Ids are 64-bit on the wire (transaction.chainId / groupId).
        for name in ("chain_id", "group_id", "timestamp"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ID:
                raise ConfigError(f"genesis {name} must be an integer in [0, 2^64)")
        # The suite decides every hash and signature of the chain.
        if self.suite not in SUITE_NAMES:
            raise ConfigError(f"genesis suite must be one of {list(SUITE_NAMES)}, got {self.suite!r}")
        # PBFT needs someone to vote.
        if not self.sealers:
            raise ConfigError("genesis needs at least one sealer")
        suite = get_suite(self.suite)
        seen: set[bytes] = set()
        for _, weight in self.sealers:
            # A weight is a count of votes.
            if not isinstance(weight, int) or isinstance(weight, bool) or weight <= 0:
                raise ConfigError(f"sealer weight must be a positive integer, got {weight!r}")
        for node_id in [n for n, _ in self.sealers] + list(self.observers):
            # A node id is the node's public key: it must be a point of the chain's curve.
            if not isinstance(node_id, bytes) or len(node_id) != NODE_ID_SIZE:
                raise ConfigError("a node id must be 64 bytes (the node's public key)")
            try:
                suite.check_public_key(node_id)
            except CryptoError as exc:
                raise ConfigError(f"node id {node_id.hex()[:16]}… is not a {self.suite} public key: {exc}") from exc
            # A node has one role and one weight.
            if node_id in seen:
                raise ConfigError(f"node id {node_id.hex()[:16]}… is listed twice")
            seen.add(node_id)
        for key, value in self.system_config.items():
            # Only keys the chain reads; a typo would otherwise be silently ignored.
            if key not in DEFAULT_CONFIG:
                raise ConfigError(f"unknown system config key {key!r}; known: {sorted(DEFAULT_CONFIG)}")
            # Every system config value is a non-negative integer, kept as its decimal text.
            if not isinstance(value, str) or not value.isdigit():
                raise ConfigError(f"system config {key} must be a decimal integer string, got {value!r}")
        for address in self.admins:
            # Governance accounts are account addresses.
            if not isinstance(address, bytes) or len(address) != ADDRESS_SIZE:
                raise ConfigError("an admin address must be 20 bytes")
        if len(set(self.admins)) != len(self.admins):
            raise ConfigError("an admin address is listed twice")
        # auth_check_status follows [auth]: set on its own it would switch checks on without a committee
        if AUTH_CHECK_STATUS in self.system_config:
            raise ConfigError(f"{AUTH_CHECK_STATUS} is set by the [auth] table (build with --auth), not by system_config")

    # --- TOML -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "group_id": self.group_id,
            "suite": self.suite,
            "timestamp": self.timestamp,
            "admins": ["0x" + a.hex() for a in self.admins],
            "observers": ["0x" + n.hex() for n in self.observers],
            "sealers": [{"node_id": "0x" + n.hex(), "weight": w} for n, w in self.sealers],
            "system_config": dict(sorted(self.system_config.items())),
            **({"auth": self.auth.to_dict()} if self.auth is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenesisConfig:
        """Parse the TOML table; every mistake is a ConfigError naming the field."""
        known = {"chain_id", "group_id", "suite", "timestamp", "admins", "observers", "sealers", "system_config", "auth"}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown genesis fields: {sorted(unknown)}")
        for name in ("chain_id", "group_id", "suite", "sealers"):
            if name not in data:
                raise ConfigError(f"genesis is missing {name!r}")
        sealers = []
        for entry in _list(data["sealers"], "sealers"):
            if not isinstance(entry, Mapping) or set(entry) - {"node_id", "weight"} or "node_id" not in entry:
                raise ConfigError("each [[sealers]] entry needs node_id and optional weight")
            sealers.append((_hex(entry["node_id"], "sealers.node_id"), entry.get("weight", 1)))
        system_config = data.get("system_config", {})
        if not isinstance(system_config, Mapping):
            raise ConfigError("system_config must be a table")
        return cls(
            chain_id=data["chain_id"],
            group_id=data["group_id"],
            suite=data["suite"],
            sealers=tuple(sealers),
            observers=tuple(_hex(n, "observers") for n in _list(data.get("observers", []), "observers")),
            # TOML integers are accepted too and kept as their decimal text.
            system_config={k: str(v) if isinstance(v, int) and not isinstance(v, bool) else v
                           for k, v in system_config.items()},
            admins=tuple(_hex(a, "admins") for a in _list(data.get("admins", []), "admins")),
            timestamp=data.get("timestamp", 0),
            auth=AuthGenesis.from_dict(data["auth"]) if "auth" in data else None,
        )

    def dumps(self) -> str:
        return tomli_w.dumps(self.to_dict())

    @classmethod
    def loads(cls, text: str) -> GenesisConfig:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"genesis is not valid TOML: {exc}") from exc
        return cls.from_dict(data)

    def dump(self, path: str | Path) -> None:
        Path(path).write_text(self.dumps(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> GenesisConfig:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read genesis file {path}: {exc}") from exc
        return cls.loads(text)


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"genesis {what} must be a list")
    return value


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise ConfigError(f"genesis {what}: expected a hex string")
    text = value[2:] if value.lower().startswith("0x") else value
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise ConfigError(f"genesis {what}: {value!r} is not hex") from exc


# --- building block 0 -----------------------------------------------------------------------------

def genesis_changes(config: GenesisConfig) -> Changes:
    """The rows block 0 writes: system config, consensus node list, admin accounts, committee."""
    changes: Changes = {}
    written = {k: v for k, v in DEFAULT_CONFIG.items() if k not in ROW_ONLY_WHEN_SET}
    auth = {AUTH_CHECK_STATUS: "1"} if config.auth is not None else {}
    for key, value in sorted({**written, **config.system_config, **auth}.items()):
        changes[(CONFIG_TABLE, key.encode())] = encode_config_row(value, 0)
    nodes = [ConsensusNode(node_id, SEALER, weight, 0) for node_id, weight in config.sealers]
    nodes += [ConsensusNode(node_id, OBSERVER, 0, 0) for node_id in config.observers]
    changes[(CONSENSUS_TABLE, CONSENSUS_KEY)] = encode_node_list(nodes)
    for address in config.admins:
        changes[(ADMIN_TABLE, address)] = ADMIN_FLAG
    if config.auth is not None:
        changes.update(committee.genesis_rows(
            config.auth.governors, config.auth.participates_rate, config.auth.win_rate, config.auth.proposal_lifetime))
    return changes


def build_genesis(config: GenesisConfig) -> tuple[Block, Changes]:
    """Block 0 and its state changes; the same config gives the same bytes on every node."""
    suite = get_suite(config.suite)
    changes = genesis_changes(config)
    empty = merkle_root(suite, [])
    header = BlockHeader(
        parent_hash=EMPTY_ROOT,
        number=0,
        timestamp=config.timestamp,
        sealer=0,
        sealer_list=tuple(sorted(node_id for node_id, _ in config.sealers)),  # index order = s_consensus order
        transactions_root=empty,
        receipts_root=empty,
        state_root=next_state_root(suite, EMPTY_ROOT, changes),
        gas_used=0,
        extra_data=codec.encode([GENESIS_TAG, config.chain_id, config.group_id, config.suite.encode()]),
    )
    return Block(header), changes


def open_chain(path: str | Path, config: GenesisConfig) -> Store:
    """The store at path, with genesis committed if it is new; StoreError if it holds another chain."""
    store = Store(path, get_suite(config.suite))
    block, changes = build_genesis(config)
    if store.head_number() < 0:
        store.commit_block(block, (), changes)
        return store
    stored = store.block_hash(0)
    # Same directory, other genesis: this data belongs to a different chain.
    if stored != block.hash(store.suite):
        store.close()
        raise StoreError(
            f"store {path} holds a chain whose genesis hash is {stored.hex() if stored else None}, "
            f"but this genesis config gives {block.hash(store.suite).hex()}"
        )
    return store


def is_admin(state: StateReader, address: bytes) -> bool:
    """True iff address is a governance account."""
    return state.get(ADMIN_TABLE, address) == ADMIN_FLAG
