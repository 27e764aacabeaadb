"""A node busy executing keeps answering: a long block or a long `call` never freezes its loop.

Both tests run a real ``Node`` in-process on a one-sealer EVM chain, with its aiohttp JSON-RPC
server, and poll ``getBlockNumber`` over HTTP while the node works. Before the replica had a thread
of its own, a block's execution (and a `call`) ran on the loop: the polls got no answer for the
whole execution, and the view timer expired behind it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chain.crypto.keys import KeyPair
from chain.ledger.status import Status
from chain.ledger.transaction import new_transaction, sign_transaction
from chain.node import group as node_module  # the per-group driver holds these limits (chain.node.group)
from chain.node.builder import BuildOptions, build_chain
from chain.node.node import Node
from chain.node.ports import free_port_bases
from chain.rpc.methods import CALL_OUT_OF_TIME

pytestmark = pytest.mark.timeout(120)

ENDLESS_LOOP = bytes.fromhex("5b600056")  # JUMPDEST; PUSH1 0; JUMP — runs until its gas is gone
DEPLOY_LOOP = bytes.fromhex("635b600056600052600460" "1c" "f3")  # PUSH4 loop; MSTORE; RETURN its 4 bytes
BUSY_GAS = 8_000_000  # two seconds or more of this EVM (3 M took only 0.9 s on an idle CI machine)
POLL_S = 0.05


def evm_sealer(tmp_path: Path, timeout_ms: int) -> Path:
    p2p, rpc = free_port_bases(1)
    built = build_chain(tmp_path / "solo", BuildOptions(nodes=1, suite="standard", port_base=p2p, rpc_port_base=rpc,
                                                         executor="evm", timeout_ms=timeout_ms, min_seal_time_ms=10))
    return built.nodes[0].directory


async def rpc(session: aiohttp.ClientSession, url: str, method: str, params: list[Any]) -> dict[str, Any]:
    async with session.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}) as response:
        return await response.json()  # type: ignore[no-any-return]


async def committed(node: Node, tx_hash: bytes, within_s: float) -> Any:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        receipt = node.store.receipt(tx_hash)
        if receipt is not None:
            return receipt
        await asyncio.sleep(POLL_S)
    raise AssertionError("the transaction was not committed in time")


async def poll_block_number(session: aiohttp.ClientSession, url: str, until: asyncio.Future[Any]) -> float:
    """Ask getBlockNumber again and again until `until` is done; the longest wait for an answer (s)."""
    longest = 0.0
    while not until.done():
        asked = time.monotonic()
        answer = await rpc(session, url, "getBlockNumber", [1])
        assert "result" in answer
        longest = max(longest, time.monotonic() - asked)
        await asyncio.sleep(POLL_S)
    return longest


async def deploy_loop(node: Node, user: KeyPair) -> bytes:
    head = node.store.head_number()
    deploy = sign_transaction(new_transaction(to=b"", data=DEPLOY_LOOP, block_limit=head + 100), user)
    receipt = await committed(node, node.submit_transaction(deploy), 30)
    assert receipt.status == Status.SUCCESS
    return bytes(receipt.contract_address)


def test_a_long_block_does_not_freeze_rpc(tmp_path: Path) -> None:
    node_dir = evm_sealer(tmp_path, timeout_ms=300)
    user = KeyPair.generate("standard")

    async def scenario() -> None:
        node = Node(node_dir)
        await node.start()
        url = f"http://127.0.0.1:{node.rpc_port}/"
        try:
            async with aiohttp.ClientSession() as session:
                loop_address = await deploy_loop(node, user)
                view_before = node.consensus_status()["view"]
                busy = sign_transaction(new_transaction(to=loop_address, data=b"", gas_limit=BUSY_GAS,
                                                        block_limit=node.store.head_number() + 100), user)
                started = time.monotonic()
                done = asyncio.ensure_future(committed(node, node.submit_transaction(busy), 90))
                longest = await poll_block_number(session, url, done)
                receipt = done.result()
                took = time.monotonic() - started
            assert receipt.status == Status.OUT_OF_GAS and receipt.gas_used == BUSY_GAS
            # The block took well over the 300 ms view timeout, and RPC answered all along.
            assert took > 3 * 0.3, f"the block took only {took:.2f} s: not a test of a long execution"
            assert longest < min(0.5, took / 2), f"getBlockNumber waited {longest:.2f} s while the block took {took:.2f} s"
            # And no view change (on a chain of one, the block is decided in the very event that
            # executes it; tests/node/test_cluster_stall.py shows the view timer on four processes).
            status = node.consensus_status()
            assert status["view"] == view_before and node.replica.consecutive_view_changes == 0
        finally:
            await node.stop()

    asyncio.run(scenario())


def test_an_endless_call_is_stopped_at_its_budget_while_rpc_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_module, "CALL_BUDGET_S", 1.0)
    node_dir = evm_sealer(tmp_path, timeout_ms=3000)
    user = KeyPair.generate("standard")

    async def scenario() -> None:
        node = Node(node_dir)
        await node.start()
        url = f"http://127.0.0.1:{node.rpc_port}/"
        try:
            async with aiohttp.ClientSession() as session:
                loop_address = await deploy_loop(node, user)
                request = {"from": "0x" + user.address.hex(), "to": "0x" + loop_address.hex(), "data": "0x"}
                started = time.monotonic()
                call = asyncio.ensure_future(rpc(session, url, "call", [1, request]))
                longest = await poll_block_number(session, url, call)
                answer = call.result()
                took = time.monotonic() - started
            assert answer["error"]["code"] == CALL_OUT_OF_TIME and "time budget" in answer["error"]["message"]
            assert took < 1.0 + 2.0, f"the call was answered after {took:.2f} s, its budget is 1 s"
            assert longest < 0.5, f"getBlockNumber waited {longest:.2f} s during the call"
        finally:
            await node.stop()

    asyncio.run(scenario())


def test_the_replica_clock_stands_still_while_a_block_executes() -> None:
    from chain.node.replica_thread import ReplicaClock

    clock = ReplicaClock()
    before = clock.now_ms()
    with clock.stopped_while():
        assert clock.stopped
        inside = clock.now_ms()
        time.sleep(0.3)
        assert clock.now_ms() - inside <= 1  # the 300 ms of execution do not count
    assert not clock.stopped
    time.sleep(0.1)
    after = clock.now_ms()
    assert 90 <= after - inside <= 250 and inside - before < 50


def test_peer_messages_beyond_the_backlog_are_dropped_not_queued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the replica is busy the loop keeps reading frames; a flood must not grow without bound."""
    import threading

    monkeypatch.setattr(node_module, "MAX_BACKLOG", 3)
    node_dir = evm_sealer(tmp_path, timeout_ms=3000)

    async def scenario() -> None:
        node = Node(node_dir)
        await node.start()
        try:
            assert node._thread is not None
            busy = threading.Event()
            node._thread.submit(lambda: busy.wait(10))  # the replica is "executing"
            for _ in range(10):
                node._on_message(b"\x01" * 64, b"not a message")
            assert node._thread.backlog() == 3
            busy.set()
        finally:
            await node.stop()

    asyncio.run(scenario())
