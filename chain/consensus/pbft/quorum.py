"""Weighted quorums and the leader rule: the small arithmetic PBFT rests on.

With sealer weights w_i, ``total = Σ w_i`` and at most ``f = (total − 1) // 3`` weight may be
faulty; a quorum is ``total − f``. Any two quorums then overlap in more than f weight, so in at
least one honest sealer — which is why two conflicting blocks can never both gather a quorum.
With equal weights this is the familiar 2f + 1 out of 3f + 1.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


def max_faulty(total: int) -> int:
    """The faulty weight a system of total weight `total` tolerates."""
    return (total - 1) // 3  # rule: max_faulty | replace: (total - 1) // 3 => total // 3


def quorum(total: int) -> int:
    """The weight that makes a quorum: total − max_faulty(total)."""
    return total - max_faulty(total)  # rule: quorum_size | replace: total - max_faulty(total) => total - max_faulty(total) - 1


def leader_index(number: int, view: int, leader_period: int, sealer_count: int) -> int:
    """The sealer that proposes block `number` in `view`: (number // period + view) % n."""
    return (number // max(1, leader_period) + view) % sealer_count


def next_timeout_ms(base_ms: int, consecutive_view_changes: int, max_exponent: int = 6) -> int:
    """The view timer: base × 1.5^k for k consecutive view changes, k capped so it stays bounded."""
    return int(base_ms * 1.5 ** min(consecutive_view_changes, max_exponent))


class VoteSet(Generic[T]):
    """Votes of distinct sealers for one thing, with their total weight.

    A sealer's second vote for the same thing is ignored, so replays and duplicates add nothing.
    """

    def __init__(self, weights: tuple[int, ...]) -> None:
        self._weights = weights
        self.votes: dict[int, T] = {}
        self.weight = 0  # kept as votes arrive: summing on every check made each phase O(n²)

    def add(self, sender: int, vote: T) -> bool:
        """Record sender's vote; False if that sealer had already voted here."""
        if sender in self.votes:  # rule: vote_set_sealer_once
            return False
        self.votes[sender] = vote
        self.weight += self._weights[sender]  # rule: vote_set_weights | replace: self._weights[sender] => 1
        return True

    def reached(self, needed: int) -> bool:
        return self.weight >= needed

    def __len__(self) -> int:
        return len(self.votes)

    def __contains__(self, sender: object) -> bool:
        return sender in self.votes
