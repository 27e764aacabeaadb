"""The SDK and console talk real HTTP to an in-process node: each test module defines its own
`node` (suite, executor, seed) and gets it served here, once per module."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.rpc.localnode import LocalNode, Served, serve


@pytest.fixture(scope="module")
def served(node: LocalNode) -> Iterator[Served]:
    yield from serve(node)
