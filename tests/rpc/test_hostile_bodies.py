"""Hostile HTTP bodies against a real node process running py-evm: each gets a JSON-RPC error, and
the node still answers afterwards.

Before the depth bound, loading py-evm (through py_ecc) raised the recursion limit to 100,000 and a
100,000-deep JSON array made ``json.loads`` overflow the C stack: curl saw an empty reply and the
node died with SIGSEGV. These bodies are thrown at one real process (``chain node start``), so a
crash shows up as a dead process, not as a failed assertion inside pytest's own interpreter.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from chain.ledger import codec
from chain.ledger.status import Status
from chain.rpc.errors import INTERNAL_ERROR, INVALID_REQUEST, PARSE_ERROR
from chain.wire.json_limits import MAX_JSON_DEPTH
from tests.node.cluster import Cluster

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

DEEP = 100_000


def _request(params: Any, method: str = "getBlockNumber") -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()


def _deep_rlp(depth: int) -> str:
    """A "transaction" of depth nested RLP lists, as sendRawTransaction's hex."""
    prefixes, size = [], 1
    for _ in range(depth):
        prefixes.append(codec._prefix(size, 0xC0))
        size += len(prefixes[-1])
    return "0x" + (b"".join(reversed(prefixes)) + b"\xc0").hex()


# (name, body, expected JSON-RPC error code)
HOSTILE: list[tuple[str, bytes, int]] = [
    ("100,000-deep array", b"[" * DEEP + b"]" * DEEP, PARSE_ERROR),
    ("100,000-deep object", b'{"a":' * DEEP + b"1" + b"}" * DEEP, PARSE_ERROR),
    ("deep array, never closed", b"[" * DEEP, PARSE_ERROR),
    ("deep params in a valid request", _request([1, json.loads("[" * 60 + "]" * 60)]).replace(
        b"[" * 60, b"[" * DEEP).replace(b"]" * 60, b"]" * DEEP), PARSE_ERROR),
    ("deep batch", b"[" * DEEP + _request([1]) + b"]" * DEEP, PARSE_ERROR),
    ("one level too deep", b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), PARSE_ERROR),
    ("not UTF-8", b'{"jsonrpc":"2.0","id":1,"method":"\xff\xfe"}', PARSE_ERROR),
    ("truncated", _request([1])[:-3], PARSE_ERROR),
    ("transaction of RLP lists 100,000 deep", _request([1, _deep_rlp(DEEP)], "sendRawTransaction"),
     INTERNAL_ERROR),  # FISCO 2.x answers a refused transaction -32603 (MalformedTx in data)
    ("array at the depth limit", b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, INVALID_REQUEST),
]


def _post(url: str, body: bytes) -> dict[str, Any]:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=20) as response:
        answer = json.loads(response.read())
    if isinstance(answer, list):  # a batch: one answer per request
        assert len(answer) == 1, answer
        answer = answer[0]
    assert isinstance(answer, dict), answer
    return answer


def test_hostile_bodies_get_errors_and_the_evm_node_survives(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path / "nodes", nodes=1, suite="standard", executor="evm")
    cluster.start(0)
    try:
        cluster.wait_rpc(0, timeout=60)
        for name, body, code in HOSTILE:
            try:
                answer = _post(cluster.url(0), body)
            except OSError as exc:  # an empty reply: the process died on this body
                time.sleep(1)
                pytest.fail(f"{name}: no answer ({exc}); node exit code {cluster.processes[0].poll()}")
            assert answer["error"]["code"] == code, (name, answer)
            assert cluster.alive() == [0], name
        # Brackets inside strings nest nothing: a request whose string holds 100,000 of them is fine.
        answer = _post(cluster.url(0), _request([1, "[" * DEEP]))
        assert answer["error"]["code"] != PARSE_ERROR, answer
        assert int(cluster.rpc(0, "getBlockNumber"), 16) == 0  # still up, still answering
    finally:
        cluster.stop_all()
