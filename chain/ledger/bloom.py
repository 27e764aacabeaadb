"""The 2048-bit log bloom of Ethereum and FISCO BCOS, over the chain's suite hash.

Why a bloom: it answers "might this receipt (or block) hold a log from address A with topic T?"
in 256 bytes, with false positives but never a false negative. FISCO puts one in every receipt
and block header (``logsBloom``); clients (and our subscription hub) test it before decoding.

The rule (``FixedHash::shiftBloom<3>`` in FISCO, ``bloom_bits`` in Ethereum): hash the item with the
suite hash (Keccak-256 in standard, SM3 in sm); each of the first three 2-byte pairs of the digest,
taken modulo 2048, names one bit; bit ``i`` lives in byte ``255 - i // 8`` at ``1 << (i % 8)``. The
items are each log's 20-byte address and each of its 32-byte topics (the data is not included).
"""

from __future__ import annotations

from typing import Iterable

from chain.crypto.suite import CryptoSuite
from chain.ledger.receipt import Log, Receipt

BLOOM_BYTES = 256  # 2048 bits
BLOOM_BITS = 8 * BLOOM_BYTES
EMPTY_BLOOM = bytes(BLOOM_BYTES)
_HASH_PAIRS = 3  # bits set per item


def item_bits(suite: CryptoSuite, item: bytes) -> tuple[int, ...]:
    """The bit numbers (0..2047) that one address or topic sets."""
    digest = suite.hash(item)
    return tuple(((digest[2 * k] << 8) | digest[2 * k + 1]) % BLOOM_BITS for k in range(_HASH_PAIRS))


def _as_int(bloom: bytes) -> int:
    return int.from_bytes(bloom, "big")  # bit i of the integer is bit i of the bloom


def _from_int(value: int) -> bytes:
    return value.to_bytes(BLOOM_BYTES, "big")


def bloom_of_items(suite: CryptoSuite, items: Iterable[bytes]) -> bytes:
    value = 0
    for item in items:
        for bit in item_bits(suite, item):
            value |= 1 << bit
    return _from_int(value)


def log_items(log: Log) -> list[bytes]:
    """What a log contributes to a bloom: its address and each topic."""
    return [log.address, *log.topics]


def logs_bloom(suite: CryptoSuite, logs: Iterable[Log]) -> bytes:
    return bloom_of_items(suite, (item for log in logs for item in log_items(log)))


def receipt_bloom(suite: CryptoSuite, receipt: Receipt) -> bytes:
    """A receipt's ``logsBloom`` (computed from its logs: the receipt encoding does not carry it)."""
    return logs_bloom(suite, receipt.logs)


def block_bloom(suite: CryptoSuite, receipts: Iterable[Receipt]) -> bytes:
    """The block's ``logsBloom``: the OR of its receipts' blooms.

    Computed from the distinct addresses and topics (OR is idempotent): a block's logs repeat the
    same event signature and emitters, so this hashes each once instead of once per log.
    """
    return bloom_of_items(suite, {item for receipt in receipts for log in receipt.logs for item in log_items(log)})


def may_contain(suite: CryptoSuite, bloom: bytes, item: bytes) -> bool:
    """False means certainly absent; True means perhaps present."""
    value = _as_int(bloom)
    return all(value >> bit & 1 for bit in item_bits(suite, item))


def may_match(suite: CryptoSuite, bloom: bytes, addresses: Iterable[bytes], topics: Iterable[Iterable[bytes]]) -> bool:
    """Whether a log matching (any of addresses) and, per position, (any of that position's topics)
    might be behind this bloom. An empty alternative set is a wildcard."""
    addresses = list(addresses)
    if addresses and not any(may_contain(suite, bloom, a) for a in addresses):
        return False
    for alternatives in topics:
        alternatives = list(alternatives)
        if alternatives and not any(may_contain(suite, bloom, t) for t in alternatives):
            return False
    return True
