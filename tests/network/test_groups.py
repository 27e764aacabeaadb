"""Groups on the P2P link (docs/nodes.md "Groups"): the hello announces a node's other groups, a
group's frames reach only that group's handler, and only between nodes that both serve it."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from chain.errors import ChainError
from chain.network.framing import encode_frame
from chain.network.hello import VERSION, VERSION_GROUPS, ChainIdentity, Hello, HelloRejected, check_hello, make_hello
from chain.network.host import GROUP_ID_SIZE, KIND_GROUP_MESSAGE, Host, NetworkConfig

from tests.network.conftest import IDENTITY, NodeMaterial
from tests.network.test_host import Inbox, dial, run, running, until

pytestmark = pytest.mark.timeout(30)

GROUP1 = (2, b"\x22" * 32)  # group1: 2.x id 2 and its genesis hash
GROUP2 = (3, b"\x33" * 32)
CERT_A, CERT_B = b"cert of A", b"cert of B"


class GroupInbox:
    def __init__(self) -> None:
        self.messages: list[tuple[int, bytes, bytes]] = []

    def __call__(self, group: int, sender: bytes, payload: bytes) -> None:
        self.messages.append((group, sender, payload))


def make_host(me: NodeMaterial, members: list[NodeMaterial], groups: tuple[tuple[int, bytes], ...],
              peers: tuple[str, ...] = (), inbox: Inbox | None = None, group_inbox: GroupInbox | None = None) -> Host:
    allowed = {m.key.public_key for m in members}
    config = NetworkConfig("127.0.0.1", 0, peers, handshake_timeout=2.0, backoff_initial=0.05, backoff_maximum=0.4)
    return Host(key=me.key, identity=replace(IDENTITY, groups=groups), tls=me.tls, config=config,
                is_admitted=lambda node: node in allowed, on_message=inbox or Inbox(),
                on_group_message=group_inbox or GroupInbox())


# --- the hello ---------------------------------------------------------------------------------

def test_a_node_of_one_group_sends_the_hello_it_always_sent(nodes: list[NodeMaterial]) -> None:
    hello = make_hello(nodes[0].key, IDENTITY, 30300, CERT_A, CERT_B)
    assert hello.version == VERSION and hello.groups == ()
    assert len(Hello.decode(hello.encode()).encode()) == len(hello.encode())  # 7 fields, as before groups
    check_hello(Hello.decode(hello.encode()), nodes[0].key.suite, replace(IDENTITY, groups=(GROUP1,)),
                nodes[0].key.public_key, CERT_A, CERT_B)  # a node of several groups reads it


def test_the_hello_of_a_node_of_several_groups_names_them_under_its_signature(nodes: list[NodeMaterial]) -> None:
    mine = replace(IDENTITY, groups=(GROUP1, GROUP2))
    hello = Hello.decode(make_hello(nodes[0].key, mine, 30300, CERT_A, CERT_B).encode())
    assert hello.version == VERSION_GROUPS and hello.groups == (GROUP1, GROUP2)
    suite, node = nodes[0].key.suite, nodes[0].key.public_key
    check_hello(hello, suite, IDENTITY, node, CERT_A, CERT_B)  # a node of group0 only reads it too
    check_hello(hello, suite, replace(IDENTITY, groups=(GROUP1,)), node, CERT_A, CERT_B)
    # Adding or stripping a group breaks the signature: no one in the middle can change who serves what.
    for forged in (replace(hello, groups=(GROUP1,)), replace(hello, groups=(GROUP1, GROUP2, (4, b"\x44" * 32)))):
        with pytest.raises(HelloRejected, match="signature"):
            check_hello(Hello.decode(forged.encode()), suite, IDENTITY, node, CERT_A, CERT_B)


def test_a_group_both_serve_must_have_the_same_genesis(nodes: list[NodeMaterial]) -> None:
    suite, node = nodes[0].key.suite, nodes[0].key.public_key
    theirs = make_hello(nodes[0].key, replace(IDENTITY, groups=((2, b"\x99" * 32),)), 30300, CERT_A, CERT_B)
    with pytest.raises(HelloRejected, match="for group 2, not ours"):
        check_hello(theirs, suite, replace(IDENTITY, groups=(GROUP1,)), node, CERT_A, CERT_B)
    # A node that does not serve group 2 has nothing to compare: the link is for group0.
    check_hello(theirs, suite, IDENTITY, node, CERT_A, CERT_B)


@pytest.mark.parametrize("groups", [((1, b"\x11" * 32),), (GROUP1, GROUP1)])
def test_a_group_announced_twice_is_refused(nodes: list[NodeMaterial], groups: tuple[tuple[int, bytes], ...]) -> None:
    hello = make_hello(nodes[0].key, ChainIdentity(1, 1, b"\x11" * 32, groups), 30300, CERT_A, CERT_B)
    with pytest.raises(HelloRejected, match="twice"):
        check_hello(hello, nodes[0].key.suite, IDENTITY, nodes[0].key.public_key, CERT_A, CERT_B)


@pytest.mark.parametrize("entries", [b"not a list", [[2]], [[2, b"short"]], [[2, b"\x22" * 32]] * 257])
def test_a_malformed_group_list_is_refused(nodes: list[NodeMaterial], entries: object) -> None:
    from chain.ledger import codec

    raw = codec.encode([VERSION_GROUPS, 1, 1, b"\x11" * 32, nodes[0].key.public_key, 30300, entries, b"sig"])
    with pytest.raises(HelloRejected, match="malformed"):
        Hello.decode(raw)


# --- frames of a group ---------------------------------------------------------------------------

def test_a_groups_messages_reach_only_that_group_and_its_peers(nodes: list[NodeMaterial]) -> None:
    """A and B serve group1, C does not: group1's broadcast goes to B only, lands in B's group
    handler (never in its group0 handler), and group0 still reaches everyone."""
    async def scenario() -> None:
        inbox = {i: Inbox() for i in range(3)}
        groups = {i: GroupInbox() for i in range(3)}
        async with running(make_host(nodes[0], nodes, (GROUP1,), inbox=inbox[0], group_inbox=groups[0])) as a, \
                running(make_host(nodes[1], nodes, (GROUP1,), (dial(a),), inbox[1], groups[1])) as b, \
                running(make_host(nodes[2], nodes, (), (dial(a), dial(b)), inbox[2], groups[2])) as c:
            ids = [n.key.public_key for n in nodes]
            await until(lambda: len(a.connected()) == 2 and len(b.connected()) == 2 and len(c.connected()) == 2)
            assert a.connected(2) == [ids[1]] and c.connected(2) == []
            assert a.broadcast(b"group1 vote", group=2) == 1  # only B serves group1
            assert not a.send(ids[2], b"to C in group1", group=2)  # C does not serve it: not sent
            assert a.broadcast(b"group0 vote") == 2
            await until(lambda: groups[1].messages and len(inbox[1].messages) == 1 and len(inbox[2].messages) == 1)
            assert groups[1].messages == [(2, ids[0], b"group1 vote")]
            assert inbox[1].messages == [(ids[0], b"group0 vote")] and inbox[2].messages == [(ids[0], b"group0 vote")]
            assert groups[2].messages == [] and groups[0].messages == []
            assert c.send(ids[0], b"C in group0 is fine")
            await until(lambda: len(inbox[0].messages) == 1)

    run(scenario)


def test_frames_of_a_group_not_shared_are_refused_and_the_link_stays(
        nodes: list[NodeMaterial], caplog: pytest.LogCaptureFixture) -> None:
    """C (group0 only) gets a group1 frame, A gets a frame of group 3 it does not serve and a
    group1 frame from C, who never announced group1: each is refused with a log line, the handlers
    see nothing, and each link keeps carrying group0."""
    async def scenario() -> None:
        inbox = {i: Inbox() for i in range(3)}
        groups = {i: GroupInbox() for i in range(3)}
        async with running(make_host(nodes[0], nodes, (GROUP1,), inbox=inbox[0], group_inbox=groups[0])) as a, \
                running(make_host(nodes[2], nodes, (), (dial(a),), inbox[2], groups[2])) as c:
            ids = [n.key.public_key for n in nodes]
            await until(lambda: a.connected() == [ids[2]] and c.connected() == [ids[0]])

            def raw_frame(host: Host, to: bytes, group: int, payload: bytes) -> None:
                link = host._links[to]  # what a misbehaving peer would write, past the send() checks
                link.writer.write(encode_frame(bytes([KIND_GROUP_MESSAGE]) + group.to_bytes(GROUP_ID_SIZE, "big") + payload))

            with caplog.at_level(logging.WARNING, logger="chain.network"):
                raw_frame(a, ids[2], 2, b"group1 to a non-member")
                raw_frame(c, ids[0], 3, b"group 3 nobody serves")
                raw_frame(c, ids[0], 2, b"group1 from a non-member")
                c._links[ids[0]].writer.write(encode_frame(bytes([KIND_GROUP_MESSAGE]) + b"\x00"))  # too short
                assert a.send(ids[2], b"group0 still flows") and c.send(ids[0], b"both ways")
                await until(lambda: inbox[2].messages and inbox[0].messages)
            assert groups[0].messages == [] and groups[2].messages == []
            assert inbox[2].messages == [(ids[0], b"group0 still flows")] and inbox[0].messages == [(ids[2], b"both ways")]
            reasons = [getattr(r, "fields", {}).get("reason") for r in caplog.records if r.getMessage() == "group_frame_refused"]
            assert "group 2 is not served by this node" in reasons  # at C
            assert "group 3 is not served by this node" in reasons  # at A (the first refusal from C, in full)
            assert a.connected() == [ids[2]] and c.connected() == [ids[0]]
            assert a._refusals.total == 3 and c._refusals.total == 1  # the later ones from C are counted

    run(scenario)


def test_a_handler_refusing_a_group_message_does_not_drop_the_link(nodes: list[NodeMaterial]) -> None:
    async def scenario() -> None:
        def refuse(group: int, sender: bytes, payload: bytes) -> None:
            raise ChainError("not for this engine")

        inbox = Inbox()
        async with running(make_host(nodes[0], nodes, (GROUP1,), inbox=inbox, group_inbox=refuse)) as a, \
                running(make_host(nodes[1], nodes, (GROUP1,), (dial(a),))) as b:
            await until(lambda: len(a.connected()) == 1 and len(b.connected()) == 1)
            assert b.broadcast(b"refused", group=2) == 1
            assert b.broadcast(b"kept") == 1
            await until(lambda: inbox.messages == [(nodes[1].key.public_key, b"kept")])

    run(scenario)
