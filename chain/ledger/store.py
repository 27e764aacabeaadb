"""The durable store: blocks, transactions, receipts, the nonce window and table state, in SQLite.

One rule makes it crash-safe: ``commit_block`` is the only write, and it writes *everything* a
block brings — the block, its transactions, its receipts, their nonces, the state changes and the
head pointer — in ONE SQLite transaction. SQLite (WAL journal, ``synchronous=FULL``) either makes
that transaction durable as a whole or not at all, so after a power cut or a ``kill -9`` the store
is always at some complete block, never half of one.

Tables (all keys are raw bytes, all values canonical encodings from ``chain.ledger``):

* ``meta``          key → value: schema version, crypto suite, head number
* ``blocks``        number, hash, header (RLP), signatures (RLP), raw (the whole block's RLP)
* ``transactions``  hash, block number, index, raw
* ``receipts``      transaction hash, block number, index, raw
* ``nonces``        nonce (32 bytes, big-endian), block number — the replay window the tx pool asks
* ``state``         table name, key, value — the committed state after the head block
* ``signed_votes``  number, phase, view, digest, evidence — what this node's consensus replica
  signed at the heights it is deciding (``record_vote``); the one write besides ``commit_block``,
  in its own small transaction, so a restarted sealer never signs something conflicting
* ``log_index``, ``block_blooms`` — the event-log index (``chain.ledger.log_index``), written by
  ``commit_block`` in the block's own transaction; a store opened without it is caught up on opening

``path=":memory:"`` gives the same store without a file (tests and the simulator).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Callable, Iterator, Mapping, NamedTuple, Sequence, TypeVar

from chain.crypto.suite import CryptoSuite
from chain.errors import LedgerError, StoreError
from chain.ledger import codec
from chain.ledger.block import EMPTY_ROOT, Block
from chain.ledger.receipt import Receipt
from chain.ledger.transaction import Transaction
from chain.ledger import log_index

SCHEMA_VERSION = "1"
_Record = TypeVar("_Record")
NONCE_SIZE = 32

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blocks (
    number     INTEGER PRIMARY KEY,
    hash       BLOB NOT NULL UNIQUE,
    header     BLOB NOT NULL,
    signatures BLOB NOT NULL,
    raw        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS transactions (
    hash   BLOB PRIMARY KEY,
    number INTEGER NOT NULL,
    idx    INTEGER NOT NULL,
    raw    BLOB NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS transactions_position ON transactions (number, idx);
CREATE TABLE IF NOT EXISTS receipts (
    tx_hash BLOB PRIMARY KEY,
    number  INTEGER NOT NULL,
    idx     INTEGER NOT NULL,
    raw     BLOB NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS receipts_position ON receipts (number, idx);
CREATE TABLE IF NOT EXISTS nonces (
    nonce  BLOB PRIMARY KEY,
    number INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (
    tbl   TEXT NOT NULL,
    key   BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (tbl, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS signed_votes (
    number   INTEGER NOT NULL,
    phase    INTEGER NOT NULL,
    view     INTEGER NOT NULL,
    digest   BLOB NOT NULL,
    evidence BLOB NOT NULL,
    PRIMARY KEY (number, phase, view)
) WITHOUT ROWID;
"""


def nonce_key(nonce: int) -> bytes:
    """The nonce as the fixed 32 bytes the nonces table is keyed by."""
    if not 0 <= nonce < 1 << (8 * NONCE_SIZE):
        raise LedgerError("transaction nonce does not fit in 32 bytes")
    return nonce.to_bytes(NONCE_SIZE, "big")


def encode_signatures(signatures: Sequence[tuple[int, bytes]]) -> bytes:
    return codec.encode([[index, signature] for index, signature in signatures])


class SignedVote(NamedTuple):
    """One thing this node signed at a height, as recorded before it was sent (``Store.record_vote``)."""

    number: int  # the height
    phase: int  # the message type (chain.consensus.pbft.messages.MsgType) of the slot
    view: int  # 0 for a Checkpoint
    digest: bytes  # what it signed
    evidence: bytes  # kept with the vote: the proposal's transactions, or the prepared proof of a Commit


class Store:
    """The chain's committed data; a ``StateReader`` over the state after the head block."""

    def __init__(self, path: str | Path, suite: CryptoSuite) -> None:
        self.suite = suite
        self.path = str(path)
        # One connection serves every call; the lock keeps a reader from seeing a half-run commit
        # when a driver calls from more than one thread (e.g. an RPC worker next to consensus).
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._setup()
            log_index.backfill(self._db, suite, self.receipts)
        except sqlite3.DatabaseError as exc:  # not a database, unreadable file, locked...
            raise StoreError(f"cannot open store {self.path!r}: {exc}") from exc
        self._head_number, self._head = self._load_head()

    # --- opening ----------------------------------------------------------------------------

    def _setup(self) -> None:
        db = self._db
        if self.path != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            db.execute("PRAGMA synchronous=FULL")  # a commit is on disk before commit_block returns
        db.execute("PRAGMA foreign_keys=OFF")
        db.executescript(_SCHEMA + log_index.SCHEMA)
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if not meta:
            with self._transaction():
                db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("schema", SCHEMA_VERSION), ("suite", self.suite.name), ("head", "-1")],
                )
            return
        # A database written with another suite holds hashes and signatures this node cannot check.
        if meta.get("suite") != self.suite.name:
            raise StoreError(
                f"store {self.path!r} was written by a {meta.get('suite')!r} chain, "
                f"not {self.suite.name!r}: use a fresh data directory"
            )
        # A future layout would be misread silently.
        if meta.get("schema") != SCHEMA_VERSION:
            raise StoreError(f"store {self.path!r} has schema {meta.get('schema')!r}, expected {SCHEMA_VERSION}")

    def _load_head(self) -> tuple[int, Block | None]:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'head'").fetchone()
        number = int(row[0]) if row else -1
        if number < 0:
            return -1, None
        block = self.block_by_number(number)
        if block is None:  # the head pointer and the block are written together; this is corruption
            raise StoreError(f"store {self.path!r}: head block {number} is missing")
        return number, block

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    # --- committed state --------------------------------------------------------------------

    def get(self, table: str, key: bytes) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE tbl = ? AND key = ?", (table, key)).fetchone()
        return row[0] if row else None

    def rows(self, table: str) -> Iterator[tuple[bytes, bytes]]:
        """All (key, value) rows of one table, in key order (for tools and the dashboard)."""
        with self._lock:
            found = self._db.execute("SELECT key, value FROM state WHERE tbl = ? ORDER BY key", (table,)).fetchall()
        return iter(found)

    def state_root(self) -> bytes:
        """The head's header.state_root (EMPTY_ROOT before genesis)."""
        return self._head.header.state_root if self._head is not None else EMPTY_ROOT

    # --- the chain --------------------------------------------------------------------------

    def head_number(self) -> int:
        return self._head_number

    def head(self) -> Block | None:
        return self._head

    def _one(self, sql: str, params: tuple[object, ...]) -> tuple[object, ...] | None:
        with self._lock:
            row: tuple[object, ...] | None = self._db.execute(sql, params).fetchone()
        return row

    def _blob(self, value: object) -> bytes:
        """A BLOB column: SQLite gives bytes for every value we wrote, so anything else is damage."""
        if not isinstance(value, bytes):
            raise StoreError(f"store {self.path!r} holds a corrupt row: {type(value).__name__} where bytes belong")
        return value

    def _integer(self, value: object) -> int:
        """An INTEGER column: SQLite gives int for every value we wrote, so anything else is damage."""
        if not isinstance(value, int):
            raise StoreError(f"store {self.path!r} holds a corrupt row: {type(value).__name__} where an integer belongs")
        return value

    def block_by_number(self, number: int) -> Block | None:
        row = self._one("SELECT raw FROM blocks WHERE number = ?", (number,))
        return self._decode(Block.decode, self._blob(row[0])) if row else None

    def block_by_hash(self, block_hash: bytes) -> Block | None:
        row = self._one("SELECT raw FROM blocks WHERE hash = ?", (block_hash,))
        return self._decode(Block.decode, self._blob(row[0])) if row else None

    def block_hash(self, number: int) -> bytes | None:
        row = self._one("SELECT hash FROM blocks WHERE number = ?", (number,))
        return self._blob(row[0]) if row else None

    def block_number_of(self, block_hash: bytes) -> int | None:
        row = self._one("SELECT number FROM blocks WHERE hash = ?", (block_hash,))
        return self._integer(row[0]) if row else None

    def transaction(self, tx_hash: bytes) -> tuple[Transaction, int, int] | None:
        """(transaction, block number, index in the block), or None if not on chain."""
        row = self._one("SELECT raw, number, idx FROM transactions WHERE hash = ?", (tx_hash,))
        if row is None:
            return None
        return self._decode(Transaction.decode, self._blob(row[0])), self._integer(row[1]), self._integer(row[2])

    def has_transaction(self, tx_hash: bytes) -> bool:
        return self._one("SELECT 1 FROM transactions WHERE hash = ?", (tx_hash,)) is not None

    def transaction_at(self, number: int, index: int) -> Transaction | None:
        row = self._one("SELECT raw FROM transactions WHERE number = ? AND idx = ?", (number, index))
        return self._decode(Transaction.decode, self._blob(row[0])) if row else None

    def receipt(self, tx_hash: bytes) -> Receipt | None:
        row = self._one("SELECT raw FROM receipts WHERE tx_hash = ?", (tx_hash,))
        return self._decode(Receipt.decode, self._blob(row[0])) if row else None

    def receipts(self, number: int) -> tuple[Receipt, ...]:
        with self._lock:
            found = self._db.execute("SELECT raw FROM receipts WHERE number = ? ORDER BY idx", (number,)).fetchall()
        return tuple(self._decode(Receipt.decode, raw) for (raw,) in found)

    def receipt_at(self, number: int, index: int) -> Receipt | None:
        row = self._one("SELECT raw FROM receipts WHERE number = ? AND idx = ?", (number, index))
        return self._decode(Receipt.decode, self._blob(row[0])) if row else None

    def select(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """Rows of a read-only query, for the indexes kept beside the chain (``chain.logs``)."""
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def total_transactions(self) -> int:
        row = self._one("SELECT COUNT(*) FROM transactions", ())
        return self._integer(row[0]) if row else 0

    def nonce_on_chain(self, nonce: int, since_number: int) -> bool:
        """True iff a transaction with this nonce is in a block numbered since_number or later."""
        try:
            key = nonce_key(nonce)
        except LedgerError:
            return False  # a nonce that does not fit the table cannot have been committed
        row = self._one("SELECT number FROM nonces WHERE nonce = ?", (key,))
        return row is not None and self._integer(row[0]) >= since_number

    def _decode(self, decoder: Callable[[bytes], _Record], raw: bytes) -> _Record:
        """Decode a stored row; a row that does not decode means the file was damaged outside us."""
        try:
            return decoder(raw)
        except LedgerError as exc:
            raise StoreError(f"store {self.path!r} holds a corrupt row: {exc}") from exc

    # --- the only write ---------------------------------------------------------------------

    def commit_block(self, block: Block, receipts: Sequence[Receipt], changes: Mapping[tuple[str, bytes], bytes | None]) -> None:
        """Append block with its receipts and state changes, atomically; StoreError leaves the store unchanged.

        The store checks that the block extends the head and that the receipts belong to its
        transactions; it does not re-execute, so it trusts the caller (consensus, after a quorum
        signed this header) that the state root and changes agree.
        """
        suite = self.suite
        number = block.number
        # A chain only grows at its tip, one block at a time.
        if number != self._head_number + 1:
            raise StoreError(f"block {number} does not extend the head {self._head_number}")
        # The block must be the child of our head, not of some other fork.
        if self._head is not None and block.header.parent_hash != self._head.hash(suite):
            raise StoreError(f"block {number}'s parent hash is not the hash of head block {self._head_number}")
        # Every transaction has exactly one receipt, in the same order.
        if len(receipts) != len(block.transactions):
            raise StoreError(f"block {number} has {len(block.transactions)} transactions but {len(receipts)} receipts")
        tx_hashes = [tx.hash(suite) for tx in block.transactions]
        for index, (tx_hash, receipt) in enumerate(zip(tx_hashes, receipts)):
            # A receipt that names another transaction or position would answer the wrong query.
            if receipt.transaction_hash != tx_hash or receipt.transaction_index != index or receipt.block_number != number:
                raise StoreError(f"block {number}: receipt {index} does not belong to transaction {index} of this block")
        # The nonces table is keyed by the 32-byte nonce (a decoded transaction always fits).
        try:
            nonces = [(nonce_key(tx.nonce), number) for tx in block.transactions]
        except LedgerError as exc:
            raise StoreError(f"block {number}: {exc}") from exc
        for (table, key), value in changes.items():
            # Rows are (text table, bytes key) → bytes; anything else would be stored as another type.
            if not isinstance(table, str) or not isinstance(key, bytes) or not (value is None or isinstance(value, bytes)):
                raise StoreError(f"block {number}: state change {table!r}/{key!r} is not (str, bytes) -> bytes | None")
        puts = [(table, key, value) for (table, key), value in changes.items() if value is not None]
        deletes = [(table, key) for (table, key), value in changes.items() if value is None]
        block_hash = block.hash(suite)

        with self._lock:
            try:
                with self._transaction():
                    db = self._db
                    db.execute(
                        "INSERT INTO blocks (number, hash, header, signatures, raw) VALUES (?, ?, ?, ?, ?)",
                        (number, block_hash, block.header.encode(), encode_signatures(block.signatures), block.encode()),
                    )
                    db.executemany(
                        "INSERT INTO transactions (hash, number, idx, raw) VALUES (?, ?, ?, ?)",
                        [(h, number, i, tx.encode()) for i, (h, tx) in enumerate(zip(tx_hashes, block.transactions))],
                    )
                    db.executemany(
                        "INSERT INTO receipts (tx_hash, number, idx, raw) VALUES (?, ?, ?, ?)",
                        [(r.transaction_hash, number, r.transaction_index, r.encode()) for r in receipts],
                    )
                    # A nonce seen again (allowed once out of the window) keeps its latest block.
                    db.executemany("INSERT OR REPLACE INTO nonces (nonce, number) VALUES (?, ?)", nonces)
                    db.executemany("INSERT OR REPLACE INTO state (tbl, key, value) VALUES (?, ?, ?)", puts)
                    db.executemany("DELETE FROM state WHERE tbl = ? AND key = ?", deletes)
                    log_index.write_block(db, suite, number, receipts)
                    db.execute("UPDATE meta SET value = ? WHERE key = 'head'", (str(number),))
            except sqlite3.IntegrityError as exc:  # e.g. a transaction already on chain
                raise StoreError(f"block {number} conflicts with the stored chain: {exc}") from exc
            except sqlite3.Error as exc:  # disk full, I/O error: nothing was written
                raise StoreError(f"block {number} could not be stored: {exc}") from exc
            self._head_number, self._head = number, block


    # --- the consensus replica's own signatures ------------------------------------------------

    def record_vote(self, number: int, phase: int, view: int, digest: bytes, evidence: bytes = b"") -> None:
        """Make durable that this node signed `digest` for (number, phase, view), before it is sent.

        A sealer that forgot its votes in a crash could sign a conflicting one after restarting,
        which is exactly what a Byzantine node does. Rows more than one height below are dropped in
        the same transaction: the pipeline (chain.consensus.pbft.pipeline) votes at the height after
        the one being decided, whose rows must survive until it is stored; the previous height's
        views also bound the current view from below.
        """
        with self._lock:
            try:
                with self._transaction():
                    self._db.execute("DELETE FROM signed_votes WHERE number < ?", (number - 1,))
                    self._db.execute(
                        "INSERT OR REPLACE INTO signed_votes (number, phase, view, digest, evidence) VALUES (?, ?, ?, ?, ?)",
                        (number, phase, view, bytes(digest), bytes(evidence)),
                    )
            except sqlite3.Error as exc:  # disk full, I/O error: the vote must not be sent
                raise StoreError(f"could not record a vote at height {number}: {exc}") from exc

    def signed_votes(self) -> list[SignedVote]:
        """Every recorded vote, lowest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT number, phase, view, digest, evidence FROM signed_votes ORDER BY number, phase, view"
            ).fetchall()
        return [SignedVote(int(n), int(p), int(v), bytes(d), bytes(e)) for n, p, v, d, e in rows]


class _Transaction:
    """BEGIN … COMMIT, or ROLLBACK on any exception: the unit in which a block is written."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
                return
            except sqlite3.Error:
                self._db.execute("ROLLBACK")  # a failed COMMIT leaves the transaction open
                raise
        self._db.execute("ROLLBACK")
