"""The JSON-RPC 2.0 envelope over real HTTP: errors, batches, notifications, size limit, resilience."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from chain.rpc.server import MAX_BODY_SIZE, handle_body
from tests.rpc.localnode import serve


@pytest.fixture(scope="module")
def server(chain):
    yield from serve(chain["node"])


def post(url: str, body: bytes | str) -> tuple[int, Any]:
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.mark.timeout(30)
def test_envelope_errors_over_http(server):
    assert post(server.url, "{not json")[1]["error"]["code"] == -32700
    assert post(server.url, "[]")[1]["error"]["code"] == -32600
    assert post(server.url, "42")[1]["error"]["code"] == -32600
    assert post(server.url, '{"id": 1, "method": "getBlockNumber", "params": [1]}')[1]["error"]["code"] == -32600
    assert post(server.url, '{"jsonrpc": "2.0", "id": 1, "method": 5}')[1]["error"]["code"] == -32600
    assert post(server.url, '{"jsonrpc": "2.0", "id": [1], "method": "getBlockNumber"}')[1]["error"]["code"] == -32600
    status, answer = post(server.url, '{"jsonrpc": "2.0", "id": 9, "method": "eth_blockNumber", "params": []}')
    assert status == 200 and answer["id"] == 9 and answer["error"]["code"] == -32601
    answer = post(server.url, '{"jsonrpc": "2.0", "id": 1, "method": "getBlockNumber", "params": {"g": 1}}')[1]
    assert answer["error"]["code"] == -32602 and "array" in answer["error"]["message"]
    # After all that the server still answers.
    assert post(server.url, '{"jsonrpc": "2.0", "id": "x", "method": "getBlockNumber", "params": [1]}')[1] == \
        {"jsonrpc": "2.0", "id": "x", "result": hex(server_head(server))}


def server_head(server) -> int:
    return int(post(server.url, '{"jsonrpc":"2.0","id":1,"method":"getBlockNumber","params":[1]}')[1]["result"], 16)


@pytest.mark.timeout(30)
def test_batch_mixes_results_errors_and_notifications(server):
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "getBlockNumber", "params": [1]},
        {"jsonrpc": "2.0", "id": 2, "method": "nope", "params": []},
        {"jsonrpc": "2.0", "method": "getBlockNumber", "params": [1]},  # a notification: no answer
        "garbage",
        {"jsonrpc": "2.0", "id": 3, "method": "getSealerList", "params": [1]},
    ]
    status, answers = post(server.url, json.dumps(batch))
    assert status == 200 and len(answers) == 4
    assert answers[0]["id"] == 1 and "result" in answers[0]
    assert answers[1]["error"]["code"] == -32601
    assert answers[2] == {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "invalid request: expected a JSON object"}}
    assert answers[3]["id"] == 3 and len(answers[3]["result"]) == 4


@pytest.mark.timeout(30)
def test_notifications_only_get_no_content(server):
    status, answer = post(server.url, '{"jsonrpc": "2.0", "method": "getBlockNumber", "params": [1]}')
    assert status == 204 and answer is None


@pytest.mark.timeout(30)
def test_oversize_body_is_413_and_the_server_keeps_serving(server):
    huge = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "sendRawTransaction", "params": [1, "0x" + "00" * MAX_BODY_SIZE]})
    status, answer = post(server.url, huge)
    assert status == 413 and answer["error"]["code"] == -40013
    assert server_head(server) >= 0


@pytest.mark.timeout(30)
def test_get_explains_itself(server):
    with urllib.request.urlopen(server.url, timeout=10) as response:
        assert b"POST" in response.read()


def test_oversize_batch_is_refused(rpc):
    batch = [{"jsonrpc": "2.0", "id": i, "method": "getBlockNumber", "params": [1]} for i in range(1001)]
    answer = handle_body(rpc.ctx, json.dumps(batch).encode())
    assert answer["error"]["code"] == -32600 and "1000" in answer["error"]["message"]


def test_a_handler_bug_is_an_internal_error_not_a_crash(rpc, chain, monkeypatch):
    def broken() -> dict:
        raise RuntimeError("boom")
    monkeypatch.setattr(chain["node"], "consensus_status", broken)
    answer = rpc("getPbftView", [1])
    assert answer["error"]["code"] == -32603 and "boom" in answer["error"]["message"]
    assert rpc("getBlockNumber", [1])["result"].startswith("0x")
