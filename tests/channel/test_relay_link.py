"""AMOP relay frames on the P2P link (chain.network.host KIND_RELAY): to the channel server, not the engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

from chain.channel.amop import Relay, decode_relay
from chain.crypto.certs import generate_ca
from chain.network.host import Host, NetworkConfig
from tests.network.conftest import IDENTITY, NodeMaterial, write_node


def host(me: NodeMaterial, members: list[NodeMaterial], engine: list[bytes], relays: list[bytes],
         peers: tuple[str, ...] = ()) -> Host:
    allowed = {m.key.public_key for m in members}
    config = NetworkConfig("127.0.0.1", 0, peers, handshake_timeout=2.0, backoff_initial=0.05, backoff_maximum=0.4)

    def on_relay(sender: bytes, raw: bytes) -> None:
        decode_relay(raw)  # RelayError for garbage, as the channel server raises it
        relays.append(raw)

    return Host(key=me.key, identity=IDENTITY, tls=me.tls, config=config, is_admitted=lambda node: node in allowed,
                on_message=lambda sender, raw: engine.append(raw), on_relay=on_relay)


async def until(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def test_relay_frames_reach_on_relay_and_garbage_keeps_the_link(tmp_path: Path) -> None:
    ca = generate_ca("relay CA")
    members = [write_node(tmp_path / f"n{i}", f"n{i}", ca) for i in range(2)]

    async def scenario() -> None:
        engine_a: list[bytes] = []
        engine_b: list[bytes] = []
        relays_a: list[bytes] = []
        relays_b: list[bytes] = []
        a = host(members[0], members, engine_a, relays_a)
        await a.start()
        b = host(members[1], members, engine_b, relays_b, peers=(f"127.0.0.1:{a.listen_port}",))
        await b.start()
        try:
            await until(lambda: a.connected() and b.connected())
            topics = Relay("topics", topics=("t",)).encode()
            assert b.send_relay(members[0].key.public_key, b"not json")
            assert b.send_relay(members[0].key.public_key, topics)
            await until(lambda: relays_a == [topics])
            assert engine_a == []  # the engine never sees a relay frame
            assert b.send(members[0].key.public_key, b"engine")  # the refused relay did not drop the link
            await until(lambda: engine_a == [b"engine"])
        finally:
            await b.stop()
            await a.stop()

    asyncio.run(scenario())
