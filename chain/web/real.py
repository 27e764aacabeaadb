"""`chain demo --real`: the same dashboard over real node processes instead of the simulator.

A chain is built in a temporary directory (`chain build`), every node runs as its own OS process
(`chain node start`, TCP+TLS between them, JSON-RPC to us), and the dashboard polls each node's
RPC every pacing tick. What the page shows then comes from the nodes themselves: height, view,
head hash from getConsensusStatus, blocks read from node 0's own SQLite store.

Real time cannot be paused or stepped, and a real network cannot be partitioned or a real node
made Byzantine from here: those controls answer 400 with a reason. Crash is SIGKILL, restore
starts the process again on the same data directory.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from chain.crypto.suite import get_suite
from chain.errors import ChainError, DashboardError
from chain.ledger.store import Store
from chain.node.builder import BuildOptions, BuiltChain, build_chain
from chain.node.ports import free_port_bases
from chain.node.process import terminate_all
from chain.sdk.account import Account
from chain.sdk.client import Client
from chain.web import views
from chain.web.hub import Hub
from chain.web.live import LiveChain

POLL_TIMEOUT_S = 1.0  # a node slower than this to say its status is shown as it was
SEND_TIMEOUT_S = 5.0


class RealChain:
    """Node processes seen through the simulator's control surface (what LiveChain drives)."""

    def __init__(self, built: BuiltChain, suite_name: str) -> None:
        self.built = built
        self.suite = get_suite(suite_name)
        self.started = time.monotonic()
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self.subscribers: list[Callable[[dict[str, Any]], None]] = []
        self.status: list[dict[str, Any]] = [
            {"index": i, "name": n.name, "role": n.role, "view": None, "height": None, "head": None, "state": "starting"}
            for i, n in enumerate(built.nodes)
        ]
        # RPC names sealers by their index in the sorted sealer list; the page numbers node directories
        sealer_ids = sorted(n.node_id for n in built.nodes if n.role == "sealer")
        self.node_of_sealer = {k: next(i for i, n in enumerate(built.nodes) if n.node_id == node_id)
                               for k, node_id in enumerate(sealer_ids)}
        self.account = Account.generate(suite_name)  # signs the client load
        self.clients = [Client(f"http://127.0.0.1:{n.rpc_port}", self.suite, built.genesis.group_id, timeout=SEND_TIMEOUT_S)
                        for n in built.nodes]
        self.sending: set[asyncio.Task[None]] = set()
        self.sent = 0

    @property
    def now_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    def _emit(self, event: dict[str, Any]) -> None:
        """A trace event shaped like the simulator's (chain.sim.trace): "ev", "node", ..., "t" in ms."""
        event = {"t": self.now_ms, **event}
        for callback in self.subscribers:
            callback(event)

    def subscribe(self, callback: Callable[[dict[str, Any]], None]) -> None:
        self.subscribers.append(callback)

    # --- processes --------------------------------------------------------------------------------

    def start_node(self, i: int) -> None:
        node_dir = self.built.nodes[i].directory
        log = open(node_dir / "stdout.log", "ab")
        self.processes[i] = subprocess.Popen(
            [sys.executable, "-m", "chain.cli.main", "node", "start", str(node_dir)],
            stdout=log, stderr=subprocess.STDOUT, cwd=node_dir, start_new_session=True,
        )
        log.close()
        self.status[i] = {**self.status[i], "state": "starting"}
        self._emit({"ev": "start", "node": i, "pid": self.processes[i].pid})

    def start(self) -> None:
        for i in range(len(self.built.nodes)):
            self.start_node(i)

    def stop(self) -> None:
        terminate_all(self.processes.values())

    # --- the control surface ----------------------------------------------------------------------

    def step(self) -> None:
        raise DashboardError("real nodes run in real time: there is no single event to step")

    def run_until(self, time_ms: int) -> None:
        """Real time passes by itself; polling happens in poll()."""

    def crash(self, i: int) -> None:
        process = self.processes.get(i)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self.status[i] = {**self.status[i], "state": "crashed"}
        self._emit({"ev": "crash", "node": i})

    def restart(self, i: int) -> None:
        process = self.processes.get(i)
        # restarting a running node would start a second process on the same store
        if process is not None and process.poll() is None:
            raise DashboardError(f"node {i} is running; crash it first")
        self.start_node(i)

    def partition(self, groups: list[list[int]]) -> None:
        raise DashboardError("partitions are a simulator control; real nodes use the real network")

    def heal(self) -> None:
        raise DashboardError("partitions are a simulator control; real nodes use the real network")

    def set_behaviour(self, i: int, name: str | None) -> None:
        raise DashboardError("Byzantine behaviours are a simulator control; real nodes are honest")

    def submit_transactions(self, count: int) -> None:
        live = [i for i, s in enumerate(self.status) if s["state"] == "ok"]
        if not live:
            return
        task = asyncio.get_running_loop().create_task(self._send(live[self.sent % len(live)], count))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)
        self.sent += count

    async def _send(self, i: int, count: int) -> None:
        try:
            for k in range(count):
                await self.clients[i].send_transaction(self.account, b"\x11" * 20, b"demo" + k.to_bytes(4, "big"))
        except ChainError as exc:  # a node that died mid-burst: the page shows it crashed anyway
            self._emit({"ev": "load_error", "node": i, "error": str(exc)[:200]})

    def node_status(self) -> list[dict[str, Any]]:
        return [dict(s) for s in self.status]

    async def poll(self) -> None:
        """Ask every node for its consensus status (getConsensusStatus) and note what changed."""
        answers = await asyncio.gather(*(self._poll_node(i) for i in range(len(self.status))))
        channels = await asyncio.gather(*(self._poll_channel(i) for i in range(len(self.status))))
        leaders = set()
        for i, answer in enumerate(answers):
            old = self.status[i]
            if answer is None:
                process = self.processes.get(i)
                state = "crashed" if process is None or process.poll() is not None else old["state"]
                self.status[i] = {**old, "state": state, "role": old["role"].replace("leader", "sealer")}
                continue
            summary = answer[0]
            height, view = summary.get("highestblockNumber"), summary.get("currentView")
            # an rPBFT sealer outside the epoch's working set says "resting" (chain.node.node consensus_status)
            role = "resting" if summary.get("role") == "resting" else "sealer" if summary.get("node_index") is not None else "observer"
            new = {**old, "state": "ok", "height": height, "view": view, "head": summary.get("highestblockHash"),
                   "role": role}
            if channels[i] is not None:  # its SDK connections (chain.channel.status), for the card's channel line
                new["channel"] = {"port": channels[i].get("port"), "sdks": len(channels[i].get("sessions", [])),
                                  "topics": channels[i].get("topics", [])}
            if summary.get("leaderIndex") is not None:
                leaders.add(summary["leaderIndex"])
            if old.get("height") is not None and height is not None and height > old["height"]:
                self._emit({"ev": "commit", "node": i, "number": height, "hash": new["head"]})
            if old.get("view") is not None and view is not None and view != old["view"]:
                self._emit({"ev": "new_view", "node": i, "view": view})
            self.status[i] = new
        # the leader is shown when every answering node names the same one
        if len(leaders) == 1:
            leader = self.node_of_sealer.get(leaders.pop(), -1)
            if 0 <= leader < len(self.status) and self.status[leader]["state"] == "ok":
                self.status[leader] = {**self.status[leader], "role": "leader"}

    async def _poll_node(self, i: int) -> Any:
        """Node i's getConsensusStatus answer, or None if it does not answer in time."""
        try:
            return await asyncio.wait_for(self.clients[i].group_call("getConsensusStatus"), POLL_TIMEOUT_S)
        except (ChainError, asyncio.TimeoutError):
            return None

    async def _poll_channel(self, i: int) -> Any:
        """Node i's getChannelStatus (its SDK sessions and topics), or None."""
        try:
            return await asyncio.wait_for(self.clients[i].request("getChannelStatus"), POLL_TIMEOUT_S)
        except (ChainError, asyncio.TimeoutError):
            return None

    async def close(self) -> None:
        for task in list(self.sending):
            task.cancel()
        for client in self.clients:
            await client.close()
        self.stop()


class StoreReader:
    """Blocks read straight from a node's SQLite store (WAL lets us read while the node writes).

    A `Store` reads its head once, when opened, and then follows only its own commits; the node
    process commits through its own connection. So every read opens the store afresh: one kept
    open froze the table at the head it was opened at (`/api/blocks?start=31` answered [] while
    the node was at 46 and `/api/blocks/35` worked).
    """

    def __init__(self, path: Path, suite_name: str, node_of: views.NodeOf | None = None) -> None:
        self.path = path
        self.suite = get_suite(suite_name)
        self.node_of = node_of

    def _read(self, read: Callable[[Store], Any], empty: Any) -> Any:
        if not self.path.exists():
            return empty
        with Store(self.path, self.suite) as store:
            return read(store)

    def blocks(self, start: int, end: int) -> list[dict[str, Any]]:
        return self._read(lambda store: views.block_summaries(store, self.suite, start, end, self.node_of), [])

    def block(self, number: int) -> dict[str, Any] | None:
        return self._read(lambda store: views.block_detail(store, self.suite, number, self.node_of), None)


def build_real_chain(directory: Path, *, nodes: int, suite: str, consensus: str = "pbft", epoch_sealers: int = 4,
                     epoch_blocks: int = 1000) -> BuiltChain:
    """`chain build` into directory, on ports free right now (peer ports and RPC ports apart)."""
    p2p, rpc = free_port_bases(nodes)
    return build_chain(directory, BuildOptions(nodes=nodes, suite=suite, port_base=p2p, rpc_port_base=rpc,
                                               executor="kv", force=True, consensus=consensus,
                                               epoch_sealers=epoch_sealers, epoch_blocks=epoch_blocks))


def real_live_chain(directory: Path, *, nodes: int, suite: str, tx_rate: int = 20, consensus: str = "pbft",
                    epoch_sealers: int = 4, epoch_blocks: int = 1000) -> tuple[RealChain, LiveChain]:
    """A chain built in directory, seen by the dashboard; call `start()` on the RealChain to run it.

    The blocks the page shows are read from node 0's own store. consensus, epoch_sealers and
    epoch_blocks are `chain build`'s (rpbft: written into genesis).
    """
    built = build_real_chain(directory, nodes=nodes, suite=suite, consensus=consensus, epoch_sealers=epoch_sealers,
                             epoch_blocks=epoch_blocks)
    real = RealChain(built, suite)
    kind = (f" · rPBFT: {min(epoch_sealers, nodes)} working per {epoch_blocks}-block epoch"
            if consensus == "rpbft" else "")
    node_of = {n.node_id: i for i, n in enumerate(built.nodes)}.get
    reader = StoreReader(built.nodes[0].directory / "data" / "chain.db", suite, node_of)
    # real time cannot be paused or stepped, nor a real network split from here; no message trace
    live = LiveChain(real, Hub(), behaviours=(), tx_rate=tx_rate,
                     describe=lambda: {"suite": suite, "mode": "real processes" + kind},
                     blocks=reader.blocks, block=reader.block, capabilities=())
    return real, live
