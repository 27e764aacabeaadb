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

from chain.crypto.suite import CryptoSuite

MAX_REMEMBERED = 1 << 18  # answers kept (~40 MB with SM2's 128-byte signatures); then the memo starts afresh


class VerifyOnce:
    """suite.verify with a memo of its answers (exceptions, for malformed input, are raised each time)."""

    def __init__(self, suite: CryptoSuite) -> None:
        self.inner = suite.verify
        self.memo: dict[tuple[bytes, bytes, bytes], bool] = {}
        self.calls = 0  # verify calls the replicas made
        self.computed = 0  # of which were really computed

    def __call__(self, public_key: bytes, msg_hash: bytes, signature: bytes) -> bool:
        self.calls += 1
        key = (bytes(public_key), bytes(msg_hash), bytes(signature))
        answer = self.memo.get(key)
        if answer is None:
            answer = self.inner(public_key, msg_hash, signature)
            self.computed += 1
            if len(self.memo) >= MAX_REMEMBERED:
                self.memo.clear()
            self.memo[key] = answer
        return answer


class RecoverOnce:
    """suite.recover with a memo of the keys it recovered (a signature that fails raises each time).

    Transactions are checked by every pool that admits them (the client's node, then each working
    sealer the gossip reaches): the same recovery, four or five times per transaction.
    """

    def __init__(self, suite: CryptoSuite) -> None:
        self.inner = suite.recover
        self.memo: dict[tuple[bytes, bytes], bytes] = {}

    def __call__(self, msg_hash: bytes, signature: bytes) -> bytes:
        key = (bytes(msg_hash), bytes(signature))
        public_key = self.memo.get(key)
        if public_key is None:
            public_key = self.inner(msg_hash, signature)
            if len(self.memo) >= MAX_REMEMBERED:
                self.memo.clear()
            self.memo[key] = public_key
        return public_key


def verify_once(suite: CryptoSuite) -> tuple[CryptoSuite, VerifyOnce]:
    """A copy of suite (same class, name and keys) whose verify and recover are shared, and that verify."""
    shared = copy.copy(suite)
    memo = VerifyOnce(suite)
    # Instance attributes shadow the methods: isinstance checks and every other method stay the suite's.
    setattr(shared, "verify", memo)
    setattr(shared, "recover", RecoverOnce(suite))
    return shared, memo
