"""The hello: the first frame each side sends on a fresh TLS link, binding it to a consensus node.

TLS has already shown that the peer holds a certificate from our chain CA naming some node id.
The hello adds what TLS cannot:

* the peer runs *this* chain (same genesis hash, chain id and group id), and
* the peer holds the consensus private key of that node id — it signs a statement naming both
  TLS certificates of *this* link, so a recorded hello is worthless on any other link.

    hello = RLP[version, chain_id, group_id, genesis_hash, node_id, listen_port, signature]
    signed hash = suite.hash("chain/p2p/hello/v1" ‖ genesis_hash ‖ node_id ‖ listen_port (4 bytes)
                              ‖ sha256(sender's TLS cert) ‖ sha256(receiver's TLS cert))

A node that serves groups besides the first (docs/nodes.md "Groups") says which, with each one's
genesis hash, in version 2 of the hello; the first group (group0, every node's) stays where it was:

    hello v2 = RLP[2, chain_id, group_id, genesis_hash, node_id, listen_port, [[group id, genesis hash], ...], signature]
    signed hash = suite.hash("chain/p2p/hello/v2" ‖ genesis_hash ‖ node_id ‖ listen_port (4 bytes)
                              ‖ RLP(the group list) ‖ sha256(sender's TLS cert) ‖ sha256(receiver's TLS cert))

A node of one group only sends version 1, byte for byte what it sent before groups existed, and
every node reads both: so a chain without groups is unchanged, and a node outside every other group
of a chain still links to the nodes that serve them (for group0).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from chain.crypto.keys import KeyPair
from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError, NetworkError
from chain.ledger import codec

VERSION = 1
VERSION_GROUPS = 2  # the hello of a node serving more groups than the first
DOMAIN = b"chain/p2p/hello/v1"
DOMAIN_GROUPS = b"chain/p2p/hello/v2"
MAX_GROUPS = 256  # groups one hello may announce: bounds what a peer makes us decode


class HelloRejected(NetworkError):
    """The peer's hello does not fit this chain, this link or this node list."""


@dataclass(frozen=True)
class ChainIdentity:
    """What two nodes must share to talk at all (the chain's first group), and the other groups this
    node serves as (2.x group id, genesis hash) pairs: a peer serving one of them must agree on its genesis."""

    chain_id: int
    group_id: int
    genesis_hash: bytes
    groups: tuple[tuple[int, bytes], ...] = ()


@dataclass(frozen=True)
class Hello:
    version: int
    chain_id: int
    group_id: int
    genesis_hash: bytes
    node_id: bytes
    listen_port: int
    signature: bytes
    groups: tuple[tuple[int, bytes], ...] = ()  # version 2: the other groups the sender serves

    def encode(self) -> bytes:
        head = [self.version, self.chain_id, self.group_id, self.genesis_hash, self.node_id, self.listen_port]
        if self.version == VERSION:
            return codec.encode([*head, self.signature])
        return codec.encode([*head, [[g, h] for g, h in self.groups], self.signature])

    @classmethod
    def decode(cls, raw: bytes) -> Hello:
        try:
            items = codec.decode_list(raw, "hello")
            version = codec.as_int(items[0], "hello.version", 16)
            items = codec.as_list(items, "hello", 8 if version == VERSION_GROUPS else 7)
            groups: tuple[tuple[int, bytes], ...] = ()
            if version == VERSION_GROUPS:
                entries = items[6]
                if not isinstance(entries, list) or len(entries) > MAX_GROUPS:
                    raise ChainError(f"hello.groups must be a list of at most {MAX_GROUPS} groups")
                groups = tuple(_group_entry(entry) for entry in entries)
            return cls(
                version=version,
                chain_id=codec.as_int(items[1], "hello.chainId"),
                group_id=codec.as_int(items[2], "hello.groupId"),
                genesis_hash=codec.as_bytes(items[3], "hello.genesisHash", size=32),
                node_id=codec.as_bytes(items[4], "hello.nodeId", size=64),
                listen_port=codec.as_int(items[5], "hello.listenPort", 16),
                signature=codec.as_bytes(items[-1], "hello.signature", max_size=256),
                groups=groups,
            )
        except (ChainError, IndexError) as exc:
            raise HelloRejected(f"malformed hello: {exc}") from exc


def _group_entry(entry: object) -> tuple[int, bytes]:
    if not isinstance(entry, list) or len(entry) != 2:
        raise ChainError("each hello.groups entry is [group id, genesis hash]")
    return codec.as_int(entry[0], "hello.groups.id"), codec.as_bytes(entry[1], "hello.groups.genesisHash", size=32)


def _cert_digest(cert_der: bytes) -> bytes:
    return hashlib.sha256(cert_der).digest()


def signing_hash(
    suite: CryptoSuite, genesis_hash: bytes, node_id: bytes, listen_port: int, own_cert: bytes, peer_cert: bytes,
    groups: tuple[tuple[int, bytes], ...] | None = None,
) -> bytes:
    """What a hello signs; with groups (version 2), the group list too, so no one can add or strip one."""
    if groups is None:
        return suite.hash(
            DOMAIN + genesis_hash + node_id + listen_port.to_bytes(4, "big")
            + _cert_digest(own_cert) + _cert_digest(peer_cert)
        )
    return suite.hash(
        DOMAIN_GROUPS + genesis_hash + node_id + listen_port.to_bytes(4, "big")
        + codec.encode([[g, h] for g, h in groups]) + _cert_digest(own_cert) + _cert_digest(peer_cert)
    )


def make_hello(
    key: KeyPair, identity: ChainIdentity, listen_port: int, own_cert_der: bytes, peer_cert_der: bytes
) -> Hello:
    """Our hello for one link, given both TLS certificates (DER) of that link."""
    node_id = key.public_key
    groups = identity.groups or None  # version 1 unless this node serves other groups
    digest = signing_hash(key.suite, identity.genesis_hash, node_id, listen_port, own_cert_der, peer_cert_der, groups)
    return Hello(
        VERSION if groups is None else VERSION_GROUPS, identity.chain_id, identity.group_id, identity.genesis_hash,
        node_id, listen_port, key.sign(digest), identity.groups,
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
    # Two wire versions (without and with groups): a future one would need explicit negotiation.
    if hello.version not in (VERSION, VERSION_GROUPS):
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
    ours = dict(identity.groups)
    seen: set[int] = set()
    for group_id, genesis_hash in hello.groups:
        # The first group is named in the hello's own fields; a group announced twice is a forgery or a bug.
        if group_id == identity.group_id or group_id in seen:
            raise HelloRejected(f"peer announces group {group_id} twice")
        seen.add(group_id)
        # A group both serve must be the same ledger on both sides (the same genesis), or it is another chain's.
        if group_id in ours and ours[group_id] != genesis_hash:
            raise HelloRejected(f"peer has genesis 0x{genesis_hash.hex()[:16]}… for group {group_id}, not ours")
    groups = hello.groups if hello.version == VERSION_GROUPS else None
    digest = signing_hash(suite, hello.genesis_hash, hello.node_id, hello.listen_port, peer_cert_der, own_cert_der, groups)
    # Possession of the consensus key, over this very link (both certificates are signed over).
    try:
        valid = suite.verify(hello.node_id, digest, hello.signature)
    except ChainError as exc:
        raise HelloRejected(f"hello signature is malformed: {exc}") from exc
    if not valid:
        raise HelloRejected("hello signature does not verify under the claimed node id")
