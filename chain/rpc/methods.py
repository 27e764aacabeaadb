"""The method table: one small handler per FISCO BCOS JSON-RPC method.

Every handler receives the request context and the parameters *after* the group selector, and
returns a JSON-ready value or raises ``RpcError``. The group selector comes in two dialects, told
apart by the type of the first parameter (see ``split_group``):

* FISCO 2.x: ``[groupId, ...]`` where groupId is a number (``1``, or ``"0x1"``/``"1"``);
* FISCO 3.x: ``[groupName, nodeName, ...]`` where groupName is text that is not a number
  (``"group0"``) and nodeName is this node's name or ``""`` (any node).

Called 3.x style, the methods whose 3.x parameters or answers differ are served by
chain.rpc.dialect3 (see ``dispatch``); the others keep the 2.x meaning and shape in both dialects.

A node of several groups (``chain.rpc.api.ServesGroups``) has one context per group: the selector
picks it (``select_group``: group id K + 1 and name group<K> pick the same group), then the
handler runs on that group's ledger only. An unknown group is FISCO's GroupID error, -40001.
"""

from __future__ import annotations

import base64
import json
import time
import zlib
from collections import OrderedDict
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError, LedgerError
from chain.execution.result import CallOutOfTime
from chain.ledger import system
from chain.ledger.block import Block
from chain.ledger.merkle import merkle_proof
from chain.ledger.receipt import Receipt
from chain.ledger.status import Status
from chain.ledger.store import Store
from chain.ledger.transaction import Transaction
from chain.rpc import params as p
from chain.rpc.api import NodeApi, ServesGroups, SubmitsBatches
from chain.rpc.errors import (
    BLOCK_HASH_NOT_FOUND, BLOCK_NUMBER_NOT_FOUND, CALL_NEEDS_FROM, GROUP_NOT_FOUND, INTERNAL_ERROR,
    INVALID_REQUEST, INVALID_SYSTEM_CONFIG, METHOD_NOT_FOUND, TX_INDEX_OUT_OF_RANGE, RpcError, invalid_params,
)
from chain.txpool.rules import MAX_TX_SIZE
from chain.wire.views import (
    batch_receipt_json, block_json, header_json, hex_bytes, hex_int, proof_json, receipt_json, status_message,
    transaction_json,
)

CLIENT_VERSION = "chain 0.1.0 (Python)"
FISCO_COMPATIBLE_VERSION = "2.9.0"  # the 2.x JSON-RPC shapes this server follows
MAX_RAW_TX_SIZE = MAX_TX_SIZE  # bytes of RLP: what the pool would refuse anyway is refused before decoding
MAX_PENDING_LISTED = 1000  # getPendingTransactions lists at most this many


BLOCK_CACHE_SIZE = 16  # decoded blocks (and their receipts) kept for repeated lookups

# Methods that may run long (a `call` runs contract code for up to its node's time budget): the
# server runs a request of them in a worker thread, so the loop goes on answering everyone else.
OFF_LOOP_METHODS = frozenset({"call"})
CALL_OUT_OF_TIME = -32000  # JSON-RPC "server error" range: the call was stopped, not refused
START_INDEX_OUT_OF_RANGE = -40099  # FISCO 2.x getBatchReceipts: "start index out of range"


@dataclass
class RpcContext:
    """What a handler may use: the node, plus small caches that live as long as the server.

    Committed blocks never change, so decoded ones are kept: clients polling receipts of one
    block would otherwise have the node decode the whole block (1000 transactions) per poll.
    """

    api: NodeApi
    failed_counted_to: int = -1  # failed transactions are counted incrementally up to this block
    failed_total: int = 0
    _blocks: OrderedDict[int, Block] = field(default_factory=OrderedDict)
    _receipts: OrderedDict[int, tuple[Receipt, ...]] = field(default_factory=OrderedDict)
    # A node of several groups: every group's context (group0's is this one), shared by all of them.
    groups: list[RpcContext] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.groups is None and isinstance(self.api, ServesGroups):
            served = list(self.api.groups_served())
            if len(served) > 1:  # group0 is answered by the node itself, the others by their own api
                self.groups = [self] + [RpcContext(api, groups=[]) for api in served[1:]]
                for other in self.groups[1:]:
                    other.groups = self.groups

    def group_contexts(self) -> list[RpcContext]:
        """Every group's context, group0 first ([self] on a node of one group)."""
        return self.groups if self.groups else [self]

    @property
    def suite(self) -> CryptoSuite:
        return self.api.suite

    @property
    def store(self) -> Store:
        return self.api.store

    def block(self, number: int) -> Block | None:
        """The committed block at number (decoded once, then served from the cache)."""
        block = self._blocks.get(number)
        if block is None:
            head = self.store.head()  # the block clients ask for most: the store holds it decoded
            block = head if head is not None and head.number == number else self.store.block_by_number(number)
            if block is not None:
                _remember(self._blocks, number, block)
        return block

    def receipts(self, number: int) -> tuple[Receipt, ...]:
        receipts = self._receipts.get(number)
        if receipts is None:
            receipts = self.store.receipts(number)
            if receipts:
                _remember(self._receipts, number, receipts)
        return receipts


def _remember(cache: OrderedDict[int, Any], key: int, value: Any) -> None:
    cache[key] = value
    if len(cache) > BLOCK_CACHE_SIZE:
        cache.popitem(last=False)  # the oldest entry goes


Handler = Callable[[RpcContext, list[Any]], Any]


@dataclass(frozen=True)
class Method:
    handler: Handler
    grouped: bool  # whether params start with the group selector


METHODS: dict[str, Method] = {}


def method(name: str, *, grouped: bool = True) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        METHODS[name] = Method(handler, grouped)
        return handler
    return register


# --- the group selector ------------------------------------------------------------------------

def _is_number_text(value: str) -> bool:
    text = value[2:] if value[:2].lower() == "0x" else value
    base = 16 if value[:2].lower() == "0x" else 10
    try:
        int(text, base)
        return True
    except ValueError:
        return False


is_number_text = _is_number_text


def split_group(api: NodeApi, params: Sequence[Any]) -> list[Any]:
    """Check the group selector (2.x or 3.x dialect) and return the parameters after it."""
    if not params:
        raise invalid_params("the first parameter must be the group: 2.x [groupId, ...] or 3.x [groupName, nodeName, ...]")
    first = params[0]
    if isinstance(first, str) and not _is_number_text(first):  # 3.x: [groupName, nodeName, ...]
        if first != api.group_name:
            raise RpcError(GROUP_NOT_FOUND, f"GroupID does not exist: this node serves group {api.group_name!r}")
        if len(params) < 2 or not isinstance(params[1], str):
            raise invalid_params("3.x-style params are [groupName, nodeName, ...] with nodeName a string")
        if params[1] not in ("", api.node_name):  # "" means whichever node answers
            raise invalid_params(f"nodeName {params[1]!r} is not this node ({api.node_name!r})")
        return list(params[2:])
    group = p.as_int(first, "groupId")
    if group != api.group_id:
        raise RpcError(GROUP_NOT_FOUND, f"GroupID does not exist: this node serves group {api.group_id}")
    return list(params[1:])


def select_group(ctx: RpcContext, params: Sequence[Any]) -> RpcContext:
    """The context of the group a request's selector names (2.x id or 3.x name); ctx itself on a
    node of one group, where split_group checks the selector as it always did."""
    if not ctx.groups or not params:
        return ctx
    first = params[0]
    if isinstance(first, str) and not _is_number_text(first):  # 3.x: a name
        for group in ctx.groups:
            if group.api.group_name == first:
                return group
        raise RpcError(GROUP_NOT_FOUND, f"The group {first} does not exist!")  # FISCO 3.x's words
    number = p.as_int(first, "groupId")
    for group in ctx.groups:
        if group.api.group_id == number:
            return group
    raise RpcError(GROUP_NOT_FOUND, f"GroupID does not exist: this node serves groups {[g.api.group_id for g in ctx.groups]}")


def positional(params: Any) -> list[Any]:
    """A request's params member as a list (absent means none); FISCO methods take positional params only."""
    if params is None:
        return []
    if not isinstance(params, list):
        raise invalid_params("params must be a JSON array")
    return params


def dispatch(ctx: RpcContext, name: Any, params: Any) -> Any:
    """Run one call; RpcError for anything the client got wrong.

    A request in FISCO 3.x's dialect goes to chain.rpc.dialect3 first, for the methods whose
    parameters or answer differ there; everything else is served by this module's table.
    """
    from chain.rpc import dialect3  # imports this module: loaded on first use

    if isinstance(name, str) and ctx.groups and is_grouped(name, positional(params)):
        ctx = select_group(ctx, positional(params))
    if isinstance(name, str):
        served, result = dialect3.dispatch3(ctx, name, positional(params))
        if served:
            return result
    if not isinstance(name, str) or name not in METHODS:
        raise RpcError(METHOD_NOT_FOUND, f"method not found: {name!r}")
    entry = METHODS[name]
    rest = split_group(ctx.api, positional(params)) if entry.grouped else positional(params)
    return entry.handler(ctx, rest)


def is_grouped(name: str, params: Sequence[Any]) -> bool:
    """Whether a call of `name` starts with a group selector (in the dialect its params are in)."""
    from chain.rpc import dialect3

    entry3 = dialect3.METHODS3.get(name)
    if entry3 is not None and dialect3.called_3x(params):
        return entry3.grouped
    entry = METHODS.get(name)
    return entry.grouped if entry is not None else entry3 is not None and entry3.grouped


# --- lookups shared by several handlers --------------------------------------------------------

def _block_by_number(ctx: RpcContext, value: Any) -> Block:
    if value == "latest":
        number = ctx.store.head_number()
    else:
        number = p.as_int(value, "blockNumber", maximum=(1 << 63) - 1)
    block = ctx.block(number) if number >= 0 else None
    if block is None:
        raise RpcError(BLOCK_NUMBER_NOT_FOUND, f"BlockNumber does not exist: {number} (head is {ctx.store.head_number()})")
    return block


def _block_by_hash(ctx: RpcContext, value: Any) -> Block:
    block_hash = p.as_hash(value, "blockHash")
    number = ctx.store.block_number_of(block_hash)
    block = ctx.block(number) if number is not None else None
    if block is None:
        raise RpcError(BLOCK_HASH_NOT_FOUND, "BlockHash does not exist")
    return block


def _committed_tx(ctx: RpcContext, params: list[Any]) -> tuple[Transaction, Block, int] | None:
    """The committed transaction params ``[transactionHash]`` names, its block and its index there;
    None while it is not in a committed block."""
    (tx_hash,) = p.take(params, 1, names="transactionHash")
    found = ctx.store.transaction(p.as_hash(tx_hash, "transactionHash"))
    if found is None:
        return None
    tx, number, index = found
    block = ctx.block(number)
    if block is None:  # the store indexes a tx in a block it does not have: never expected
        raise RpcError(INTERNAL_ERROR, f"store inconsistency: block {number} of a committed transaction is missing")
    return tx, block, index


def _committed_receipt(ctx: RpcContext, params: list[Any]) -> tuple[Transaction, Block, int, tuple[Receipt, ...]] | None:
    """_committed_tx plus the receipts of its block; None as well if the block's receipts lack it."""
    found = _committed_tx(ctx, params)
    if found is None:
        return None
    tx, block, index = found
    receipts = ctx.receipts(block.number)
    if index >= len(receipts):  # a block stored without this receipt: never expected
        return None
    return tx, block, index, receipts


# --- node and chain information ----------------------------------------------------------------

def _source_revision() -> tuple[str, str, str]:
    """(build time, git branch, git commit) of this source tree, read once from its files: FISCO
    reports what its binary was built from; a Python package is "built" when its files were written.
    A tree without git metadata says "unknown" rather than guess."""
    root = Path(__file__).resolve().parents[2]
    built = time.strftime("%Y%m%d %H:%M:%S", time.gmtime(Path(__file__).stat().st_mtime))
    branch, commit = "unknown", "unknown"
    try:
        head = (root / ".git" / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            branch = ref.rsplit("/", 1)[-1]
            ref_file = root / ".git" / ref
            commit = ref_file.read_text().strip() if ref_file.exists() else _packed_ref(root, ref)
        else:
            commit = head
    except OSError:
        pass
    return built, branch, commit


def _packed_ref(root: Path, ref: str) -> str:
    try:
        for line in (root / ".git" / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0]
    except OSError:
        pass
    return "unknown"


BUILD_TIME, GIT_BRANCH, GIT_COMMIT = _source_revision()


@method("getClientVersion", grouped=False)
def get_client_version(ctx: RpcContext, params: list[Any]) -> dict[str, str]:
    api = ctx.api
    return {
        "Build Time": BUILD_TIME,
        "Build Type": "Python",
        "FISCO-BCOS Version": FISCO_COMPATIBLE_VERSION,
        "Git Branch": GIT_BRANCH,
        "Git Commit Hash": GIT_COMMIT,
        "Supported Version": FISCO_COMPATIBLE_VERSION,
        "Client Version": CLIENT_VERSION,
        "Chain Id": str(api.chain_id),
        "Crypto Suite": api.suite.name,
        "Group Id": str(api.group_id),
        "Group Name": api.group_name,
        "Node Name": api.node_name,
    }


@method("getGroupList", grouped=False)
def get_group_list(ctx: RpcContext, params: list[Any]) -> list[int]:
    """No parameters are documented, but python-sdk sends ``[groupId]``: FISCO ignores them, so do we."""
    return [group.api.group_id for group in ctx.group_contexts()]


@method("getBlockNumber")
def get_block_number(ctx: RpcContext, params: list[Any]) -> str:
    p.take(params, 0)
    return hex_int(ctx.store.head_number())


@method("getPbftView")
def get_pbft_view(ctx: RpcContext, params: list[Any]) -> str:
    p.take(params, 0)
    return hex_int(int(ctx.api.consensus_status().get("view", 0)))


def _node_list(ctx: RpcContext) -> system.ConsensusNodes:
    # The list in force for the next block: a node added in block N counts from N + 1.
    return system.consensus_nodes(ctx.store, ctx.store.head_number() + 1)


@method("getSealerList")
def get_sealer_list(ctx: RpcContext, params: list[Any]) -> list[str]:
    p.take(params, 0)
    return [node.node_id.hex() for node in _node_list(ctx).sealers]


@method("getEpochSealersList")
def get_epoch_sealers_list(ctx: RpcContext, params: list[Any]) -> list[str]:
    """FISCO 2.x: the working sealers of the rPBFT epoch the next block belongs to (chain.consensus.pbft.rpbft)."""
    from chain.consensus.pbft import rpbft

    p.take(params, 0)
    number = ctx.store.head_number() + 1
    nodes = _node_list(ctx)
    epoch = rpbft.epoch_at(ctx.suite, ctx.store, number, nodes)
    # FISCO answers this only on an rPBFT chain
    if epoch is None:
        raise RpcError(INVALID_REQUEST, "method getEpochSealersList only supported when rpbft is used, "
                                        "current consensus type is pbft")
    return [nodes.sealers[i].node_id.hex() for i in epoch.working]


@method("getObserverList")
def get_observer_list(ctx: RpcContext, params: list[Any]) -> list[str]:
    p.take(params, 0)
    return [node.node_id.hex() for node in _node_list(ctx).observers]


PBFT_MODULE, SYNC_MODULE = 8, 9  # FISCO 2.x ProtocolID::PBFT and ::BlockSync


def protocol_id(group_id: int, module: int) -> int:
    """FISCO 2.x ``getGroupProtoclID``: the group in the high byte(s), the module in the low byte."""
    return (group_id << 8) | module


@method("getConsensusStatus")
def get_consensus_status(ctx: RpcContext, params: list[Any]) -> list[Any]:
    """2.x shape: [status object, [{nodeId, view} for every sealer]].

    A sealer's view is the one the node reports for it (``peerViews``, from its messages); a node
    that does not track them shows its own view for each connected sealer, and the sealers it is
    not connected to are left out of the list, as FISCO leaves out the nodes it has not heard.
    """
    p.take(params, 0)
    status = ctx.api.consensus_status()
    sealers = list(status.get("sealers", []))
    head = ctx.store.head()
    view = int(status.get("view", 0))
    own = ctx.api.node_id.hex()
    connected = {node_hex(peer.node_id) for peer in ctx.api.peers() if peer.connected}
    peer_views: dict[str, int] = dict(status.get("peerViews", {}))
    to_view = int(status.get("toView", view))
    summary: dict[str, Any] = {
        "accountType": 1 if own in sealers else 0,
        "allowFutureBlocks": True,
        "cfgErr": False,
        "connectedNodes": len(connected),
        "leaderFailed": to_view > view,  # a view change is under way: the leader of `view` failed
        "protocolId": protocol_id(ctx.api.group_id, PBFT_MODULE),
        "nodeId": own,
        "node_index": status.get("nodeIndex"),
        "nodeNum": len(sealers),
        "max_faulty_leader": (len(sealers) - 1) // 3 if sealers else 0,
        "currentView": view,
        "toView": to_view,  # the view a view change is heading for
        "leaderIndex": status.get("leader"),
        "consensusedBlockNumber": int(status.get("height", ctx.store.head_number() + 1)),
        # number and hash of the one head read above: the replica thread may commit in between
        "highestblockNumber": head.number if head is not None else ctx.store.head_number(),
        "highestblockHash": hex_bytes(head.hash(ctx.suite)) if head else None,
        "groupId": ctx.api.group_id,
        "omitEmptyBlock": True,
        "timeoutMs": status.get("timeoutMs"),
        "observers": list(status.get("observers", [])),
    }
    for extra in ("role", "state"):  # what this node is doing, when the node says
        if extra in status:
            summary[extra] = status[extra]
    for index, node in enumerate(sealers):
        summary[f"sealer.{index}"] = node
    views = [
        {"nodeId": node, "view": int(peer_views.get(node, view))}
        for node in sealers if node == own or node in peer_views or node in connected
    ]
    return [summary, views]


@method("getSyncStatus")
def get_sync_status(ctx: RpcContext, params: list[Any]) -> dict[str, Any]:
    p.take(params, 0)
    status = dict(ctx.api.sync_status())
    genesis = ctx.store.block_hash(0)
    genesis_hex = hex_bytes(genesis) if genesis else None
    status.setdefault("nodeId", ctx.api.node_id.hex())
    status.setdefault("genesisHash", genesis_hex)
    status.setdefault("knownLatestHash", _hash_at(ctx, int(status.get("knownHighestNumber", -1))) or status.get("latestHash"))
    status.setdefault("txPoolSize", str(len(ctx.api.txpool)))
    status["protocolId"] = protocol_id(ctx.api.group_id, SYNC_MODULE)
    status["peers"] = [_sync_peer(ctx, peer, genesis_hex) for peer in status.get("peers", [])]
    return status


def _hash_at(ctx: RpcContext, number: int) -> str | None:
    found = ctx.store.block_hash(number) if number >= 0 else None
    return hex_bytes(found) if found else None


def _sync_peer(ctx: RpcContext, peer: dict[str, Any], genesis_hex: str | None) -> dict[str, Any]:
    """FISCO 2.x's ``{nodeId, genesisHash, blockNumber, latestHash}``. A peer shares our genesis (the
    handshake refuses others); its latest hash is the hash we hold at its height, or, while it is
    ahead of us, the zero hash (we cannot know it yet). A node that does not report a peer's height
    gets -1 there (unknown), never a height the peer did not claim."""
    claimed = peer.get("blockNumber")
    number = claimed if isinstance(claimed, int) and not isinstance(claimed, bool) else -1
    return {
        "blockNumber": number,
        "genesisHash": genesis_hex,
        "latestHash": _hash_at(ctx, number) or "0x" + "00" * 32,
        "nodeId": str(peer.get("nodeId")),
    }


@method("getPeers")
def get_peers(ctx: RpcContext, params: list[Any]) -> list[dict[str, Any]]:
    p.take(params, 0)
    return [
        {"IPAndPort": peer.endpoint, "nodeId": node_hex(peer.node_id), "Topic": [], "connected": peer.connected}
        for peer in ctx.api.peers()
    ]


@method("getGroupPeers")
def get_group_peers(ctx: RpcContext, params: list[Any]) -> list[str]:
    """The group's sealers and observers (FISCO 2.x: both lists, sealers first)."""
    p.take(params, 0)
    nodes = _node_list(ctx)
    return [node.node_id.hex() for node in nodes.sealers] + [node.node_id.hex() for node in nodes.observers]


@method("getNodeInfo", grouped=False)
def get_node_info(ctx: RpcContext, params: list[Any]) -> dict[str, Any]:
    """FISCO 2.x: this node's agency, name, P2P endpoint, id and subscribed topics (none here)."""
    api = ctx.api
    return {
        "Agency": str(getattr(api, "agency", "agency")),
        "IPAndPort": p2p_endpoint(api),
        "Node": api.node_name,
        "NodeID": api.node_id.hex(),
        "Topic": [],
    }


def node_hex(node_id: bytes | None) -> str:
    """A node id as FISCO's JSON writes it: hex without 0x; "" for a peer not yet linked."""
    return node_id.hex() if node_id else ""


def p2p_endpoint(api: NodeApi) -> str:
    """This node's P2P listening "ip:port": a node's ``p2p_endpoint`` if it has one, else its
    config's network section (chain.node), else "" (an in-process test node listens nowhere)."""
    endpoint = getattr(api, "p2p_endpoint", None)
    if isinstance(endpoint, str):
        return endpoint
    network = getattr(getattr(api, "config", None), "network", None)
    ip, port = getattr(network, "listen_ip", None), getattr(network, "listen_port", None)
    return f"{ip}:{port}" if ip is not None and port is not None else ""


@method("queryPeers", grouped=False)
def query_peers(ctx: RpcContext, params: list[Any]) -> list[str]:
    """The configured P2P endpoints (FISCO: config.ini [p2p] node.N), here every peer's endpoint."""
    return [peer.endpoint for peer in ctx.api.peers() if peer.endpoint]


@method("queryGroupStatus", grouped=False)
def query_group_status(ctx: RpcContext, params: list[Any]) -> dict[str, str]:
    """FISCO 2.x's group management status: the groups this node serves run, any other does not exist."""
    (group,) = p.take(params, 1, names="groupId")
    number = p.as_int(group, "groupId", minimum=1, maximum=(1 << 15) - 1)
    running = any(number == other.api.group_id for other in ctx.group_contexts())
    return {"code": "0x0", "message": "", "status": "RUNNING" if running else "INEXISTENT"}


@method("getNodeIDList")
def get_node_id_list(ctx: RpcContext, params: list[Any]) -> list[str]:
    """This node first, then every other node of the chain."""
    p.take(params, 0)
    own = ctx.api.node_id
    return [own.hex()] + [node.hex() for node in ctx.api.node_ids() if node != own]


@method("getSystemConfigByKey")
def get_system_config_by_key(ctx: RpcContext, params: list[Any]) -> str:
    (key,) = p.take(params, 1, names="key")
    key = p.as_str(key, "key")
    try:
        return system.get_config(ctx.store, key, ctx.store.head_number() + 1)
    except LedgerError:
        raise RpcError(INVALID_SYSTEM_CONFIG, f"Invalid System Config: {key!r}; known keys: {sorted(system.DEFAULT_CONFIG)}") from None


@method("getTotalTransactionCount")
def get_total_transaction_count(ctx: RpcContext, params: list[Any]) -> dict[str, str]:
    p.take(params, 0)
    head = ctx.store.head_number()
    # Count failed receipts incrementally: each block is scanned once over the server's life.
    for number in range(ctx.failed_counted_to + 1, head + 1):
        ctx.failed_total += sum(1 for receipt in ctx.store.receipts(number) if receipt.status != Status.SUCCESS)
        ctx.failed_counted_to = number
    return {"blockNumber": hex_int(head), "txSum": hex_int(ctx.store.total_transactions()),
            "failedTxSum": hex_int(ctx.failed_total)}


# --- blocks and transactions -------------------------------------------------------------------

@method("getBlockByNumber")
def get_block_by_number(ctx: RpcContext, params: list[Any]) -> dict[str, Any]:
    number, include = p.take(params, 1, 1, names="blockNumber, includeTransactions")
    block = _block_by_number(ctx, number)
    return block_json(ctx.suite, block, p.as_bool(include, "includeTransactions", True), ctx.receipts(block.number))


@method("getBlockByHash")
def get_block_by_hash(ctx: RpcContext, params: list[Any]) -> dict[str, Any]:
    block_hash, include = p.take(params, 1, 1, names="blockHash, includeTransactions")
    block = _block_by_hash(ctx, block_hash)
    return block_json(ctx.suite, block, p.as_bool(include, "includeTransactions", True), ctx.receipts(block.number))


@method("getBlockHeaderByNumber")
def get_block_header_by_number(ctx: RpcContext, params: list[Any]) -> dict[str, Any]:
    number, signatures = p.take(params, 1, 1, names="blockNumber, includeSignatures")
    return _header_view(ctx, _block_by_number(ctx, number), p.as_bool(signatures, "includeSignatures", False))


@method("getBlockHeaderByHash")
def get_block_header_by_hash(ctx: RpcContext, params: list[Any]) -> dict[str, Any]:
    block_hash, signatures = p.take(params, 1, 1, names="blockHash, includeSignatures")
    return _header_view(ctx, _block_by_hash(ctx, block_hash), p.as_bool(signatures, "includeSignatures", False))


def _header_view(ctx: RpcContext, block: Block, signatures: bool) -> dict[str, Any]:
    """FISCO 2.x: the block's fields without transactions; signatureList only when asked for."""
    view = header_json(ctx.suite, block, ctx.receipts(block.number))
    if not signatures:
        del view["signatureList"]
    return view


@method("getBatchReceiptsByBlockNumberAndRange")
def get_batch_receipts_by_block_number_and_range(ctx: RpcContext, params: list[Any]) -> Any:
    number, start, count, compress = p.take(params, 3, 1, names="blockNumber, from, count, compressFlag")
    return _batch_receipts(ctx, _block_by_number(ctx, number), start, count, compress)


@method("getBatchReceiptsByBlockHashAndRange")
def get_batch_receipts_by_block_hash_and_range(ctx: RpcContext, params: list[Any]) -> Any:
    block_hash, start, count, compress = p.take(params, 3, 1, names="blockHash, from, count, compressFlag")
    return _batch_receipts(ctx, _block_by_hash(ctx, block_hash), start, count, compress)


def _batch_receipts(ctx: RpcContext, block: Block, start: Any, count: Any, compress: Any) -> Any:
    """FISCO 2.x ``getBatchReceipts``: receipts [from, from + count) of the block (count "-1": to the
    end), with the block's summary; compressFlag true answers base64(zlib(the same JSON))."""
    receipts = ctx.receipts(block.number)
    first = p.as_int(start, "from", maximum=1 << 32)
    if first >= len(receipts):
        raise RpcError(START_INDEX_OUT_OF_RANGE, f"start index out of range, the number of receipt is {len(receipts)}")
    if count in (-1, "-1"):
        end = len(receipts)
    else:
        end = min(first + p.as_int(count, "count", maximum=1 << 32), len(receipts))
    view = {
        "blockInfo": {
            "blockHash": hex_bytes(block.hash(ctx.suite)),
            "blockNumber": hex_int(block.number),
            "receiptRoot": hex_bytes(block.header.receipts_root),
            "receiptsCount": hex_int(len(receipts)),
        },
        "transactionReceipts": [
            batch_receipt_json(ctx.suite, receipts[i], block.transactions[i], i) for i in range(first, end)
        ],
    }
    if not p.as_bool(compress, "compressFlag", False):
        return view
    text = json.dumps(view, separators=(",", ":")).encode()
    return base64.b64encode(zlib.compress(text)).decode()


@method("getBlockHashByNumber")
def get_block_hash_by_number(ctx: RpcContext, params: list[Any]) -> str:
    (number,) = p.take(params, 1, names="blockNumber")
    return hex_bytes(_block_by_number(ctx, number).hash(ctx.suite))


@method("getTransactionByHash")
def get_transaction_by_hash(ctx: RpcContext, params: list[Any]) -> dict[str, Any] | None:
    found = _committed_tx(ctx, params)
    if found is None:
        return None
    tx, block, index = found
    return transaction_json(ctx.suite, tx, block.hash(ctx.suite), block.number, index)


@method("getTransactionByBlockNumberAndIndex")
def get_transaction_by_block_number_and_index(ctx: RpcContext, params: list[Any]) -> dict[str, Any]:
    number, index = p.take(params, 2, names="blockNumber, transactionIndex")
    return _transaction_at(ctx, _block_by_number(ctx, number), index)


@method("getTransactionByBlockHashAndIndex")
def get_transaction_by_block_hash_and_index(ctx: RpcContext, params: list[Any]) -> dict[str, Any]:
    block_hash, index = p.take(params, 2, names="blockHash, transactionIndex")
    return _transaction_at(ctx, _block_by_hash(ctx, block_hash), index)


def _transaction_at(ctx: RpcContext, block: Block, index: Any) -> dict[str, Any]:
    position = p.as_int(index, "transactionIndex", maximum=1 << 32)
    if position >= len(block.transactions):
        raise RpcError(TX_INDEX_OUT_OF_RANGE, f"TransactionIndex is out of range: block {block.number} has {len(block.transactions)} transactions")
    return transaction_json(ctx.suite, block.transactions[position], block.hash(ctx.suite), block.number, position)


@method("getTransactionReceipt")
def get_transaction_receipt(ctx: RpcContext, params: list[Any]) -> dict[str, Any] | None:
    """null until the transaction is in a committed block."""
    found = _committed_receipt(ctx, params)
    if found is None:
        return None
    tx, block, index, receipts = found
    return receipt_json(ctx.suite, receipts[index], tx, block)


@method("getTransactionByHashWithProof")
def get_transaction_by_hash_with_proof(ctx: RpcContext, params: list[Any]) -> dict[str, Any] | None:
    """The transaction, its raw encoding and a Merkle proof of its hash under header.transactionsRoot."""
    found = _committed_tx(ctx, params)
    if found is None:
        return None
    tx, block, index = found
    leaves = [t.hash(ctx.suite) for t in block.transactions]
    return {
        "transaction": transaction_json(ctx.suite, tx, block.hash(ctx.suite), block.number, index),
        "raw": hex_bytes(tx.encode()),
        "txProof": proof_json(merkle_proof(ctx.suite, leaves, index)),
    }


@method("getTransactionReceiptByHashWithProof")
def get_transaction_receipt_by_hash_with_proof(ctx: RpcContext, params: list[Any]) -> dict[str, Any] | None:
    """The receipt, its raw encoding and a Merkle proof of its hash under header.receiptsRoot."""
    found = _committed_receipt(ctx, params)
    if found is None:
        return None
    tx, block, index, receipts = found
    receipt = receipts[index]
    return {
        "transactionReceipt": receipt_json(ctx.suite, receipt, tx, block),
        "raw": hex_bytes(receipt.encode()),
        "receiptProof": proof_json(merkle_proof(ctx.suite, [r.hash(ctx.suite) for r in receipts], index)),
    }


@method("getPendingTransactions")
def get_pending_transactions(ctx: RpcContext, params: list[Any]) -> list[dict[str, Any]]:
    p.take(params, 0)
    return [transaction_json(ctx.suite, tx) for tx in ctx.api.txpool.pending(MAX_PENDING_LISTED)]


@method("getPendingTxSize")
def get_pending_tx_size(ctx: RpcContext, params: list[Any]) -> str:
    p.take(params, 0)
    return hex_int(len(ctx.api.txpool))


# --- state -------------------------------------------------------------------------------------

@method("getCode")
def get_code(ctx: RpcContext, params: list[Any]) -> str:
    (address,) = p.take(params, 1, names="address")
    return hex_bytes(ctx.api.code_at(p.as_address(address)))


@method("call")
def call(ctx: RpcContext, params: list[Any]) -> dict[str, str]:
    (request,) = p.take(params, 1, names="{from, to, value, data}")
    if not isinstance(request, dict):
        raise invalid_params("call expects an object {from, to, value, data}")
    if request.get("from") in (None, ""):
        raise RpcError(CALL_NEEDS_FROM, "Call needs a 'from' field")
    sender = p.as_address(request["from"], "from")
    # python-sdk sends "value": 0 (a JSON number) and, for a call without a contract, "to": "";
    # FISCO reads both (toTransactionSkeleton), so they are accepted and checked, not refused.
    if request.get("value") not in (None, ""):
        p.as_int(request["value"], "value")
    to = p.as_address(request["to"], "to") if request.get("to") not in (None, "", "0x") else bytes(20)
    data = p.as_bytes(request.get("data") or "0x", "data", max_size=MAX_RAW_TX_SIZE)
    head = ctx.store.head_number()
    try:
        status, output = ctx.api.call(to, data, sender)
    except CallOutOfTime as exc:
        raise RpcError(CALL_OUT_OF_TIME, f"call stopped: {exc}") from None
    return {"currentBlockNumber": hex_int(head), "output": hex_bytes(output), "status": hex_int(status)}


def runs_off_loop(request: Any) -> bool:
    """True for a request (or a batch without transactions) naming a method of OFF_LOOP_METHODS."""
    items = request if isinstance(request, list) else [request]
    methods = {item.get("method") for item in items if isinstance(item, dict)}
    return bool(methods & OFF_LOOP_METHODS) and "sendRawTransaction" not in methods


# --- transactions in -----------------------------------------------------------------------------

@method("sendRawTransaction")
def send_raw_transaction(ctx: RpcContext, params: list[Any]) -> str:
    """Decode, admit to the pool (which checks signature, chain/group, blockLimit, nonce), return the hash."""
    tx = raw_transaction_param(params)
    return submission_result(submit_all(ctx.api, [tx])[0])


@method("sendRawTransactionAndGetProof")
def send_raw_transaction_and_get_proof(ctx: RpcContext, params: list[Any]) -> str:
    """FISCO 2.x answers the hash, as sendRawTransaction; the receipt and its proofs are *pushed* to
    channel-protocol clients once committed. Over HTTP a client fetches them with
    getTransactionReceiptByHashWithProof / getTransactionByHashWithProof."""
    return send_raw_transaction(ctx, params)


def raw_transaction_param(params: list[Any]) -> Transaction:
    """sendRawTransaction's one parameter (after the group), decoded; RpcError if malformed."""
    (raw_hex,) = p.take(params, 1, names="rawTransaction")
    raw = p.as_bytes(raw_hex, "rawTransaction", max_size=MAX_RAW_TX_SIZE)
    try:
        return Transaction.decode(raw)
    except LedgerError as exc:
        raise refusal(int(Status.MALFORMED_TX), f"malformed transaction: {exc}") from None


def submit_all(api: NodeApi, txs: Sequence[Transaction]) -> list[bytes | ChainError]:
    """Admit txs in order, each judged alone: its hash, or the error that refused it.

    A node that can take them in one go (``submit_transactions``) gossips them in one message;
    otherwise they go one at a time.
    """
    if isinstance(api, SubmitsBatches):
        return list(api.submit_transactions(txs))
    outcomes: list[bytes | ChainError] = []
    for tx in txs:
        try:
            outcomes.append(api.submit_transaction(tx))
        except ChainError as exc:
            outcomes.append(exc)
    return outcomes


def submission_result(outcome: bytes | ChainError) -> str:
    """The sendRawTransaction answer for one admission outcome (raises the RpcError of a refusal)."""
    if not isinstance(outcome, ChainError):
        return hex_bytes(outcome)
    status = getattr(outcome, "status", None)  # TxRejected carries the FISCO status code
    if status is None:
        raise refusal(int(Status.MALFORMED_TX), f"transaction rejected: {outcome}")
    detail = getattr(outcome, "message", None) or str(outcome)
    raise refusal(int(status), detail)


def refusal(status: int, detail: str) -> RpcError:
    """A refused transaction as FISCO 2.x answers it over HTTP: -32603 (internal error) whose text
    starts with the status's name ("BlockLimitCheckFail: ..."), the status itself in ``data``
    (``{"status": "0x10"}``) so a client can act on it without parsing text."""
    name = status_message(status)
    message = f"{name}: {detail}" if detail and detail != name else name
    return RpcError(INTERNAL_ERROR, message, {"status": hex_int(status)})
