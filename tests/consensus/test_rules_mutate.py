"""tools/mutate.py: how a `# rule:` marker is read and its rule removed, and that every marked rule has a case.

The mutation run itself (``make mutate``) is too slow for ``make test``; these tests check the
parts it rests on: a marker that cannot be applied, or a rule marked twice, stops it before it
runs anything, and each mutation really removes the rule (an ``if`` that never holds, a
replacement, a deleted call) while the file still compiles.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("mutate", ROOT / "tools" / "mutate.py")
assert _spec is not None and _spec.loader is not None
mutate = importlib.util.module_from_spec(_spec)
sys.modules["mutate"] = mutate  # dataclasses look their module up by name
_spec.loader.exec_module(mutate)


def _markers(tmp_path: Path, source: str) -> list:
    package = tmp_path / "chain"
    package.mkdir(exist_ok=True)
    (package / "rules.py").write_text(source)
    return mutate.find_markers(tmp_path)


def _mutated(tmp_path: Path, source: str) -> list[str]:
    (marker,) = _markers(tmp_path, source)
    return mutate.mutate_source(source, marker).split("\n")


def test_an_if_is_made_never_to_hold_but_still_evaluated(tmp_path: Path) -> None:
    source = "def f(votes, x):\n    if not votes.add(x):  # rule: counted_once\n        raise ValueError\n"
    assert _mutated(tmp_path, source)[1] == "    if (not votes.add(x)) and False:  # rule: counted_once"


def test_replace_and_delete(tmp_path: Path) -> None:
    source = "def f(p):\n    return max(p, key=len)  # rule: highest | replace: max( => min(\n"
    assert _mutated(tmp_path, source)[1] == "    return min(p, key=len)  # rule: highest | replace: max( => min("
    source = "def f(p):\n    if p or q:  # rule: r | replace: or q =>\n        return\n"
    assert _mutated(tmp_path, source)[1].startswith("    if p :")
    source = "def f(b):\n    check(b, 1)  # rule: checked | delete\n    return b\n"
    assert _mutated(tmp_path, source)[1] == "    pass  # rule: checked | delete"


@pytest.mark.parametrize("source,problem", [
    ("x = 1  # rule: lonely\n", "not an `if"),
    ("def f(a):\n    if a:  # rule: twice\n        return\n    if not a:  # rule: twice\n        return\n", "marked twice"),
    ("y = max(1, 2)  # rule: r | replace: min( => max(\n", "occurs 0 times"),
    ("y = max(max(1), 2)  # rule: r | replace: max( => min(\n", "occurs 2 times"),
    ("y = max(1, 2)  # rule: r | replace: max( => max(\n", "does not change the line"),
    ("y = 1  # rule: r | replace: 1 => (\n", "does not compile"),
    ("def f(a):\n    if a: return  # rule: r | delete\n", "one simple statement"),
    ("y = 1  # rule: Bad-Name\n", "lower_snake_case"),
    ("y = 1  # rule: r | swap\n", "unknown option"),
])
def test_a_marker_that_cannot_be_applied_stops_the_run(tmp_path: Path, source: str, problem: str) -> None:
    with pytest.raises(mutate.MarkerError, match=re.escape(problem)):
        _markers(tmp_path, source)


def test_a_rule_comment_inside_a_string_is_not_a_marker(tmp_path: Path) -> None:
    assert _markers(tmp_path, 'text = "# rule: not_one"\n') == []


def test_pytest_failures_are_read_from_the_short_summary() -> None:
    output = "F.\nFAILED tests/a.py::test_x[case] - AssertionError: ordering fork at height 1\nERROR tests/b.py::test_y\n"
    assert mutate.failures(output) == [("tests/a.py::test_x[case]", "AssertionError: ordering fork at height 1"),
                                       ("tests/b.py::test_y", "")]


def test_every_marked_rule_has_a_case_that_names_it() -> None:
    """Each marker of chain/ is named by a case (`rule: <name>`) in the tables, validators or simulations."""
    markers = mutate.find_markers(ROOT)
    assert len(markers) >= 70
    cases = "\n".join(p.read_text() for p in [*(ROOT / "tests/consensus/testdata").glob("*.txt"),
                                                ROOT / "tests/consensus/test_rules_validators.py",
                                                ROOT / "tests/sim/test_byzantine.py"])
    named = {word for line in cases.splitlines() if "rule" in line for word in re.findall(r"\b[a-z][a-z0-9_]+\b", line)}
    assert [m.name for m in markers if m.name not in named] == []
