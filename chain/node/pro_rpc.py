"""A Pro node's rpc process: the node's only client endpoint (docs/nodes.md "Pro form").

FISCO BCOS 3.x Pro's RPC service takes clients' JSON-RPC and hands each request to the node of the
group it names; when that node is not there it answers ``NodeNotExistOrNotStarted`` (-32000). The
rpc process here does the same and nothing more: it listens on the node's JSON-RPC port, reads
which group a request names (the 2.x group id or the 3.x group name, exactly as
``chain.rpc.methods.select_group`` reads it) and forwards the HTTP body to that group's core over
``core.<group>.sock``. The core runs the method table an Air node runs and sends the answer back.

A request that names no group (getClientVersion...), names an unknown one or cannot be parsed goes
to group0's core, which answers it as an Air node would (-40001 for an unknown group, -32700...).
The methods listing the node's groups (getGroupList, getGroupInfoList) are asked of every core and
the answers merged, since each core knows its own group only.
A batch whose requests all name one group goes whole (its transactions are admitted together); a
batch mixing groups is split per request and the answers put back in order.

What it keeps no state about: the ledger. Killing it stops no consensus; a new one serves again
as soon as it listens, dialing each core on its first request for it.
The web3 endpoint, the websocket subscriptions (``/ws``) and the channel port are not served in Pro.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from chain.ledger.genesis import FIRST_GROUP_NAME, GenesisConfig, group_id_of
from chain.node.config import NodeConfig, group_genesis_file
from chain.node.local_link import (
    KIND_NAMES, KIND_REQUEST, KIND_RESPONSE, REQUEST_NUMBER_SIZE, LocalHello, LocalLink, LocalProtocolError,
    core_socket, dial,
)
from chain.node.logging import event
from chain.rpc import params as p
from chain.rpc.errors import PARSE_ERROR, REQUEST_TOO_LARGE, RpcError
from chain.rpc.exposure import exposure_warning
from chain.rpc.methods import is_grouped, is_number_text
from chain.rpc.server import MAX_BATCH, MAX_BODY_SIZE, parse_body

log = logging.getLogger("chain.node")

NODE_NOT_STARTED = -32000  # FISCO 3.x JsonRpcError::NodeNotExistOrNotStarted
NODE_NOT_STARTED_MESSAGE = "Invalid request for the specified node of doesn't exist or doesn't started!"  # FISCO's words
ANSWER_TIMEOUT_S = 30.0
# Methods whose answer lists every group: each core knows only its own, so all are asked and merged.
LISTS_GROUPS = frozenset({"getGroupList", "getGroupInfoList"})
# Methods about the group their first parameter names without being "grouped": that group's core answers.
ASKS_ABOUT_A_GROUP = frozenset({"queryGroupStatus"})  # a core that has not answered by then is treated as down for this request


class CoreDown(Exception):
    """The core of a group could not be reached, or dropped the request."""


class CoreClient:
    """The rpc process's link to one group's core: requests numbered, answers matched by number."""

    def __init__(self, group: str) -> None:
        self.group = group
        self._link: LocalLink | None = None
        self._pending: dict[int, asyncio.Future[bytes]] = {}
        self._numbers = itertools.count(1)
        self._connecting = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None

    async def ask(self, body: bytes) -> bytes:
        """The core's answer to one HTTP body (b"": nothing to answer); CoreDown if it cannot give one."""
        link = await self._connected()
        number = next(self._numbers)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[number] = future
        try:
            if not link.send(KIND_REQUEST, number.to_bytes(REQUEST_NUMBER_SIZE, "big") + body):
                raise CoreDown(f"the link to {self.group}'s core is closed")
            return await asyncio.wait_for(future, ANSWER_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise CoreDown(f"{self.group}'s core did not answer within {ANSWER_TIMEOUT_S} s") from None
        finally:
            self._pending.pop(number, None)

    async def _connected(self) -> LocalLink:
        async with self._connecting:  # one dial at a time; the others wait for its link
            if self._link is not None and not self._link.closed:
                return self._link
            try:
                link = await dial(core_socket(self.group), LocalHello("rpc", self.group), f"rpc -> core {self.group}")
            except OSError as exc:
                raise CoreDown(f"{self.group}'s core is not listening: {exc}") from None
            self._link = link
            self._reader = asyncio.ensure_future(self._read(link))
            event(log, "core_linked", group=self.group)
            return link

    async def _read(self, link: LocalLink) -> None:
        try:
            async for kind, body in link.frames():
                if kind != KIND_RESPONSE or len(body) < REQUEST_NUMBER_SIZE:
                    raise LocalProtocolError(f"a core answers RESPONSE frames, not {KIND_NAMES.get(kind, kind)}")
                future = self._pending.get(int.from_bytes(body[:REQUEST_NUMBER_SIZE], "big"))
                if future is not None and not future.done():  # else the client has gone (timed out)
                    future.set_result(body[REQUEST_NUMBER_SIZE:])
        except LocalProtocolError as exc:
            event(log, "core_link_refused", logging.WARNING, group=self.group, reason=str(exc))
        finally:
            link.close()
            if self._link is link:
                self._link = None
            for future in self._pending.values():  # every request on this link is answered, none hangs
                if not future.done():
                    future.set_exception(CoreDown(f"{self.group}'s core closed the link"))
            event(log, "core_unlinked", logging.WARNING, group=self.group)

    async def close(self) -> None:
        if self._link is not None:
            self._link.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


def _down(request: Any) -> dict[str, Any] | None:
    """FISCO's answer for a request whose group's node is not running (None for a notification)."""
    if isinstance(request, dict) and "id" not in request:
        return None
    request_id = request.get("id") if isinstance(request, dict) else None
    safe = request_id if isinstance(request_id, (str, int, type(None))) and not isinstance(request_id, bool) else None
    return {"jsonrpc": "2.0", "id": safe, "error": RpcError(NODE_NOT_STARTED, NODE_NOT_STARTED_MESSAGE).to_json()}


class ProRpc:
    """The JSON-RPC endpoint of a Pro node: forwards each request to its group's core."""

    def __init__(self, node_dir: str | Path, config: NodeConfig | None = None) -> None:
        self.directory = Path(node_dir).resolve()
        self.config = config or NodeConfig.load(self.directory)
        names = self.config.group_names
        first = GenesisConfig.load(self.directory / group_genesis_file(self.config, FIRST_GROUP_NAME))
        # 2.x ids: group0's is its genesis's (1 unless built otherwise), group<K>'s is K + 1.
        self.ids = {name: first.group_id if name == FIRST_GROUP_NAME else group_id_of(name) for name in names}
        self.cores = {name: CoreClient(name) for name in names}
        self._runner: web.AppRunner | None = None

    def group_of(self, request: Any) -> str:
        """The group whose core answers `request`: the one its selector names, else group0's."""
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return FIRST_GROUP_NAME
        params = request.get("params")
        if not isinstance(params, list) or not params:
            return FIRST_GROUP_NAME
        if request["method"] in ASKS_ABOUT_A_GROUP:  # [groupId]: the core of that group knows it runs
            return self._named(params[0])
        if not is_grouped(request["method"], params):
            return FIRST_GROUP_NAME
        return self._named(params[0])

    def _named(self, selector: Any) -> str:
        """The group a 2.x id or 3.x name selects, if it is one of this node's; else group0."""
        if isinstance(selector, str) and not is_number_text(selector):  # 3.x: a group name
            return selector if selector in self.cores else FIRST_GROUP_NAME
        try:
            number = p.as_int(selector, "groupId")
        except RpcError:
            return FIRST_GROUP_NAME  # group0's core says what is wrong with it
        return next((name for name, group_id in self.ids.items() if group_id == number), FIRST_GROUP_NAME)

    def fans_out(self, request: Any) -> bool:
        """Whether request lists every group of the node: then every core is asked (each knows its own)."""
        return len(self.cores) > 1 and isinstance(request, dict) and request.get("method") in LISTS_GROUPS

    async def answer(self, body: bytes) -> Any:
        """The JSON value to answer for one HTTP body (None: nothing), from the cores."""
        try:
            request = parse_body(body)
        except ValueError:  # group0's core answers the parse error, in its own words
            return await self._forward(FIRST_GROUP_NAME, body, {"id": None})
        if isinstance(request, list) and 0 < len(request) <= MAX_BATCH:
            groups = {self.group_of(item) for item in request}
            if len(groups) > 1 or any(self.fans_out(item) for item in request):
                # a batch mixing groups: each request to its own core(s), the answers in order
                answers = [await self._one(item, json.dumps(item).encode()) for item in request]
                return [a for a in answers if a is not None] or None
            return await self._forward(groups.pop(), body, request)
        return await self._one(request, body)

    async def _one(self, request: Any, body: bytes) -> Any:
        if self.fans_out(request):
            return await self._fan_out(request, body)
        return await self._forward(self.group_of(request), body, request)

    async def _fan_out(self, request: dict[str, Any], body: bytes) -> Any:
        """getGroupList / getGroupInfoList: every running core's answer, merged in group order (a
        core that is down is left out, as its group cannot be served; an error is answered as is)."""
        asked = [a for a in [await self._forward(name, body, request) for name in self.cores] if a is not None]
        answers = [a for a in asked if a.get("error", {}).get("code") != NODE_NOT_STARTED]
        if not answers:  # every core is down (or a notification: nothing to answer)
            return asked[0] if asked else None
        errors = [a for a in answers if "result" not in a]
        if errors:  # the request itself is wrong: every core says so alike
            return errors[0]
        merged = answers[0]
        for other in answers[1:]:
            if isinstance(merged["result"], list):  # 2.x getGroupList, 3.x getGroupInfoList
                merged["result"] = merged["result"] + other["result"]
            elif isinstance(merged["result"], dict) and "groupList" in merged["result"]:  # 3.x getGroupList
                merged["result"]["groupList"] = merged["result"]["groupList"] + other["result"]["groupList"]
        return merged

    async def _forward(self, group: str, body: bytes, request: Any) -> Any:
        try:
            text = await self.cores[group].ask(body)
        except CoreDown as exc:
            event(log, "rpc_core_down", logging.WARNING, group=group, reason=str(exc))
            if isinstance(request, list):
                return [a for a in (_down(item) for item in request) if a is not None] or None
            return _down(request)
        return json.loads(text) if text else None

    # --- HTTP ------------------------------------------------------------------------------

    async def _post(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY_SIZE:
            return self._too_large()
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._too_large()
        answer = await self.answer(body)
        if answer is None:
            return web.Response(status=204)
        return web.Response(text=json.dumps(answer, separators=(",", ":")), content_type="application/json")

    @staticmethod
    def _too_large() -> web.Response:
        payload = {"jsonrpc": "2.0", "id": None,
                   "error": RpcError(REQUEST_TOO_LARGE, f"request body larger than {MAX_BODY_SIZE} bytes").to_json()}
        return web.Response(status=413, text=json.dumps(payload), content_type="application/json")

    @staticmethod
    async def _get(request: web.Request) -> web.Response:
        return web.Response(text="chain JSON-RPC (Pro rpc service): POST a JSON-RPC 2.0 request to this URL\n")

    async def start(self) -> None:
        section = self.config.rpc
        warning = exposure_warning(section.listen_ip)
        if warning is not None:
            log.warning(warning)
        app = web.Application(client_max_size=MAX_BODY_SIZE)
        app.router.add_post("/", self._post)
        app.router.add_get("/", self._get)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, section.listen_ip, section.listen_port).start()
        event(log, "rpc_started", rpc=f"{section.listen_ip}:{section.listen_port}", groups=list(self.cores))

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        for core in self.cores.values():
            await core.close()
        event(log, "rpc_stopped")
