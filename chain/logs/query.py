"""Log queries with FISCO BCOS 3.x semantics (``bcos-rpc/filter``: FilterRequest, LogMatcher, FilterSystem).

The API the RPC methods, the web3 layer and the channel protocol all call:

* ``LogFilter`` — what to match: ``from_block``/``to_block`` (None = "latest"), ``addresses`` (any of;
  empty = any), ``topics`` (per position, any of; an empty position is a wildcard), ``block_hash``
  (instead of a range). ``LogFilter.matches(log)`` is FISCO's ``LogMatcher::matches``: a log with
  fewer topics than the filter has positions never matches, even if the extra positions are wildcards.
* ``filter_from_json(obj)`` — the JSON object clients send (``{"fromBlock", "toBlock", "address",
  "topics", "blockHash"}``); ``LogQueryError`` on anything malformed.
* ``get_logs(store, flt)`` → ``list[MatchedLog]`` over the committed chain. The range is checked as
  FISCO does (from ≤ to unless one is "latest"; from past the head gives []; to is clipped to the
  head) and then BOUNDED: more than ``MAX_BLOCK_RANGE`` blocks, or more than ``MAX_RESULTS`` logs,
  is a ``LogQueryError`` telling the client to narrow it (FISCO itself has no bound; a Python node
  answering one request for a million blocks would stall everyone else).
* ``match_block(flt, number, block_hash, receipts)`` — the same matching over one block in hand
  (the subscription hub uses it on each commit).
* ``log_json(m)`` — FISCO's JSON for one log: ``{address, topics, data, blockNumber, blockHash,
  transactionHash, transactionIndex, logIndex, removed}`` with hex quantities; ``logIndex`` is the
  index within its receipt, as in FISCO.

Filters (``chain.logs.filters.FilterRegistry``) and subscriptions
(``chain.logs.subscriptions.SubscriptionHub``) are built on these; ``chain.logs.service.LogService``
holds one of each for a node.

How a query stays cheap: ``get_logs`` never walks blocks. It asks the SQLite log index
(``chain.ledger.log_index``) for the (block, transaction, log) positions that match, then reads and
decodes only those receipts (``Store.receipt_at``). Each decoded log is checked again against the
filter, so the index can only narrow the work, never change the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from chain.errors import ChainError
from chain.ledger.receipt import Log, Receipt
from chain.ledger.store import Store
from chain.ledger.log_index import MAX_TOPICS, candidate_sql

MAX_BLOCK_RANGE = 10_000  # blocks one getLogs may scan (toBlock - fromBlock + 1, after clipping to the head)
MAX_RESULTS = 10_000  # logs one getLogs may return
MAX_ADDRESSES = 100  # alternatives in "address"
MAX_TOPIC_ALTERNATIVES = 100  # alternatives at one topic position
LATEST_TAGS = ("latest", "pending", "safe", "finalized")  # FISCO getBlockNumberByTag: all the head (PBFT is final)


class LogQueryError(ChainError):
    """A filter that is malformed or asks too much; the message says which."""


@dataclass(frozen=True)
class LogFilter:
    from_block: int | None = None  # None: the head when the query runs ("latest")
    to_block: int | None = None  # None: the head
    addresses: frozenset[bytes] = frozenset()
    topics: tuple[frozenset[bytes], ...] = ()
    block_hash: bytes | None = None

    def matches(self, log: Log) -> bool:
        # An empty address set matches any emitter; otherwise the emitter must be one of them.
        if self.addresses and log.address not in self.addresses:
            return False
        # A log with fewer topics than the filter's positions cannot match (FISCO, Ethereum alike).
        if len(self.topics) > len(log.topics):
            return False
        # Each non-empty position must contain the log's topic at that position.
        return all(not wanted or log.topics[i] in wanted for i, wanted in enumerate(self.topics))

    def check_range(self) -> None:
        """FISCO's FilterRequest::checkBlockRange: an explicit toBlock may not precede fromBlock."""
        if self.from_block is None and self.to_block is not None:
            raise LogQueryError("invalid block range params: fromBlock is latest but toBlock is a number")
        if self.from_block is not None and self.to_block is not None and self.to_block < self.from_block:
            raise LogQueryError(f"invalid block range params: toBlock {self.to_block} < fromBlock {self.from_block}")


@dataclass(frozen=True)
class MatchedLog:
    log: Log
    block_number: int
    block_hash: bytes
    transaction_hash: bytes
    transaction_index: int
    log_index: int  # index within its receipt (FISCO)


def log_json(m: MatchedLog) -> dict[str, Any]:
    return {
        "address": "0x" + m.log.address.hex(),
        "topics": ["0x" + t.hex() for t in m.log.topics],
        "data": "0x" + m.log.data.hex(),
        "blockNumber": hex(m.block_number),
        "blockHash": "0x" + m.block_hash.hex(),
        "transactionHash": "0x" + m.transaction_hash.hex(),
        "transactionIndex": hex(m.transaction_index),
        "logIndex": hex(m.log_index),
        "removed": False,  # a committed PBFT block is final: logs are never removed
    }


# --- reading a filter from JSON ------------------------------------------------------------------

def _hex_bytes(value: Any, what: str, size: int) -> bytes:
    if not isinstance(value, str):
        raise LogQueryError(f"{what} must be a hex string, got {type(value).__name__}")
    digits = value[2:] if value[:2] in ("0x", "0X") else value
    if len(digits) != 2 * size:
        raise LogQueryError(f"{what} must be {size} bytes of hex, got {value[:80]!r}")
    try:
        return bytes.fromhex(digits)
    except ValueError:
        raise LogQueryError(f"{what} is not hex: {value[:80]!r}") from None


def _block_param(value: Any, what: str) -> int | None:
    """A block number (JSON number, 0x-hex or decimal text), "earliest" (0) or a head tag (None); absent = latest."""
    if value is None or value in LATEST_TAGS:
        return None
    if value == "earliest":
        return 0
    if isinstance(value, bool):
        raise LogQueryError(f"{what} must be a block number or \"latest\"")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and len(value) <= 20 and value[:2] == "0x" and len(value) > 2:
        try:
            number = int(value[2:], 16)
        except ValueError:
            raise LogQueryError(f"{what} is not a block number: {value!r}") from None
    elif isinstance(value, str) and 0 < len(value) <= 20 and value.isascii() and value.isdigit():
        number = int(value)
    else:
        raise LogQueryError(f"{what} must be a block number or \"latest\", got {str(value)[:40]!r}")
    if not 0 <= number < 1 << 63:  # FISCO: a negative block number fails checkBlockRange
        raise LogQueryError(f"invalid block range params: {what} {number} out of range")
    return number


def _alternatives(value: Any, what: str, size: int, limit: int) -> frozenset[bytes]:
    """One value or an array of alternatives; null or [] = any."""
    if value is None:
        return frozenset()
    items = value if isinstance(value, list) else [value]
    if len(items) > limit:
        raise LogQueryError(f"{what}: at most {limit} alternatives")
    return frozenset(_hex_bytes(item, what, size) for item in items)


def filter_from_json(obj: Any) -> LogFilter:
    """A LogFilter from a client's JSON filter object (FISCO 3.x/Ethereum field names)."""
    if obj is None:
        obj = {}
    if not isinstance(obj, dict):
        raise LogQueryError("the filter must be a JSON object {fromBlock, toBlock, address, topics, blockHash}")
    topics_json = obj.get("topics")
    if topics_json is None:
        topics_json = []
    if not isinstance(topics_json, list):
        raise LogQueryError("topics must be an array")
    if len(topics_json) > MAX_TOPICS:  # LOG0..LOG4
        raise LogQueryError(f"exceed max topics: at most {MAX_TOPICS} positions")
    block_hash_json = obj.get("blockHash", obj.get("blockhash"))  # web3 spells blockHash, FISCO blockhash
    flt = LogFilter(
        from_block=_block_param(obj.get("fromBlock"), "fromBlock"),
        to_block=_block_param(obj.get("toBlock"), "toBlock"),
        addresses=_alternatives(obj.get("address"), "address", 20, MAX_ADDRESSES),
        topics=tuple(_alternatives(t, f"topics[{i}]", 32, MAX_TOPIC_ALTERNATIVES) for i, t in enumerate(topics_json)),
        block_hash=None if block_hash_json is None else _hex_bytes(block_hash_json, "blockHash", 32),
    )
    if flt.block_hash is None:
        flt.check_range()
    return flt


# --- answering ---------------------------------------------------------------------------------

def resolve_range(flt: LogFilter, head: int, max_range: int = MAX_BLOCK_RANGE) -> range:
    """The block numbers a query scans, FISCO-style, and bounded; empty if none exist yet."""
    flt.check_range()
    start = head if flt.from_block is None else flt.from_block
    end = head if flt.to_block is None else min(flt.to_block, head)
    if start > head or end < start:  # the blocks of interest do not exist yet
        return range(0)
    if end - start + 1 > max_range:
        raise LogQueryError(
            f"block range too large: {end - start + 1} blocks ({start}..{end}); "
            f"at most {max_range} per query: split it into smaller ranges"
        )
    return range(start, end + 1)


def get_logs(store: Store, flt: LogFilter, *, max_range: int = MAX_BLOCK_RANGE,
             max_results: int = MAX_RESULTS, blocks: range | None = None) -> list[MatchedLog]:
    """Every committed log matching flt, oldest first (see the module docstring for the rules).

    ``blocks`` overrides the range (filters use it to ask for "what is new since the last poll").
    """
    if blocks is None:
        if flt.block_hash is not None:
            hashed = store.block_number_of(flt.block_hash)
            if hashed is None:
                raise LogQueryError("unknown block")  # FISCO's text
            blocks = range(hashed, hashed + 1)
        else:
            blocks = resolve_range(flt, store.head_number(), max_range)
    if not blocks:
        return []
    sql, args = candidate_sql(blocks.start, blocks.stop - 1, sorted(flt.addresses), [sorted(t) for t in flt.topics])
    positions = store.select(sql + f" LIMIT {max_results + 1}", args)
    if len(positions) > max_results:
        raise LogQueryError(f"query returns more than {max_results} logs: narrow the block range or the filter")
    found: list[MatchedLog] = []
    receipt: Receipt | None = None
    hashes: dict[int, bytes] = {}
    for number, tx_idx, log_idx in positions:
        assert isinstance(number, int) and isinstance(tx_idx, int) and isinstance(log_idx, int)
        if receipt is None or (receipt.block_number, receipt.transaction_index) != (number, tx_idx):
            receipt = store.receipt_at(number, tx_idx)  # one read and decode per matching receipt
        if receipt is None or log_idx >= len(receipt.logs):
            continue  # the index points past the stored receipt: never trust it over the chain
        log = receipt.logs[log_idx]
        if not flt.matches(log):  # the decoded log is the answer; the index only narrows the search
            continue
        if number not in hashes:
            hashes[number] = store.block_hash(number) or b""
        found.append(MatchedLog(log, number, hashes[number], receipt.transaction_hash, tx_idx, log_idx))
    return found


def match_block(flt: LogFilter, number: int, block_hash: bytes, receipts: Sequence[Receipt]) -> list[MatchedLog]:
    """The logs of one block (its receipts in hand) that flt matches, ignoring flt's range."""
    return [
        MatchedLog(log, number, block_hash, r.transaction_hash, r.transaction_index, i)
        for r in receipts if r.ok
        for i, log in enumerate(r.logs) if flt.matches(log)
    ]


def in_range(flt: LogFilter, number: int) -> bool:
    """Whether a newly committed block `number` is inside flt's explicit bounds (None = open)."""
    if flt.block_hash is not None:
        return False  # a filter on one past block never matches a new one
    if flt.from_block is not None and number < flt.from_block:
        return False
    return flt.to_block is None or number <= flt.to_block

