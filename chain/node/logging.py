"""Structured node logs: one JSON object per line, to ``node.log`` and to stderr.

Every record is an *event name* plus fields, e.g.
``{"ts": "2025-01-01T12:00:00.123Z", "level": "info", "node": "node0", "logger": "chain.node",
"event": "block_committed", "number": 7, "hash": "0x…", "txs": 12}``
so a log can be grepped by people and parsed by tools (the same spirit as the simulator's traces).
Code logs with ``log.info("event_name", extra={"fields": {...}})`` or the ``event`` helper.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
from pathlib import Path
from typing import Any

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class JsonLineFormatter(logging.Formatter):
    """Formats a record as one JSON line: timestamp, level, node, logger, event and its fields."""

    def __init__(self, node_name: str) -> None:
        super().__init__()
        self.node_name = node_name
        self._cache_key = f"_json_line_{id(self)}"  # this formatter's line, kept on the record

    def format(self, record: logging.LogRecord) -> str:
        # Both handlers (file and stderr) format each record: the line is made once and kept on it.
        cached = record.__dict__.get(self._cache_key)
        if isinstance(cached, str):
            return cached
        stamp = datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
        line: dict[str, Any] = {
            "ts": stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z",
            "level": record.levelname.lower(),
            "node": self.node_name,
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                line.setdefault(key, _plain(value))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        text = json.dumps(line, separators=(",", ":"), default=str)
        record.__dict__[self._cache_key] = text
        return text


def _plain(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return value


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one structured event."""
    if logger.isEnabledFor(level):
        logger.log(level, name, extra={"fields": fields})


def setup_logging(node_name: str, log_file: Path | None, level: str = "info", stderr: bool = True) -> None:
    """Send every `chain.*` logger to the node's log file and stderr as JSON lines."""
    root = logging.getLogger("chain")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(LEVELS.get(level, logging.INFO))
    root.propagate = False
    formatter = JsonLineFormatter(node_name)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setFormatter(formatter)
        root.addHandler(file_handler)
    if stderr:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(formatter)
        root.addHandler(stream)
