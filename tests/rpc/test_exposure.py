"""JSON-RPC beyond loopback is allowed, never silent: the server warns when it starts there."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from chain.rpc import server
from chain.rpc.exposure import exposure_warning, rpc_exposed
from tests.rpc.localnode import LocalNode


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost"])
def test_loopback_is_not_exposed(host: str) -> None:
    assert not rpc_exposed(host) and exposure_warning(host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "192.168.0.7", "example.org"])
def test_anything_else_is(host: str) -> None:
    assert rpc_exposed(host)
    assert host in (exposure_warning(host) or "")


class _SiteNotBound:
    """Stands in for aiohttp's TCPSite: records where the server would listen, binds nothing."""

    hosts: list[str] = []

    def __init__(self, runner: Any, host: str, port: int) -> None:
        self.hosts.append(host)

    async def start(self) -> None:
        return None


@pytest.mark.parametrize("host, warned", [("127.0.0.1", False), ("0.0.0.0", True)])
def test_starting_the_server_beyond_loopback_logs_a_warning(
    host: str, warned: bool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(server.web, "TCPSite", _SiteNotBound)

    async def start_and_stop() -> None:
        runner = await server.start_rpc_server(LocalNode("standard"), host, 0)
        await runner.cleanup()

    with caplog.at_level(logging.WARNING, logger="chain.rpc"):
        asyncio.run(start_and_stop())
    assert _SiteNotBound.hosts[-1] == host
    assert any("no authentication" in r.getMessage() for r in caplog.records) == warned
