"""Running a node as an OS process: logs, pid file, signals, clean shutdown.

``run_node(dir)`` is what ``chain node start DIR`` calls. The process writes ``node.pid`` (so
``stop.sh`` can send SIGTERM), stops cleanly on SIGTERM or SIGINT — links closed, RPC stopped,
store closed — and removes the pid file. A SIGKILLed node leaves a stale pid file behind; the next
start notices the pid is gone and carries on, catching up from its own store and its peers.
"""

from __future__ import annotations

import asyncio
import cProfile
import logging
import os
import signal
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from chain.errors import ConfigError
from chain.node.config import NodeConfig
from chain.node.logging import event, setup_logging
from chain.node.replica_thread import PROFILE_ENV

PID_FILE = "node.pid"
log = logging.getLogger("chain.node")


def read_pid(node_dir: Path) -> int | None:
    """The pid of the node running in node_dir, or None (no pid file, or a stale one)."""
    try:
        pid = int((node_dir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def _claim_pid_file(node_dir: Path) -> Path:
    running = read_pid(node_dir)
    # Two processes on one store and one port would fight; the second one refuses.
    if running is not None and running != os.getpid():
        raise ConfigError(f"{node_dir.name} is already running as pid {running}")
    path = node_dir / PID_FILE
    path.write_text(f"{os.getpid()}\n")
    return path


async def serve(node_dir: Path) -> None:
    """Start the node in node_dir and serve until SIGTERM/SIGINT."""
    from chain.node.node import Node  # heavy imports only once we really start

    node = Node(node_dir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await node.start()
    try:
        await stop.wait()
        event(log, "signal_received")
    finally:
        await node.stop()


def run_node(node_dir: str | Path, *, stderr: bool = True) -> None:
    """Run one node in the foreground of this process (blocks until it is told to stop).

    With the environment variable ``CHAIN_PROFILE`` set to a directory, the whole run is profiled
    with cProfile and written to ``<dir>/<node name>.prof`` on a clean stop — how the node's hot
    spots under load were found (``python -m pstats`` or snakeviz reads the file).
    """
    directory = Path(node_dir).resolve()
    config = NodeConfig.load(directory)
    setup_logging(config.node.name, directory / config.log.file, config.log.level, stderr=stderr)
    pid_file = _claim_pid_file(directory)
    profile_dir = os.environ.get(PROFILE_ENV)
    profiler = cProfile.Profile() if profile_dir else None
    try:
        if profiler is not None:
            profiler.enable()
        asyncio.run(serve(directory))
    finally:
        if profiler is not None and profile_dir:  # both or neither
            profiler.disable()
            Path(profile_dir).mkdir(parents=True, exist_ok=True)
            profiler.dump_stats(str(Path(profile_dir) / f"{config.node.name}.prof"))
        if read_pid(directory) == os.getpid():
            pid_file.unlink(missing_ok=True)


def terminate_all(processes: Iterable[subprocess.Popen[Any]], timeout_s: float = 10.0) -> None:
    """SIGTERM every node process still running, then wait; one that does not stop in time is killed.

    All are signalled before any is waited for, so N nodes stop in one node's shutdown time.
    """
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

