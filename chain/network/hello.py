"""The hello: the first frame each side sends on a fresh TLS link, binding it to a consensus node.

TLS has already shown that the peer holds a certificate from our chain CA naming some node id.
The hello adds what TLS cannot:

* the peer runs *this* chain (same genesis hash, chain id and group id), and
* the peer holds the consensus private key of that node id — it signs a statement naming both
  TLS certificates of *this* link, so a recorded hello is worthless on any other link.

    hello = RLP[version, chain_id, group_id, genesis_hash, node_id, listen_port, signature]
    signed hash = suite.hash("chain/p2p/hello/v1" ‖ genesis_hash ‖ node_id ‖ listen_port (4 bytes)
                              ‖ sha256(sender's TLS cert) ‖ sha256(receiver's TLS cert))
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from chain.crypto.keys import KeyPair
from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError, NetworkError
from chain.ledger import codec

VERSION = 1
DOMAIN = b"chain/p2p/hello/v1"


class HelloRejected(NetworkError):
    """The peer's hello does not fit this chain, this link or this node list."""


@dataclass(frozen=True)
class ChainIdentity:
    """What two nodes must share to talk at all."""

    chain_id: int
    group_id: int
    genesis_hash: bytes


@dataclass(frozen=True)
class Hello:
    version: int
    chain_id: int
    group_id: int
    genesis_hash: bytes
    node_id: bytes
    listen_port: int
    signature: bytes

    def encode(self) -> bytes:
        return codec.encode([
            self.version, self.chain_id, self.group_id, self.genesis_hash,
            self.node_id, self.listen_port, self.signature,
        ])

    @classmethod
    def decode(cls, raw: bytes) -> Hello:
        try:
            items = codec.decode_list(raw, "hello", 7)
            return cls(
                version=codec.as_int(items[0], "hello.version", 16),
                chain_id=codec.as_int(items[1], "hello.chainId"),
                group_id=codec.as_int(items[2], "hello.groupId"),
                genesis_hash=codec.as_bytes(items[3], "hello.genesisHash", size=32),
                node_id=codec.as_bytes(items[4], "hello.nodeId", size=64),
                listen_port=codec.as_int(items[5], "hello.listenPort", 16),
                signature=codec.as_bytes(items[6], "hello.signature", max_size=256),
            )
        except ChainError as exc:
            raise HelloRejected(f"malformed hello: {exc}") from exc


def _cert_digest(cert_der: bytes) -> bytes:
    return hashlib.sha256(cert_der).digest()


def signing_hash(
    suite: CryptoSuite, genesis_hash: bytes, node_id: bytes, listen_port: int, own_cert: bytes, peer_cert: bytes
) -> bytes:
    return suite.hash(
        DOMAIN + genesis_hash + node_id + listen_port.to_bytes(4, "big")
        + _cert_digest(own_cert) + _cert_digest(peer_cert)
    )


def make_hello(
    key: KeyPair, identity: ChainIdentity, listen_port: int, own_cert_der: bytes, peer_cert_der: bytes
) -> Hello:
    """Our hello for one link, given both TLS certificates (DER) of that link."""
    node_id = key.public_key
    digest = signing_hash(key.suite, identity.genesis_hash, node_id, listen_port, own_cert_der, peer_cert_der)
    return Hello(
        VERSION, identity.chain_id, identity.group_id, identity.genesis_hash, node_id, listen_port, key.sign(digest)
    )


def check_hello(
    hello: Hello,
    suite: CryptoSuite,
    identity: ChainIdentity,
    cert_node_id: bytes,
    peer_cert_der: bytes,
    own_cert_der: bytes,
) -> None:
    """Raise HelloRejected unless hello comes from the node its TLS certificate names, on our chain."""
    # One wire version: a future one would need explicit negotiation.
    if hello.version != VERSION:
        raise HelloRejected(f"unsupported hello version {hello.version}")
    # A node of another chain or group speaks a different ledger.
    if (hello.chain_id, hello.group_id) != (identity.chain_id, identity.group_id):
        raise HelloRejected(f"peer is on chain {hello.chain_id} group {hello.group_id}")
    # Same ids but another genesis is still another chain.
    if hello.genesis_hash != identity.genesis_hash:
        raise HelloRejected(f"peer has genesis 0x{hello.genesis_hash.hex()[:16]}…, not ours")
    # The TLS certificate fixes who the peer is; the hello may not claim someone else.
    if hello.node_id != cert_node_id:
        raise HelloRejected("hello node id differs from the node id in the peer's TLS certificate")
    digest = signing_hash(suite, hello.genesis_hash, hello.node_id, hello.listen_port, peer_cert_der, own_cert_der)
    # Possession of the consensus key, over this very link (both certificates are signed over).
    try:
        valid = suite.verify(hello.node_id, digest, hello.signature)
    except ChainError as exc:
        raise HelloRejected(f"hello signature is malformed: {exc}") from exc
    if not valid:
        raise HelloRejected("hello signature does not verify under the claimed node id")
