"""Hypothesis strategies for ledger records, covering every field's full range."""

from __future__ import annotations

from hypothesis import strategies as st

from chain.ledger.block import Block, BlockHeader
from chain.ledger.receipt import Log, Receipt
from chain.ledger.transaction import Transaction


def uint(bits: int) -> st.SearchStrategy[int]:
    return st.integers(min_value=0, max_value=(1 << bits) - 1)


def blob(size: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=size, max_size=size)


transactions = st.builds(
    Transaction,
    nonce=uint(256), gas_price=uint(256), gas_limit=uint(256), block_limit=uint(64),
    to=st.one_of(st.just(b""), blob(20)), value=uint(256), data=st.binary(max_size=300),
    chain_id=uint(64), group_id=uint(64), extra_data=st.binary(max_size=40),
    v=uint(512), r=uint(256), s=uint(256),
)

headers = st.builds(
    BlockHeader,
    parent_hash=blob(32), number=uint(64), timestamp=uint(64), sealer=uint(32),
    sealer_list=st.lists(blob(64), max_size=5).map(tuple),
    transactions_root=blob(32), receipts_root=blob(32), state_root=blob(32),
    gas_used=uint(256), extra_data=st.binary(max_size=1024),
)

blocks = st.builds(
    Block,
    header=headers,
    transactions=st.lists(transactions, max_size=4).map(tuple),
    signatures=st.lists(st.tuples(uint(32), st.binary(max_size=128)), max_size=4).map(tuple),
)

logs = st.builds(Log, address=blob(20), topics=st.lists(blob(32), max_size=4).map(tuple), data=st.binary(max_size=100))

receipts = st.builds(
    Receipt,
    status=uint(32), output=st.binary(max_size=100), contract_address=st.one_of(st.just(b""), blob(20)),
    gas_used=uint(256), logs=st.lists(logs, max_size=3).map(tuple), block_number=uint(64),
    transaction_hash=blob(32), transaction_index=uint(32),
)
