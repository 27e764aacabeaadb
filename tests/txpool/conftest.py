from __future__ import annotations

import pytest

from chain.crypto.suite import CryptoSuite, get_suite
from chain.ledger.genesis import GenesisConfig, open_chain
from chain.ledger.store import Store
from chain.crypto.keys import KeyPair

TX_GAS_LIMIT = 5_000_000


@pytest.fixture(params=["standard", "sm"])
def suite(request: pytest.FixtureRequest) -> CryptoSuite:
    return get_suite(request.param)


@pytest.fixture
def store(suite: CryptoSuite) -> Store:
    """A chain at genesis (head 0) whose tx_gas_limit is TX_GAS_LIMIT."""
    config = GenesisConfig(chain_id=1, group_id=1, suite=suite.name,
                           sealers=((KeyPair(suite.name, 99).public_key, 1),),
                           system_config={"tx_gas_limit": str(TX_GAS_LIMIT)})
    return open_chain(":memory:", config)
