"""Shared fixtures: fixed keys (so runs are reproducible) and a fresh local chain per suite."""

from __future__ import annotations

import pytest

from chain.crypto.keys import KeyPair
from chain.execution.local import LocalChain

SUITES = ("standard", "sm")


@pytest.fixture(params=SUITES)
def suite_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def admin(suite_name: str) -> KeyPair:
    return KeyPair(suite_name, 0xA11CE)


@pytest.fixture
def user(suite_name: str) -> KeyPair:
    return KeyPair(suite_name, 0xB0B)


@pytest.fixture
def chain(suite_name: str, admin: KeyPair) -> LocalChain:
    return LocalChain(suite_name, admins=[admin.address])
