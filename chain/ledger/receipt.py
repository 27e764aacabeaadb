"""Transaction receipts: what executing one transaction produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chain.crypto.suite import CryptoSuite
from chain.errors import LedgerError
from chain.ledger import codec
from chain.ledger.status import Status


@dataclass(frozen=True)
class Log:
    """An EVM event: emitting contract, up to four 32-byte topics, and data."""

    address: bytes
    topics: tuple[bytes, ...]
    data: bytes

    def to_rlp(self) -> list[object]:
        return [self.address, list(self.topics), self.data]

    @classmethod
    def from_rlp(cls, item: object) -> Log:
        fields = codec.as_list(item, "log", 3)
        topics = tuple(codec.as_bytes(t, "log.topic", size=32) for t in codec.as_list(fields[1], "log.topics"))
        if len(topics) > 4:  # LOG0..LOG4
            raise LedgerError("log: more than 4 topics")
        return cls(codec.as_bytes(fields[0], "log.address", size=20), topics, codec.as_bytes(fields[2], "log.data"))


@dataclass(frozen=True)
class Receipt:
    status: int
    output: bytes
    contract_address: bytes
    gas_used: int
    logs: tuple[Log, ...]
    block_number: int
    transaction_hash: bytes
    transaction_index: int
    # The encoding and hashes are pure functions of the fields: the receipts root, the store and
    # the RPC all need them, so each is computed once (pure-Python RLP is a fifth of a node's CPU).
    _memo: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == Status.SUCCESS

    def encode(self) -> bytes:
        if "raw" not in self._memo:
            self._memo["raw"] = codec.encode([
                self.status, self.output, self.contract_address, self.gas_used,
                [log.to_rlp() for log in self.logs],
                self.block_number, self.transaction_hash, self.transaction_index,
            ])
        raw: bytes = self._memo["raw"]
        return raw

    @classmethod
    def decode(cls, raw: bytes) -> Receipt:
        items = codec.decode_list(raw, "receipt", 8)
        contract_address = codec.as_bytes(items[2], "receipt.contractAddress")
        if len(contract_address) not in (0, 20):
            raise LedgerError("receipt.contractAddress: expected 20 bytes or empty")
        return cls(
            status=codec.as_int(items[0], "receipt.status", max_bits=32),
            output=codec.as_bytes(items[1], "receipt.output"),
            contract_address=contract_address,
            gas_used=codec.as_int(items[3], "receipt.gasUsed"),
            logs=tuple(Log.from_rlp(item) for item in codec.as_list(items[4], "receipt.logs")),
            block_number=codec.as_int(items[5], "receipt.blockNumber", max_bits=64),
            transaction_hash=codec.as_bytes(items[6], "receipt.transactionHash", size=32),
            transaction_index=codec.as_int(items[7], "receipt.transactionIndex", max_bits=32),
        )

    def hash(self, suite: CryptoSuite) -> bytes:
        key = f"hash:{suite.name}"
        if key not in self._memo:
            self._memo[key] = suite.hash(self.encode())
        digest: bytes = self._memo[key]
        return digest
