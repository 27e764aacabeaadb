"""chain/ type-checks: strictly in the protocol core and the layers it trusts, normally everywhere else.

Why a test and not a habit: the replica's state was once spread over six mixins sharing ~50
attributes through `self`, which mypy could not follow (266 errors); now that it is one typed
state with phase functions (issue 17) the checker can guard it, and only a check that runs with
`make test` keeps it that way. What "strictly" means, and where, is pyproject.toml's [tool.mypy]:
`--strict`'s flags on chain/consensus (block sync included), chain/ledger and chain/crypto; the default
checks on the rest of chain/; and a `# type: ignore` that hides nothing is itself an error.

One mypy run checks everything, incrementally on a cache of its own under .mypy_cache (a fresh
clone pays ~20 s of CPU once, a rerun a few; one file per module, so a mypy run by hand beside it
cannot leave it half-written). A second shows the configuration has teeth: it checks two modules
with a mistake added (mypy's --shadow-file: nothing is written), without following their imports.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".mypy_cache" / "test_types"
STRICT_LEAF = "chain/crypto/cbc.py"  # one module checked strictly...
NORMAL_LEAF = "chain/bench/pbft.py"  # ...and one checked normally


def mypy(cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "pyproject.toml", "--cache-dir", str(cache), "--no-sqlite-cache",
         *args],
        cwd=ROOT, capture_output=True, text=True, timeout=580,
    )


@pytest.mark.timeout(600)  # a cold cache on a loaded 2-core machine has taken 6 min
def test_chain_type_checks_strictly_in_the_core_and_normally_elsewhere() -> None:
    result = mypy(CACHE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


@pytest.mark.timeout(300)
def test_the_check_fails_on_a_type_error_an_unused_ignore_and_an_untyped_def_in_a_strict_package(
    tmp_path: Path,
) -> None:
    untyped = "\n\ndef added_by_the_test(value):\n    return value\n"
    wrong = "\n\nadded_by_the_test_too: int = 'not an int'\nadded_by_the_test_three: int = 3  # type: ignore\n"
    strict_shadow, normal_shadow = tmp_path / "strict.py", tmp_path / "normal.py"
    strict_shadow.write_text((ROOT / STRICT_LEAF).read_text() + untyped)
    normal_shadow.write_text((ROOT / NORMAL_LEAF).read_text() + untyped + wrong)
    result = mypy(tmp_path / "mypy-cache", "--follow-imports=skip", "--shadow-file", STRICT_LEAF, str(strict_shadow),
                  "--shadow-file", NORMAL_LEAF, str(normal_shadow), STRICT_LEAF, NORMAL_LEAF)
    # only what the shadows add (the other test reports anything else)
    errors = [line for line in result.stdout.splitlines()
              if ": error:" in line and "added_by_the_test" in shadow_line(line, strict_shadow, normal_shadow)]
    assert result.returncode == 1, result.stdout + result.stderr
    # strict where configured: an unannotated function is an error in chain/crypto...
    assert any(line.startswith(STRICT_LEAF) and "[no-untyped-def]" in line for line in errors), errors
    # ...and not in chain/bench, which is checked normally, where a wrong type still is one
    assert not any(line.startswith(NORMAL_LEAF) and "[no-untyped-def]" in line for line in errors), errors
    assert any(line.startswith(NORMAL_LEAF) and "[assignment]" in line for line in errors), errors
    # a `# type: ignore` that hides nothing is an error everywhere
    assert any(line.startswith(NORMAL_LEAF) and "[unused-ignore]" in line for line in errors), errors
    assert len(errors) == 3, errors


def shadow_line(error: str, strict_shadow: Path, normal_shadow: Path) -> str:
    """The source line a mypy error points at, when it is in one of the shadowed modules."""
    path, _, rest = error.partition(":")
    shadow = {STRICT_LEAF: strict_shadow, NORMAL_LEAF: normal_shadow}.get(path)
    if shadow is None:
        return ""
    return shadow.read_text().splitlines()[int(rest.split(":")[0]) - 1]
