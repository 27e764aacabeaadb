"""The virtual network: per-link latency, loss, duplication, and partitions that heal.

Following the Raft TLA+ spec, the network is a bag of messages in flight; losing, duplicating and
reordering are just things that may happen to a message. Every random choice comes from the
simulation's seeded RNG, in a fixed order, and never depends on message contents (their sizes
vary with randomized signatures), so a seed fixes the run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Iterable


@dataclass(frozen=True)
class LinkProfile:
    """How one directed link behaves: latency uniform in [min_ms, max_ms], loss and duplication odds."""

    min_ms: int = 10
    max_ms: int = 50
    loss: float = 0.0
    duplicate: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_ms <= self.max_ms:
            raise ValueError("link latency needs 0 <= min_ms <= max_ms")
        if not (0.0 <= self.loss <= 1.0 and 0.0 <= self.duplicate <= 1.0):
            raise ValueError("loss and duplicate are probabilities")


@dataclass
class Network:
    """Decides, for each message sent, whether and when copies of it arrive."""

    rng: random.Random
    default: LinkProfile = field(default_factory=LinkProfile)
    links: dict[tuple[int, int], LinkProfile] = field(default_factory=dict)
    groups: tuple[frozenset[int], ...] = ()  # a partition; empty = everyone reaches everyone

    def profile(self, src: int, dst: int) -> LinkProfile:
        return self.links.get((src, dst), self.default)

    def connected(self, src: int, dst: int) -> bool:
        """False while a partition separates src from dst (a node outside every group is isolated)."""
        if not self.groups:
            return True
        return any(src in group and dst in group for group in self.groups)

    def partition(self, groups: Iterable[Iterable[int]]) -> None:
        self.groups = tuple(frozenset(group) for group in groups)

    def heal(self) -> None:
        self.groups = ()

    def set_odds(self, loss: float | None = None, duplicate: float | None = None) -> None:
        """Change loss and duplication on every link from now on (None keeps a value).

        Faults come and go during a run — a lossy spell that ends is how a simulation reaches its
        GST (chain.sim.liveness) — so the odds apply to the default profile and to every link
        that has its own. Only what is drawn changes, never how many numbers are drawn per
        message, so the random stream of the rest of the run keeps its shape.
        """
        def changed(link: LinkProfile) -> LinkProfile:
            return replace(link, loss=link.loss if loss is None else loss,
                           duplicate=link.duplicate if duplicate is None else duplicate)
        self.default = changed(self.default)
        self.links = {key: changed(link) for key, link in self.links.items()}

    def transmit(self, src: int, dst: int) -> list[int] | str:
        """Delays (ms) of the copies that will arrive, or the reason the message is dropped."""
        if not self.connected(src, dst):
            return "partition"
        link = self.profile(src, dst)
        # Draw every number in a fixed order whatever the outcome, so one link's fate never
        # shifts another's random stream.
        lost = self.rng.random() < link.loss
        delay = self.rng.randint(link.min_ms, link.max_ms)
        twice = self.rng.random() < link.duplicate
        extra = self.rng.randint(link.min_ms, link.max_ms)
        if lost:
            return "loss"
        return [delay, extra] if twice else [delay]
