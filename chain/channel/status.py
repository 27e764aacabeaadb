"""What a node's channel port serves right now: its SDK sessions and their AMOP topics.

The dashboard's real mode shows this per node (`getChannelStatus`, a method of this project, not
FISCO's: FISCO's nearest is getNodeInfo's "Topic" list, which says nothing of the connections).
A subscriber's private challenge topic carries a random suffix that only its node and the
publisher's need: shown here without it, so reading the status cannot help anyone claim it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chain.channel.private_topic import VERIFY_CHANNEL
from chain.rpc.methods import RpcContext, method

if TYPE_CHECKING:
    from chain.channel.server import ChannelServer


def shown_topic(topic: str) -> str:
    if topic.startswith(VERIFY_CHANNEL):
        return topic.rsplit("_", 1)[0] + "_…"
    return topic


def channel_status(server: ChannelServer | None) -> dict[str, Any]:
    if server is None:
        return {"port": None, "sessions": [], "topics": [], "peerTopics": {}}
    sessions = sorted(server.sessions, key=lambda s: s.source)
    return {
        "port": server.listen_port,
        "sessions": [{"source": s.source, "topics": sorted(shown_topic(t) for t in s.topics),
                      "eventLogFilters": len(s.filters)} for s in sessions],
        "topics": sorted({shown_topic(t) for t in server.local_topics()}),
        "peerTopics": {node.hex(): sorted(shown_topic(t) for t in topics)
                       for node, topics in server.peer_topics.items() if topics},
    }


@method("getChannelStatus", grouped=False)
def get_channel_status(ctx: RpcContext, params: list[Any]) -> dict[str, Any]:
    """This node's channel port, connected SDKs and the AMOP topics they (and its peers') listen on."""
    return channel_status(getattr(ctx.api, "channel", None))
