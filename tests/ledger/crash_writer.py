"""A writer process for the crash test: commits blocks to a file store in a loop until it is killed.

Every block writes the same 200 rows ``("t", b"row<i>") = block number``, plus ``head`` and the
running transaction ``count``, so a reader can tell a complete block from part of one.

    python -m tests.ledger.crash_writer <path> <suite>
"""

from __future__ import annotations

import sys

from chain.crypto.suite import get_suite
from chain.ledger.store import Store
from chain.ledger.transaction import Transaction
from tests.ledger.builders import extend

TXS_PER_BLOCK = 20
ROWS_PER_BLOCK = 200


def block_changes(number: int, count: int) -> dict[tuple[str, bytes], bytes | None]:
    changes: dict[tuple[str, bytes], bytes | None] = {("t", b"row%d" % i): b"%d" % number for i in range(ROWS_PER_BLOCK)}
    changes[("t", b"head")] = b"%d" % number
    changes[("t", b"count")] = b"%d" % count
    return changes


def filler_tx(number: int, index: int) -> Transaction:
    """A unique transaction (the store does not check signatures, so none is made)."""
    return Transaction(nonce=number * 1000 + index + 1, gas_price=0, gas_limit=1, block_limit=number + 1,
                       to=b"\x33" * 20, value=0, data=b"\xab" * 200, chain_id=1, group_id=1, extra_data=b"",
                       v=27, r=1, s=1)


def main(path: str, suite_name: str) -> None:
    store = Store(path, get_suite(suite_name))
    while True:
        number = store.head_number() + 1
        txs = [filler_tx(number, i) for i in range(TXS_PER_BLOCK)]
        extend(store, txs, block_changes(number, store.total_transactions() + len(txs)))
        print(number, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
