"""The protocol core type-checks strictly: `mypy --strict` on chain/consensus (block sync included).

Why a test and not a habit: the replica's state was once spread over six mixins sharing ~50
attributes through `self`, which mypy could not follow (266 errors); now that it is one typed
state with phase functions (issue 17) the checker can guard it, and only a check that runs with
`make test` keeps it that way. The rest of `chain/` is not strict yet (see docs/architecture.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

STRICT = ("chain/consensus",)


@pytest.mark.timeout(300)
def test_the_protocol_core_type_checks_strictly(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--ignore-missing-imports",
         "--cache-dir", str(tmp_path / "mypy-cache"), *STRICT],
        cwd=root, capture_output=True, text=True, timeout=280,
    )
    assert result.returncode == 0, result.stdout + result.stderr
