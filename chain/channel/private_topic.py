"""AMOP private topics: only subscribers that prove they hold an allowed key get a publisher's messages.

FISCO 2.x's scheme (FISCO-BCOS-DOC ``manual/amop_protocol.md``, java-sdk ``AmopMsgHandler``), with
the topic names its SDKs use:

* a *publisher* declares ``#!$TopicNeedVerify_<name>`` with the public keys allowed to read it, and
  listens on ``#!$PushChannel_#!$TopicNeedVerify_<name>`` (that is how its node knows it decides);
* a *subscriber* listens on ``#!$TopicNeedVerify_<name>`` and on a challenge topic of its own,
  ``#!$VerifyChannel_#!$TopicNeedVerify_<name>_<uuid>``;
* the publisher's node, seeing a subscriber (here or advertised by a peer), sends the publisher
  ``0x37`` ``{"nodeId", "topic", "topicForCert"}``; the publisher answers ``0x37`` (empty), sends a
  random value as an AMOP request on ``topicForCert``; the subscriber's SDK answers with its
  signature of the suite hash of that value; the publisher checks it against its keys and tells
  its node ``0x38`` ``{"checkResult": 0 (ok) | 1, "nodeId", "topic"}``;
* the node then routes the publisher's messages on the topic only to the subscribers it approved.

Where this node is stricter than FISCO's (which keeps one status per topic and *node*): approval
is kept per publisher session and per subscriber (its node and challenge topic), so a second
SDK behind an approved node, or another publisher's approval, opens nothing; a challenge goes to
the subscriber under test, not to any listener of its challenge topic; and only the publisher that
was asked may answer (a subscriber cannot send ``0x38`` about itself). A ``0x38`` names no
challenge topic, so a publisher has at most one open challenge per (node, topic) at a time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from chain.channel.framing import BadFrame

NEED_VERIFY = "#!$TopicNeedVerify_"
VERIFY_CHANNEL = "#!$VerifyChannel_"
PUSH_CHANNEL = "#!$PushChannel_"
CHALLENGE_S = 10.0  # a challenge unanswered this long counts as failed
VERIFY_OK, VERIFY_FAILED = 0, 1  # FISCO's checkResult


def private_name(name: str) -> str:
    return NEED_VERIFY + name


def is_private(topic: str) -> bool:
    return topic.startswith(NEED_VERIFY) and len(topic) > len(NEED_VERIFY)


def push_channel(topic: str) -> str:
    """The topic a publisher of private `topic` listens on."""
    return PUSH_CHANNEL + topic


def cert_prefix(topic: str) -> str:
    return VERIFY_CHANNEL + topic + "_"


def cert_topics(topics: frozenset[str], topic: str) -> list[str]:
    """A subscriber's challenge topics for private `topic` (it must also listen on the topic itself)."""
    if topic not in topics:
        return []
    prefix = cert_prefix(topic)
    return sorted(t for t in topics if t.startswith(prefix) and len(t) > len(prefix))


def published_private_topics(topics: frozenset[str]) -> list[str]:
    """The private topics a session publishes (it listens on their push channel)."""
    return sorted(t[len(PUSH_CHANNEL):] for t in topics if t.startswith(PUSH_CHANNEL) and is_private(t[len(PUSH_CHANNEL):]))


@dataclass(frozen=True)
class TopicStatus:
    """A publisher's ``0x38``: its verdict on the subscriber it was asked about."""

    check_result: int
    node_id: str
    topic: str


def parse_topic_status(data: bytes) -> TopicStatus:
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise BadFrame("topic status (0x38) is not JSON") from None
    if not isinstance(body, dict):
        raise BadFrame("topic status (0x38) is not a JSON object")
    result, node_id, topic = body.get("checkResult"), body.get("nodeId"), body.get("topic")
    if not isinstance(result, int) or isinstance(result, bool) or not isinstance(node_id, str) \
            or not isinstance(topic, str) or not is_private(topic):
        raise BadFrame("topic status (0x38) needs checkResult, nodeId and a private topic")
    return TopicStatus(result, node_id, topic)


def verify_request(node_id: str, topic: str, topic_for_cert: str) -> bytes:
    """The ``0x37`` a node sends a publisher (FISCO's field names and order)."""
    return json.dumps({"nodeId": node_id, "topic": topic, "topicForCert": topic_for_cert}).encode()
