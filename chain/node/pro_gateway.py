"""A Pro node's gateway process: the node's only P2P endpoint (docs/nodes.md "Pro form").

FISCO BCOS 3.x Pro's Gateway service holds a node's P2P links and routes each message to the group
it belongs to; the groups' cores never open a network socket. Here the gateway is the very
``chain.network.host.Host`` an Air node runs (mutual TLS, hello, admission, one link per peer,
reconnects, group frames), and instead of a replica behind it, one local link per core:

* a frame of group0 (kind 1) or of another group (kind 3) goes to that group's core as ENGINE;
  with no core of that group linked it is dropped (counted in the log) — the peer sends again;
* SEND and BROADCAST from a core go out through the host in that group's name only;
* whenever a peer links or unlinks, every core gets PEERS (the host's peer table, and the peers
  that serve the core's group);
* AMOP relay messages (P2P kind 2) go to group0's core as RELAY, and its RELAY frames out to the
  peer they name: group0's core serves the channel sessions the rpc process relays.

Peers are admitted by the node lists in force of this node's groups: each core reports its own
(NODES); until it has, its group's genesis lists are used, so a gateway started before its cores
still links to the chain's nodes.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from chain.crypto.keys import load_private_key
from chain.crypto.suite import get_suite
from chain.ledger.genesis import FIRST_GROUP_NAME, GenesisConfig, build_genesis, group_id_of
from chain.network.hello import ChainIdentity
from chain.network.host import Host, PeerInfo
from chain.node.config import NodeConfig, check_groups, group_genesis_file, p2p_settings
from chain.node.local_link import (
    GATEWAY_SOCKET, KIND_BROADCAST, KIND_ENGINE, KIND_NAMES, KIND_NODES, KIND_PEERS, KIND_RELAY, KIND_SEND, NODE_ID_SIZE,
    LocalLink, LocalProtocolError, listen, peers_body, read_hello,
)
from chain.node.logging import event

log = logging.getLogger("chain.node")

PEERS_REFRESH_S = 1.0  # how often the cores' view of the peers is checked against the host's


def _peer_row(peer: PeerInfo) -> dict[str, Any]:
    return {"endpoint": peer.endpoint, "nodeId": peer.node_id.hex() if peer.node_id else "",
            "connected": peer.connected, "groups": list(peer.groups)}


class ProGateway:
    """The P2P host of a Pro node, routing engine frames between peers and the local cores."""

    def __init__(self, node_dir: str | Path, config: NodeConfig | None = None) -> None:
        self.directory = Path(node_dir).resolve()
        self.config = config or NodeConfig.load(self.directory)
        self.node_name = self.config.node.name
        names = self.config.group_names
        check_groups(self.directory, self.config, names)
        key = load_private_key(self.directory / self.config.node.key_file)
        geneses = {name: GenesisConfig.load(self.directory / group_genesis_file(self.config, name)) for name in names}
        hashes = {name: build_genesis(g)[0].hash(get_suite(g.suite)) for name, g in geneses.items()}
        first = geneses[FIRST_GROUP_NAME]
        # The group each wire id names (None: group0, whose frames carry no id) and back.
        self._wire: dict[str, int | None] = {name: None if name == FIRST_GROUP_NAME else group_id_of(name) for name in names}
        self._by_wire: dict[int | None, str] = {wire: name for name, wire in self._wire.items()}
        # Admission: each group's node list, from its genesis until its core reports the one in force.
        self._node_lists: dict[str, frozenset[bytes]] = {
            name: frozenset([node_id for node_id, _ in g.sealers] + list(g.observers)) for name, g in geneses.items()}
        self._cores: dict[str, LocalLink] = {}
        self.dropped: dict[str, int] = {name: 0 for name in names}  # engine frames for a core not linked
        tls, network = p2p_settings(self.config, self.directory)
        self.host = Host(
            key=key,
            identity=ChainIdentity(first.chain_id, first.group_id, hashes[FIRST_GROUP_NAME],
                                   tuple((group_id_of(n), hashes[n]) for n in names[1:])),
            tls=tls,
            config=network,
            is_admitted=self.is_chain_node,
            on_message=lambda sender, raw: self._to_core(FIRST_GROUP_NAME, sender, raw),
            on_peer=self._on_peer,
            on_relay=self._relay_to_core,
            on_group_message=lambda group_id, sender, raw: self._to_core(self._by_wire[group_id], sender, raw),
        )
        self._server: asyncio.AbstractServer | None = None
        self._peers_sent: dict[str, bytes] = {}  # the PEERS body each core last got
        self._refresher: asyncio.Task[None] | None = None

    def is_chain_node(self, node_id: bytes) -> bool:
        """Whether node_id is in the node list of one of this node's groups (sealers and observers)."""
        return any(node_id in nodes for nodes in self._node_lists.values())

    async def start(self) -> None:
        await self.host.start()
        self._server = await listen(GATEWAY_SOCKET, self._serve_core, "gateway")
        self._refresher = asyncio.ensure_future(self._refresh_loop())
        event(log, "gateway_started", p2p=f"{self.config.network.listen_ip}:{self.host.listen_port}",
              socket=GATEWAY_SOCKET, groups=list(self._wire))

    async def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)
        if self._server is not None:
            self._server.close()
        for link in list(self._cores.values()):
            link.close()
        await self.host.stop()
        Path(GATEWAY_SOCKET).unlink(missing_ok=True)
        event(log, "gateway_stopped", dropped=self.dropped)

    # --- peers -> cores --------------------------------------------------------------------

    def _to_core(self, group: str, sender: bytes, raw: bytes) -> None:
        link = self._cores.get(group)
        if link is None or not link.send(KIND_ENGINE, sender + raw):
            self.dropped[group] += 1
            # one line per 1000 dropped frames: a core that is down must not flood the log
            if self.dropped[group] % 1000 == 1:
                event(log, "engine_frame_dropped", logging.WARNING, group=group, reason="core not linked",
                      dropped=self.dropped[group])

    def _relay_to_core(self, sender: bytes, raw: bytes) -> None:
        """An AMOP relay message from a peer: for group0's core, which serves the channel (as in Air)."""
        link = self._cores.get(FIRST_GROUP_NAME)
        if link is not None:
            link.send(KIND_RELAY, sender + raw)

    def _on_peer(self, node_id: bytes, connected: bool) -> None:
        event(log, "peer_linked" if connected else "peer_unlinked", logging.DEBUG, peer=node_id.hex()[:16])
        # Once the host has finished this change (it notes which node an endpoint is after telling us).
        asyncio.get_running_loop().call_soon(self._refresh_peers)

    def _refresh_peers(self) -> None:
        for group in list(self._cores):
            self._send_peers(group)

    async def _refresh_loop(self) -> None:
        """The host learns some things without a callback (which node a dialed endpoint is): look again."""
        while True:
            await asyncio.sleep(PEERS_REFRESH_S)
            self._refresh_peers()

    def _send_peers(self, group: str, *, always: bool = False) -> None:
        """PEERS to the core of group, when it differs from what that core last got (or always)."""
        link = self._cores.get(group)
        if link is None:
            return
        wire = self._wire[group]
        linked = self.host.connected() if wire is None else self.host.connected(wire)
        body = peers_body([_peer_row(p) for p in self.host.peer_info()], linked)
        if always or self._peers_sent.get(group) != body:
            if link.send(KIND_PEERS, body):
                self._peers_sent[group] = body

    # --- cores -> peers --------------------------------------------------------------------

    async def _serve_core(self, link: LocalLink) -> None:
        hello = await read_hello(link)
        # A core of one of this node's groups only: the gateway speaks for the node in no other.
        if hello.role != "core" or hello.group not in self._wire:
            raise LocalProtocolError(f"the gateway links cores of {list(self._wire)}, not {hello.role} {hello.group!r}")
        group = hello.group
        link.name = f"gateway <- core {group}"
        old = self._cores.get(group)
        if old is not None:  # most often the dead half of a core that restarted: the new one wins
            old.close()
        self._cores[group] = link
        event(log, "core_linked", group=group)
        self._send_peers(group, always=True)
        wire = self._wire[group]
        try:
            async for kind, body in link.frames():
                if kind == KIND_SEND and len(body) > NODE_ID_SIZE:
                    self.host.send(body[:NODE_ID_SIZE], body[NODE_ID_SIZE:], group=wire)
                elif kind == KIND_BROADCAST and body:
                    self.host.broadcast(body, group=wire)
                elif kind == KIND_RELAY and len(body) > NODE_ID_SIZE and group == FIRST_GROUP_NAME:
                    self.host.send_relay(body[:NODE_ID_SIZE], body[NODE_ID_SIZE:])
                elif kind == KIND_NODES and len(body) % NODE_ID_SIZE == 0:
                    self._node_lists[group] = frozenset(body[i:i + NODE_ID_SIZE] for i in range(0, len(body), NODE_ID_SIZE))
                else:  # a core sends nothing else
                    raise LocalProtocolError(f"a core does not send {KIND_NAMES.get(kind, kind)} ({len(body)} bytes)")
        finally:
            if self._cores.get(group) is link:
                del self._cores[group]
                event(log, "core_unlinked", logging.WARNING, group=group)
