"""Encodings and hashes of receipts and headers are computed once per object (issue 18).

The receipts root, the store and the RPC all need a receipt's encoding; a header is hashed,
signed over, stored and sent. Pure-Python RLP is a fifth of a node's busy CPU, so each object
keeps what it computed.
"""

from __future__ import annotations

from unittest import mock

from chain.crypto.suite import get_suite
from chain.ledger import codec
from chain.ledger.block import BlockHeader
from chain.ledger.receipt import Log, Receipt


def _receipt() -> Receipt:
    return Receipt(0, b"out", b"", 21000, (Log(b"\x01" * 20, (b"\x02" * 32,), b"data"),), 7, b"\x03" * 32, 0)


def test_a_receipt_is_encoded_and_hashed_once() -> None:
    suite = get_suite("sm")
    receipt = _receipt()
    with mock.patch.object(codec, "encode", wraps=codec.encode) as encode:
        first, digest = receipt.encode(), receipt.hash(suite)
        encode.reset_mock()
        assert receipt.encode() == first and receipt.hash(suite) == digest
        assert encode.call_count == 0
    assert Receipt.decode(first) == receipt and digest == suite.hash(first)  # the memo is not part of equality


def test_a_header_is_encoded_once() -> None:
    header = BlockHeader(b"\x00" * 32, 1, 5, 0, (b"\x01" * 64,), b"\x02" * 32)
    with mock.patch.object(codec, "encode", wraps=codec.encode) as encode:
        raw = header.encode()
        encode.reset_mock()
        header.hash(get_suite("standard"))
        assert header.encode() == raw and encode.call_count == 0
    assert BlockHeader.decode(raw) == header
