"""`chain sim` prints its summary and exits non-zero exactly when an invariant broke."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chain.cli.main import app


@pytest.mark.timeout(60)
def test_sim_command_summary_and_trace(tmp_path: Path) -> None:
    trace = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["sim", "--nodes", "4", "--byzantine", "1", "--behaviour", "silent",
                                      "--blocks", "3", "--seed", "2", "--trace", str(trace)])
    assert result.exit_code == 0, result.output
    assert "agreement" in result.output and "holds" in result.output and "PREPARE" in result.output
    assert "liveness after GST" in result.output and "live: GST 0 ms" in result.output
    lines = trace.read_text().splitlines()
    assert lines and all(json.loads(line)["ev"] for line in lines)


@pytest.mark.timeout(60)
def test_sim_command_fails_on_a_fork() -> None:
    result = CliRunner().invoke(app, ["sim", "--nodes", "4", "--byzantine", "2", "--behaviour", "equivocate",
                                      "--blocks", "3", "--max-time-ms", "8000", "--seed", "33"])
    assert result.exit_code == 1, result.output
    assert "BROKEN" in result.output


@pytest.mark.timeout(120)
@pytest.mark.parametrize("nodes, liars", [(7, 3), (10, 4)])
def test_f_plus_one_equivocators_fork_at_seven_and_ten_nodes(nodes: int, liars: int) -> None:
    """f + 1 liars must be placed so the equivocating leader's two halves each hold f honest nodes."""
    result = CliRunner().invoke(app, ["sim", "--nodes", str(nodes), "--byzantine", str(liars), "--behaviour",
                                      "equivocate", "--blocks", "3", "--max-time-ms", "8000", "--seed", "1"])
    assert result.exit_code == 1, result.output
    assert "BROKEN" in result.output and "agreement: height" in result.output


def test_liars_are_placed_to_split_the_honest_nodes_evenly() -> None:
    from chain.cli.sim import liar_indices
    from chain.consensus.pbft.quorum import max_faulty, quorum

    assert liar_indices(4, 2) == [1, 2] and liar_indices(7, 3) == [1, 2, 4] and liar_indices(10, 4) == [1, 2, 5, 6]
    for n in (4, 7, 10, 13, 16):
        liars = liar_indices(n, max_faulty(n) + 1)
        # Node 1 leads height 1 and sends one block to peers[:half], another to the rest.
        peers = [i for i in range(n) if i != 1]
        half = len(peers) // 2
        for side in (peers[:half], peers[half:]):
            honest = [i for i in side if i not in liars]
            assert len(honest) + len(liars) >= quorum(n), (n, liars, side)  # each block can gather a quorum
    for n in range(1, 12):
        for count in range(n):
            chosen = liar_indices(n, count)
            assert len(set(chosen)) == count and all(0 <= i < n for i in chosen)


def test_sim_command_refuses_unknown_behaviour() -> None:
    result = CliRunner().invoke(app, ["sim", "--byzantine", "1", "--behaviour", "polite"])
    assert result.exit_code == 2


@pytest.mark.parametrize("arguments, workload", [(["--executor", "dmc"], "contracts"), (["--executor", "evm"], "kv"),
                                                 (["--executor", "dmc", "--workload", "kv"], "kv")])
def test_sim_with_dmc_calls_contracts_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch, arguments: list[str],
                                                            workload: str) -> None:
    """With kv writes (all to one address) DMC would have nothing to run side by side."""
    import chain.sim
    from chain.errors import ChainError

    seen = []

    class Recording:
        def __init__(self, config: object) -> None:
            seen.append(config)
            raise ChainError("recorded")

    monkeypatch.setattr(chain.sim, "Simulation", Recording)  # the command imports it when it runs
    result = CliRunner().invoke(app, ["sim", "--blocks", "1", *arguments])
    assert "recorded" in result.output and len(seen) == 1
    assert getattr(seen[0], "workload") == workload
