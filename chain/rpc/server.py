"""The JSON-RPC 2.0 transport: HTTP POST on ``/`` (aiohttp), single and batch requests.

Whatever a client sends, the answer is a JSON-RPC response and the server keeps serving: bad JSON
is -32700 (so is JSON nested deeper than ``chain.wire.json_limits.MAX_JSON_DEPTH``, refused before it is
parsed), a request object of the wrong shape -32600, an unknown method -32601, wrong parameters
-32602, and a body over ``MAX_BODY_SIZE`` an HTTP 413 carrying a JSON-RPC error. A bug in a handler
is logged and answered -32603; it never becomes an HTTP 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
from functools import partial
from typing import Any, Awaitable, Callable, Generator, Sequence

from aiohttp import web

from chain.rpc.api import NodeApi, SubmitsInRounds
from chain.errors import ChainError
from chain.ledger.transaction import Transaction
from chain.rpc.exposure import exposure_warning
from chain.rpc.errors import INTERNAL_ERROR, INVALID_REQUEST, PARSE_ERROR, REQUEST_TOO_LARGE, RpcError
from chain.rpc.methods import (
    RpcContext, dispatch, positional, raw_transaction_param, runs_off_loop, select_group, split_group, submission_result,
    submit_all,
)
from chain.wire.json_limits import loads_bounded

log = logging.getLogger("chain.rpc")

MAX_BODY_SIZE = 4 << 20  # the largest transaction the pool takes (1 MiB of RLP) is 2 MiB of hex; leave room
MAX_BATCH = 1000  # requests in one batch
CONTEXT_KEY = web.AppKey("rpc_context", RpcContext)
SEND_RAW_TRANSACTION = "sendRawTransaction"


def _error(code: int, message: str, request_id: Any = None, data: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": RpcError(code, message, data).to_json()}


def handle_one(ctx: RpcContext, request: Any) -> dict[str, Any] | None:
    """The response to one request object; None for a notification (a request without an id)."""
    invalid = _invalid_request(request)
    if invalid is not None:
        return invalid
    return _respond(request, lambda: dispatch(ctx, request["method"], request.get("params")))


def _invalid_request(request: Any) -> dict[str, Any] | None:
    """The error response for a request object of the wrong shape, or None if it is well formed."""
    if not isinstance(request, dict):
        return _error(INVALID_REQUEST, "invalid request: expected a JSON object")
    request_id = request.get("id")
    if request.get("jsonrpc") != "2.0":  # JSON-RPC 2.0 requires the version member
        return _error(INVALID_REQUEST, 'invalid request: "jsonrpc" must be "2.0"', _safe_id(request_id))
    if not isinstance(request_id, (str, int, type(None))) or isinstance(request_id, bool):
        return _error(INVALID_REQUEST, "invalid request: id must be a string, a number or null")
    if not isinstance(request.get("method"), str):
        return _error(INVALID_REQUEST, 'invalid request: "method" must be a string', request_id)
    return None


def _respond(request: dict[str, Any], compute: Callable[[], Any]) -> dict[str, Any] | None:
    """Run one well-formed request's work and wrap its result or error (None for a notification)."""
    request_id = request.get("id")
    try:
        result = compute()
    except RpcError as exc:
        response: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "error": exc.to_json()}
    except Exception as exc:  # a handler bug must not take the server down: log it, answer -32603
        log.exception("internal error in %s", request.get("method"))
        response = _error(INTERNAL_ERROR, f"internal error: {type(exc).__name__}: {exc}", request_id)
    else:
        response = {"jsonrpc": "2.0", "id": request_id, "result": result}
    return None if "id" not in request else response


Outcomes = Sequence[bytes | ChainError]  # what the node said to each transaction of a run: its hash, or why not
# Each step yields a run of transactions for one group (its context) and is sent back their outcomes.
BatchSteps = Generator[tuple[RpcContext, list[Transaction]], Outcomes, list[dict[str, Any]]]


def handle_batch(ctx: RpcContext, requests: list[Any]) -> list[dict[str, Any]]:
    """The responses to a batch, in request order (notifications answer nothing).

    Consecutive ``sendRawTransaction`` requests are admitted together: each transaction is judged
    alone and in order, exactly as one at a time, but the node gossips the run as one message —
    one signature and one verification per peer instead of one per transaction. Any other method
    in between first sees every transaction before it admitted.
    """
    steps = batch_steps(ctx, requests)
    try:
        group, run = next(steps)
        while True:
            group, run = steps.send(submit_all(group.api, run))
    except StopIteration as done:
        return done.value


async def handle_batch_async(
    ctx: RpcContext, requests: list[Any], submit_soon: Callable[[Sequence[Transaction]], Awaitable[Outcomes]]
) -> list[dict[str, Any]]:
    """handle_batch, with each run of transactions joining the node's next admission round (the
    round of the run's own group, on a node of several groups)."""
    steps = batch_steps(ctx, requests)
    try:
        group, run = next(steps)
        while True:
            submit = submit_soon if group is ctx else _submitter(group)
            group, run = steps.send(await submit(run))
    except StopIteration as done:
        return done.value


def _submitter(ctx: RpcContext) -> Callable[[Sequence[Transaction]], Awaitable[Outcomes]]:
    """How one group admits a run: in its next round if it has rounds, else at once."""
    if isinstance(ctx.api, SubmitsInRounds):
        return ctx.api.submit_soon

    async def at_once(txs: Sequence[Transaction]) -> Outcomes:
        return submit_all(ctx.api, txs)
    return at_once


def batch_steps(ctx: RpcContext, requests: list[Any]) -> BatchSteps:
    """The batch's answers, computed in order; yields each run of transactions to admit and is
    sent back their outcomes (so one rule serves the synchronous and the asynchronous server)."""
    slots: list[dict[str, Any] | None] = []
    run: list[tuple[int, dict[str, Any], Transaction]] = []  # (slot, request, decoded tx) awaiting admission
    run_group = ctx  # the group the run's transactions go to (a run holds one group's only)

    def answer(outcomes: Outcomes) -> None:
        for (slot, request, _), outcome in zip(run, outcomes):
            slots[slot] = _respond(request, partial(submission_result, outcome))
        run.clear()

    for item in requests:
        if _invalid_request(item) is None and item["method"] == SEND_RAW_TRANSACTION:
            try:
                group, tx = _raw_transaction(ctx, item)
                if run and group is not run_group:  # another group's: the run so far is admitted first
                    answer((yield run_group, [tx for _, _, tx in run]))
                run_group = group
                run.append((len(slots), item, tx))
                slots.append(None)  # filled once the run is admitted
            except RpcError as exc:  # malformed: answered now, nothing to admit
                slots.append({"jsonrpc": "2.0", "id": item.get("id"), "error": exc.to_json()} if "id" in item else None)
            continue
        if run:
            answer((yield run_group, [tx for _, _, tx in run]))
        slots.append(handle_one(ctx, item))
    if run:
        answer((yield run_group, [tx for _, _, tx in run]))
    return [r for r in slots if r is not None]


def _raw_transaction(ctx: RpcContext, request: dict[str, Any]) -> tuple[RpcContext, Transaction]:
    """The group a sendRawTransaction request names (its context) and its decoded transaction."""
    params = positional(request.get("params"))
    group = select_group(ctx, params)
    return group, raw_transaction_param(split_group(group.api, params))


def _safe_id(value: Any) -> Any:
    return value if isinstance(value, (str, int, type(None))) and not isinstance(value, bool) else None


def handle_body(ctx: RpcContext, body: bytes) -> Any:
    """The JSON value to answer for one HTTP body (None when there is nothing to answer)."""
    try:
        request = parse_body(body)
    except ValueError as exc:
        return _error(PARSE_ERROR, f"parse error: {exc}")
    return handle_request(ctx, request)


def parse_body(body: bytes) -> Any:
    """The JSON value of a request body; ValueError (with the reason) for anything that is not one.

    The depth is bounded before parsing; RecursionError is still caught in case a parser recursing
    per level ever meets a limit lower than the bound.
    """
    try:
        return loads_bounded(body)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


async def handle_body_async(ctx: RpcContext, body: bytes) -> Any:
    """handle_body, except that transactions join the node's next admission round.

    Why: a node that offers ``submit_soon`` admits every transaction submitted within one short
    round (from any connection) together and gossips them as one signed message, so clients that
    send one transaction per request (most SDKs) cost the chain what batching clients cost.
    """
    submit_soon = ctx.api.submit_soon if isinstance(ctx.api, SubmitsInRounds) else None
    try:
        request = parse_body(body)
    except ValueError as exc:
        return _error(PARSE_ERROR, f"parse error: {exc}")
    if runs_off_loop(request):  # a `call` may run for its whole time budget: not on the loop that answers everyone
        return await asyncio.to_thread(handle_request, ctx, request)
    if submit_soon is None:
        return handle_request(ctx, request)
    if isinstance(request, dict) and _invalid_request(request) is None and request["method"] == SEND_RAW_TRANSACTION:
        answers = await handle_batch_async(ctx, [request], submit_soon)
        return answers[0] if answers else None
    if isinstance(request, list) and 0 < len(request) <= MAX_BATCH:
        return await handle_batch_async(ctx, request, submit_soon) or None
    return handle_request(ctx, request)


def handle_request(ctx: RpcContext, request: Any) -> Any:
    """The JSON value to answer for one parsed body: a request object or a batch of them."""
    if isinstance(request, list):
        if not request:  # JSON-RPC 2.0: an empty batch is one invalid request
            return _error(INVALID_REQUEST, "invalid request: empty batch")
        if len(request) > MAX_BATCH:
            return _error(INVALID_REQUEST, f"invalid request: a batch holds at most {MAX_BATCH} requests")
        return handle_batch(ctx, request) or None
    return handle_one(ctx, request)


async def _post(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT_KEY]
    if request.content_length is not None and request.content_length > MAX_BODY_SIZE:
        return _too_large()
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _too_large()
    answer = await handle_body_async(ctx, body)
    if answer is None:  # only notifications: JSON-RPC sends nothing back
        return web.Response(status=204)
    return web.Response(text=json.dumps(answer, separators=(",", ":")), content_type="application/json")


def _too_large() -> web.Response:
    payload = _error(REQUEST_TOO_LARGE, f"request body larger than {MAX_BODY_SIZE} bytes")
    return web.Response(status=413, text=json.dumps(payload), content_type="application/json")


async def _get(request: web.Request) -> web.Response:
    return web.Response(text="chain JSON-RPC: POST a JSON-RPC 2.0 request to this URL\n")


def make_app(api: NodeApi) -> web.Application:
    """The aiohttp application serving api's JSON-RPC on POST /."""
    app = web.Application(client_max_size=MAX_BODY_SIZE)
    app[CONTEXT_KEY] = RpcContext(api)
    app.router.add_post("/", _post)
    app.router.add_get("/", _get)
    from chain.rpc.ws import install_websocket  # here: ws imports this module
    install_websocket(app)  # GET /ws: subscriptions to blocks and logs (chain.rpc.ws)
    return app


async def start_rpc_server(api: NodeApi, host: str, port: int) -> web.AppRunner:
    """Start serving on host:port; call ``await runner.cleanup()`` to stop.

    port 0 picks a free port: read it back with ``bound_port(runner)``. A host beyond loopback is
    logged as a warning: the server has no authentication.
    """
    warning = exposure_warning(host)
    if warning is not None:
        log.warning(warning)
    runner = web.AppRunner(make_app(api), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The TCP port a started runner listens on (useful after asking for port 0)."""
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    raise RuntimeError("the RPC server is not listening on a TCP port")
