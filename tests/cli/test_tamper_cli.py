"""`chain tamper`: the story on the simulator, then the same checks on a node's SQLite store on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from chain.cli.main import app

runner = CliRunner()


@pytest.mark.timeout(90)
def test_run_store_verify(tmp_path: Path) -> None:
    saved = tmp_path / "chain"
    done = runner.invoke(app, ["tamper", "run", "--what", "tx-and-root", "--suite", "standard", "--save", str(saved)])
    assert done.exit_code == 0, done.output
    assert "[CAUGHT] signature list: block 3: signature of sealer 0 does not verify" in done.output
    assert "it refuses node 0's SyncResponse" in done.output and "caught up" in done.output

    untouched, tampered = saved / "node1", saved / "node0"
    ok = runner.invoke(app, ["tamper", "verify", str(untouched)])
    assert ok.exit_code == 0, ok.output
    assert "every block passes" in ok.output

    bad = runner.invoke(app, ["tamper", "verify", str(tampered)])
    assert bad.exit_code == 1, bad.output
    assert "refuses block 3" in bad.output and "[CAUGHT] hash links" in bad.output

    edit = runner.invoke(app, ["tamper", "store", str(untouched), "--block", "4", "--what", "signature", "--index", "1"])
    assert edit.exit_code == 0, edit.output
    after = runner.invoke(app, ["tamper", "verify", str(untouched)])
    assert after.exit_code == 1
    assert "[CAUGHT] signature list: block 4: signature of sealer" in after.output
    assert "blocks 1..3 pass every check" in after.output


@pytest.mark.timeout(30)
@pytest.mark.parametrize("args, fragment", [
    (["tamper", "verify", "nowhere"], "is not a node directory"),
    (["tamper", "store", "nowhere", "--block", "1"], "is not a node directory"),
    (["tamper", "run", "--what", "nosuch"], "unknown tamper 'nosuch'"),
])
def test_mistakes_are_one_error_line(args: list[str], fragment: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    done = runner.invoke(app, args)
    assert done.exit_code == 2 and "Traceback" not in done.output
    errors = [line for line in done.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and fragment in errors[0], done.output
