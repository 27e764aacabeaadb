"""A simulation shortcut: each distinct signature is verified once per process, not once per receiver.

A real node verifies every message and every block signature it uses; in the simulator a hundred
replicas share one process, so the very same (public key, hash, signature) triple is verified by
each of them — a block pushed to 96 followers has its 3 signatures checked 288 times, and the
broadcast SyncRequests of a 100-node start cost 9,900 SM2 verifications, ~60 % of a run's CPU.
Verification is a pure function of those three byte strings, so ``verify_once(suite)`` gives a
copy of the suite whose ``verify`` (and ``recover``, for transactions) remembers each answer: the
replicas still call it on every message (no rule is skipped, a bad signature is still refused by
every receiver, and the trace is byte for byte the same), but the curve arithmetic runs once per
distinct signature.

It is on by default (``SimConfig(share_verifications=True)``, ``chain sim --verify-every-copy``
turns it off) and off in ``chain bench pbft``, which measures what each receiver pays. The
invariant checker keeps the real suite: the oracle must not share what it judges.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from chain.crypto.suite import CryptoSuite

MAX_REMEMBERED = 1 << 18  # answers kept (~40 MB with SM2's 128-byte signatures); then the memo starts afresh


class Remembered:
    """A pure function of byte strings with a memo of its answers (exceptions, for malformed input,
    are raised each time). ``suite.verify`` and ``suite.recover`` are wrapped alike: transactions are
    checked by every pool that admits them (the client's node, then each working sealer the gossip
    reaches), the same recovery four or five times per transaction."""

    def __init__(self, inner: Callable[..., Any]) -> None:
        self.inner = inner
        self.memo: dict[tuple[bytes, ...], Any] = {}
        self.calls = 0  # calls the replicas made
        self.computed = 0  # of which were really computed

    def __call__(self, *args: bytes) -> Any:
        self.calls += 1
        key = tuple(bytes(a) for a in args)
        answer = self.memo.get(key)
        if answer is None:
            answer = self.inner(*args)
            self.computed += 1
            if len(self.memo) >= MAX_REMEMBERED:
                self.memo.clear()
            self.memo[key] = answer
        return answer


def verify_once(suite: CryptoSuite) -> tuple[CryptoSuite, Remembered]:
    """A copy of suite (same class, name and keys) whose verify and recover are shared, and that verify."""
    shared = copy.copy(suite)
    memo = Remembered(suite.verify)
    # Instance attributes shadow the methods: isinstance checks and every other method stay the suite's.
    setattr(shared, "verify", memo)
    setattr(shared, "recover", Remembered(suite.recover))
    return shared, memo
