"""A node's store on disk, as the attacker and the auditor see it.

A node directory (made by `chain build`, or saved from the simulator by `chain tamper run --save`)
holds config.toml (where the store is, which executor the chain runs), genesis.toml (the chain) and
the SQLite store. ``overwrite_block`` edits the store *under* the Store API, the way someone with
the disk would: it rewrites the block's rows in place, in one SQLite transaction, and touches
nothing else — no check runs, which is the point of the exercise.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from chain.crypto.suite import get_suite
from chain.errors import ConfigError, StoreError
from chain.execution.result import BlockExecutor
from chain.ledger.block import Block
from chain.ledger.genesis import GenesisConfig
from chain.ledger.store import Store, encode_signatures
from chain.node.config import CONFIG_FILE, NodeConfig, NodeSection, ExecutorSection


@dataclass(frozen=True)
class NodeFiles:
    """Where one node keeps its chain, and what is needed to re-check it."""

    directory: Path
    store_path: Path
    genesis: GenesisConfig
    executor_kind: str


def locate(directory: str | Path) -> NodeFiles:
    """The files of the node directory `directory`; ConfigError if it is not one, or has no store yet."""
    directory = Path(directory)
    # A node directory is recognised by its config.toml, which says where everything else is.
    if not (directory / CONFIG_FILE).is_file():
        raise ConfigError(f"{directory} is not a node directory (no {CONFIG_FILE}); "
                          "give one made by `chain build` or `chain tamper run --save`")
    config = NodeConfig.load(directory)
    genesis = GenesisConfig.load(directory / config.node.genesis)
    store_path = directory / config.storage.path
    # Opening a missing store would create an empty one: say so instead.
    if not store_path.is_file():
        raise ConfigError(f"{store_path} does not exist yet: a node writes its store when it first starts")
    return NodeFiles(directory, store_path, genesis, config.executor.kind)


def open_store(files: NodeFiles) -> Store:
    return Store(files.store_path, get_suite(files.genesis.suite))


def make_executor(files: NodeFiles) -> BlockExecutor:
    """The executor the node's chain runs: the same kind as the node, or re-execution cannot agree."""
    from chain.execution.kinds import make_executor as node_executor

    return node_executor(files.executor_kind, get_suite(files.genesis.suite), files.genesis.chain_id)


def overwrite_block(store: Store, block: Block) -> None:
    """Replace the stored block of the same number by `block`, rows and all, with no check at all.

    Reaches under the Store API (its connection and lock) on purpose: the Store's only write,
    commit_block, refuses anything but a new head — an attacker does not ask.
    """
    suite = store.suite
    old = store.block_by_number(block.number)
    # The edit replaces a block the node holds.
    if old is None:
        raise StoreError(f"the store holds no block {block.number} (its head is {store.head_number()})")
    db: sqlite3.Connection = store._db  # noqa: SLF001 — the attacker's access to the file
    with store._lock:  # noqa: SLF001
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE blocks SET hash = ?, header = ?, signatures = ?, raw = ? WHERE number = ?",
                       (block.hash(suite), block.header.encode(), encode_signatures(block.signatures), block.encode(),
                        block.number))
            for index, (before, after) in enumerate(zip(old.transactions, block.transactions)):
                if before.encode() != after.encode():
                    db.execute("UPDATE transactions SET hash = ?, raw = ? WHERE number = ? AND idx = ?",
                               (after.hash(suite), after.encode(), block.number, index))
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            db.execute("ROLLBACK")
            raise StoreError(f"could not overwrite block {block.number}: {exc}") from exc


def save_node(store: Store, genesis: GenesisConfig, directory: str | Path, *, name: str, executor_kind: str) -> Path:
    """Write a node directory (config.toml, genesis.toml, data/chain.db) holding a copy of `store`.

    What the simulator keeps in memory becomes the same SQLite file a real node keeps, so the
    store-level commands (`chain tamper store`, `chain tamper verify`) work on it like on a real node's.
    """
    directory = Path(directory)
    config = NodeConfig(node=NodeSection(name=name), executor=ExecutorSection(kind=executor_kind))
    target = directory / config.storage.path
    # Never overwrite a store: it may be a real node's.
    if target.exists():
        raise ConfigError(f"{target} already exists; choose another directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    config.dump(directory)
    genesis.dump(directory / config.node.genesis)
    with store._lock:  # noqa: SLF001 — SQLite's backup API copies the in-memory database page by page
        copy = sqlite3.connect(target)
        try:
            store._db.backup(copy)  # noqa: SLF001
        finally:
            copy.close()
    return directory
