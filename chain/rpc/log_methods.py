"""JSON-RPC methods for event logs and filters (FISCO BCOS 3.x names and semantics).

    getLogs                       [group(, node), {fromBlock, toBlock, address, topics, blockHash}] → [log]
    newFilter                     [group(, node), {filter}]  → "0x<id>"
    newBlockFilter                [group(, node)]            → "0x<id>"
    newPendingTransactionFilter   [group(, node)]            → "0x<id>"
    getFilterChanges              [group(, node), "0x<id>"]  → [log] or [hash]
    getFilterLogs                 [group(, node), "0x<id>"]  → [log]
    uninstallFilter               [group(, node), "0x<id>"]  → true | false

Both group dialects work (``chain.rpc.methods.split_group``). Errors are -32602 with FISCO's text
("invalid block range params", "filter not found", "exceed max topics", "unknown block") or ours
for the bounds ("block range too large: ...", "query returns more than ...").
The work is done by ``chain.logs``; this module only reads parameters and shapes answers.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from chain.logs.filters import Change
from chain.logs.query import LogQueryError, MatchedLog, filter_from_json, log_json
from chain.logs.service import LogService
from chain.rpc import params as p
from chain.rpc.errors import invalid_params
from chain.rpc.methods import RpcContext, method

T = TypeVar("T")
SERVICE_ATTRIBUTE = "log_service"  # a node offers its LogService under this name (chain.node.node)


def service_of(ctx: RpcContext) -> LogService:
    """The node's LogService; an API without one (tests' in-process nodes) gets one per context."""
    service = getattr(ctx.api, SERVICE_ATTRIBUTE, None)
    if isinstance(service, LogService):
        return service
    cached = ctx.__dict__.get("_log_service")
    if cached is None:
        cached = ctx.__dict__["_log_service"] = LogService(ctx.store, ctx.suite)
    return cached


def _filter_id(value: Any) -> int:
    return p.as_int(value, "filter id", maximum=(1 << 64) - 1)


def _change_json(change: Change) -> Any:
    return log_json(change) if isinstance(change, MatchedLog) else "0x" + change.hex()


def _answer(compute: Callable[[], T]) -> T:
    """compute(), with a LogQueryError answered as invalid params carrying its message."""
    try:
        return compute()
    except LogQueryError as exc:
        raise invalid_params(str(exc)) from exc


@method("getLogs")
def get_logs(ctx: RpcContext, params: list[Any]) -> list[dict[str, Any]]:
    (obj,) = p.take(params, 0, 1, "filter")
    return _answer(lambda: [log_json(m) for m in service_of(ctx).get_logs(filter_from_json(obj))])


@method("newFilter")
def new_filter(ctx: RpcContext, params: list[Any]) -> str:
    (obj,) = p.take(params, 0, 1, "filter")
    return _answer(lambda: hex(service_of(ctx).filters.new_filter(filter_from_json(obj))))


@method("newBlockFilter")
def new_block_filter(ctx: RpcContext, params: list[Any]) -> str:
    p.take(params, 0)
    return _answer(lambda: hex(service_of(ctx).filters.new_block_filter()))


@method("newPendingTransactionFilter")
def new_pending_transaction_filter(ctx: RpcContext, params: list[Any]) -> str:
    p.take(params, 0)
    return _answer(lambda: hex(service_of(ctx).filters.new_pending_transaction_filter()))


@method("getFilterChanges")
def get_filter_changes(ctx: RpcContext, params: list[Any]) -> list[Any]:
    (raw_id,) = p.take(params, 1, 0, "filter id")
    return _answer(lambda: [_change_json(c) for c in service_of(ctx).filters.changes(_filter_id(raw_id))])


@method("getFilterLogs")
def get_filter_logs(ctx: RpcContext, params: list[Any]) -> list[dict[str, Any]]:
    (raw_id,) = p.take(params, 1, 0, "filter id")
    return _answer(lambda: [log_json(m) for m in service_of(ctx).filters.logs(_filter_id(raw_id))])


@method("uninstallFilter")
def uninstall_filter(ctx: RpcContext, params: list[Any]) -> bool:
    (raw_id,) = p.take(params, 1, 0, "filter id")
    return service_of(ctx).filters.uninstall(_filter_id(raw_id))
