"""The tamper exercise end to end on the simulator: the replica's own block sync refuses the
tampered node's block (a `reject` in the trace, with the rule's reason), fetches the signed block
from an honest node instead, and the invariant checker flags the edited store."""

from __future__ import annotations

from pathlib import Path

import pytest

from chain.errors import ScenarioError
from chain.tamper.checks import MERKLE_ROOT, SIGNATURE_LIST
from chain.tamper.exercise import run_exercise


@pytest.mark.timeout(60)
@pytest.mark.parametrize("what, reason, caught", [
    ("tx", "re-executing block 3 gives a different result than the one signed", MERKLE_ROOT),
    ("signature", "block 3: signature of sealer 0 does not verify", SIGNATURE_LIST),
])
def test_sync_refuses_the_tampered_block_and_fetches_the_signed_one(what: str, reason: str, caught: str) -> None:
    result = run_exercise(what=what, suite="standard", seed=1, block=3, node=0)
    assert result.report is not None and caught in result.report.failed_checks(3)
    # while it could reach the tampered node only, the lagging node took blocks 1..2 and refused block 3
    assert result.lagging_height_alone == 2
    assert result.sync_refusals and all(r["type"] == "SYNC_RESPONSE" for r in result.sync_refusals)
    assert {r["reason"] for r in result.sync_refusals} == {f"sync: {reason}" if what == "tx" else reason}
    assert result.caught_up  # then it holds the block the quorum signed, from an honest node
    assert any("node 0 block 3" in v for v in result.checker_violations)
    assert result.detected
    told = "\n".join(line for step in result.steps for line in step.lines)
    assert "[CAUGHT] " + caught in told and "why:" in told


@pytest.mark.timeout(60)
def test_save_writes_a_tampered_and_an_untouched_node(tmp_path: Path) -> None:
    result = run_exercise(what="signature", suite="standard", block=2, node=3, save=tmp_path / "chain")
    assert result.lagging == 2
    assert sorted(p.name for p in (tmp_path / "chain").iterdir()) == ["node0", "node3"]
    for name in ("node0", "node3"):
        assert (tmp_path / "chain" / name / "data" / "chain.db").is_file()


@pytest.mark.parametrize("kwargs, message", [
    ({"what": "nosuch"}, "unknown tamper"),
    ({"node": 4}, "--node must be 0..3"),
    ({"block": 1}, "--block must be between 2 and 50"),
])
def test_impossible_exercises_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        run_exercise(suite="standard", **kwargs)  # type: ignore[arg-type]
