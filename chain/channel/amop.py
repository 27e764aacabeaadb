"""AMOP across nodes: which node's SDKs listen on which topic, and the relay messages between nodes.

FISCO's Advanced Messages Onchain Protocol lets applications behind different nodes exchange
topic messages through the nodes' P2P network. Each node tells its peers which topics its SDKs
listen on (again every ``ADVERTISE_S`` seconds, since a lost advertisement would hide a listener
for good — principle 7); a unicast request goes to one listener, chosen among the node's own SDKs
and the peers that advertise the topic; its response travels back the same way, matched by seq.

Relay messages ride P2P frames of their own kind (``chain.network.host.KIND_RELAY``), as JSON:

    {"op": "topics",    "topics": [...]}                         my SDKs listen on these
    {"op": "request",   "seq": hex, "data": hex[, "to": t]}      deliver to one of your SDKs (0x30)
    {"op": "response",  "seq": hex, "result": int, "data": hex}  its answer (0x31)
    {"op": "multicast", "seq": hex, "data": hex[, "to": t]}      deliver to all of your SDKs (0x35)

``to`` names the challenge topic of the one subscriber a private-topic message (or its challenge)
is for (chain.channel.private_topic): only an SDK listening on it gets the message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chain.channel.framing import SEQ_SIZE, BadFrame
from chain.errors import ChainError

ADVERTISE_S = 2.0
MAX_TOPICS = 256  # per SDK connection and per advertising node: a bounded routing table
MAX_TOPIC_BYTES = 126
BLOCK_NOTIFY_PREFIX = "_block_notify_"  # python-sdk's topic for block-number pushes, not an AMOP topic


class RelayError(ChainError):
    """A relay message from a peer that does not parse: refused, the link stays."""


@dataclass(frozen=True)
class Relay:
    op: str
    seq: bytes = b""
    result: int = 0
    data: bytes = b""
    topics: tuple[str, ...] = ()
    to: str = ""

    def encode(self) -> bytes:
        body: dict[str, Any] = {"op": self.op}
        if self.op == "topics":
            body["topics"] = list(self.topics)
        else:
            body.update(seq=self.seq.hex(), data=self.data.hex())
            if self.op == "response":
                body["result"] = self.result
            if self.to:
                body["to"] = self.to
        return json.dumps(body, separators=(",", ":")).encode()


OPS = ("topics", "request", "response", "multicast")


def decode_relay(raw: bytes) -> Relay:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RelayError(f"relay message is not JSON: {exc}") from None
    if not isinstance(body, dict) or body.get("op") not in OPS:
        raise RelayError("relay message without a known op")
    op = body["op"]
    if op == "topics":
        topics = body.get("topics")
        # A bounded list of strings, or one peer could grow our routing table without limit.
        if not isinstance(topics, list) or len(topics) > MAX_TOPICS or not all(valid_topic(t) for t in topics):
            raise RelayError(f"topics must be a list of at most {MAX_TOPICS} topics")
        return Relay(op, topics=tuple(topics))
    try:
        seq = bytes.fromhex(body["seq"])
        data = bytes.fromhex(body["data"])
    except (KeyError, TypeError, ValueError):
        raise RelayError("relay message needs hex seq and data") from None
    # The seq is what the SDK matches its answer by: exactly FISCO's 32 bytes.
    if len(seq) != SEQ_SIZE:
        raise RelayError(f"relay seq must be {SEQ_SIZE} bytes")
    result = body.get("result", 0)
    if not isinstance(result, int) or isinstance(result, bool) or not 0 <= result < 2**31:
        raise RelayError("relay result must be a non-negative integer")
    to = body.get("to", "")
    if to != "" and not valid_topic(to):
        raise RelayError("relay 'to' must be a topic")
    return Relay(op, seq, result, data, to=to)


def valid_topic(topic: object) -> bool:
    return isinstance(topic, str) and 0 < len(topic.encode()) <= MAX_TOPIC_BYTES


def parse_topic_report(data: bytes) -> list[str]:
    """The topics of a 0x32 message: a JSON list of strings (python-sdk ``json.dumps([...])``)."""
    try:
        topics = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise BadFrame("topic report is not JSON") from None
    # Bounded, so one SDK cannot grow the node's routing table without limit.
    if not isinstance(topics, list) or len(topics) > MAX_TOPICS or not all(valid_topic(t) for t in topics):
        raise BadFrame(f"topic report must be a JSON list of at most {MAX_TOPICS} topics")
    return topics
