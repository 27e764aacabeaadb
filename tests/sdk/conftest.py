"""The SDK and console talk real HTTP to an in-process node: each test module defines its own
`node` (suite, executor, seed) and gets it served here, once per module."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.rpc.localnode import LocalNode, Served, serve


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: starts real node processes on 127.0.0.1 (slower)")


@pytest.fixture(scope="module")
def served(node: LocalNode) -> Iterator[Served]:
    yield from serve(node)
