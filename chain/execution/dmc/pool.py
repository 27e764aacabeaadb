"""Contract executors in worker processes: DMC on several cores.

A ``WorkerPool`` is started once per node (not per block). Each worker process hosts one
``ContractExecutor``, which owns the contracts the scheduler assigns to it; a contract keeps its
worker from block to block. The scheduler (in the node's process) sends each worker its batch of a
round and waits for all of them — the global synchronisation point — so the workers really run at
the same time, on different cores, with no shared memory.

State: a worker reads the parent state's rows from the node's process, once per row (it asks over
its pipe while executing; the node answers from the state it was given), and keeps them in a
cache. The cache stays valid from block to block: after a block, every worker is sent the block's
change set and the state root it leads to; if the next block's parent root is that root, the
cache is brought forward by the change set, otherwise it is emptied. Equal roots mean equal state
(the root chains over every change set), so a cached row can never be stale.
"""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import time
import traceback
from multiprocessing.connection import Connection, wait
from typing import Any, Mapping

from eth.vm.execution_context import ExecutionContext

from chain.crypto.suite import CryptoSuite, get_suite
from chain.execution.dmc.collector import collector_paused
from chain.execution.dmc.contract_executor import ContractExecutor
from chain.execution.dmc.messages import RoundBatch, RoundReplies, Row
from chain.execution.evm import execution_context
from chain.ledger.state import Changes, StateReader


class WorkerFailed(RuntimeError):
    """A worker process raised (a bug) or died; the block cannot be executed by this pool."""


class RowCache:
    """The parent state's rows a worker has read, valid for one state root."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._rows: dict[Row, bytes | None] = {}
        self._root: bytes | None = None
        self._next: tuple[bytes, Changes] | None = None
        self.misses = 0

    def begin(self, parent_root: bytes) -> None:
        if self._next is not None and self._next[0] == parent_root:
            self._rows.update(self._next[1])  # the last block was committed: move the cache forward
        elif self._root != parent_root:
            self._rows.clear()  # another branch or an older state: nothing cached is known to hold
        self._root = parent_root
        self._next = None

    def block_done(self, result_root: bytes, changes: Changes) -> None:
        self._next = (result_root, changes)

    def get(self, table: str, key: bytes) -> bytes | None:
        row = (table, key)
        try:
            return self._rows[row]
        except KeyError:
            pass
        self.misses += 1
        self._conn.send(("read", table, key))
        value: bytes | None = self._conn.recv()
        self._rows[row] = value
        return value


def _worker_main(conn: Connection, suite_name: str) -> None:
    """A worker process: one ContractExecutor serving its pipe until told to stop."""
    gc.freeze()  # what the fork server imported is permanent: the collector need not walk it again
    executor = ContractExecutor(get_suite(suite_name))
    cache = RowCache(conn)
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        kind = message[0]
        try:
            if kind == "begin":
                _, parent_root, number, timestamp, gas_limit, chain_id = message
                cache.begin(parent_root)
                executor.begin_block(cache, execution_context(block_number=number, timestamp=timestamp,
                                                              gas_limit=gas_limit, chain_id=chain_id))
            elif kind == "round":
                started = time.process_time()
                with collector_paused():
                    replies = executor.run_round(message[1])
                conn.send(("replies", dataclasses.replace(replies, cpu_seconds=time.process_time() - started)))
            elif kind == "end":
                conn.send(("changes", executor.end_block()))
            elif kind == "done":
                cache.block_done(message[1], message[2])
            elif kind == "stop":
                executor.close()
                return
        except Exception:  # a bug: report it, keep serving (the next block starts afresh)
            conn.send(("error", traceback.format_exc()))


class WorkerPool:
    """N worker processes, each with a ContractExecutor, driven by the scheduler in this process."""

    def __init__(self, suite: CryptoSuite, workers: int) -> None:
        context = multiprocessing.get_context("forkserver")
        # the fork server imports py-evm and the executor once; each worker is then a quick fork of it
        context.set_forkserver_preload(["chain.execution.dmc.pool"])
        self._conns: list[Connection] = []
        self._processes: list[Any] = []
        for index in range(workers):
            parent, child = context.Pipe()
            process = context.Process(target=_worker_main, args=(child, suite.name), name=f"dmc-worker-{index}",
                                      daemon=True)
            process.start()
            child.close()
            self._conns.append(parent)
            self._processes.append(process)
        self._state: StateReader | None = None

    def __len__(self) -> int:
        return len(self._conns)

    def begin_block(self, state: StateReader, parent_root: bytes, context: ExecutionContext) -> None:
        self._state = state
        for index in range(len(self._conns)):
            self._send(index, ("begin", parent_root, context.block_number, context.timestamp, context.gas_limit,
                               context.chain_id))

    def run_round(self, batches: dict[int, RoundBatch]) -> dict[int, RoundReplies]:
        for index, batch in batches.items():
            self._send(index, ("round", batch))
        answers = self._gather({index: self._conns[index] for index in batches}, "replies")
        return {index: answer for index, answer in answers.items()}

    def end_block(self) -> list[Changes]:
        for index in range(len(self._conns)):
            self._send(index, ("end",))
        answers = self._gather(dict(enumerate(self._conns)), "changes")
        return [answers[index] for index in sorted(answers)]

    def block_done(self, result_root: bytes, changes: Mapping[Row, bytes | None]) -> None:
        for index in range(len(self._conns)):
            self._send(index, ("done", result_root, dict(changes)))

    def _send(self, index: int, message: Any) -> None:
        try:
            self._conns[index].send(message)
        except OSError as error:  # BrokenPipeError and the like: the worker is gone
            raise WorkerFailed(f"DMC worker {index} cannot be reached: {error}") from None

    def _gather(self, waiting: dict[int, Connection], expected: str) -> dict[int, Any]:
        """Each worker's answer, serving the rows they ask for meanwhile (this is the sync point)."""
        assert self._state is not None
        index_of = {id(conn): index for index, conn in waiting.items()}
        pending = dict(waiting)
        answers: dict[int, Any] = {}
        errors: list[str] = []
        while pending:
            for conn in wait(list(pending.values())):
                assert isinstance(conn, Connection)
                index = index_of[id(conn)]
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    raise WorkerFailed(f"DMC worker {index} died") from None
                if message[0] == "read":
                    self._send(index, self._state.get(message[1], message[2]))
                    continue
                del pending[index]
                if message[0] == "error":
                    errors.append(message[1])
                elif message[0] == expected:
                    answers[index] = message[1]
        if errors:
            raise WorkerFailed("a DMC worker raised:\n" + errors[0])
        return answers

    def close(self) -> None:
        for conn in self._conns:
            try:
                conn.send(("stop",))
            except (BrokenPipeError, OSError):
                pass
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
        for conn in self._conns:
            conn.close()
        self._conns = []
        self._processes = []
