"""The Ethereum JSON-RPC method table (``@method("eth_...")``), over the node's store, pool and logs.

Each handler takes the context and the positional params and returns a JSON-ready value or raises
``Web3Error``. Block tags: "latest", "pending", "safe" and "finalized" all name the head: a block
PBFT committed is final the moment it is committed (no fork can replace it), so a BFT chain's
latest block is already its safe and finalized one. "earliest" is block 0.

State (code, storage, nonces, calls) exists only at the head: a node keeps one state, not one per
block, so a state query for an older block is refused with a clear error rather than answered
with today's values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from chain.errors import ChainError, LedgerError, TxRejected
from chain.execution.result import CallOutOfTime
from chain.ledger.accounts import account_nonce
from chain.ledger.eth_transaction import EthTransaction
from chain.ledger.receipt import Receipt
from chain.ledger.status import Status
from chain.logs.filters import FilterKind
from chain.logs.query import LogQueryError, MatchedLog, filter_from_json
from chain.logs.service import LogService
from chain.rpc.api import NodeApi
from chain.web3 import views as v

CLIENT_VERSION = "chain/v0.1.0/python"
METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR, SERVER_ERROR, EXECUTION_REVERTED = -32601, -32602, -32603, -32000, 3
MAX_RAW_TX_HEX = 2 * 256 * 1024 + 2  # twice the largest transaction's bytes (the pool refuses it anyway)
MAX_FEE_HISTORY = 1024
CALL_BUDGET_S = 5.0
ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)


class Web3Error(ChainError):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out


@dataclass
class Web3Context:
    api: NodeApi
    chain_id: int  # the Ethereum chain id (config [web3_rpc] chain_id)
    logs: LogService

    @property
    def store(self) -> Any:
        return self.api.store


Handler = Callable[[Web3Context, list[Any]], Any]
METHODS: dict[str, Handler] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        METHODS[name] = fn
        return fn
    return register


def dispatch(ctx: Web3Context, name: str, params: Any) -> Any:
    handler = METHODS.get(name)
    if handler is None:
        raise Web3Error(METHOD_NOT_FOUND, f"the method {name} does not exist/is not available")
    if params is None:
        params = []
    if not isinstance(params, list):
        raise Web3Error(INVALID_PARAMS, "invalid params: expected an array")
    try:
        return handler(ctx, params)
    except (IndexError, LedgerError) as exc:  # a missing or malformed parameter
        raise Web3Error(INVALID_PARAMS, f"invalid params: {exc}") from exc
    except LogQueryError as exc:
        raise Web3Error(INVALID_PARAMS, f"invalid params: {exc}") from exc


# --- parameters ------------------------------------------------------------------------------

def arg(params: list[Any], index: int, default: Any = None) -> Any:
    return params[index] if index < len(params) else default


def hex_bytes(value: Any, what: str, size: int | None = None) -> bytes:
    if not isinstance(value, str) or value[:2] not in ("0x", "0X"):
        raise Web3Error(INVALID_PARAMS, f"invalid params: {what} must be 0x-prefixed hex")
    digits = value[2:]
    if len(digits) % 2:
        digits = "0" + digits if size is None and what == "quantity" else digits
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        raise Web3Error(INVALID_PARAMS, f"invalid params: {what} is not hex") from None
    if size is not None and len(raw) != size:
        raise Web3Error(INVALID_PARAMS, f"invalid params: {what} must be {size} bytes")
    return raw


def quantity_param(value: Any, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value[:2] == "0x" and 2 < len(value) <= 66:
        try:
            return int(value[2:], 16)
        except ValueError:
            pass
    raise Web3Error(INVALID_PARAMS, f"invalid params: {what} must be a hex quantity")


def block_number(ctx: Web3Context, tag: Any) -> int:
    """A block tag or number; head tags are the head (PBFT finality: latest = safe = finalized)."""
    head = ctx.store.head_number()
    if tag is None or tag in ("latest", "pending", "safe", "finalized"):
        return head
    if tag == "earliest":
        return 0
    if isinstance(tag, dict):  # EIP-1898 {"blockNumber"} / {"blockHash"}
        if "blockHash" in tag:
            number = ctx.store.block_number_of(hex_bytes(tag["blockHash"], "blockHash", 32))
            if number is None:
                raise Web3Error(SERVER_ERROR, "header not found")
            return int(number)
        return block_number(ctx, tag.get("blockNumber"))
    return quantity_param(tag, "block number")


def head_state_block(ctx: Web3Context, tag: Any) -> None:
    """State exists only at the head: refuse a query for an older block's state."""
    number = block_number(ctx, tag)
    head = ctx.store.head_number()
    if number > head:
        raise Web3Error(SERVER_ERROR, "header not found")
    if number != head:
        raise Web3Error(SERVER_ERROR, f"historical state not available: this node keeps only the state of the head block {head}")


def address_param(value: Any, what: str = "address") -> bytes:
    return hex_bytes(value, what, 20)


# --- node and chain --------------------------------------------------------------------------

@method("web3_clientVersion")
def web3_client_version(ctx: Web3Context, params: list[Any]) -> str:
    return CLIENT_VERSION


@method("web3_sha3")
def web3_sha3(ctx: Web3Context, params: list[Any]) -> str:
    return v.data(ctx.api.suite.hash(hex_bytes(params[0], "data")))


@method("net_version")
def net_version(ctx: Web3Context, params: list[Any]) -> str:
    return str(ctx.chain_id)


@method("net_listening")
def net_listening(ctx: Web3Context, params: list[Any]) -> bool:
    return True


@method("net_peerCount")
def net_peer_count(ctx: Web3Context, params: list[Any]) -> str:
    return v.quantity(sum(1 for peer in ctx.api.peers() if peer.connected))


@method("eth_chainId")
def eth_chain_id(ctx: Web3Context, params: list[Any]) -> str:
    return v.quantity(ctx.chain_id)


@method("eth_syncing")
def eth_syncing(ctx: Web3Context, params: list[Any]) -> Any:
    status = ctx.api.sync_status()
    if not status.get("isSyncing"):
        return False
    return {"startingBlock": "0x0", "currentBlock": v.quantity(int(status["blockNumber"])),
            "highestBlock": v.quantity(int(status["knownHighestNumber"]))}


@method("eth_blockNumber")
def eth_block_number(ctx: Web3Context, params: list[Any]) -> str:
    return v.quantity(ctx.store.head_number())


@method("eth_accounts")
def eth_accounts(ctx: Web3Context, params: list[Any]) -> list[str]:
    return []  # the node holds no client keys: sign locally (eth-account) and send raw


@method("eth_gasPrice")
def eth_gas_price(ctx: Web3Context, params: list[Any]) -> str:
    return "0x0"  # no coin, no fee market


@method("eth_maxPriorityFeePerGas")
def eth_max_priority_fee(ctx: Web3Context, params: list[Any]) -> str:
    return "0x0"


@method("eth_feeHistory")
def eth_fee_history(ctx: Web3Context, params: list[Any]) -> dict[str, Any]:
    count = min(quantity_param(params[0], "blockCount"), MAX_FEE_HISTORY)
    newest = min(block_number(ctx, arg(params, 1, "latest")), ctx.store.head_number())
    percentiles = arg(params, 2) or []
    if not isinstance(percentiles, list):
        raise Web3Error(INVALID_PARAMS, "invalid params: rewardPercentiles must be an array")
    count = min(count, newest + 1)
    oldest = newest - count + 1
    ratios = []
    for number in range(oldest, newest + 1):
        block = ctx.store.block_by_number(number)
        ratios.append(0.0 if block is None else min(1.0, block.header.gas_used / 30_000_000))
    out: dict[str, Any] = {"oldestBlock": v.quantity(oldest), "baseFeePerGas": ["0x0"] * (count + 1),
                           "gasUsedRatio": ratios}
    if percentiles:
        out["reward"] = [["0x0"] * len(percentiles) for _ in range(count)]
    return out


# --- state -----------------------------------------------------------------------------------

@method("eth_getBalance")
def eth_get_balance(ctx: Web3Context, params: list[Any]) -> str:
    address_param(params[0])
    return "0x0"  # the chain has no native coin


@method("eth_getTransactionCount")
def eth_get_transaction_count(ctx: Web3Context, params: list[Any]) -> str:
    address = address_param(params[0])
    tag = arg(params, 1, "latest")
    nonce = account_nonce(ctx.store, address)
    if tag == "pending":  # the next nonce after the sender's pooled Ethereum transactions
        return v.quantity(max(nonce, ctx.api.txpool.eth_next_nonce(address)))
    head_state_block(ctx, tag)
    return v.quantity(nonce)


@method("eth_getCode")
def eth_get_code(ctx: Web3Context, params: list[Any]) -> str:
    address = address_param(params[0])
    head_state_block(ctx, arg(params, 1, "latest"))
    return v.data(ctx.api.code_at(address))


@method("eth_getStorageAt")
def eth_get_storage_at(ctx: Web3Context, params: list[Any]) -> str:
    address = address_param(params[0])
    slot = quantity_param(params[1], "storage slot")
    if slot >= 1 << 256:
        raise Web3Error(INVALID_PARAMS, "invalid params: storage slot is larger than 32 bytes")
    head_state_block(ctx, arg(params, 2, "latest"))
    raw = ctx.store.get("evm_storage", address + slot.to_bytes(32, "big")) or b""
    return v.data(raw.rjust(32, b"\x00"))


def _call_object(value: Any) -> tuple[bytes, bytes, bytes, int | None, int]:
    """(from, to, data, gas, value) of a call object; to may be empty for a creation."""
    if not isinstance(value, dict):
        raise Web3Error(INVALID_PARAMS, "invalid params: the call must be an object {from, to, data, ...}")
    sender = address_param(value["from"], "from") if value.get("from") else b"\x00" * 20
    to = address_param(value["to"], "to") if value.get("to") else b""
    raw = value.get("input", value.get("data"))
    data = hex_bytes(raw, "data") if raw else b""
    gas = quantity_param(value["gas"], "gas") if value.get("gas") is not None else None
    amount = quantity_param(value["value"], "value") if value.get("value") is not None else 0
    return sender, to, data, gas, amount


def _revert_error(output: bytes) -> Web3Error:
    message = "execution reverted"
    if output[:4] == ERROR_SELECTOR and len(output) >= 68:
        try:
            length = int.from_bytes(output[36:68], "big")
            message += ": " + output[68:68 + length].decode("utf-8", "replace")
        except ValueError:
            pass
    return Web3Error(EXECUTION_REVERTED, message, v.data(output))


def _run_call(ctx: Web3Context, sender: bytes, to: bytes, data: bytes, gas: int | None) -> tuple[int, bytes, int]:
    """(status, output, gas used) of a message on the head state, changing nothing."""
    from chain.web3.estimate import run_message  # py-evm is only needed by these two methods

    executor = getattr(ctx.api, "executor", None)
    if executor is None or not hasattr(executor, "_run"):
        raise Web3Error(SERVER_ERROR, "this node's executor runs no contracts")
    try:
        return run_message(executor, ctx.store, sender, to, data, gas, time.monotonic() + CALL_BUDGET_S)
    except CallOutOfTime as exc:
        raise Web3Error(SERVER_ERROR, str(exc)) from exc


@method("eth_call")
def eth_call(ctx: Web3Context, params: list[Any]) -> str:
    sender, to, data, gas, amount = _call_object(params[0])
    head_state_block(ctx, arg(params, 1, "latest"))
    if amount:
        raise Web3Error(SERVER_ERROR, "value transfer not supported: this chain has no native coin")
    if not to:
        raise Web3Error(INVALID_PARAMS, "invalid params: eth_call needs a \"to\" address")
    status, output, _ = _run_call(ctx, sender, to, data, gas)
    if status == Status.REVERT_INSTRUCTION:
        raise _revert_error(output)
    if status != Status.SUCCESS:
        raise Web3Error(SERVER_ERROR, f"execution failed: {Status(status).name.lower()}")
    return v.data(output)


@method("eth_estimateGas")
def eth_estimate_gas(ctx: Web3Context, params: list[Any]) -> str:
    sender, to, data, gas, amount = _call_object(params[0])
    if amount:
        raise Web3Error(SERVER_ERROR, "value transfer not supported: this chain has no native coin")
    status, output, used = _run_call(ctx, sender, to, data, gas)
    if status == Status.REVERT_INSTRUCTION:
        raise _revert_error(output)
    if status != Status.SUCCESS:
        raise Web3Error(SERVER_ERROR, f"gas required exceeds allowance or execution failed: {Status(status).name.lower()}")
    # What the run used plus a margin: refunds and the 63/64 rule make the exact need a little more.
    return v.quantity(used + used // 4 + 10_000)


# --- transactions ----------------------------------------------------------------------------

def raw_transaction(params: Any) -> EthTransaction:
    """The Ethereum transaction of eth_sendRawTransaction's params, or the Web3Error saying why not."""
    if not isinstance(params, list) or len(params) != 1:
        raise Web3Error(INVALID_PARAMS, "invalid params: expected [\"0x<signed transaction>\"]")
    text = params[0]
    if isinstance(text, str) and len(text) > MAX_RAW_TX_HEX:
        raise Web3Error(SERVER_ERROR, f"oversized data: {len(text) // 2 - 1} bytes")
    raw = hex_bytes(text, "raw transaction")
    try:
        return EthTransaction.decode(raw)
    except LedgerError as exc:
        raise Web3Error(SERVER_ERROR, f"invalid transaction: {exc}") from exc


def submission_answer(outcome: bytes | ChainError) -> str:
    """The pool's verdict as Ethereum answers it: the hash, or -32000 with go-ethereum's text."""
    if isinstance(outcome, bytes):
        return v.data(outcome)
    if isinstance(outcome, TxRejected) and outcome.status == Status.ALREADY_KNOWN:
        raise Web3Error(SERVER_ERROR, "already known")
    if isinstance(outcome, TxRejected) and outcome.status == Status.INVALID_SIGNATURE:
        raise Web3Error(SERVER_ERROR, f"invalid sender: {outcome}")
    raise Web3Error(SERVER_ERROR, str(outcome))


@method("eth_sendRawTransaction")
def eth_send_raw_transaction(ctx: Web3Context, params: list[Any]) -> str:
    """(The server sends these through the node's batched admission round when it has one.)"""
    tx = raw_transaction(params)
    try:
        return submission_answer(ctx.api.submit_transaction(tx))
    except TxRejected as exc:
        return submission_answer(exc)


def _located(ctx: Web3Context, tx_hash: bytes) -> tuple[Any, int, int, bytes] | None:
    found = ctx.store.transaction(tx_hash)
    if found is None:
        return None
    tx, number, index = found
    return tx, number, index, ctx.store.block_hash(number)


@method("eth_getTransactionByHash")
def eth_get_transaction_by_hash(ctx: Web3Context, params: list[Any]) -> Any:
    tx_hash = hex_bytes(params[0], "transaction hash", 32)
    found = _located(ctx, tx_hash)
    if found is not None:
        tx, number, index, block_hash = found
        return v.transaction_json(ctx.api.suite, tx, block_hash, number, index)
    pooled = ctx.api.txpool.get(tx_hash)
    return None if pooled is None else v.transaction_json(ctx.api.suite, pooled, None, None, None)


@method("eth_getTransactionReceipt")
def eth_get_transaction_receipt(ctx: Web3Context, params: list[Any]) -> Any:
    tx_hash = hex_bytes(params[0], "transaction hash", 32)
    found = _located(ctx, tx_hash)
    receipt = ctx.store.receipt(tx_hash)
    if found is None or receipt is None:
        return None  # pending or unknown: Ethereum answers null
    tx, number, _, block_hash = found
    return v.receipt_json(ctx.api.suite, tx, receipt, block_hash, ctx.store.receipts(number))


@method("eth_getTransactionByBlockNumberAndIndex")
def eth_get_transaction_by_block_number_and_index(ctx: Web3Context, params: list[Any]) -> Any:
    number = block_number(ctx, params[0])
    index = quantity_param(params[1], "index")
    block = ctx.store.block_by_number(number)
    if block is None or index >= len(block.transactions):
        return None
    return v.transaction_json(ctx.api.suite, block.transactions[index], block.hash(ctx.api.suite), number, index)


# --- blocks ----------------------------------------------------------------------------------

def _block(ctx: Web3Context, number: int | None, full: bool) -> Any:
    block = None if number is None else ctx.store.block_by_number(number)
    if block is None:
        return None
    return v.block_json(ctx.api.suite, block, ctx.store.receipts(block.number), full)


@method("eth_getBlockByNumber")
def eth_get_block_by_number(ctx: Web3Context, params: list[Any]) -> Any:
    return _block(ctx, block_number(ctx, params[0]), bool(arg(params, 1, False)))


@method("eth_getBlockByHash")
def eth_get_block_by_hash(ctx: Web3Context, params: list[Any]) -> Any:
    number = ctx.store.block_number_of(hex_bytes(params[0], "block hash", 32))
    return _block(ctx, None if number is None else int(number), bool(arg(params, 1, False)))


@method("eth_getBlockTransactionCountByNumber")
def eth_get_block_transaction_count_by_number(ctx: Web3Context, params: list[Any]) -> Any:
    block = ctx.store.block_by_number(block_number(ctx, params[0]))
    return None if block is None else v.quantity(len(block.transactions))


@method("eth_getBlockTransactionCountByHash")
def eth_get_block_transaction_count_by_hash(ctx: Web3Context, params: list[Any]) -> Any:
    block = ctx.store.block_by_hash(hex_bytes(params[0], "block hash", 32))
    return None if block is None else v.quantity(len(block.transactions))


# --- logs and filters ------------------------------------------------------------------------

class LogShaper:
    """Ethereum log JSON for matched logs, knowing each receipt's first log's place in its block."""

    def __init__(self, ctx: Web3Context) -> None:
        self.ctx = ctx
        self._offsets: dict[int, list[int]] = {}

    def __call__(self, m: MatchedLog) -> dict[str, Any]:
        offsets = self._offsets.get(m.block_number)
        if offsets is None:
            receipts: tuple[Receipt, ...] = self.ctx.store.receipts(m.block_number)
            offsets, total = [], 0
            for receipt in receipts:
                offsets.append(total)
                total += len(receipt.logs)
            self._offsets[m.block_number] = offsets
        first = offsets[m.transaction_index] if m.transaction_index < len(offsets) else 0
        return v.log_json(m, first)


@method("eth_getLogs")
def eth_get_logs(ctx: Web3Context, params: list[Any]) -> list[dict[str, Any]]:
    shape = LogShaper(ctx)
    return [shape(m) for m in ctx.logs.get_logs(filter_from_json(arg(params, 0)))]


def _filter_id(value: Any) -> int:
    return quantity_param(value, "filter id")


@method("eth_newFilter")
def eth_new_filter(ctx: Web3Context, params: list[Any]) -> str:
    return v.quantity(ctx.logs.filters.new_filter(filter_from_json(arg(params, 0))))


@method("eth_newBlockFilter")
def eth_new_block_filter(ctx: Web3Context, params: list[Any]) -> str:
    return v.quantity(ctx.logs.filters.new_block_filter())


@method("eth_newPendingTransactionFilter")
def eth_new_pending_transaction_filter(ctx: Web3Context, params: list[Any]) -> str:
    return v.quantity(ctx.logs.filters.new_pending_transaction_filter())


@method("eth_getFilterChanges")
def eth_get_filter_changes(ctx: Web3Context, params: list[Any]) -> list[Any]:
    try:
        changes = ctx.logs.filters.changes(_filter_id(params[0]))
    except LogQueryError as exc:
        raise Web3Error(SERVER_ERROR, "filter not found") from exc
    shape = LogShaper(ctx)
    return [shape(c) if isinstance(c, MatchedLog) else v.data(c) for c in changes]


@method("eth_getFilterLogs")
def eth_get_filter_logs(ctx: Web3Context, params: list[Any]) -> list[Any]:
    try:
        found = ctx.logs.filters.logs(_filter_id(params[0]))
    except LogQueryError as exc:
        raise Web3Error(SERVER_ERROR, "filter not found") from exc
    shape = LogShaper(ctx)
    return [shape(m) for m in found]


@method("eth_uninstallFilter")
def eth_uninstall_filter(ctx: Web3Context, params: list[Any]) -> bool:
    return ctx.logs.filters.uninstall(_filter_id(params[0]))


__all__ = ["METHODS", "FilterKind", "Web3Context", "Web3Error", "dispatch", "method"]
