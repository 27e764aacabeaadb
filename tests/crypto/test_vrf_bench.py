"""`chain bench crypto` measures both VRFs (prove and verify per second) after the suites' table."""

from __future__ import annotations

from chain.bench.crypto import measure_vrf


def test_measure_vrf_reports_both_schemes() -> None:
    rows = measure_vrf(0.01)
    assert [label.split(" ")[0] for label, _ in rows] == ["curve25519", "ECVRF-EDWARDS25519-SHA512-TAI"]
    for _, figures in rows:
        assert set(figures) == {"prove/s", "verify/s"}
        assert all(0 < rate < 100_000 for rate in figures.values())
