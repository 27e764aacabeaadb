"""Fan-out of live updates to browser tabs, so that no tab can slow the chain down.

The simulation publishes one update per pacing tick. Each connected client gets its own small
bounded queue; publishing never waits. A client whose queue is full is too slow (or its tab was
closed and the socket is half-dead): it is dropped, and the chain carries on at full speed. A tab
that reconnects asks for the state again and receives updates from then on.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any

DEFAULT_QUEUE_SIZE = 64


@dataclass
class Client:
    """One subscriber: a queue the websocket writer drains, and whether the hub dropped it."""

    id: int
    queue: asyncio.Queue[dict[str, Any] | None]
    dropped: bool = False


class Hub:
    """The connected tabs; `publish` hands each one the message or drops the tab, never waits."""

    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self.clients: dict[int, Client] = {}
        self.dropped_total = 0
        self._ids = itertools.count(1)

    def subscribe(self) -> Client:
        client = Client(id=next(self._ids), queue=asyncio.Queue(maxsize=self.queue_size))
        self.clients[client.id] = client
        return client

    def unsubscribe(self, client: Client) -> None:
        self.clients.pop(client.id, None)

    def publish(self, message: dict[str, Any]) -> None:
        """Queue message for every client without ever blocking; drop those that cannot keep up."""
        for client in list(self.clients.values()):
            try:
                client.queue.put_nowait(message)
            except asyncio.QueueFull:
                self._drop(client)

    def _drop(self, client: Client) -> None:
        client.dropped = True
        self.dropped_total += 1
        self.clients.pop(client.id, None)
        # make room for the end-of-stream marker so the writer task wakes up and closes the socket
        while not client.queue.empty():
            client.queue.get_nowait()
        client.queue.put_nowait(None)
