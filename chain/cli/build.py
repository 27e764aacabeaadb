"""`chain build`: create a directory of nodes ready to start (FISCO BCOS's build_chain.sh)."""

from __future__ import annotations

from pathlib import Path

import typer

from chain.crypto.suite import SUITE_NAMES
from chain.cli.errors import reported
from chain.node.config import EXECUTOR_KINDS
from chain.node.builder import BuildOptions, build_chain
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
    executor: str = typer.Option("evm", "--executor", help="evm, or kv (the key/value stand-in)"),
    chain_id: int = typer.Option(1, "--chain-id"),
    group_id: int = typer.Option(1, "--group-id"),
    force: bool = typer.Option(False, "--force", help="replace a chain already built in the directory"),
) -> None:
    """Build a chain: CA, node keys and certificates, genesis, configs and start/stop scripts."""
    if executor not in EXECUTOR_KINDS:  # checked before anything is written, so no half-built directory is left
        typer.secho(f"error: --executor must be one of {', '.join(EXECUTOR_KINDS)}, got {executor!r}",
                    fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    options = BuildOptions(
        nodes=nodes, suite=suite, ip=ip, rpc_ip=rpc_ip, port_base=port_base, rpc_port_base=rpc_port_base,
        channel_port_base=channel_port_base, observers=observers, chain_id=chain_id, group_id=group_id, executor=executor, force=force,
        web3_port_base=web3_port_base if web3 else None, web3_chain_id=web3_chain_id,
    )
    with reported():
        chain = build_chain(output, options)
    warning = exposure_warning(rpc_ip)
    if warning is not None:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"built a {suite} chain of {nodes} sealer(s) and {observers} observer(s) in {output}")
    for i, node in enumerate(chain.nodes):
        typer.echo(f"  {node.name:<7} {node.role:<8} p2p {ip}:{node.p2p_port:<5}  rpc {rpc_ip}:{node.rpc_port:<5}  channel {channel_port_base + i:<5}  "
                   + (f"web3 {rpc_ip}:{web3_port_base + i:<5}  " if web3 else "")
                   + f"node id {node.node_id.hex()[:16]}…")
    typer.echo(f"  SDK certificate: {output / 'sdk' / 'sdk.crt'} (+ sdk.key, ca.crt) for the channel ports")
    typer.echo(f"  admin account 0x{chain.admin_address.hex()}  (key: {output / 'sdk' / 'admin.key'})")
    typer.echo(f"start with: bash {output / 'start_all.sh'}   stop with: bash {output / 'stop_all.sh'}")
