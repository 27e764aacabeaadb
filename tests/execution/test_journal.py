"""TableJournal against a model: nested checkpoints revert exactly their own writes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.execution.journal import TableJournal
from chain.ledger.state import MemoryState, StateOverlay

pytestmark = pytest.mark.timeout(60)

BASE = {("t", b"a"): b"1", ("t", b"b"): b"2"}
KEYS = st.sampled_from([b"a", b"b", b"c"])
VALUES = st.one_of(st.none(), st.sampled_from([b"1", b"2", b"3"]))
OPS = st.lists(st.one_of(
    st.tuples(st.just("set"), KEYS, VALUES),
    st.tuples(st.just("checkpoint")),
    st.tuples(st.just("revert")),
    st.tuples(st.just("commit")),
    st.tuples(st.just("mark"), KEYS),
), max_size=40)


@settings(max_examples=150, deadline=None)
@given(OPS)
def test_journal_matches_a_stack_of_copies(ops: list[tuple[object, ...]]) -> None:
    base = MemoryState(BASE)
    journal = TableJournal(base)
    model: dict[tuple[str, bytes], bytes | None] = {row: value for row, value in BASE.items()}
    marks: set[bytes] = set()
    stack: list[tuple[int, dict[tuple[str, bytes], bytes | None], set[bytes]]] = []
    for op in ops:
        if op[0] == "set":
            journal.set("t", op[1], op[2])  # type: ignore[arg-type]
            model[("t", op[1])] = op[2]  # type: ignore[index]
        elif op[0] == "mark":
            journal.add_mark(op[1])  # type: ignore[arg-type]
            marks.add(op[1])  # type: ignore[arg-type]
        elif op[0] == "checkpoint":
            stack.append((journal.checkpoint(), dict(model), set(marks)))
        elif op[0] == "revert" and stack:
            checkpoint, model, marks = stack.pop()
            journal.revert(checkpoint)
        elif op[0] == "commit" and stack:
            journal.commit(stack.pop()[0])
        for key in (b"a", b"b", b"c"):
            assert journal.get("t", key) == model.get(("t", key))
            assert journal.has_mark(key) == (key in marks)
    expected = {row: value for row, value in sorted(model.items()) if base.get(*row) != value}
    assert journal.net_changes() == expected
    overlay = StateOverlay(base)
    journal.flush_into(overlay)
    assert overlay.changes() == expected
