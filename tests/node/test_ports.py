"""The free-port finder that tests, the TPS benchmark and the real-process dashboard share."""

from __future__ import annotations

import socket

import pytest

from chain.errors import ConfigError
from chain.node import ports
from chain.node.ports import free_port_base, free_port_bases


def test_bases_give_two_disjoint_runs_that_can_be_bound():
    p2p, rpc = free_port_bases(4)
    assert not set(range(p2p, p2p + 4)) & set(range(rpc, rpc + 4))
    held = []
    try:
        for port in [*range(p2p, p2p + 4), *range(rpc, rpc + 4)]:
            sock = socket.socket()
            held.append(sock)
            sock.bind(("127.0.0.1", port))
    finally:
        for sock in held:
            sock.close()


def test_a_base_is_never_in_avoid():
    first = free_port_base(3)
    for _ in range(20):
        base = free_port_base(3, avoid=set(range(first - 2, first + 3)))
        assert not set(range(base, base + 3)) & set(range(first - 2, first + 3))


def test_no_free_run_is_a_config_error(monkeypatch):
    # Every candidate run overlaps what must be avoided: the finder gives up with the project's error.
    monkeypatch.setattr(ports, "ATTEMPTS", 5)
    with pytest.raises(ConfigError, match="no run of 2 free ports"):
        free_port_base(2, avoid=set(range(ports.LOWEST, ports.HIGHEST)))
