from __future__ import annotations

import pytest
from eth_utils import keccak

from chain.crypto.suite import get_suite
from chain.ledger.receipt import Log, Receipt
from chain.ledger.bloom import EMPTY_BLOOM, block_bloom, logs_bloom, may_contain, may_match, receipt_bloom


def test_standard_bloom_is_ethereums() -> None:
    """An independent Ethereum bloom (keccak, 3 bit pairs mod 2048, big-endian bytes) gives the same 256 bytes."""
    suite = get_suite("standard")
    address, t0 = bytes(range(20)), keccak(b"Transfer(address,address,uint256)")
    expected = bytearray(256)
    for item in (address, t0):
        digest = keccak(item)
        for k in (0, 2, 4):
            bit = int.from_bytes(digest[k:k + 2], "big") & 2047
            expected[255 - bit // 8] |= 1 << (bit % 8)
    assert logs_bloom(suite, [Log(address, (t0,), b"x")]) == bytes(expected)


@pytest.mark.parametrize("suite_name", ["standard", "sm"])
def test_bloom_has_no_false_negative_and_uses_the_suite_hash(suite_name: str) -> None:
    suite = get_suite(suite_name)
    other = get_suite("sm" if suite_name == "standard" else "standard")
    logs = [Log(bytes([i]) * 20, (suite.hash(bytes([i])),), b"") for i in range(30)]
    receipt = Receipt(0, b"", b"", 1, tuple(logs), 1, b"\x01" * 32, 0)
    bloom = receipt_bloom(suite, receipt)
    for log in logs:
        assert may_contain(suite, bloom, log.address) and may_contain(suite, bloom, log.topics[0])
        assert may_match(suite, bloom, [log.address], [[log.topics[0]]])
    # The other suite's hash names other bits: a bloom is only meaningful under its own suite.
    assert receipt_bloom(other, receipt) != bloom
    assert block_bloom(suite, [receipt, Receipt(0, b"", b"", 1, (), 1, b"\x02" * 32, 1)]) == bloom
    assert receipt_bloom(suite, Receipt(0, b"", b"", 1, (), 1, b"\x02" * 32, 1)) == EMPTY_BLOOM
    assert not may_match(suite, EMPTY_BLOOM, [b"\x01" * 20], [])
