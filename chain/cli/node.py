"""`chain node start|stop|status`: run one node in the foreground, stop it, or ask how nodes are doing."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import typer

from chain.cli.errors import reported
from chain.errors import ChainError
from chain.node.config import CONFIG_FILE, NodeConfig
from chain.node.pro_process import SERVICES, alive, run_service, service_pids
from chain.node.process import read_pid, run_node

app = typer.Typer(help="Run and inspect nodes built by `chain build`.", no_args_is_help=True)


@app.command("start")
def start(
    node_dir: Path = typer.Argument(..., help="a node directory, e.g. nodes/node0"),
    service: str = typer.Option("", "--service", help=f"a Pro node's service: {', '.join(SERVICES)} (start.sh starts them all)"),
    group: str = typer.Option("group0", "--group", help="with --service core: the group the core serves"),
) -> None:
    """Run the node (a Pro node: one of its services) in the foreground until SIGTERM or Ctrl-C
    (start.sh runs it in the background)."""
    with reported():
        if service:
            run_service(node_dir, service, group)
            return
        if NodeConfig.load(node_dir).node.form == "pro":
            raise ChainError(f"{node_dir} is a Pro node: run its start.sh, or each service with --service "
                             f"({', '.join(SERVICES)})")
        run_node(node_dir)


@app.command("stop")
def stop(node_dir: Path = typer.Argument(..., help="a node directory, or a chain directory for every node")) -> None:
    """Send SIGTERM to the node(s) (a Pro node: all its services) and wait until they have shut down."""
    for directory in _node_dirs(node_dir):
        if _is_pro(directory):
            _stop_services(directory)
            continue
        pid = read_pid(directory)
        if pid is None:
            typer.echo(f"{directory.name}: not running")
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while read_pid(directory) == pid and time.monotonic() < deadline:
            time.sleep(0.1)
        typer.echo(f"{directory.name}: {'stopped' if read_pid(directory) != pid else 'still running after 10 s'}")


def _is_pro(directory: Path) -> bool:
    try:
        return NodeConfig.load(directory).node.form == "pro"
    except ChainError:
        return False


def _stop_services(directory: Path) -> None:
    """SIGTERM every running service of a Pro node (rpc first, gateway last), then wait for each."""
    pids = service_pids(directory, NodeConfig.load(directory))
    running = {name: pid for name, pid in reversed(pids.items()) if pid is not None}
    if not running:
        typer.echo(f"{directory.name}: not running")
        return
    for pid in running.values():
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for name, pid in running.items():
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        typer.echo(f"{directory.name} {name}: {'still running after 10 s' if alive(pid) else 'stopped'}")


def _node_dirs(path: Path) -> list[Path]:
    if (path / CONFIG_FILE).exists():
        return [path]
    found = sorted((p.parent for p in path.glob(f"node*/{CONFIG_FILE}")), key=lambda p: (len(p.name), p.name))
    if not found:
        typer.echo(f"error: {path} is neither a node directory nor a chain directory", err=True)
        raise typer.Exit(1)
    return found


def _rpc(url: str, method: str, params: list[Any]) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=2) as response:
        answer = json.loads(response.read())
    if "error" in answer:
        raise RuntimeError(answer["error"].get("message", "error"))
    return answer["result"]


@app.command("status")
def status(path: Path = typer.Argument(..., help="a node directory, or a chain directory for every node")) -> None:
    """Pid, ports, block height, view and peers of each node (asks the node's JSON-RPC)."""
    for directory in _node_dirs(path):
        try:
            config = NodeConfig.load(directory)
        except ChainError as exc:
            typer.echo(f"{directory.name}: {exc}")
            continue
        if config.node.form == "pro":  # each service's pid; "running" while any of them is
            pids = service_pids(directory, config)
            running = [pid for pid in pids.values() if pid is not None]
            pid = running[0] if running else None
            line = (f"{config.node.name:<7} pro  " + "  ".join(f"{name} {p or '-'}" for name, p in pids.items())
                    + f"  p2p {config.network.listen_port:<5} rpc {config.rpc.listen_port:<5}")
            if pids["rpc"] is None and pid is not None:
                typer.echo(f"{line} running  (rpc service stopped)")
                continue
        else:
            pid = read_pid(directory)
            line = f"{config.node.name:<7} pid {pid or '-':<7} p2p {config.network.listen_port:<5} rpc {config.rpc.listen_port:<5} channel {config.channel.listen_port or '-':<5}"
        if config.web3_rpc.enabled:
            line += f" web3 {config.web3_rpc.listen_port:<5} (chain id {config.web3_rpc.chain_id})"
        if pid is None:
            typer.echo(f"{line} stopped")
            continue
        url = f"http://{config.rpc.listen_ip}:{config.rpc.listen_port}/"
        try:
            height = int(_rpc(url, "getBlockNumber", [1]), 16)
            view = _rpc(url, "getPbftView", [1])
            peers = _rpc(url, "getPeers", [1])
            connected = sum(1 for peer in peers if peer.get("connected", True)) if isinstance(peers, list) else "?"
            # a node of several groups: each other group's head too (asked by its 3.x name)
            typer.echo(f"{line} running  height {height}  view {int(view, 16) if isinstance(view, str) else view}  peers {connected}"
                       + "".join(f"  {name} height {_rpc(url, 'getBlockNumber', [name, ''])}" for name in config.groups.names))
        except (OSError, ValueError, RuntimeError, urllib.error.URLError) as exc:
            typer.echo(f"{line} running  (rpc not answering: {exc})")
