"""Fixtures for tests that run contracts on an in-process chain (`chain.execution.local.LocalChain`).

tests/contracts and tests/execution both deploy and call contracts in each suite with the same two
fixed keys, so a failure reproduces exactly; their conftest.py files import these fixtures rather
than each keeping a copy.
"""

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
    """The genesis administrator (allowed to govern through the system contracts)."""
    return KeyPair(suite_name, 0xA11CE)


@pytest.fixture
def user(suite_name: str) -> KeyPair:
    """An ordinary account with no governance rights."""
    return KeyPair(suite_name, 0xB0B)


@pytest.fixture
def chain(suite_name: str, admin: KeyPair) -> LocalChain:
    """A fresh chain per test, with `admin` as its only administrator."""
    return LocalChain(suite_name, admins=[admin.address])
