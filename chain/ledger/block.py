"""Blocks: a header, the transactions, and the signature list beside them.

The block hash is the hash of the header alone. The signature list — a quorum of sealers'
Checkpoint signatures over that hash — is deliberately *not* part of it (FISCO BCOS 3.x), since it
can only be gathered after the hash is known.

A proposal travels with the execution result fields (receipts_root, state_root, gas_used) empty;
execution fills them in, which yields the header whose hash the sealers then sign.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Iterable

from chain.crypto.suite import CryptoSuite
from chain.ledger import codec
from chain.ledger.transaction import Transaction

HASH_SIZE = 32
MAX_EXTRA_DATA = 1024
EMPTY_ROOT = b"\x00" * HASH_SIZE


@dataclass(frozen=True)
class BlockHeader:
    parent_hash: bytes
    number: int
    timestamp: int
    sealer: int
    sealer_list: tuple[bytes, ...]
    transactions_root: bytes
    receipts_root: bytes = EMPTY_ROOT
    state_root: bytes = EMPTY_ROOT
    gas_used: int = 0
    extra_data: bytes = b""
    _memo: dict[str, bytes] = field(default_factory=dict, init=False, compare=False, repr=False)

    def to_rlp(self) -> list[Any]:
        return [
            self.parent_hash, self.number, self.timestamp, self.sealer, list(self.sealer_list),
            self.transactions_root, self.receipts_root, self.state_root, self.gas_used, self.extra_data,
        ]

    def encode(self) -> bytes:
        if "raw" not in self._memo:  # hashed, stored and sent: encoded once
            self._memo["raw"] = codec.encode(self.to_rlp())
        raw: bytes = self._memo["raw"]
        return raw

    @classmethod
    def from_rlp(cls, items: Any) -> BlockHeader:
        items = codec.as_list(items, "header", 10)
        return cls(
            parent_hash=codec.as_bytes(items[0], "header.parentHash", size=HASH_SIZE),
            number=codec.as_int(items[1], "header.number", max_bits=64),
            timestamp=codec.as_int(items[2], "header.timestamp", max_bits=64),
            sealer=codec.as_int(items[3], "header.sealer", max_bits=32),
            sealer_list=tuple(
                codec.as_bytes(node, "header.sealerList", size=64)
                for node in codec.as_list(items[4], "header.sealerList")
            ),
            transactions_root=codec.as_bytes(items[5], "header.transactionsRoot", size=HASH_SIZE),
            receipts_root=codec.as_bytes(items[6], "header.receiptsRoot", size=HASH_SIZE),
            state_root=codec.as_bytes(items[7], "header.stateRoot", size=HASH_SIZE),
            gas_used=codec.as_int(items[8], "header.gasUsed"),
            extra_data=codec.as_bytes(items[9], "header.extraData", max_size=MAX_EXTRA_DATA),
        )

    @classmethod
    def decode(cls, raw: bytes) -> BlockHeader:
        return cls.from_rlp(codec.decode_list(raw, "header"))

    def hash(self, suite: CryptoSuite) -> bytes:
        if suite.name not in self._memo:
            self._memo[suite.name] = suite.hash(self.encode())
        return self._memo[suite.name]


@dataclass(frozen=True)
class Block:
    header: BlockHeader
    transactions: tuple[Transaction, ...] = ()
    signatures: tuple[tuple[int, bytes], ...] = ()

    @property
    def number(self) -> int:
        return self.header.number

    def hash(self, suite: CryptoSuite) -> bytes:
        return self.header.hash(suite)

    def encode(self) -> bytes:
        # The RLP list [header, transactions, signatures], with the header's encoding (memoised:
        # it lists every sealer) spliced in as is rather than encoded a second time.
        body = (self.header.encode() + codec.encode([tx.encode() for tx in self.transactions])
                + codec.encode([[index, signature] for index, signature in self.signatures]))
        return codec.list_prefix(len(body)) + body

    @classmethod
    def decode(cls, raw: bytes) -> Block:
        """Parse a block; LedgerError for anything malformed.

        Decoding is a pure function of the bytes and a Block is immutable (the memos of its header
        and transactions hold only values derived from their fields), so recent results are
        shared: a block costs a decode per transaction and a hash of a header that lists every
        sealer, and the simulator's followers all receive the same pushed block, then the checker
        reads it back from every node's store (like chain.consensus.pbft.messages.decode_envelope).
        Only blocks up to SHARED_DECODE_MAX bytes are kept, so the memo stays under ~16 MB of raw
        blocks (plus their objects) whatever size a node's blocks are.
        """
        raw = bytes(raw)
        return _decode_block(raw) if len(raw) <= SHARED_DECODE_MAX else cls._decode(raw)

    @classmethod
    def _decode(cls, raw: bytes) -> Block:
        items = codec.decode_list(raw, "block", 3)
        header = BlockHeader.from_rlp(items[0])
        transactions = tuple(
            Transaction.decode(codec.as_bytes(tx, "block.transaction"))
            for tx in codec.as_list(items[1], "block.transactions")
        )
        signatures = []
        for entry in codec.as_list(items[2], "block.signatures"):
            pair = codec.as_list(entry, "block.signature [sealer index, signature]", 2)
            signatures.append((codec.as_int(pair[0], "block.signature.index", 32), codec.as_bytes(pair[1], "block.signature")))
        return cls(header, transactions, tuple(signatures))

    def with_signatures(self, signatures: Iterable[tuple[int, bytes]]) -> Block:
        return replace(self, signatures=tuple(sorted(signatures)))

    def with_execution(self, *, receipts_root: bytes, state_root: bytes, gas_used: int) -> Block:
        header = replace(self.header, receipts_root=receipts_root, state_root=state_root, gas_used=gas_used)
        return replace(self, header=header)


SHARED_DECODE_MAX = 32 * 1024  # a block of ~150 kv transactions; larger ones are decoded each time


@lru_cache(maxsize=512)
def _decode_block(raw: bytes) -> Block:
    return Block._decode(raw)
