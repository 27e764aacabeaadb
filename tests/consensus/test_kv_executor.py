"""The key/value stand-in executor."""

from __future__ import annotations

from chain.crypto.keys import KeyPair
from chain.crypto.suite import get_suite
from chain.execution.kv import KV_TABLE, KVExecutor, encode_kv
from chain.ledger.block import Block, BlockHeader
from chain.ledger.merkle import transactions_root
from chain.ledger.state import MemoryState, next_state_root
from chain.ledger.status import Status
from chain.ledger.transaction import new_transaction, sign_transaction

SUITE = get_suite("standard")
KEY = KeyPair("standard", 77)


def _block(datas: list[bytes]) -> Block:
    txs = tuple(sign_transaction(new_transaction(to=b"\x10" * 20, data=d, block_limit=10, nonce=i + 1), KEY)
                for i, d in enumerate(datas))
    header = BlockHeader(b"\x00" * 32, 1, 0, 0, (), transactions_root(SUITE, txs))
    return Block(header, txs)


def test_writes_rows_and_reports_previous_value() -> None:
    state = MemoryState({(KV_TABLE, b"a"): b"old"})
    result = KVExecutor(SUITE).execute(_block([encode_kv(b"a", b"1"), encode_kv(b"a", b"2"), b"no-separator"]), state, b"\x09" * 32)
    assert [r.status for r in result.receipts] == [Status.SUCCESS, Status.SUCCESS, Status.INVALID_FORMAT]
    assert [r.output for r in result.receipts] == [b"old", b"1", b""]
    assert result.changes == {(KV_TABLE, b"a"): b"2"}
    assert result.block.header.state_root == next_state_root(SUITE, b"\x09" * 32, result.changes)
    assert state.get(KV_TABLE, b"a") == b"old"  # the parent state is never written


def test_deterministic_and_failed_tx_changes_nothing() -> None:
    block = _block([b"\x00value-without-key"])
    first = KVExecutor(SUITE).execute(block, MemoryState(), b"\x01" * 32)
    second = KVExecutor(SUITE).execute(block, MemoryState(), b"\x01" * 32)
    assert first.block.hash(SUITE) == second.block.hash(SUITE)
    assert first.changes == {} and first.block.header.state_root == b"\x01" * 32
