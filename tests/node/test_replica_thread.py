"""The replica thread can profile itself: the process profile sees only the event loop's thread."""

from __future__ import annotations

import pstats
from pathlib import Path

from chain.node.replica_thread import ReplicaThread


def a_job_worth_finding() -> int:
    return sum(range(1000))


def test_a_profiled_replica_thread_writes_what_it_ran(tmp_path: Path) -> None:
    target = tmp_path / "prof" / "node0.replica.prof"
    thread = ReplicaThread("node0-replica", profile_to=target)
    assert thread.submit(a_job_worth_finding).result(5) == 499500
    assert thread.close(5)
    names = {name for (_, _, name) in pstats.Stats(str(target)).stats}  # type: ignore[attr-defined]
    assert "a_job_worth_finding" in names

