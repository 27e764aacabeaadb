"""`chain scenario list` at a classroom terminal's 80 columns: a student types the names it shows,
so every name must appear whole, and the titles must not be dropped."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from chain.scenarios.spec import library


@pytest.mark.timeout(60)
@pytest.mark.parametrize("columns", [80, 60])
def test_every_name_whole_and_every_title_word_shown(columns: int) -> None:
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "dumb", "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "chain.cli.main", "scenario", "list"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    cells = [line.split("│") for line in lines if line.startswith("│")]
    names = {cell[1].strip() for cell in cells if cell[1].strip()}
    words = " ".join(cell[2] for cell in cells).split()
    for scenario in library().values():
        assert scenario.name in names, f"{scenario.name} cut or missing:\n{done.stdout}"
        for word in scenario.title.split():
            assert word in words, f"title word {word!r} of {scenario.name} missing:\n{done.stdout}"
