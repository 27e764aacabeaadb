"""A JSON-RPC client for one node: raw calls, plus the handful of steps every application repeats.

``Client`` is asynchronous (aiohttp); ``SyncClient`` runs the same methods on a private event loop
for scripts, the console and tests. Both speak the FISCO 2.x dialect: params start with the group id.

Sending a transaction is: read the head number, build the 2.x transaction with
``blockLimit = head + 500`` (the pool accepts ``head < blockLimit <= head + 1000``), sign, send the
RLP as hex, then poll ``getTransactionReceipt`` until it is not null.

A node's "accepted" is not durable: its pool lives in memory (as FISCO's does), so a transaction
it took and had not yet passed on dies with it. ``send_and_wait`` / ``submit_and_wait`` therefore
keep the signed bytes and send them again — to the next node given in ``fallbacks`` when one stops
answering, and every ``RESUBMIT_EVERY`` seconds anyway — until one of three definite ends: a receipt
(committed, once: the same bytes again only get "already known" or "already in chain"),
``TransactionExpired`` (the chain passed its blockLimit without it: it never will be committed),
or ``ReceiptTimeout`` (the wall-clock limit came first: not known yet).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any, AsyncIterator, Awaitable, Callable, Sequence

import aiohttp

from chain.crypto.suite import CryptoSuite
from chain.errors import LedgerError
from chain.ledger.receipt import Receipt
from chain.ledger.transaction import DEFAULT_GAS_LIMIT, Transaction, new_transaction
from chain.sdk.account import Account
from chain.ledger.status import Status
from chain.sdk.errors import ProofError, ReceiptTimeout, RpcCallError, RpcTransportError, TransactionExpired
from chain.sdk.proof import checked_header, verify_receipt_proof, verify_transaction_proof
from chain.wire.json_limits import loads_bounded
from chain.wire.views import receipt_from_json

BLOCK_LIMIT_AHEAD = 500  # the transaction stays valid for this many blocks after the head
RESUBMIT_EVERY = 1.0  # seconds between sending a waiting transaction again (a pool that lost it takes it back)
# What a node may answer to a transaction sent again that it (or a peer) already took: still fine.
PENDING_ANSWERS = frozenset({int(Status.ALREADY_KNOWN), int(Status.ALREADY_IN_CHAIN), int(Status.TX_POOL_IS_FULL)})
ZERO_ADDRESS = bytes(20)


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _bytes(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise RpcTransportError(f"{what}: expected a hex string, got {value!r}")
    try:
        return bytes.fromhex(value[2:] if value.startswith("0x") else value)
    except ValueError:
        raise RpcTransportError(f"{what}: not hex: {value!r}") from None


def _int(value: Any, what: str) -> int:
    try:
        return int(value, 16) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise RpcTransportError(f"{what}: not a number: {value!r}") from None


class Client:
    """Asynchronous client; use ``async with Client(url, suite) as client``."""

    def __init__(self, url: str, suite: CryptoSuite, group_id: int = 1, *, timeout: float = 30.0,
                 connections: int = 4, fallbacks: Sequence[str] = ()) -> None:
        self.urls = (url, *fallbacks)  # other nodes of the same chain, tried in turn when one stops answering
        self._node = 0
        self.suite = suite
        self.group_id = group_id
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)
        self._chain_id: int | None = None

    @property
    def url(self) -> str:
        """The node this client talks to now (it moves on to the next of ``urls`` when one fails)."""
        return self.urls[self._node]

    def next_node(self) -> str:
        """Move on to the next node in ``urls`` (round robin); its URL."""
        self._node = (self._node + 1) % len(self.urls)
        return self.url

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, connector=aiohttp.TCPConnector(limit=self._connections)
            )
        return self._session

    # --- raw JSON-RPC ---------------------------------------------------------------------------

    async def _post(self, payload: Any) -> Any:
        try:
            async with self._get_session().post(self.url, json=payload) as response:
                text = await response.text()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise RpcTransportError(f"cannot reach {self.url}: {type(exc).__name__}: {exc}") from exc
        try:
            return loads_bounded(text)  # a node is a stranger too: its answer's depth is bounded like a request's
        except (ValueError, RecursionError):
            raise RpcTransportError(f"{self.url} answered HTTP {response.status} with non-JSON: {text[:120]!r}") from None

    @staticmethod
    def _result(answer: Any, method: str) -> Any:
        if not isinstance(answer, dict) or answer.get("jsonrpc") != "2.0":
            raise RpcTransportError(f"{method}: not a JSON-RPC 2.0 response: {str(answer)[:120]}")
        if "error" in answer:
            error = answer["error"] if isinstance(answer["error"], dict) else {}
            raise RpcCallError(int(error.get("code", 0)), str(error.get("message", "")), error.get("data"), method)
        return answer.get("result")

    async def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        """The result of one call; RpcCallError if the node answered an error."""
        payload = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        return self._result(await self._post(payload), method)

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several calls in one HTTP request; each item is a result or the RpcCallError for that call."""
        ids = [next(self._ids) for _ in calls]
        payload = [{"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)} for i, (m, p) in zip(ids, calls)]
        answers = await self._post(payload)
        if not isinstance(answers, list):
            self._result(answers, "batch")  # a single error object for the whole batch
            raise RpcTransportError("batch: expected a list of responses")
        by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
        results: list[Any] = []
        for request_id, (method, _) in zip(ids, calls):
            try:
                results.append(self._result(by_id.get(request_id), method))
            except RpcCallError as exc:
                results.append(exc)
        return results

    async def group_call(self, method: str, *params: Any) -> Any:
        """A call whose params start with this client's group id (most FISCO methods)."""
        return await self.request(method, [self.group_id, *params])

    # --- reading the chain ----------------------------------------------------------------------

    async def client_version(self) -> dict[str, str]:
        return await self.request("getClientVersion")

    async def chain_id(self) -> int:
        """The node's chain id (asked once, then remembered): every transaction must carry it."""
        if self._chain_id is None:
            self._chain_id = _int((await self.client_version()).get("Chain Id"), "Chain Id")
        return self._chain_id

    async def block_number(self) -> int:
        return _int(await self.group_call("getBlockNumber"), "blockNumber")

    async def block_by_number(self, number: int, include_transactions: bool = False) -> dict[str, Any]:
        return await self.group_call("getBlockByNumber", hex(number), include_transactions)

    async def block_by_hash(self, block_hash: bytes, include_transactions: bool = False) -> dict[str, Any]:
        return await self.group_call("getBlockByHash", _hex(block_hash), include_transactions)

    async def transaction(self, tx_hash: bytes) -> dict[str, Any] | None:
        return await self.group_call("getTransactionByHash", _hex(tx_hash))

    async def receipt_view(self, tx_hash: bytes) -> dict[str, Any] | None:
        """The receipt as the node shows it (FISCO JSON), or None while not yet committed."""
        return await self.group_call("getTransactionReceipt", _hex(tx_hash))

    async def receipt(self, tx_hash: bytes) -> Receipt | None:
        view = await self.receipt_view(tx_hash)
        if view is None:
            return None
        try:
            return receipt_from_json(view)
        except LedgerError as exc:
            raise RpcTransportError(f"getTransactionReceipt: malformed receipt: {exc}") from exc

    async def code(self, address: bytes) -> bytes:
        return _bytes(await self.group_call("getCode", _hex(address)), "code")

    async def system_config(self, key: str) -> str:
        return await self.group_call("getSystemConfigByKey", key)

    async def call(self, to: bytes, data: bytes, sender: bytes = ZERO_ADDRESS) -> tuple[int, bytes]:
        """(status, output) of a read-only call on the head state."""
        result = await self.group_call("call", {"from": _hex(sender), "to": _hex(to), "value": "0x0", "data": _hex(data)})
        return _int(result.get("status"), "status"), _bytes(result.get("output"), "output")

    # --- writing --------------------------------------------------------------------------------

    async def build_transaction(self, account: Account, to: bytes, data: bytes, *, value: int = 0,
                                gas_limit: int = DEFAULT_GAS_LIMIT, block_limit: int | None = None,
                                nonce: int | None = None) -> Transaction:
        """A signed transaction valid for the next BLOCK_LIMIT_AHEAD blocks."""
        if block_limit is None:
            block_limit = await self.block_number() + BLOCK_LIMIT_AHEAD
        tx = new_transaction(to=to, data=data, block_limit=block_limit, chain_id=await self.chain_id(),
                             group_id=self.group_id, nonce=nonce, gas_limit=gas_limit, value=value)
        return account.sign(tx)

    async def send_raw(self, tx: Transaction) -> bytes:
        """Submit a signed transaction; its hash, or RpcCallError (the pool's status: transaction_status)."""
        return _bytes(await self.group_call("sendRawTransaction", _hex(tx.encode())), "transaction hash")

    async def send_transaction(self, account: Account, to: bytes, data: bytes, **options: Any) -> bytes:
        return await self.send_raw(await self.build_transaction(account, to, data, **options))

    async def wait_for_receipt(self, tx_hash: bytes, timeout: float = 30.0, poll: float = 0.05) -> Receipt:
        """Poll until the transaction's receipt exists; ReceiptTimeout after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            receipt = await self.receipt(tx_hash)
            if receipt is not None:
                return receipt
            if time.monotonic() >= deadline:
                raise ReceiptTimeout(f"no receipt for 0x{tx_hash.hex()} after {timeout:g} s")
            await asyncio.sleep(poll)
            poll = min(poll * 1.5, 0.5)

    async def send_and_wait(self, account: Account, to: bytes, data: bytes, *, timeout: float = 30.0,
                            **options: Any) -> Receipt:
        """Build, sign and submit a transaction, then wait for its receipt (see submit_and_wait)."""
        for attempt in range(len(self.urls)):
            try:
                tx = await self.build_transaction(account, to, data, **options)
                break
            except RpcTransportError:
                if attempt == len(self.urls) - 1:
                    raise
                self.next_node()
        return await self.submit_and_wait(tx, timeout)

    async def submit_and_wait(self, tx: Transaction, timeout: float = 30.0, *,
                              resubmit_every: float = RESUBMIT_EVERY) -> Receipt:
        """Submit a signed transaction and wait for its receipt, surviving the node that took it.

        The same bytes are sent again every ``resubmit_every`` seconds, and at once to the next node
        when the current one stops answering, until: a receipt (returned); the chain passing the
        transaction's blockLimit without it (TransactionExpired: it will never be committed); or
        ``timeout`` seconds (ReceiptTimeout: it may still be committed until the blockLimit passes).
        A node's rejection before any node took the transaction is raised as RpcCallError.
        """
        tx_hash = tx.hash(self.suite)
        raw = _hex(tx.encode())
        deadline = time.monotonic() + timeout
        next_send, poll, taken = time.monotonic(), 0.05, False
        trouble = ""  # why the last step failed, for the timeout's message
        while True:
            try:
                if time.monotonic() >= next_send:
                    await self._send_again(raw, taken)
                    taken = True
                    next_send = time.monotonic() + resubmit_every
                    await self._raise_if_expired(tx_hash, tx.block_limit)
                receipt = await self.receipt(tx_hash)
                if receipt is not None:
                    return receipt
            except RpcTransportError as exc:  # this node is gone (for now): the next one gets the tx at once
                trouble = f"; last trouble: {exc}"
                self.next_node()
                next_send = time.monotonic()
            if time.monotonic() >= deadline:
                raise ReceiptTimeout(f"no receipt for 0x{tx_hash.hex()} after {timeout:g} s (blockLimit "
                                     f"{tx.block_limit} not seen passed: it may still be committed){trouble}")
            await asyncio.sleep(poll)
            poll = min(poll * 1.5, 0.5)

    async def _send_again(self, raw_hex: str, taken: bool) -> None:
        """Submit raw_hex to the current node; RpcCallError only for a refusal that ends the wait.

        "Already known" and "already in chain" mean some node holds it. Once a node took it, "pool
        full" only means wait, and so does a blockLimit refusal (the expiry check that follows
        decides). Before any node took it, a refusal is the caller's to see.
        """
        try:
            await self.group_call("sendRawTransaction", raw_hex)
        except RpcCallError as exc:
            status = transaction_status(exc)
            if status in (int(Status.ALREADY_KNOWN), int(Status.ALREADY_IN_CHAIN)):
                return
            if taken and status in PENDING_ANSWERS | {int(Status.BLOCK_LIMIT_CHECK_FAIL)}:
                return
            raise

    async def _raise_if_expired(self, tx_hash: bytes, block_limit: int) -> None:
        """TransactionExpired if the chain is past block_limit and the tx is not in it."""
        head = await self.block_number()
        # Blocks above block_limit cannot hold it; a receipt asked for after seeing that head is final.
        if head >= block_limit and await self.receipt_view(tx_hash) is None:
            raise TransactionExpired(tx_hash, block_limit, head, self.url)

    # --- event logs (chain.logs on the node) ----------------------------------------------------

    async def logs(self, *, from_block: int | str | None = None, to_block: int | str | None = None,
                   address: bytes | Sequence[bytes] | None = None,
                   topics: Sequence[bytes | Sequence[bytes] | None] = (),
                   block_hash: bytes | None = None) -> list[dict[str, Any]]:
        """getLogs: matching logs as the node's JSON (FISCO 3.x semantics; None means "latest")."""
        logs: list[dict[str, Any]] = await self.group_call(
            "getLogs", log_filter_json(from_block, to_block, address, topics, block_hash))
        return logs

    async def subscribe_logs(self, *, address: bytes | Sequence[bytes] | None = None,
                             topics: Sequence[bytes | Sequence[bytes] | None] = (),
                             from_block: int | None = None) -> AsyncIterator[dict[str, Any]]:
        """Logs pushed by the node over its WebSocket route (``/ws``) as blocks commit, forever.

        Past logs come first when from_block is at or below the head. RpcTransportError if the node
        closes the subscription (e.g. this client read too slowly and its queue filled).
        """
        flt = log_filter_json(from_block, None, address, topics, None)
        ws_url = self.url.rstrip("/") + "/ws"
        try:
            async with self._get_session().ws_connect(ws_url, timeout=aiohttp.ClientWSTimeout(ws_close=5.0)) as ws:
                await ws.send_json({"jsonrpc": "2.0", "id": next(self._ids), "method": "subscribe", "params": ["logs", flt]})
                sub_id = self._result(await ws.receive_json(), "subscribe")
                async for message in ws:
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
                    note = loads_bounded(message.data)
                    params = note.get("params") if isinstance(note, dict) else None
                    if not isinstance(params, dict) or params.get("subscription") != sub_id:
                        continue
                    if note.get("method") == "subscriptionClosed":
                        raise RpcTransportError(f"{ws_url} closed the subscription: {params.get('reason')}")
                    log = params.get("result")
                    if isinstance(log, dict):  # a log is a JSON object; anything else is not one to hand on
                        yield log
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as exc:
            raise RpcTransportError(f"subscription at {ws_url} failed: {type(exc).__name__}: {exc}") from exc

    async def wait_for_logs(self, count: int, timeout: float, **filter_options: Any) -> list[dict[str, Any]]:
        """Up to count pushed logs, or those that came within timeout seconds (for consoles and scripts)."""
        found: list[dict[str, Any]] = []

        async def gather() -> None:
            async for item in self.subscribe_logs(**filter_options):
                found.append(item)
                if len(found) >= count:
                    return
        try:
            await asyncio.wait_for(gather(), timeout)
        except asyncio.TimeoutError:
            pass
        return found

    # --- proofs ---------------------------------------------------------------------------------

    async def verified_transaction(self, tx_hash: bytes) -> tuple[Transaction, Receipt]:
        """The transaction and its receipt, each checked by Merkle proof against the block header.

        ProofError if the transaction is not on chain or anything does not check out.
        """
        tx_answer = await self.group_call("getTransactionByHashWithProof", _hex(tx_hash))
        receipt_answer = await self.group_call("getTransactionReceiptByHashWithProof", _hex(tx_hash))
        if tx_answer is None or receipt_answer is None:
            raise ProofError(f"transaction 0x{tx_hash.hex()} is not on chain")
        block_hash = _bytes((tx_answer.get("transaction") or {}).get("blockHash"), "blockHash")
        header = checked_header(self.suite, await self.block_by_hash(block_hash))
        tx = verify_transaction_proof(self.suite, tx_answer, header)
        receipt = verify_receipt_proof(self.suite, receipt_answer, header)
        if tx.hash(self.suite) != tx_hash or receipt.transaction_hash != tx_hash:
            raise ProofError("the node proved another transaction than the one asked for")
        return tx, receipt


def log_filter_json(from_block: int | str | None, to_block: int | str | None,
                    address: bytes | Sequence[bytes] | None, topics: Sequence[bytes | Sequence[bytes] | None],
                    block_hash: bytes | None) -> dict[str, Any]:
    """The JSON filter object of getLogs/newFilter/subscribe from Python values."""
    def block(value: int | str | None) -> str:
        return "latest" if value is None else value if isinstance(value, str) else hex(value)

    flt: dict[str, Any] = {"fromBlock": block(from_block), "toBlock": block(to_block)}
    if address is not None:
        flt["address"] = _hex(address) if isinstance(address, bytes) else [_hex(a) for a in address]
    flt["topics"] = [None if t is None else _hex(t) if isinstance(t, bytes) else [_hex(x) for x in t] for t in topics]
    if block_hash is not None:
        flt = {"blockHash": _hex(block_hash), "address": flt.get("address"), "topics": flt["topics"]}
    return flt


def transaction_status(exc: RpcCallError) -> int | None:
    """The FISCO transaction status of a refused sendRawTransaction (10000 "already known", 16
    "blockLimit"...), or None for any other error. FISCO 2.x answers a refusal over HTTP as -32603
    with the status's name in the text; this node adds the status itself in ``data.status``."""
    data = exc.data
    status = data.get("status") if isinstance(data, dict) else None
    if isinstance(status, str) and status.startswith("0x"):
        try:
            return int(status, 16)
        except ValueError:
            return None
    return None


class SyncClient:
    """The same methods as Client, blocking: each call runs on this object's own event loop.

    Do not use it from inside a running event loop (use Client there).
    """

    def __init__(self, url: str, suite: CryptoSuite, group_id: int = 1, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self.client = Client(url, suite, group_id, **options)

    @property
    def suite(self) -> CryptoSuite:
        return self.client.suite

    @property
    def url(self) -> str:
        return self.client.url

    def run(self, awaitable: Awaitable[Any]) -> Any:
        return self._loop.run_until_complete(awaitable)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        attribute = getattr(self.client, name)
        if not asyncio.iscoroutinefunction(attribute):
            return attribute

        def blocking(*args: Any, **kwargs: Any) -> Any:
            return self.run(attribute(*args, **kwargs))

        blocking.__doc__ = attribute.__doc__
        return blocking

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self.client.close())
            self._loop.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
