"""Block views read what the store committed: the genesis block, its hash, absent heights."""

from __future__ import annotations

from chain.crypto.suite import get_suite
from chain.ledger.genesis import GenesisConfig, open_chain
from chain.web.views import block_detail, block_summaries


def test_views_of_the_genesis_block() -> None:
    suite = get_suite("sm")
    sealers = tuple((suite.public_key(k), 1) for k in (11, 12, 13, 14))
    store = open_chain(":memory:", GenesisConfig(chain_id=1, group_id=1, suite="sm", sealers=sealers))
    genesis = store.block_by_number(0)
    assert genesis is not None
    detail = block_detail(store, suite, 0)
    assert detail is not None
    assert detail["number"] == 0 and detail["hash"] == "0x" + genesis.hash(suite).hex()
    assert detail["txs"] == [] and detail["receipts"] == []
    assert block_detail(store, suite, 1) is None
    assert [b["number"] for b in block_summaries(store, suite, 0, 10)] == [0]
    assert block_summaries(store, suite, 1, 10) == []
