"""Shared fixtures: a chain CA, node keys and certificates written to a temporary directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from chain.crypto.certs import Issued, generate_ca, issue_node_certificate
from chain.crypto.keys import KeyPair
from chain.network.hello import ChainIdentity
from chain.network.tls import TlsFiles

IDENTITY = ChainIdentity(chain_id=1, group_id=1, genesis_hash=b"\x11" * 32)


@dataclass(frozen=True)
class NodeMaterial:
    key: KeyPair
    tls: TlsFiles


def write_node(directory: Path, name: str, ca: Issued, key: KeyPair | None = None) -> NodeMaterial:
    key = key or KeyPair.generate("standard")
    issued = issue_node_certificate(ca, name, key.public_key)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ca.crt").write_bytes(ca.cert_pem)
    (directory / "ssl.crt").write_bytes(issued.cert_pem)
    (directory / "ssl.key").write_bytes(issued.key_pem)
    return NodeMaterial(key, TlsFiles(directory / "ca.crt", directory / "ssl.crt", directory / "ssl.key"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: starts real node processes on 127.0.0.1 (slower)")


@pytest.fixture(scope="module")
def chain_ca() -> Issued:
    return generate_ca("test chain CA")


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory, chain_ca: Issued) -> list[NodeMaterial]:
    root = tmp_path_factory.mktemp("nodes")
    return [write_node(root / f"node{i}", f"node{i}", chain_ca) for i in range(3)]
