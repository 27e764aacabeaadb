"""The handshake admission policy and the refusal log, without sockets: each rule on its own."""

from __future__ import annotations

import logging

from chain.network.admission import (
    REFUSED_ALL_FULL,
    REFUSED_PER_SOURCE,
    REFUSED_UNKNOWN_FULL,
    AdmissionLimits,
    AdmissionPolicy,
    Pending,
)
from chain.network.refusals import OTHER_SOURCES, RefusalLog

PEER = "10.0.0.1"  # an address in the peer list (two peers live there)
LIMITS = AdmissionLimits(max_pending=10, max_pending_per_source=2, reserved_for_peers=4, silent_grace=0.2, stale_after=1.0)


def policy() -> AdmissionPolicy:
    return AdmissionPolicy(LIMITS, [PEER, PEER, "10.0.0.2"])


def fill(p: AdmissionPolicy, source: str, count: int, now: float = 0.0, talking: bool = False) -> list[Pending]:
    taken = []
    for _ in range(count):
        admission = p.admit(source, now)
        assert admission.pending is not None and admission.evict is None
        if talking:
            p.mark_talking(admission.pending)
        taken.append(admission.pending)
    return taken


def test_one_address_holds_at_most_its_cap() -> None:
    p = policy()
    fill(p, "192.0.2.7", 2, talking=True)
    refused = p.admit("192.0.2.7", 0.1)
    assert refused.pending is None and refused.reason == REFUSED_PER_SOURCE
    assert p.admit("192.0.2.8", 0.1).pending is not None  # another address is not affected
    # An address of the peer list holds twice the peers listed there.
    assert p.cap(PEER) == 4 and p.cap("10.0.0.2") == 2
    fill(p, PEER, 4, talking=True)
    assert p.admit(PEER, 0.1).reason == REFUSED_PER_SOURCE


def test_strangers_leave_the_reserved_slots_to_the_peer_list() -> None:
    p = policy()
    for i in range(6):  # 10 - 4 reserved
        fill(p, f"192.0.2.{i}", 1, talking=True)
    refused = p.admit("192.0.2.99", 0.1)
    assert refused.pending is None and refused.reason == REFUSED_UNKNOWN_FULL
    # The peers' addresses still get in, up to the total.
    fill(p, PEER, 2, now=0.1)
    fill(p, "10.0.0.2", 2, now=0.1)
    assert p.pending == 10


def test_no_peer_list_keeps_no_room() -> None:
    p = AdmissionPolicy(LIMITS, [])
    for i in range(10):  # all ten slots go to strangers, none are held back
        fill(p, f"192.0.2.{i}", 1, talking=True)
    assert p.pending == 10 and p.admit("192.0.2.99", 0.1).pending is None


def test_the_total_is_bounded_for_everyone() -> None:
    many_peers = AdmissionPolicy(LIMITS, [PEER] * 8)  # cap 16 at PEER, above the total of 10
    fill(many_peers, PEER, 10, talking=True)
    refused = many_peers.admit(PEER, 0.1)
    assert refused.pending is None and refused.reason == REFUSED_ALL_FULL


def test_a_silent_connection_is_replaced_after_its_grace_but_not_before() -> None:
    p = policy()
    idle = fill(p, "192.0.2.7", 2, now=0.0)
    assert p.admit("192.0.2.7", 0.1).pending is None  # still within the grace: may just be slow to speak
    admission = p.admit("192.0.2.7", 0.25)
    assert admission.pending is not None and admission.evict is idle[0]  # the oldest goes
    assert p.pending_from("192.0.2.7") == 2


def test_a_talking_handshake_is_replaced_only_once_stale() -> None:
    p = policy()
    busy = fill(p, "192.0.2.7", 2, now=0.0, talking=True)
    assert p.admit("192.0.2.7", 0.5).pending is None  # young and talking: kept
    admission = p.admit("192.0.2.7", 1.0)
    assert admission.evict is busy[0]


def test_silent_ones_go_before_older_talking_ones() -> None:
    p = policy()
    talking = fill(p, "192.0.2.7", 1, now=0.0, talking=True)[0]
    silent = fill(p, "192.0.2.7", 1, now=0.5)[0]
    admission = p.admit("192.0.2.7", 2.0)  # both are replaceable; the silent one goes first
    assert admission.evict is silent and talking in p._pending


def test_when_all_slots_are_busy_a_stranger_replaces_a_stranger_never_a_peer() -> None:
    p = policy()
    peers = fill(p, PEER, 4, now=0.0) + fill(p, "10.0.0.2", 2, now=0.0)  # older, silent: the stalest
    strangers = fill(p, "192.0.2.1", 2, now=1.0) + fill(p, "192.0.2.2", 2, now=1.0)
    assert p.pending == 10  # the peers use more than the 4 reserved, so the total is what binds
    admission = p.admit("192.0.2.99", 5.0)
    assert admission.reason == REFUSED_ALL_FULL and admission.evict in strangers
    assert all(peer in p._pending for peer in peers)


def test_release_is_idempotent_and_frees_the_slot() -> None:
    p = policy()
    first, _ = fill(p, "192.0.2.7", 2, talking=True)
    p.release(first)
    p.release(first)
    assert p.pending_from("192.0.2.7") == 1 and p.pending == 1
    assert p.admit("192.0.2.7", 0.0).pending is not None


class Lines:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, object]]] = []

    def __call__(self, level: int, event: str, fields: dict[str, object]) -> None:
        assert level == logging.WARNING
        self.lines.append((event, fields))


def test_refusals_are_one_line_then_one_count_per_interval() -> None:
    out = Lines()
    refusals = RefusalLog(out, interval=10.0)
    refusals.note("127.0.0.5", 0.0, "connection_refused", "full", endpoint="127.0.0.5:1")
    assert out.lines == [("connection_refused", {"endpoint": "127.0.0.5:1", "reason": "full"})]
    for i in range(1234):
        refusals.note("127.0.0.5", 0.001 * i, "connection_refused", "full" if i % 2 else "silent")
    refusals.flush(5.0)
    assert len(out.lines) == 1  # the interval has not ended
    refusals.flush(10.0)
    assert out.lines[1] == ("connections_refused", {
        "source": "127.0.0.5", "kind": "connection_refused", "count": 1234, "seconds": 10.0, "reasons": {"full": 617, "silent": 617},
    })
    # Still under fire: the next refusal is counted, not logged in full.
    refusals.note("127.0.0.5", 11.0, "connection_refused", "full")
    assert len(out.lines) == 2
    refusals.flush(20.0)
    assert out.lines[2][1]["count"] == 1
    # A quiet interval later, a refusal is news again.
    refusals.flush(30.0)
    refusals.note("127.0.0.5", 31.0, "connection_refused", "full")
    assert len(out.lines) == 4 and out.lines[3][0] == "connection_refused"
    assert refusals.total == 1237


def test_each_kind_of_refusal_is_news_on_its_own() -> None:
    out = Lines()
    refusals = RefusalLog(out, interval=10.0)
    refusals.note("127.0.0.1", 0.0, "peer_rejected", "hello timed out")
    refusals.note("127.0.0.1", 1.0, "tls_rejected", "wrong version number")
    assert [event for event, _ in out.lines] == ["peer_rejected", "tls_rejected"]


def test_many_addresses_cannot_multiply_the_lines() -> None:
    out = Lines()
    refusals = RefusalLog(out, interval=10.0, max_sources=4)
    for round_ in range(3):
        for i in range(1000):
            refusals.note(f"10.1.{i // 256}.{i % 256}", round_ * 10.0, "connection_refused", "full")
        refusals.flush(round_ * 10.0 + 10.0)
    assert len(out.lines) <= 3 * (4 + 1)
    others = [fields for event, fields in out.lines if fields.get("source") == OTHER_SOURCES]
    assert others and sum(int(str(f["count"])) for f in others) > 2900


def test_reasons_kept_per_interval_are_bounded() -> None:
    out = Lines()
    refusals = RefusalLog(out, interval=1.0)
    for i in range(100):
        refusals.note("192.0.2.1", 0.0, "tls_rejected", f"reason {i}")
    refusals.flush(1.0)
    reasons = out.lines[-1][1]["reasons"]
    assert isinstance(reasons, dict) and len(reasons) <= 9 and sum(reasons.values()) == 99
