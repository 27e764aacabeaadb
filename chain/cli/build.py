"""`chain build`: create a directory of nodes ready to start (FISCO BCOS's build_chain.sh)."""

from __future__ import annotations

from pathlib import Path

import typer

from chain.crypto.suite import SUITE_NAMES
from chain.cli.errors import reported
from chain.ledger.committee import DEFAULT_PROPOSAL_LIFETIME
from chain.execution.kinds import EXECUTOR_KINDS
from chain.ledger.genesis import group_id_of
from chain.node.builder import BuildOptions, build_chain, group_members
from chain.rpc.exposure import exposure_warning


def build(
    nodes: int = typer.Option(4, "--nodes", "-n", help="number of sealers (4 tolerates one faulty node)"),
    suite: str = typer.Option("sm", "--suite", "-s", help=f"crypto suite: {' or '.join(SUITE_NAMES)}"),
    output: Path = typer.Option(Path("nodes"), "--output", "-o", help="directory to create"),
    ip: str = typer.Option("127.0.0.1", "--ip", help="address every node listens on for its peers (P2P)"),
    rpc_ip: str = typer.Option("127.0.0.1", "--rpc-ip",
                               help="address JSON-RPC listens on; it has no authentication, so loopback unless you mean it"),
    port_base: int = typer.Option(30300, "--port-base", help="P2P port of node0; node i uses base + i"),
    rpc_port_base: int = typer.Option(8545, "--rpc-port-base", help="JSON-RPC port of node0; node i uses base + i"),
    channel_port_base: int = typer.Option(20200, "--channel-port-base",
                                          help="SDK channel port of node0 (FISCO's 20200); node i uses base + i"),
    web3: bool = typer.Option(False, "--web3", help="serve the Ethereum JSON-RPC endpoint (web3.py, eth-account) on each node"),
    web3_port_base: int = typer.Option(8645, "--web3-port-base", help="with --web3: web3 port of node0; node i uses base + i"),
    web3_chain_id: int = typer.Option(20200, "--web3-chain-id", help="with --web3: the Ethereum chain id (eth_chainId)"),
    observers: int = typer.Option(0, "--observers", help="extra observer nodes (sync, no vote)"),
    executor: str = typer.Option("evm", "--executor", help="evm, kv (the key/value stand-in) or dmc (parallel contracts)"),
    executor_workers: int = typer.Option(0, "--executor-workers", help="with --executor dmc: worker processes per node"),
    chain_id: int = typer.Option(1, "--chain-id"),
    group_id: int = typer.Option(1, "--group-id"),
    force: bool = typer.Option(False, "--force", help="replace a chain already built in the directory"),
    auth: bool = typer.Option(False, "--auth", "-A",
                              help="governance by a committee (FISCO 3.x -A): proposals and votes, deploy/method ACLs, freezing"),
    governor_weights: str = typer.Option("1", "--governor-weights",
                                         help="with --auth: one weight per governor, e.g. 2,1,1 (governor 0 is sdk/admin.key)"),
    participates_rate: int = typer.Option(0, "--participates-rate", help="with --auth: percent of the committee's weight that must vote"),
    win_rate: int = typer.Option(0, "--win-rate", help="with --auth: percent of the voted weight that must agree"),
    proposal_lifetime: int = typer.Option(DEFAULT_PROPOSAL_LIFETIME, "--proposal-lifetime",
                                          help="with --auth: blocks a proposal stays open (the clients' default)"),
    consensus: str = typer.Option("pbft", "--consensus", help="pbft, or rpbft: per epoch only --epoch-sealers working "
                                                              "sealers run PBFT (feature_rpbft)"),
    epoch_sealers: int = typer.Option(4, "--epoch-sealers", help="(rpbft) working sealers per epoch"),
    epoch_blocks: int = typer.Option(1000, "--epoch-blocks", help="(rpbft) blocks per epoch"),
    groups: str = typer.Option("group0", "--groups",
                               help="groups of the chain, e.g. group0,group1 (group<K> is 2.x group id K+1; "
                                    "every node serves group0)"),
    group_sealers: list[str] = typer.Option([], "--group-sealers",
                                            help="a group's sealers by node index, e.g. group1=0,1,2 "
                                                 "(repeat per group; default: every sealer)"),
    form: str = typer.Option("air", "--form",
                             help="air: one process per node; pro: per node a gateway (P2P), an rpc service "
                                  "(JSON-RPC) and one core per group, as processes of their own"),
) -> None:
    """Build a chain: CA, node keys and certificates, genesis, configs and start/stop scripts."""
    if executor not in EXECUTOR_KINDS:  # checked before anything is written, so no half-built directory is left
        typer.secho(f"error: --executor must be one of {', '.join(EXECUTOR_KINDS)}, got {executor!r}",
                    fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    try:
        weights = tuple(int(w) for w in governor_weights.split(","))
    except ValueError:
        typer.secho(f"error: --governor-weights must be integers separated by commas, got {governor_weights!r}",
                    fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    try:
        chosen = tuple(_group_sealers(entry) for entry in group_sealers)
    except ValueError:
        typer.secho(f"error: --group-sealers is group<K>=i,j,... (sealer indices), got {group_sealers!r}",
                    fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    options = BuildOptions(
        nodes=nodes, suite=suite, ip=ip, rpc_ip=rpc_ip, port_base=port_base, rpc_port_base=rpc_port_base,
        channel_port_base=channel_port_base if form != "pro" else None, observers=observers, chain_id=chain_id, group_id=group_id, executor=executor,
        executor_workers=executor_workers, force=force,
        web3_port_base=web3_port_base if web3 else None, web3_chain_id=web3_chain_id,
        auth=auth, governor_weights=weights, participates_rate=participates_rate, win_rate=win_rate,
        proposal_lifetime=proposal_lifetime, consensus=consensus, epoch_sealers=epoch_sealers, epoch_blocks=epoch_blocks,
        groups=tuple(g.strip() for g in groups.split(",")), group_sealers=chosen, form=form,
    )
    with reported():
        chain = build_chain(output, options)
    warning = exposure_warning(rpc_ip)
    if warning is not None:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    kind = f", rPBFT: {min(epoch_sealers, nodes)} working sealers per {epoch_blocks}-block epoch" if consensus == "rpbft" else ""
    pro = form == "pro"
    typer.echo(f"built a {suite} chain of {nodes} sealer(s) and {observers} observer(s) in {output}{kind}"
               + (" (Pro form: gateway, rpc and a core per group on each node; the rpc service holds every client port)" if pro else ""))
    for i, node in enumerate(chain.nodes):
        channel = f"channel {channel_port_base + i:<5}  "
        typer.echo(f"  {node.name:<7} {node.role:<8} p2p {ip}:{node.p2p_port:<5}  rpc {rpc_ip}:{node.rpc_port:<5}  {channel}"
                   + (f"web3 {rpc_ip}:{web3_port_base + i:<5}  " if web3 else "")
                   + f"node id {node.node_id.hex()[:16]}…")
    if not pro:
        typer.echo(f"  SDK certificate: {output / 'sdk' / 'sdk.crt'} (+ sdk.key, ca.crt) for the channel ports")
    if chain.genesis.auth is not None:
        rates = f"participatesRate {participates_rate}%, winRate {win_rate}%"
        for i, (address, weight) in enumerate(chain.genesis.auth.governors):
            key = output / "sdk" / ("admin.key" if i == 0 else f"governor{i}.key")
            typer.echo(f"  governor 0x{address.hex()}  weight {weight}  (key: {key})")
        typer.echo(f"  auth mode: a committee governs ({rates}); node and config changes go through proposals")
    else:
        typer.echo(f"  admin account 0x{chain.admin_address.hex()}  (key: {output / 'sdk' / 'admin.key'})")
    if len(options.groups) > 1:
        for group, members in group_members(options).items():
            typer.echo(f"  {group} (2.x group id {group_id_of(group)}): " + " ".join(chain.nodes[i].name for i in members))
    typer.echo(f"start with: bash {output / 'start_all.sh'}   stop with: bash {output / 'stop_all.sh'}")


def _group_sealers(entry: str) -> tuple[str, tuple[int, ...]]:
    """"group1=0,1,2" -> ("group1", (0, 1, 2)); ValueError if it is not of that form."""
    group, sep, indices = entry.partition("=")
    if not sep or not group.strip():
        raise ValueError(entry)
    return group.strip(), tuple(int(i) for i in indices.split(",") if i.strip())
