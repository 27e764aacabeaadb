from __future__ import annotations

import pytest

from chain.crypto.suite import CryptoSuite, get_suite


@pytest.fixture(params=["standard", "sm"])
def suite(request: pytest.FixtureRequest) -> CryptoSuite:
    return get_suite(request.param)
