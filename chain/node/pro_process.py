"""Running a Pro node's services as OS processes: one pid file and one log per service.

``chain node start DIR --service gateway|rpc|core [--group NAME]`` calls ``run_service``, and so
does ``python -m chain.node.pro_process DIR --service ...`` (``main``), which start.sh runs. Like an
Air node (``chain.node.process``) each service writes its pid file, stops cleanly on SIGTERM or
SIGINT and removes its pid file; a SIGKILLed one leaves a stale pid file and socket behind, which
the next start notices and replaces. Each runs with the node directory as its working directory:
the local sockets are named relative to it (``chain.node.local_link``).

    service   pid file            log                 socket it listens on
    gateway   gateway.pid         gateway.log         gateway.sock (and the P2P port)
    core      core.<group>.pid    core.<group>.log    core.<group>.sock
    rpc       rpc.pid             rpc.log             (the JSON-RPC, channel and web3 ports)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Protocol

from chain.errors import ChainError, ConfigError
from chain.ledger.genesis import FIRST_GROUP_NAME
from chain.node.config import NodeConfig
from chain.node.logging import event, setup_logging
from chain.node.process import PID_FILE, read_pid

log = logging.getLogger("chain.node")

SERVICES = ("gateway", "core", "rpc")


class Service(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def service_name(service: str, group: str = FIRST_GROUP_NAME) -> str:
    """"gateway", "rpc", or "core.<group>": what a service's pid file and log are named after."""
    return f"core.{group}" if service == "core" else service


def pid_file(service: str, group: str = FIRST_GROUP_NAME) -> str:
    return f"{service_name(service, group)}.pid"


def service_pids(node_dir: Path, config: NodeConfig) -> dict[str, int | None]:
    """Every service of a Pro node with its pid (None: not running), in start order."""
    names = ["gateway", *(service_name("core", g) for g in config.group_names), "rpc"]
    return {name: _read(node_dir / f"{name}.pid") for name in names}


def running_pids(node_dir: Path) -> list[int]:
    """The pids of whatever runs in node_dir, in either form (the Air node's or the Pro services')."""
    pids = [read_pid(node_dir)]
    pids += [_read(path) for path in sorted(node_dir.glob("*.pid")) if path.name != PID_FILE]
    return [pid for pid in pids if pid is not None]


def _read(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if alive(pid) else None


def alive(pid: int) -> bool:
    """Whether process pid runs. A zombie does not: a service start.sh started belongs to no shell
    once start.sh has exited, and stays a zombie until whoever adopted it reaps it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (not Linux): signal 0 is all we know
    return state != "Z"


def make_service(node_dir: Path, config: NodeConfig, service: str, group: str) -> Service:
    """The service object (heavy imports only for the one that really starts)."""
    if service == "gateway":
        from chain.node.pro_gateway import ProGateway
        return ProGateway(node_dir, config)
    if service == "core":
        from chain.node.pro_core import ProCore
        return ProCore(node_dir, group, config)
    from chain.node.pro_rpc import ProRpc
    return ProRpc(node_dir, config)


async def _serve(node_dir: Path, config: NodeConfig, service: str, group: str) -> None:
    running = make_service(node_dir, config, service, group)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await running.start()
    try:
        await stop.wait()
        event(log, "signal_received")
    finally:
        await running.stop()


def run_service(node_dir: str | Path, service: str, group: str = FIRST_GROUP_NAME, *, stderr: bool = True) -> None:
    """Run one service of the Pro node in node_dir in the foreground (until SIGTERM or SIGINT)."""
    directory = Path(node_dir).resolve()
    config = NodeConfig.load(directory)
    # Each check: a service started against the wrong directory or group would serve nobody.
    if config.node.form != "pro":
        raise ConfigError(f"{directory.name} is an Air node: start it without --service")
    if service not in SERVICES:
        raise ConfigError(f"--service must be one of {', '.join(SERVICES)}, got {service!r}")
    if service == "core" and group not in config.group_names:
        raise ConfigError(f"{config.node.name} does not serve {group}; its groups: {', '.join(config.group_names)}")
    name = service_name(service, group)
    setup_logging(f"{config.node.name}.{name}", directory / f"{name}.log", config.log.level, stderr=stderr)
    path = directory / f"{name}.pid"
    running = _read(path)
    # Two copies of one service would fight over its socket, port or store; the second one refuses.
    if running is not None and running != os.getpid():
        raise ConfigError(f"{config.node.name}'s {name} is already running as pid {running}")
    path.write_text(f"{os.getpid()}\n")
    os.chdir(directory)  # the local sockets are named relative to the node directory
    try:
        asyncio.run(_serve(directory, config, service, group))
    finally:
        if _read(path) == os.getpid():
            path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m chain.node.pro_process DIR --service S [--group G]``: what start.sh runs. The same
    as ``chain node start DIR --service S``, without importing the whole command line (every
    service of every node would carry it: ~20 MiB each)."""
    parser = argparse.ArgumentParser(prog="python -m chain.node.pro_process")
    parser.add_argument("node_dir", type=Path)
    parser.add_argument("--service", required=True, choices=SERVICES)
    parser.add_argument("--group", default=FIRST_GROUP_NAME)
    args = parser.parse_args(argv)
    try:
        run_service(args.node_dir, args.service, args.group)
    except ChainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
