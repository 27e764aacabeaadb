"""A node's ``config.toml``: where it listens, whom it dials, where it keeps its files.

What the *chain* is (ids, suite, node list, system config) lives in ``genesis.toml`` and is the
same for every node; ``config.toml`` holds only what differs from node to node. Relative paths are
relative to the node directory, so a chain directory can be moved or copied to another machine.

    [node]
    name = "node0"
    key_file = "node.key"          # consensus key (chain.crypto.keys PEM)
    genesis = "genesis.toml"
    form = "pro"                   # only in a Pro node (docs/nodes.md "Pro form"); absent: "air"

    [network]
    listen_ip = "127.0.0.1"
    listen_port = 30300
    peers = ["127.0.0.1:30301", "127.0.0.1:30302"]
    max_frame_bytes = 33554433

    [tls]
    ca_cert = "ca.crt"
    cert = "ssl.crt"
    key = "ssl.key"

    [rpc]
    listen_ip = "127.0.0.1"        # no authentication: beyond loopback the node logs a warning
    listen_port = 8545

    [channel]                      # FISCO's channel port for SDKs (chain.channel), mutual TLS
    listen_ip = "127.0.0.1"
    listen_port = 20200            # 0: the OS picks one (the node logs it)
    ca_cert = "ca.crt"
    cert = "channel.crt"           # secp256k1, as FISCO 2.x SDKs require (chain.channel.tls)
    key = "channel.key"

    [storage]
    path = "data/chain.db"

    [executor]
    kind = "evm"                   # or "kv", the key/value stand-in, or "dmc" (parallel contracts)
    workers = 0                    # dmc: worker processes (0: in the node's process)

    [consensus]
    timeout_ms = 3000
    min_seal_time_ms = 500         # longest gather: behind a block in flight, or for the last block's size
    seal_when_idle = true          # false: always wait min_seal_time (a lesson)
    tree_width = 0                 # >= 2: proposals go down a tree of this width (FISCO 2.x rPBFT), 0: to everyone
    pipeline = true                # order the next block while this one is checkpointed (false: one at a time)

    [log]
    level = "info"
    file = "node.log"

    [groups]                       # only on a chain built with --groups (docs/nodes.md "Groups")
    names = ["group1"]             # groups besides group0 this node serves: each has its genesis in
                                   # genesis.<name>.toml and its store in data/<name>/chain.db
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import tomli_w

from chain.errors import ChainError, ConfigError, NetworkError
from chain.execution.kinds import EXECUTOR_KINDS
from chain.ledger.genesis import FIRST_GROUP_NAME, GenesisConfig, group_id_of
from chain.network.framing import MAX_FRAME_SIZE
from chain.network.host import NetworkConfig, parse_endpoint
from chain.network.tls import TlsFiles
from chain.tomlcompat import tomllib

if TYPE_CHECKING:
    from _typeshed import DataclassInstance  # a class with __dataclass_fields__

CONFIG_FILE = "config.toml"
LOG_LEVELS = ("debug", "info", "warning", "error")
FORMS = ("air", "pro")  # FISCO 3.x's forms built here (docs/architecture.md "Forms")


@dataclass(frozen=True)
class NodeSection:
    name: str
    key_file: str = "node.key"
    genesis: str = "genesis.toml"
    form: str = "air"  # "pro": gateway, rpc and one core per group in processes of their own (docs/nodes.md)


@dataclass(frozen=True)
class NetworkSection:
    listen_ip: str = "127.0.0.1"
    listen_port: int = 30300
    peers: tuple[str, ...] = ()
    max_frame_bytes: int = MAX_FRAME_SIZE


@dataclass(frozen=True)
class TlsSection:
    ca_cert: str = "ca.crt"
    cert: str = "ssl.crt"
    key: str = "ssl.key"


@dataclass(frozen=True)
class RpcSection:
    listen_ip: str = "127.0.0.1"
    listen_port: int = 8545


@dataclass(frozen=True)
class Web3RpcSection:
    """The Ethereum JSON-RPC endpoint (chain.web3), FISCO 3.x's [web3_rpc]; off unless enabled."""

    enabled: bool = False
    listen_ip: str = "127.0.0.1"
    listen_port: int = 8545
    chain_id: int = 20200  # FISCO 3.x's default web3_chain_id; what eth_chainId answers and txs must carry


@dataclass(frozen=True)
class ChannelSection:
    listen_ip: str = "127.0.0.1"
    listen_port: int = 0
    ca_cert: str = "ca.crt"
    cert: str = "channel.crt"
    key: str = "channel.key"


@dataclass(frozen=True)
class StorageSection:
    path: str = "data/chain.db"


@dataclass(frozen=True)
class ExecutorSection:
    kind: str = "evm"
    workers: int = 0  # dmc only: worker processes running contracts in parallel (0: none, in-process)


@dataclass(frozen=True)
class ConsensusSection:
    timeout_ms: int = 3000
    min_seal_time_ms: int = 500  # the longest gather (proposal.maybe_seal), always waited if seal_when_idle is false
    seal_when_idle: bool = True
    tree_width: int = 0  # ReplicaConfig.tree_width: FISCO 2.x broadcast_prepare_by_tree (0: straight to everyone)
    pipeline: bool = True  # ReplicaConfig.pipeline (chain.consensus.pbft.pipeline)


@dataclass(frozen=True)
class LogSection:
    level: str = "info"
    file: str = "node.log"


@dataclass(frozen=True)
class GroupsSection:
    """The groups this node serves besides group0 (which every node of a chain serves: its files are
    [node] genesis and [storage] path, as on a chain without groups). Like FISCO 2.x's
    ``conf/group.N.genesis`` and ``data/groupN``, each group's files sit beside group0's, named after it."""

    names: tuple[str, ...] = ()


def group_genesis_file(config: NodeConfig, name: str) -> str:
    """The genesis file of group `name`, relative to the node directory."""
    return config.node.genesis if name == FIRST_GROUP_NAME else f"genesis.{name}.toml"


def group_store_path(config: NodeConfig, name: str) -> str:
    """The SQLite file of group `name`, relative to the node directory: its own, never shared."""
    if name == FIRST_GROUP_NAME:
        return config.storage.path
    return str(Path(config.storage.path).parent / name / "chain.db")


def check_groups(directory: Path, config: NodeConfig, names: Sequence[str]) -> None:
    """Refuse, before any store is opened, a group that is not of this chain or not the group its name says."""
    first = GenesisConfig.load(directory / group_genesis_file(config, FIRST_GROUP_NAME))
    for name in names[1:]:
        genesis = GenesisConfig.load(directory / group_genesis_file(config, name))
        # Every group is this one chain: the same chain id and suite (the hello names only group0's).
        if (genesis.chain_id, genesis.suite) != (first.chain_id, first.suite):
            raise ChainError(f"{name} is on chain {genesis.chain_id} ({genesis.suite}), "
                             f"not group0's chain {first.chain_id} ({first.suite})")
        # group<K> is 2.x group id K + 1: a name and an id must select the same ledger.
        if genesis.group_id != group_id_of(name):
            raise ChainError(f"{name}'s genesis has group id {genesis.group_id}; {name} is group id {group_id_of(name)}")
    # (group0's id is whatever its genesis says, as before groups; with others it is 1)
    if len(names) > 1 and first.group_id != group_id_of(FIRST_GROUP_NAME):
        raise ChainError(f"group0's genesis has group id {first.group_id}; with other groups it is 1")


@dataclass(frozen=True)
class NodeConfig:
    node: NodeSection
    network: NetworkSection = field(default_factory=NetworkSection)
    tls: TlsSection = field(default_factory=TlsSection)
    rpc: RpcSection = field(default_factory=RpcSection)
    channel: ChannelSection = field(default_factory=ChannelSection)
    web3_rpc: Web3RpcSection = field(default_factory=Web3RpcSection)
    storage: StorageSection = field(default_factory=StorageSection)
    executor: ExecutorSection = field(default_factory=ExecutorSection)
    consensus: ConsensusSection = field(default_factory=ConsensusSection)
    log: LogSection = field(default_factory=LogSection)
    groups: GroupsSection = field(default_factory=GroupsSection)

    @property
    def group_names(self) -> tuple[str, ...]:
        """Every group this node serves, group0 first."""
        return (FIRST_GROUP_NAME, *self.groups.names)

    def __post_init__(self) -> None:
        # A form is one of FISCO's that this project builds; anything else is a typo.
        if self.node.form not in FORMS:
            raise ConfigError(f"node.form must be one of {list(FORMS)}, got {self.node.form!r}")
        # Ports are TCP ports (0 lets the OS choose, which tests use).
        for what, port in (("network.listen_port", self.network.listen_port), ("rpc.listen_port", self.rpc.listen_port),
                           ("channel.listen_port", self.channel.listen_port),
                           ("web3_rpc.listen_port", self.web3_rpc.listen_port)):
            if not 0 <= port < 65536:
                raise ConfigError(f"{what} must be a TCP port, got {port}")
        # Each peer is dialed, so it must be an address we can parse.
        for peer in self.network.peers:
            try:
                parse_endpoint(peer)  # the very rule the host dials by
            except NetworkError:
                raise ConfigError(f"network.peers: {peer!r} is not ip:port") from None
        # An EIP-155 chain id must fit the 64 bits clients sign it in, and 0 means "no chain".
        if not 0 < self.web3_rpc.chain_id < 1 << 64:
            raise ConfigError(f"web3_rpc.chain_id must be in 1 .. 2^64-1, got {self.web3_rpc.chain_id}")
        # Frames above 64 MiB would let one peer pin a lot of memory; below 1 KiB nothing fits.
        if not 1024 <= self.network.max_frame_bytes <= 64 * 1024 * 1024:
            raise ConfigError("network.max_frame_bytes must be between 1 KiB and 64 MiB")
        # The executor decides every state root: all nodes of a chain must run the same one.
        if self.executor.kind not in EXECUTOR_KINDS:
            raise ConfigError(f"executor.kind must be one of {list(EXECUTOR_KINDS)}, got {self.executor.kind!r}")
        # each worker is a process with its own interpreter: a handful per core is the most that helps
        if not 0 <= self.executor.workers <= 64:
            raise ConfigError(f"executor.workers must be between 0 and 64, got {self.executor.workers}")
        if self.log.level not in LOG_LEVELS:
            raise ConfigError(f"log.level must be one of {list(LOG_LEVELS)}, got {self.log.level!r}")
        # A PBFT round needs some time; zero would spin view changes.
        if self.consensus.timeout_ms < 100 or self.consensus.min_seal_time_ms < 0:
            raise ConfigError("consensus.timeout_ms must be >= 100 and min_seal_time_ms >= 0")
        if self.consensus.tree_width not in (0, *range(2, 65)):  # a width of 1 is a chain, not a tree
            raise ConfigError(f"consensus.tree_width must be 0 (off) or between 2 and 64, got {self.consensus.tree_width}")
        for name in self.groups.names:
            group_id_of(name)  # group<K>: the name maps to one 2.x id (ConfigError otherwise)
            # group0 is every node's and has its own files ([node] genesis, [storage] path).
            if name == FIRST_GROUP_NAME:
                raise ConfigError("groups.names lists the groups besides group0, which every node serves")
        # One group, one ledger: listing it twice would open its store twice.
        if len(set(self.groups.names)) != len(self.groups.names):
            raise ConfigError(f"groups.names lists a group twice: {list(self.groups.names)}")

    # --- TOML -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["network"]["peers"] = list(self.network.peers)
        if self.node.form == "air":  # an Air node writes the config it always wrote
            del data["node"]["form"]
        if self.groups.names:
            data["groups"]["names"] = list(self.groups.names)
        else:  # a chain without groups writes the config it always wrote
            del data["groups"]
        return data

    def dumps(self) -> str:
        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NodeConfig:
        sections: dict[str, type[DataclassInstance]] = {
            "node": NodeSection, "network": NetworkSection, "tls": TlsSection, "rpc": RpcSection, "channel": ChannelSection,
            "web3_rpc": Web3RpcSection,
            "storage": StorageSection, "executor": ExecutorSection, "consensus": ConsensusSection,
            "log": LogSection, "groups": GroupsSection,
        }
        unknown = set(data) - set(sections)
        if unknown:
            raise ConfigError(f"unknown config sections: {sorted(unknown)}")
        if "node" not in data:
            raise ConfigError("config needs a [node] section with the node name")
        built: dict[str, Any] = {}
        for name, section in sections.items():
            values = data.get(name, {})
            if not isinstance(values, Mapping):
                raise ConfigError(f"[{name}] must be a table")
            fields = section.__dataclass_fields__
            extra = set(values) - set(fields)
            if extra:
                raise ConfigError(f"unknown keys in [{name}]: {sorted(extra)}")
            typed: dict[str, Any] = {}
            for key, value in values.items():
                expected = fields[key].type
                if key == "peers":
                    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
                        raise ConfigError("network.peers must be a list of \"ip:port\" strings")
                    value = tuple(value)
                elif key == "names":
                    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
                        raise ConfigError("groups.names must be a list of group names (\"group1\", ...)")
                    value = tuple(value)
                elif expected in ("bool", bool) and not isinstance(value, bool):
                    raise ConfigError(f"{name}.{key} must be true or false")
                elif expected in ("int", int) and (not isinstance(value, int) or isinstance(value, bool)):
                    raise ConfigError(f"{name}.{key} must be an integer")
                elif expected in ("str", str) and not isinstance(value, str):
                    raise ConfigError(f"{name}.{key} must be a string")
                typed[key] = value
            try:
                built[name] = section(**typed)
            except TypeError as exc:
                raise ConfigError(f"[{name}]: {exc}") from exc
        return cls(**built)

    @classmethod
    def loads(cls, text: str) -> NodeConfig:
        try:
            return cls.from_dict(tomllib.loads(text))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config is not valid TOML: {exc}") from exc

    @classmethod
    def load(cls, node_dir: str | Path) -> NodeConfig:
        path = Path(node_dir) / CONFIG_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        return cls.loads(text)

    def dump(self, node_dir: str | Path) -> None:
        (Path(node_dir) / CONFIG_FILE).write_text(self.dumps(), encoding="utf-8")


def p2p_settings(config: NodeConfig, directory: Path) -> tuple[TlsFiles, NetworkConfig]:
    """The TLS files and network settings a node's P2P host runs with (the Air node and the Pro gateway alike)."""
    tls = TlsFiles(directory / config.tls.ca_cert, directory / config.tls.cert, directory / config.tls.key)
    network = NetworkConfig(
        listen_ip=config.network.listen_ip,
        listen_port=config.network.listen_port,
        peers=config.network.peers,
        max_frame_size=config.network.max_frame_bytes,
    )
    return tls, network
