from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from chain.node.logging import event, setup_logging


def test_events_are_json_lines_with_fields(tmp_path: Path) -> None:
    log_file = tmp_path / "node.log"
    setup_logging("node3", log_file, "info", stderr=False)
    log = logging.getLogger("chain.node")
    event(log, "block_committed", number=7, hash=b"\xab\xcd", txs=2)
    event(log, "too_chatty", logging.DEBUG, n=1)  # below the level: not written
    logging.getLogger("chain.network").warning("peer_rejected", extra={"fields": {"endpoint": "127.0.0.1:1"}})
    for handler in logging.getLogger("chain").handlers:
        handler.flush()
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [line["event"] for line in lines] == ["block_committed", "peer_rejected"]
    first = lines[0]
    assert first["node"] == "node3" and first["level"] == "info" and first["logger"] == "chain.node"
    assert first["number"] == 7 and first["hash"] == "0xabcd" and first["txs"] == 2
    assert lines[1]["endpoint"] == "127.0.0.1:1" and lines[1]["level"] == "warning"
    setup_logging("x", None, "info", stderr=False)  # detach the file handler again


def test_a_record_is_formatted_once_for_file_and_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import chain.node.logging as node_logging

    calls: list[object] = []
    real_dumps = json.dumps

    def counting_dumps(value: object, **kwargs: object) -> str:
        calls.append(value)
        return real_dumps(value, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(node_logging.json, "dumps", counting_dumps)
    log_file = tmp_path / "node.log"
    setup_logging("node1", log_file, "info", stderr=True)
    try:
        event(logging.getLogger("chain.node"), "block_committed", number=3)
        for handler in logging.getLogger("chain").handlers:
            handler.flush()
        written = log_file.read_text().splitlines()
        shown = capsys.readouterr().err.splitlines()
        assert written == shown and json.loads(written[0])["number"] == 3
        assert len(calls) == 1  # one JSON line made, written twice
    finally:
        setup_logging("x", None, "info", stderr=False)
