"""The chain builder: one command from nothing to a directory of runnable nodes (FISCO's build_chain.sh).

    DIR/
      ca/ca.crt, ca/ca.key        the chain CA (keep ca.key away from the nodes)
      genesis.toml                the chain: ids, suite, sealers and weights, observers, admin
      sdk/                        what client tools need: ca.crt, admin.key, genesis.toml, nodes.toml,
                                  sdk.crt + sdk.key (the channel port's client certificate)
      node0/ … nodeN/             one per node:
        config.toml               listen address, peers, ports, storage, executor, log
        genesis.toml              a copy of DIR/genesis.toml (a node directory is self-contained)
        node.key                  consensus key (chain.crypto.keys PEM); its public key is the node id
        node.nodeid               the node id in hex, for people
        ca.crt, ssl.crt, ssl.key  TLS: chain CA, this node's certificate (naming its node id), key
        channel.crt, channel.key  TLS of the SDK channel port (secp256k1, chain.channel.tls)
        start.sh, stop.sh
      start_all.sh, stop_all.sh

With ``groups`` (``chain build --groups group0,group1``), each group besides group0 gets its own
genesis, ``DIR/genesis.<group>.toml`` (2.x group id K + 1 for group<K>; by default every sealer
seals it, ``group_sealers`` picks others), copied into ``sdk/`` and into the directory of each node
of the group only, whose ``config.toml`` lists it under ``[groups] names`` (docs/nodes.md "Groups").

``n`` sealers come first (node0 … node{n-1}), then ``observers`` observer nodes. Node i listens for
P2P on ``ip:port_base + i`` and for JSON-RPC on ``rpc_ip:rpc_port_base + i``. Every node lists every
other as a peer. SDKs connect to node i's channel port ``rpc_ip:channel_port_base + i`` (FISCO's
20200; when ``channel_port_base`` is None the OS picks one at start, which programs that build
throw-away chains use). Building into a directory that already holds a chain is refused unless ``force``.

JSON-RPC has no authentication (as in FISCO BCOS, whose ``jsonrpc_listen_ip`` defaults to
127.0.0.1), so it listens on loopback unless ``rpc_ip`` says otherwise, whatever ``ip`` the peers
use. Node, CA and SDK directories hold private keys: they are created owner-only (0700).
"""

from __future__ import annotations

import ipaddress
import shlex
import shutil
import stat
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import tomli_w

from chain.channel.client import ChannelEndpoint
from chain.crypto.certs import generate_ca, issue_channel_certificate, issue_node_certificate, write_private
from chain.crypto.keys import KeyPair, save_private_key
from chain.crypto.suite import SUITE_NAMES
from chain.errors import ConfigError
from chain.ledger.committee import DEFAULT_PROPOSAL_LIFETIME
from chain.ledger.genesis import FIRST_GROUP_NAME, AuthGenesis, GenesisConfig, group_id_of
from chain.ledger.system import FEATURE_RPBFT, RPBFT_EPOCH_BLOCK_NUM, RPBFT_EPOCH_SEALER_NUM
from chain.node.config import (
    FORMS,
    ChannelSection,
    ConsensusSection,
    ExecutorSection,
    GroupsSection,
    NetworkSection,
    NodeConfig,
    NodeSection,
    RpcSection,
    Web3RpcSection,
)
from chain.node.pro_process import running_pids, service_name
from chain.node.process import PID_FILE
from chain.tomlcompat import tomllib

GENESIS_FILE = "genesis.toml"
NODES_FILE = "sdk/nodes.toml"  # the node list client tools read (console, bench tps)


@dataclass(frozen=True)
class BuildOptions:
    nodes: int = 4
    suite: str = "sm"
    ip: str = "127.0.0.1"  # P2P: where peers reach each other
    rpc_ip: str = "127.0.0.1"  # JSON-RPC: unauthenticated, so loopback unless asked
    port_base: int = 30300
    rpc_port_base: int = 8545
    channel_port_base: int | None = None  # None: each node's OS picks (the `chain build` command says 20200)
    web3_port_base: int | None = None  # the Ethereum JSON-RPC endpoint (chain.web3): None = off
    web3_chain_id: int = 20200  # what eth_chainId answers and Ethereum transactions must be signed for
    observers: int = 0
    chain_id: int = 1
    group_id: int = 1
    executor: str = "evm"
    executor_workers: int = 0  # dmc: worker processes per node
    timeout_ms: int = 3000
    min_seal_time_ms: int = 500
    force: bool = False
    genesis_time_ms: int | None = None  # the genesis block's timestamp (Unix epoch ms); None: now
    # --auth (FISCO's -A): a committee governs. Governor 0 is sdk/admin.key, the others sdk/governor<i>.key.
    auth: bool = False
    governor_weights: tuple[int, ...] = (1,)  # one weight per governor
    participates_rate: int = 0
    win_rate: int = 0
    proposal_lifetime: int = DEFAULT_PROPOSAL_LIFETIME
    # --consensus rpbft: per epoch of epoch_blocks blocks only epoch_sealers working sealers vote
    # (chain.consensus.pbft.rpbft); written into genesis as FISCO 3.x's feature_rpbft system configs.
    consensus: str = "pbft"
    epoch_sealers: int = 4
    epoch_blocks: int = 1000
    # Groups: group0 is every node's; each other group listed has its own genesis, sealed by the
    # sealers group_sealers names for it (indices of the -n sealers), by all of them if it names none.
    groups: tuple[str, ...] = (FIRST_GROUP_NAME,)
    group_sealers: tuple[tuple[str, tuple[int, ...]], ...] = ()
    # "pro": each node runs a gateway, an rpc and one core per group as processes of their own
    # (docs/nodes.md "Pro form"); "air": one process per node, as always.
    form: str = "air"


def group_genesis_name(group: str) -> str:
    """The file a group's genesis is written to (group0's is GENESIS_FILE, as on a chain without groups)."""
    return GENESIS_FILE if group == FIRST_GROUP_NAME else f"genesis.{group}.toml"


def group_members(options: BuildOptions) -> dict[str, tuple[int, ...]]:
    """Every group of the chain with the indices of its nodes (its sealers; group0: every node)."""
    chosen = dict(options.group_sealers)
    members = {FIRST_GROUP_NAME: tuple(range(options.nodes + options.observers))}
    for group in options.groups[1:]:
        members[group] = tuple(sorted(chosen.get(group, range(options.nodes))))
    return members


@dataclass(frozen=True)
class BuiltNode:
    name: str
    directory: Path
    node_id: bytes
    role: str  # "sealer" or "observer"
    p2p_port: int
    rpc_port: int


@dataclass(frozen=True)
class ListedNode:
    """A node as ``sdk/nodes.toml`` lists it for client tools: where its JSON-RPC answers."""

    name: str
    rpc: str  # "http://ip:port"
    role: str = "sealer"  # or "observer"
    channel: str | None = None  # "ip:port" of its SDK channel port (chain.channel), when the build fixed one
    web3: str | None = None  # "http://ip:port" of its Ethereum JSON-RPC endpoint (chain.web3), when enabled
    groups: tuple[str, ...] = (FIRST_GROUP_NAME,)  # the groups it serves (a chain built with --groups lists them)


@dataclass(frozen=True)
class BuiltChain:
    directory: Path
    genesis: GenesisConfig
    nodes: tuple[BuiltNode, ...]
    admin_address: bytes


def _check_groups(options: BuildOptions) -> None:
    # group0 is the chain every node serves (RPC, channel and web3 default to it): it comes first.
    if not options.groups or options.groups[0] != FIRST_GROUP_NAME:
        raise ConfigError(f"--groups must start with {FIRST_GROUP_NAME}, every node's group")
    for group in options.groups:
        group_id_of(group)  # group<K> only: the name fixes the 2.x id
    if len(set(options.groups)) != len(options.groups):
        raise ConfigError(f"--groups lists a group twice: {','.join(options.groups)}")
    # group<K> is 2.x group id K + 1 everywhere: group0's id cannot be another number.
    if len(options.groups) > 1 and options.group_id != 1:
        raise ConfigError("--group-id cannot be combined with --groups: group<K> has 2.x group id K + 1")
    named = [group for group, _ in options.group_sealers]
    for group, sealers in options.group_sealers:
        if group == FIRST_GROUP_NAME:
            raise ConfigError("group0's sealers are the chain's -n sealers; --group-sealers is for the other groups")
        if group not in options.groups:
            raise ConfigError(f"--group-sealers names {group}, which --groups does not list")
        # A group needs a sealer to make blocks, and only the chain's sealers have keys to seal with.
        if not sealers:
            raise ConfigError(f"--group-sealers {group}= names no sealer")
        for index in sealers:
            if not 0 <= index < options.nodes:
                raise ConfigError(f"--group-sealers {group}: {index} is not a sealer index (0 .. {options.nodes - 1})")
        if len(set(sealers)) != len(sealers):
            raise ConfigError(f"--group-sealers {group} names a sealer twice")
    if len(set(named)) != len(named):
        raise ConfigError("--group-sealers names a group twice")


def _check_options(options: BuildOptions) -> None:
    _check_groups(options)
    # PBFT tolerates f faults with 3f+1 sealers; fewer than one sealer cannot make blocks at all.
    if options.nodes < 1:
        raise ConfigError("a chain needs at least one sealer (-n 4 tolerates one faulty node)")
    if options.observers < 0:
        raise ConfigError("the number of observers cannot be negative")
    # rPBFT needs whole epochs and at least one working sealer; anything else is a typo, not PBFT
    if options.consensus not in ("pbft", "rpbft") or options.epoch_sealers < 1 or options.epoch_blocks < 1:
        raise ConfigError("--consensus must be pbft or rpbft, --epoch-sealers and --epoch-blocks at least 1")
    if options.auth:  # the committee's rules (weights, rates, lifetime), checked before anything is written
        AuthGenesis(governors=tuple((bytes([i + 1]) * 20, w) for i, w in enumerate(options.governor_weights)),
                    participates_rate=options.participates_rate, win_rate=options.win_rate,
                    proposal_lifetime=options.proposal_lifetime)
    # JSON-RPC binds this address and client tools dial it: it must be an IP address.
    try:
        ipaddress.ip_address(options.rpc_ip)
    except ValueError:
        raise ConfigError(f"--rpc-ip must be an IP address (127.0.0.1 by default), got {options.rpc_ip!r}") from None
    if options.form not in FORMS:
        raise ConfigError(f"--form must be one of {', '.join(FORMS)}, got {options.form!r}")
    if options.suite not in SUITE_NAMES:
        raise ConfigError(f"unknown suite {options.suite!r}; choose from {list(SUITE_NAMES)}")
    total = options.nodes + options.observers
    # Every node needs its own P2P and RPC port, and the two ranges must not overlap.
    for what, base in (("port base", options.port_base), ("rpc port base", options.rpc_port_base)):
        if not 1 <= base or base + total > 65536:
            raise ConfigError(f"{what} {base} leaves no room for {total} nodes")
    p2p = set(range(options.port_base, options.port_base + total))
    if p2p & set(range(options.rpc_port_base, options.rpc_port_base + total)):
        raise ConfigError("P2P and RPC port ranges overlap")
    if options.channel_port_base is not None:
        channel = set(range(options.channel_port_base, options.channel_port_base + total))
        # Each node's channel port must be a port of its own.
        if not 1 <= options.channel_port_base or options.channel_port_base + total > 65536:
            raise ConfigError(f"channel port base {options.channel_port_base} leaves no room for {total} nodes")
        if channel & (p2p | set(range(options.rpc_port_base, options.rpc_port_base + total))):
            raise ConfigError("the channel port range overlaps the P2P or RPC range")
    if options.web3_port_base is not None:
        # Ethereum tools sign secp256k1 and hash keccak: an sm chain could verify nothing they send.
        if options.suite != "standard":
            raise ConfigError("--web3 needs --suite standard: Ethereum tools cannot sign or hash for an sm chain")
        web3 = set(range(options.web3_port_base, options.web3_port_base + total))
        # Each node's web3 port must be a port of its own.
        if not 1 <= options.web3_port_base or options.web3_port_base + total > 65536:
            raise ConfigError(f"web3 port base {options.web3_port_base} leaves no room for {total} nodes")
        taken = p2p | set(range(options.rpc_port_base, options.rpc_port_base + total))
        if options.channel_port_base is not None:
            taken |= set(range(options.channel_port_base, options.channel_port_base + total))
        if web3 & taken:
            raise ConfigError("the web3 port range overlaps the P2P, RPC or channel range")


def _prepare_directory(directory: Path, force: bool) -> None:
    if directory.exists() and any(directory.iterdir()):
        # Never overwrite keys by accident: a second run would create a different chain.
        if not force:
            raise ConfigError(f"{directory} already holds files; use --force to replace the chain there")
        # --force only replaces what looks like a chain we built, never an arbitrary directory.
        if not (directory / GENESIS_FILE).exists():
            raise ConfigError(f"{directory} is not empty and does not look like a chain directory; refusing to delete it")
        running = [node_dir for node_dir in sorted(directory.glob("node*")) if running_pids(node_dir)]
        if running:
            raise ConfigError(f"nodes are still running in {directory} ({running[0].name}); stop them first")
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)


def _private_dir(path: Path) -> Path:
    """A new directory only its owner can enter (it will hold private keys)."""
    path.mkdir(mode=0o700)
    path.chmod(0o700)  # mkdir's mode is filtered by the umask; the key directories must not be
    return path


def _client_host(options: BuildOptions) -> str:
    """Where a client on this machine reaches a node's JSON-RPC (a wildcard listen address is not one)."""
    host = options.ip if options.rpc_ip in ("0.0.0.0", "::") else options.rpc_ip
    return f"[{host}]" if ":" in host else host  # an IPv6 address is bracketed in a URL


def _channel_port(options: BuildOptions, i: int) -> int:
    return 0 if options.channel_port_base is None else options.channel_port_base + i


def _write_script(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _node_start_script(python: str) -> str:
    return f"""#!/usr/bin/env bash
# Start this node in the background; its pid goes to {PID_FILE}, its log to node.log.
cd "$(dirname "$0")"
PYTHON="${{CHAIN_PYTHON:-{shlex.quote(python)}}}"
if [ -f {PID_FILE} ] && kill -0 "$(cat {PID_FILE})" 2>/dev/null; then
  echo "$(basename "$PWD") is already running (pid $(cat {PID_FILE}))"; exit 0
fi
nohup "$PYTHON" -m chain.cli.main node start . >stdout.log 2>&1 &
echo "$(basename "$PWD") started (pid $!)"
"""


NODE_STOP_SCRIPT = f"""#!/usr/bin/env bash
# Stop this node with SIGTERM (a clean shutdown) and wait for it to exit.
cd "$(dirname "$0")"
[ -f {PID_FILE} ] || {{ echo "$(basename "$PWD") is not running"; exit 0; }}
pid="$(cat {PID_FILE})"
kill -TERM "$pid" 2>/dev/null || {{ echo "$(basename "$PWD") is not running"; rm -f {PID_FILE}; exit 0; }}
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "$(basename "$PWD") did not stop in 10 s"; exit 1; fi
echo "$(basename "$PWD") stopped"
"""


# Whether pid $1 runs: a zombie does not (a service outlives the start.sh that started it, and is
# reaped by whoever adopted it, maybe late).
PRO_ALIVE = """alive() {
  kill -0 "$1" 2>/dev/null && ! grep -qs '^[0-9]* (.*) Z ' "/proc/$1/stat"
}"""


def _pro_start_script(python: str, groups: tuple[str, ...]) -> str:
    services = "\n".join(
        ["start gateway gateway"]
        + [f"start {service_name('core', g)} core --group {g}" for g in groups]
        + ["start rpc rpc"])
    return f"""#!/usr/bin/env bash
# Start this Pro node's services in the background: the gateway, one core per group, the rpc service.
# One already running is left alone, so this also restarts only those that stopped. Each writes
# <service>.pid and <service>.log (docs/nodes.md "Pro form").
cd "$(dirname "$0")"
PYTHON="${{CHAIN_PYTHON:-{shlex.quote(python)}}}"
{PRO_ALIVE}
start() {{  # start NAME SERVICE [--group G]
  name="$1"; shift
  pid="$(cat "$name.pid" 2>/dev/null)"
  if [ -n "$pid" ] && alive "$pid"; then
    echo "$(basename "$PWD") $name is already running (pid $pid)"; return 0
  fi
  nohup "$PYTHON" -m chain.node.pro_process . --service "$@" >"$name.stdout.log" 2>&1 &
  echo "$!" >"$name.pid"  # now, not once Python has started: a stop.sh right after start.sh finds it
  echo "$(basename "$PWD") $name started (pid $!)"
}}
{services}
"""


def _pro_stop_script(groups: tuple[str, ...]) -> str:
    names = " ".join(["rpc", *(service_name("core", g) for g in groups), "gateway"])
    return f"""#!/usr/bin/env bash
# Stop this Pro node's services with SIGTERM (clean shutdowns), all at once, and wait for them.
cd "$(dirname "$0")"
{PRO_ALIVE}
status=0
pids=()
for name in {names}; do
  pid="$(cat "$name.pid" 2>/dev/null)"
  if [ -n "$pid" ] && alive "$pid" && kill -TERM "$pid" 2>/dev/null; then pids+=("$name:$pid"); else rm -f "$name.pid"; fi
done
[ ${{#pids[@]}} -gt 0 ] || {{ echo "$(basename "$PWD") is not running"; exit 0; }}
for entry in "${{pids[@]}}"; do
  name="${{entry%%:*}}"; pid="${{entry#*:}}"
  for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then echo "$(basename "$PWD") $name did not stop in 10 s"; status=1
  else echo "$(basename "$PWD") $name stopped"; fi
done
exit $status
"""


def _pro_stop_all_script(names: list[str]) -> str:
    lines = "\n".join(f'"$DIR/{name}/stop.sh" &' for name in names)
    return f"""#!/usr/bin/env bash
# Stop every node of this Pro chain, all at once (each node's services stop together too).
DIR="$(cd "$(dirname "$0")" && pwd)"
{lines}
wait
"""


def _all_script(names: list[str], action: str) -> str:
    lines = "\n".join(f'"$DIR/{name}/{action}.sh"' for name in names)
    return f"""#!/usr/bin/env bash
# {action.capitalize()} every node of this chain.
DIR="$(cd "$(dirname "$0")" && pwd)"
{lines}
"""


def build_chain(directory: str | Path, options: BuildOptions) -> BuiltChain:
    """Create the chain directory described in the module docstring; ConfigError if refused."""
    _check_options(options)
    root = Path(directory)
    _prepare_directory(root, options.force)

    total = options.nodes + options.observers
    names = [f"node{i}" for i in range(total)]
    keys = [KeyPair.generate(options.suite) for _ in names]
    admin = KeyPair.generate(options.suite)
    governors = [admin] + [KeyPair.generate(options.suite) for _ in options.governor_weights[1:]] if options.auth else []
    genesis = GenesisConfig(
        chain_id=options.chain_id,
        group_id=options.group_id,
        suite=options.suite,
        sealers=tuple((key.public_key, 1) for key in keys[: options.nodes]),
        observers=tuple(key.public_key for key in keys[options.nodes :]),
        admins=() if options.auth else (admin.address,),  # an auth chain is governed by its committee only
        auth=AuthGenesis(
            governors=tuple((g.address, w) for g, w in zip(governors, options.governor_weights)),
            participates_rate=options.participates_rate, win_rate=options.win_rate,
            proposal_lifetime=options.proposal_lifetime,
        ) if options.auth else None,
        # Chosen once, here, and written into the genesis file: every node derives the same genesis
        # hash from it, and the chain's first block time is when it was built (FISCO's build_chain.sh
        # does the same with its [group].timestamp).
        timestamp=int(time.time() * 1000) if options.genesis_time_ms is None else options.genesis_time_ms,
        system_config={FEATURE_RPBFT: "1", RPBFT_EPOCH_SEALER_NUM: str(options.epoch_sealers),
                       RPBFT_EPOCH_BLOCK_NUM: str(options.epoch_blocks)} if options.consensus == "rpbft" else {},
    )
    genesis_text = genesis.dumps()
    (root / GENESIS_FILE).write_text(genesis_text, encoding="utf-8")
    members = group_members(options)
    group_texts: dict[str, str] = {}  # the other groups' genesis files: same chain, accounts and time
    for group in options.groups[1:]:
        group_texts[group] = replace(
            genesis, group_id=group_id_of(group), observers=(),
            sealers=tuple((keys[i].public_key, 1) for i in members[group]),
        ).dumps()
        (root / group_genesis_name(group)).write_text(group_texts[group], encoding="utf-8")

    ca = generate_ca(f"chain CA (chain {options.chain_id})")
    _private_dir(root / "ca")
    (root / "ca" / "ca.crt").write_bytes(ca.cert_pem)
    write_private(root / "ca" / "ca.key", ca.key_pem)

    endpoints = [f"{options.ip}:{options.port_base + i}" for i in range(total)]
    built: list[BuiltNode] = []
    for i, (name, key) in enumerate(zip(names, keys)):
        node_dir = _private_dir(root / name)
        save_private_key(node_dir / "node.key", key)
        (node_dir / "node.nodeid").write_text(key.public_key.hex() + "\n")
        issued = issue_node_certificate(ca, name, key.public_key, options.ip)
        (node_dir / "ca.crt").write_bytes(ca.cert_pem)
        (node_dir / "ssl.crt").write_bytes(issued.cert_pem)
        write_private(node_dir / "ssl.key", issued.key_pem)
        channel_cert = issue_channel_certificate(ca, f"{name} channel")
        (node_dir / "channel.crt").write_bytes(channel_cert.cert_pem)
        write_private(node_dir / "channel.key", channel_cert.key_pem)
        (node_dir / GENESIS_FILE).write_text(genesis_text, encoding="utf-8")
        groups = tuple(group for group in options.groups[1:] if i in members[group])
        for group in groups:  # a node outside a group holds nothing of it
            (node_dir / group_genesis_name(group)).write_text(group_texts[group], encoding="utf-8")
        config = NodeConfig(
            node=NodeSection(name=name, form=options.form),
            network=NetworkSection(
                listen_ip=options.ip,
                listen_port=options.port_base + i,
                peers=tuple(e for j, e in enumerate(endpoints) if j != i),
            ),
            rpc=RpcSection(listen_ip=options.rpc_ip, listen_port=options.rpc_port_base + i),
            channel=ChannelSection(listen_ip=options.rpc_ip, listen_port=_channel_port(options, i)),
            web3_rpc=Web3RpcSection(
                enabled=options.web3_port_base is not None, listen_ip=options.rpc_ip,
                listen_port=8545 if options.web3_port_base is None else options.web3_port_base + i,
                chain_id=options.web3_chain_id,
            ),
            executor=ExecutorSection(kind=options.executor, workers=options.executor_workers),
            consensus=ConsensusSection(timeout_ms=options.timeout_ms, min_seal_time_ms=options.min_seal_time_ms),
            groups=GroupsSection(names=groups),
        )
        config.dump(node_dir)
        if options.form == "pro":
            _write_script(node_dir / "start.sh", _pro_start_script(sys.executable, config.group_names))
            _write_script(node_dir / "stop.sh", _pro_stop_script(config.group_names))
        else:
            _write_script(node_dir / "start.sh", _node_start_script(sys.executable))
            _write_script(node_dir / "stop.sh", NODE_STOP_SCRIPT)
        built.append(BuiltNode(
            name, node_dir, key.public_key, "sealer" if i < options.nodes else "observer",
            options.port_base + i, options.rpc_port_base + i,
        ))

    sdk = _private_dir(root / "sdk")
    (sdk / "ca.crt").write_bytes(ca.cert_pem)
    save_private_key(sdk / "admin.key", admin)
    for i, governor in enumerate(governors[1:], start=1):
        save_private_key(sdk / f"governor{i}.key", governor)
    sdk_cert = issue_channel_certificate(ca, "sdk")
    (sdk / "sdk.crt").write_bytes(sdk_cert.cert_pem)
    write_private(sdk / "sdk.key", sdk_cert.key_pem)
    (sdk / GENESIS_FILE).write_text(genesis_text, encoding="utf-8")
    for group, text in group_texts.items():
        (sdk / group_genesis_name(group)).write_text(text, encoding="utf-8")
    (root / NODES_FILE).write_text(tomli_w.dumps({
        "nodes": [
            {"name": n.name, "node_id": n.node_id.hex(), "role": n.role,
             "p2p": f"{options.ip}:{n.p2p_port}", "rpc": f"http://{_client_host(options)}:{n.rpc_port}",
             **({"channel": f"{_client_host(options)}:{_channel_port(options, i)}"}
                if options.channel_port_base is not None else {}),  # Pro: the rpc service's port
             **({"web3": f"http://{_client_host(options)}:{options.web3_port_base + i}"}
                if options.web3_port_base is not None else {}),
             **({"groups": [g for g in options.groups if i in members[g]]} if len(options.groups) > 1 else {})}
            for i, n in enumerate(built)
        ],
    }), encoding="utf-8")

    _write_script(root / "start_all.sh", _all_script(names, "start"))
    _write_script(root / "stop_all.sh", _all_script(names, "stop") if options.form == "air" else _pro_stop_all_script(names))
    return BuiltChain(root, genesis, tuple(built), admin.address)


def channel_endpoint(directory: str | Path, index: int = 0) -> ChannelEndpoint | None:
    """Node `index`'s channel port as DIR/sdk/nodes.toml lists it, with the SDK certificate the build
    wrote; None if the build fixed no channel port."""
    listed = read_nodes(directory)[index].channel
    if listed is None:
        return None
    host, _, port = listed.rpartition(":")
    return ChannelEndpoint(host.strip("[]"), int(port), Path(directory) / "sdk")


def read_nodes(directory: str | Path) -> tuple[ListedNode, ...]:
    """The nodes of a chain built by `chain build`, from its ``sdk/nodes.toml``; ConfigError if it is
    not there or malformed. One reader, so every client tool agrees on what that file means."""
    path = Path(directory) / NODES_FILE
    try:
        rows = tomllib.loads(path.read_text(encoding="utf-8"))["nodes"]
        nodes = tuple(ListedNode(row["name"], row["rpc"], row.get("role", "sealer"), row.get("channel"), row.get("web3"),
                                 tuple(row.get("groups", (FIRST_GROUP_NAME,)))) for row in rows)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{directory} is not a chain built by `chain build` ({NODES_FILE}: {exc})") from exc
    # A node list without nodes gives a client nothing to talk to.
    if not nodes:
        raise ConfigError(f"{directory} is not a chain built by `chain build` ({NODES_FILE} lists no nodes)")
    return nodes
