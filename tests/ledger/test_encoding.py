"""Encodings: encode → decode → encode round trips, stable hashes, and refusal of bad bytes."""

from __future__ import annotations

import rlp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.crypto.suite import CryptoSuite, get_suite
from chain.errors import InvalidSignature, LedgerError
from chain.ledger.block import Block, BlockHeader
from chain.ledger.receipt import Receipt
from chain.ledger.transaction import MAX_DATA_SIZE, Transaction
from tests.ledger import strategies
from tests.ledger.builders import key_for, make_block, make_receipts, make_tx

STANDARD, SM = get_suite("standard"), get_suite("sm")
CODECS = [(Transaction, strategies.transactions), (BlockHeader, strategies.headers),
          (Block, strategies.blocks), (Receipt, strategies.receipts)]


@pytest.mark.parametrize("cls,strategy", CODECS, ids=[c.__name__ for c, _ in CODECS])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_round_trip(cls, strategy, data) -> None:  # type: ignore[no-untyped-def]
    record = data.draw(strategy)
    raw = record.encode()
    decoded = cls.decode(raw)
    assert decoded == record
    assert decoded.encode() == raw
    if hasattr(record, "hash") and cls is not Transaction:
        assert decoded.hash(STANDARD) == record.hash(STANDARD)
        assert decoded.hash(SM) == record.hash(SM)
    if cls is Transaction:
        assert decoded.hash(SM) == SM.hash(raw) and decoded.hash(STANDARD) == STANDARD.hash(raw)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=200))
def test_random_bytes_never_crash_a_decoder(raw: bytes) -> None:
    for cls in (Transaction, BlockHeader, Block, Receipt):
        try:
            record = cls.decode(raw)
        except LedgerError:
            continue
        assert record.encode() == raw  # whatever decodes is canonical


def test_signed_round_trip_keeps_sender(suite: CryptoSuite) -> None:
    key = key_for(suite)
    tx = make_tx(key, nonce=12345, data=b"\xde\xad")
    again = Transaction.decode(tx.encode())
    assert again == tx and again.hash(suite) == tx.hash(suite)
    assert again.sender(suite) == key.address  # recovered afresh, nothing cached
    block = make_block(suite, None, [tx]).with_signatures([(1, b"\x02" * 65), (0, b"\x01" * 65)])
    assert block.signatures[0][0] == 0  # sorted by sealer index
    back = Block.decode(block.encode())
    assert back == block and back.hash(suite) == block.hash(suite)
    # the signature list is not part of the hash
    assert block.with_signatures([]).hash(suite) == block.hash(suite)
    receipts = make_receipts(suite, block)
    assert Receipt.decode(receipts[0].encode()) == receipts[0]


# --- bad input ---------------------------------------------------------------------------------

def tx_fields() -> list[object]:
    tx = make_tx(key_for(STANDARD), nonce=99)
    return rlp.decode(tx.encode())


def with_field(index: int, value: object) -> bytes:
    fields = tx_fields()
    fields[index] = value
    return rlp.encode(fields)


BAD_TRANSACTIONS = {
    "truncated": make_tx(key_for(STANDARD), nonce=99).encode()[:-3],
    "trailing byte": make_tx(key_for(STANDARD), nonce=99).encode() + b"\x00",
    "empty": b"",
    "not a list": rlp.encode(b"hello"),
    "extra field": rlp.encode(tx_fields() + [b"\x01"]),
    "missing field": rlp.encode(tx_fields()[:-1]),
    "list for an int": with_field(0, [b"\x01"]),
    "list for bytes": with_field(6, [b"\x01"]),
    "non-canonical int": with_field(0, b"\x00\x05"),
    "oversize nonce": with_field(0, b"\x01" * 33),
    "oversize blockLimit": with_field(3, b"\x01" * 9),
    "oversize chainId": with_field(7, b"\x01" * 9),
    "short to": with_field(4, b"\x11" * 19),
    "oversize data": with_field(6, b"\x00" * (MAX_DATA_SIZE + 1)),
    "oversize v": with_field(10, b"\x01" * 65),
    "v between an int and a key": with_field(10, b"\x01" * 33),
    "small v padded to 64 bytes": with_field(10, (27).to_bytes(64, "big")),
}


@pytest.mark.parametrize("raw", BAD_TRANSACTIONS.values(), ids=BAD_TRANSACTIONS.keys())
def test_bad_transaction_bytes(raw: bytes) -> None:
    with pytest.raises(LedgerError):
        Transaction.decode(raw)


def test_non_canonical_rlp_length_is_refused() -> None:
    # a single byte below 0x80 must be encoded as itself; 0x81 0x05 is the long, non-canonical form
    fields = tx_fields()
    body = b"\x81\x05" + b"".join(rlp.encode(f) for f in fields[1:])
    canonical = b"\x05" + b"".join(rlp.encode(f) for f in fields[1:])
    Transaction.decode(bytes([0xF8, len(canonical)]) + canonical)  # the canonical form is fine
    with pytest.raises(LedgerError):
        Transaction.decode(bytes([0xF8, len(body)]) + body)


def test_bad_headers_blocks_and_receipts() -> None:
    suite = STANDARD
    header = make_block(suite, None, []).header
    fields = header.to_rlp()
    for index, value in [(0, b"\x01" * 31), (1, b"\x01" * 9), (3, b"\x01" * 5), (4, [b"\x01" * 63]),
                         (9, b"\x00" * 1025), (2, b"\x00\x01"), (4, b"not a list")]:
        broken = list(fields)
        broken[index] = value
        with pytest.raises(LedgerError):
            BlockHeader.decode(rlp.encode(broken))
    with pytest.raises(LedgerError):
        BlockHeader.decode(rlp.encode(fields + [b""]))
    block = make_block(suite, None, [make_tx(key_for(suite), nonce=1)])
    with pytest.raises(LedgerError):
        Block.decode(block.encode()[:-1])
    with pytest.raises(LedgerError):  # a transaction inside the block that is not one
        Block.decode(rlp.encode([header.to_rlp(), [b"\x01\x02"], []]))
    with pytest.raises(LedgerError):  # a signature entry with three items
        Block.decode(rlp.encode([header.to_rlp(), [], [[b"\x01", b"sig", b"x"]]]))
    receipt = make_receipts(suite, block)[0]
    items = rlp.decode(receipt.encode())
    for index, value in [(2, b"\x01" * 19), (6, b"\x01" * 31), (0, b"\x01" * 5), (4, [[b"\x01" * 19, [], b""]]), (4, [[b"\x01" * 20, [b"\x02" * 31], b""]])]:
        broken = list(items)
        broken[index] = value
        with pytest.raises(LedgerError):
            Receipt.decode(rlp.encode(broken))
    too_many_topics = [[b"\x01" * 20, [b"\x02" * 32] * 5, b""]]
    broken = list(items)
    broken[4] = too_many_topics
    with pytest.raises(LedgerError):
        Receipt.decode(rlp.encode(broken))


def test_signature_that_does_not_match_its_sender(suite: CryptoSuite) -> None:
    key, other = key_for(suite), key_for(suite, 1)
    tx = make_tx(key, nonce=5)
    fields = rlp.decode(tx.encode())
    if suite.name == "sm":
        # v names the signer; naming another key makes the signature not verify
        fields[10] = other.public_key
    else:
        fields[10] = b"\x1d"  # v = 29 is no recovery id
    forged = Transaction.decode(rlp.encode(fields))
    with pytest.raises(InvalidSignature):
        forged.sender(suite)
    unsigned = Transaction.decode(rlp.encode(fields[:10] + [b"", b"", b""]))
    with pytest.raises(InvalidSignature):
        unsigned.sender(suite)
    # a field changed after signing: sm refuses outright; standard recovers someone else
    fields = rlp.decode(tx.encode())
    fields[5] = b"\x07"  # value
    changed = Transaction.decode(rlp.encode(fields))
    if suite.name == "sm":
        with pytest.raises(InvalidSignature):
            changed.sender(suite)
    else:
        assert changed.sender(suite) != key.address
