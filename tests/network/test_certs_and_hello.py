from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from chain.crypto.certs import Issued, check_issued_by, generate_ca, issue_node_certificate, node_id_of
from chain.crypto.keys import KeyPair
from chain.errors import CertificateError
from chain.network.hello import ChainIdentity, Hello, HelloRejected, check_hello, make_hello

from tests.network.conftest import IDENTITY


def der(issued: Issued) -> bytes:
    return issued.certificate.public_bytes(serialization.Encoding.DER)


def test_node_certificate_names_its_node_id_and_chains_to_the_ca(chain_ca: Issued) -> None:
    key = KeyPair.generate("sm")
    issued = issue_node_certificate(chain_ca, "node7", key.public_key)
    assert node_id_of(issued.certificate) == key.public_key
    check_issued_by(issued.certificate, chain_ca.certificate)


def test_certificate_from_another_ca_does_not_chain(chain_ca: Issued) -> None:
    other = generate_ca("other CA")
    issued = issue_node_certificate(other, "node0", KeyPair.generate("standard").public_key)
    with pytest.raises(CertificateError):
        check_issued_by(issued.certificate, chain_ca.certificate)


def test_ca_certificate_carries_no_node_id(chain_ca: Issued) -> None:
    with pytest.raises(CertificateError):
        node_id_of(chain_ca.certificate)


@pytest.mark.parametrize("suite", ["standard", "sm"])
def test_hello_round_trip_and_binding(chain_ca: Issued, suite: str) -> None:
    a, b = KeyPair.generate(suite), KeyPair.generate(suite)
    cert_a = der(issue_node_certificate(chain_ca, "a", a.public_key))
    cert_b = der(issue_node_certificate(chain_ca, "b", b.public_key))
    hello = Hello.decode(make_hello(a, IDENTITY, 30300, cert_a, cert_b).encode())
    check_hello(hello, a.suite, IDENTITY, a.public_key, cert_a, cert_b)  # as b checks it

    # The same hello replayed on another link (another receiver certificate) fails.
    cert_c = der(issue_node_certificate(chain_ca, "c", KeyPair.generate(suite).public_key))
    with pytest.raises(HelloRejected, match="signature"):
        check_hello(hello, a.suite, IDENTITY, a.public_key, cert_a, cert_c)
    # A hello claiming a node id other than the certificate's fails.
    with pytest.raises(HelloRejected, match="certificate"):
        check_hello(hello, a.suite, IDENTITY, b.public_key, cert_a, cert_b)
    # A node of another chain (other genesis) fails.
    other = ChainIdentity(IDENTITY.chain_id, IDENTITY.group_id, b"\x22" * 32)
    with pytest.raises(HelloRejected, match="genesis"):
        check_hello(hello, a.suite, other, a.public_key, cert_a, cert_b)


def test_garbage_hello_is_a_hello_rejected() -> None:
    with pytest.raises(HelloRejected):
        Hello.decode(b"\xff\x00garbage")
