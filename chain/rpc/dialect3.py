"""FISCO BCOS 3.x's JSON-RPC dialect: 3.x parameters in, 3.x shapes out.

A request is in the 3.x dialect when its first parameter is a group *name* (text that is not a
number): ``["group0", "", ...]``. FISCO 3.x (``bcos-rpc/jsonrpc/JsonRpcImpl_2_0.cpp``) differs from
2.x in more than the selector, and a 3.x SDK reads the differences strictly:

* numbers are JSON numbers, not hex text (``getBlockNumber`` is ``8``, receipts carry integer
  ``status`` and ``blockNumber``); gas is a *decimal* string (``"24363"``);
* blocks name their transactions root ``txsRoot``, list ``parentInfo``, ``consensusWeights`` and
  ``signatureList`` items as ``{sealerIndex, signature}``; sealer ids carry ``0x``;
* receipts hold ``logEntries`` (not ``logs``), ``message``, the receipt's own ``hash``;
* parameters: ``getBlockByNumber [g, n, number, onlyHeader, onlyTxHash]``,
  ``getTransactionReceipt [g, n, hash, requireProof]``, ``call [g, n, to, data]``.

Methods whose 3.x answer is the 2.x one (getCode, getBlockHashByNumber, getObserverList...) and the
event-log layer's methods (which read the 3.x selector themselves) are served by the 2.x handlers;
METHODS3 holds only what differs. What is left out, and why, is in docs/rpc.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from chain.crypto.suite import CryptoSuite
from chain.ledger import system
from chain.ledger.block import Block
from chain.ledger.receipt import Receipt
from chain.ledger.status import Status
from chain.ledger.transaction import Transaction
from chain.rpc import methods as m
from chain.rpc import params as p
from chain.rpc.api import NodeApi
from chain.rpc.errors import CALL_NEEDS_FROM, GROUP_NOT_FOUND, RpcError, invalid_params
from chain.wire.views import hex_bytes, log_json, sender_of, status_message

BLOCK_VERSION = 0  # FISCO 3.x writes its compatibility version here; this chain's records have one layout
NODE_TYPE_NAMES = {system.SEALER: "consensus_sealer", system.OBSERVER: "consensus_observer"}

Handler3 = Callable[["m.RpcContext", list[Any]], Any]


@dataclass(frozen=True)
class Method3:
    handler: Handler3
    grouped: bool  # params start with [groupName, nodeName]


METHODS3: dict[str, Method3] = {}


def method3(name: str, *, grouped: bool = True) -> Callable[[Handler3], Handler3]:
    def register(handler: Handler3) -> Handler3:
        METHODS3[name] = Method3(handler, grouped)
        return handler
    return register


def called_3x(params: Sequence[Any]) -> bool:
    """Whether params start with a 3.x group name (text that is not a number)."""
    return bool(params) and isinstance(params[0], str) and not m.is_number_text(params[0])


GROUP_ONLY = frozenset({"getGroupInfo", "getGroupPeers"})  # FISCO 3.x: [groupName], no node name
NO_PARAMS_3X = frozenset({"getPeers"})  # java-sdk 3.x sends getPeers [] (a node's peers span groups)


def split_3x(api: NodeApi, params: Sequence[Any], group_only: bool = False) -> list[Any]:
    """Check [groupName, nodeName, ...] and return what follows. nodeName is "" for whichever node
    answers; the GROUP_ONLY methods may leave it out."""
    if params[0] != api.group_name:
        raise RpcError(GROUP_NOT_FOUND, f"The group {params[0]} does not exist!")
    if len(params) < 2 and group_only:
        return []
    if len(params) < 2 or not isinstance(params[1], str):
        raise invalid_params("3.x-style params are [groupName, nodeName, ...] with nodeName a string")
    if params[1] not in ("", api.node_name):
        raise invalid_params(f"nodeName {params[1]!r} is not this node ({api.node_name!r})")
    return list(params[2:])


# --- records in 3.x shape ----------------------------------------------------------------------

def _hex_no_prefix(value: int) -> str:
    return format(value, "x")


def transaction3_json(suite: CryptoSuite, tx: Transaction, group_name: str) -> dict[str, Any]:
    """JsonRpcImpl_2_0 ``toJsonResp(Transaction)``: nonce as bare hex text, blockLimit a number,
    ``to`` "" for a contract creation, the signature as one hex string. ``importTime`` is when the
    pool took it, which a committed record here does not keep: 0."""
    return {
        "version": BLOCK_VERSION,
        "hash": hex_bytes(tx.hash(suite)),
        "nonce": _hex_no_prefix(tx.nonce),
        "blockLimit": tx.block_limit,
        "to": hex_bytes(tx.to) if tx.to else "",
        "input": hex_bytes(tx.data),
        "from": hex_bytes(sender_of(suite, tx)),
        "importTime": 0,
        "chainID": str(tx.chain_id),
        "groupID": group_name,
        "abi": "",
        "signature": hex_bytes(tx.signature_bytes(suite)) if tx.is_signed else "0x",
        "extraData": hex_bytes(tx.extra_data) if tx.extra_data else "",
    }


def receipt3_json(suite: CryptoSuite, receipt: Receipt, tx: Transaction) -> dict[str, Any]:
    """JsonRpcImpl_2_0 ``toJsonResp(TransactionReceipt)`` plus sendTransaction's from/to/input."""
    contract = hex_bytes(receipt.contract_address) if receipt.contract_address else ""
    return {
        "version": BLOCK_VERSION,
        "contractAddress": contract,
        "checksumContractAddress": contract,
        "gasUsed": str(receipt.gas_used),
        "status": int(receipt.status),
        "blockNumber": receipt.block_number,
        "output": hex_bytes(receipt.output),
        "message": "" if receipt.status == Status.SUCCESS else status_message(receipt.status),
        "transactionHash": hex_bytes(receipt.transaction_hash),
        "hash": hex_bytes(receipt.hash(suite)),
        "logEntries": [log_json(log) for log in receipt.logs],
        "from": hex_bytes(sender_of(suite, tx)),
        "to": hex_bytes(tx.to) if tx.to else "",
        "input": hex_bytes(tx.data),
        "extraData": hex_bytes(tx.extra_data) if tx.extra_data else "",
    }


def header3_json(ctx: m.RpcContext, block: Block) -> dict[str, Any]:
    """JsonRpcImpl_2_0 ``toJsonResp(BlockHeader)``."""
    header = block.header
    weights = {node.node_id: node.weight for node in m._node_list(ctx).sealers}
    return {
        "hash": hex_bytes(block.hash(ctx.suite)),
        "version": BLOCK_VERSION,
        "txsRoot": hex_bytes(header.transactions_root),
        "receiptsRoot": hex_bytes(header.receipts_root),
        "stateRoot": hex_bytes(header.state_root),
        "number": header.number,
        "gasUsed": str(header.gas_used),
        "timestamp": header.timestamp,
        "sealer": header.sealer,
        "extraData": hex_bytes(header.extra_data),
        "consensusWeights": [weights.get(node, 1) for node in header.sealer_list],
        "sealerList": [hex_bytes(node) for node in header.sealer_list],
        "parentInfo": [] if header.number == 0 else [{"blockNumber": header.number - 1, "blockHash": hex_bytes(header.parent_hash)}],
        "signatureList": [{"sealerIndex": index, "signature": hex_bytes(sig)} for index, sig in block.signatures],
    }


def block3_json(ctx: m.RpcContext, block: Block, only_header: bool, only_tx_hash: bool) -> dict[str, Any]:
    view = header3_json(ctx, block)
    if only_header:
        return view
    if only_tx_hash:
        view["transactions"] = [hex_bytes(tx.hash(ctx.suite)) for tx in block.transactions]
    else:
        view["transactions"] = [transaction3_json(ctx.suite, tx, ctx.api.group_name) for tx in block.transactions]
    return view


# --- chain ---------------------------------------------------------------------------------------

@method3("getBlockNumber")
def get_block_number(ctx: m.RpcContext, params: list[Any]) -> int:
    p.take(params, 0)
    return ctx.store.head_number()


@method3("getPbftView")
def get_pbft_view(ctx: m.RpcContext, params: list[Any]) -> int:
    p.take(params, 0)
    return int(ctx.api.consensus_status().get("view", 0))


@method3("getPendingTxSize")
def get_pending_tx_size(ctx: m.RpcContext, params: list[Any]) -> int:
    p.take(params, 0)
    return len(ctx.api.txpool)


@method3("getTotalTransactionCount")
def get_total_transaction_count(ctx: m.RpcContext, params: list[Any]) -> dict[str, int]:
    counts = m.get_total_transaction_count(ctx, params)
    return {"blockNumber": int(counts["blockNumber"], 16), "failedTransactionCount": int(counts["failedTxSum"], 16),
            "transactionCount": int(counts["txSum"], 16)}


@method3("getSystemConfigByKey")
def get_system_config_by_key(ctx: m.RpcContext, params: list[Any]) -> dict[str, Any]:
    (key,) = p.take(params, 1, names="key")
    key = p.as_str(key, "key")
    try:
        value, enabled = system.config_entry(ctx.store, key, ctx.store.head_number() + 1)
    except Exception:
        raise RpcError(m.INVALID_SYSTEM_CONFIG, f"Invalid System Config: {key!r}") from None
    return {"blockNumber": enabled, "value": value}


@method3("getSealerList")
def get_sealer_list(ctx: m.RpcContext, params: list[Any]) -> list[dict[str, Any]]:
    p.take(params, 0)
    return [{"nodeID": node.node_id.hex(), "weight": node.weight} for node in m._node_list(ctx).sealers]


@method3("getNodeListByType")
def get_node_list_by_type(ctx: m.RpcContext, params: list[Any]) -> list[dict[str, Any]]:
    """3.x ``[g, n, type]`` with type consensus_sealer / consensus_observer (consensus_candidate_sealer:
    none here, the chain has no candidates)."""
    (kind,) = p.take(params, 1, names="type")
    kind = p.as_str(kind, "type")
    known = set(NODE_TYPE_NAMES.values()) | {"consensus_candidate_sealer"}
    if kind not in known:
        raise invalid_params(f"type must be one of {sorted(known)}")
    nodes = system.all_consensus_nodes(ctx.store)
    return [{"nodeID": node.node_id.hex(), "weight": node.weight, "type": kind, "enableNumber": str(node.enable_number)}
            for node in sorted(nodes, key=lambda n: n.node_id) if NODE_TYPE_NAMES.get(node.type) == kind]


@method3("getBlockByNumber")
def get_block_by_number(ctx: m.RpcContext, params: list[Any]) -> dict[str, Any]:
    number, only_header, only_hash = p.take(params, 1, 2, names="blockNumber, onlyHeader, onlyTxHash")
    return block3_json(ctx, m._block_by_number(ctx, number), p.as_bool(only_header, "onlyHeader", False),
                       p.as_bool(only_hash, "onlyTxHash", False))


@method3("getBlockByHash")
def get_block_by_hash(ctx: m.RpcContext, params: list[Any]) -> dict[str, Any]:
    block_hash, only_header, only_hash = p.take(params, 1, 2, names="blockHash, onlyHeader, onlyTxHash")
    return block3_json(ctx, m._block_by_hash(ctx, block_hash), p.as_bool(only_header, "onlyHeader", False),
                       p.as_bool(only_hash, "onlyTxHash", False))


@method3("getTransaction")
def get_transaction(ctx: m.RpcContext, params: list[Any]) -> dict[str, Any] | None:
    """3.x ``[g, n, hash, requireProof]``; with requireProof, ``txProof`` as FISCO 2.x's proof units
    (FISCO 3.x lists bare hashes: its tree differs, see docs/merkle.md)."""
    tx_hash, require_proof = p.take(params, 1, 1, names="transactionHash, requireProof")
    found = m._committed_tx(ctx, [tx_hash])
    if found is None:
        return None
    tx, block, index = found
    view = transaction3_json(ctx.suite, tx, ctx.api.group_name)
    if p.as_bool(require_proof, "requireProof", False):
        view["txProof"] = m.get_transaction_by_hash_with_proof(ctx, [tx_hash])["txProof"]
    return view


@method3("getTransactionReceipt")
def get_transaction_receipt(ctx: m.RpcContext, params: list[Any]) -> dict[str, Any] | None:
    tx_hash, require_proof = p.take(params, 1, 1, names="transactionHash, requireProof")
    found = m._committed_receipt(ctx, [tx_hash])
    if found is None:
        return None
    tx, block, index, receipts = found
    view = receipt3_json(ctx.suite, receipts[index], tx)
    if p.as_bool(require_proof, "requireProof", False):
        view["receiptProof"] = m.get_transaction_receipt_by_hash_with_proof(ctx, [tx_hash])["receiptProof"]
    return view


@method3("call")
def call(ctx: m.RpcContext, params: list[Any]) -> dict[str, Any]:
    """3.x ``[g, n, to, data]`` (or ``[g, n, to, data, sign]``): no ``from``. FISCO 3.x calls as the
    zero address unless a signature names the caller; signed calls are not served here."""
    to, data, sign = p.take(params, 2, 1, names="to, data, sign")
    if sign not in (None, ""):
        raise RpcError(CALL_NEEDS_FROM, "signed calls (a 5th parameter) are not supported: call without it")
    request = {"from": "0x" + "00" * 20, "to": to, "data": data if isinstance(data, str) and data.startswith("0x") else "0x" + str(data)}
    answer = m.call(ctx, [request])
    return {"blockNumber": int(answer["currentBlockNumber"], 16), "output": answer["output"], "status": int(answer["status"], 16)}


@method3("sendTransaction")
def send_transaction(ctx: m.RpcContext, params: list[Any]) -> str:
    """3.x ``[g, n, data, requireProof]``. ``data`` is this chain's signed transaction (the 2.x RLP
    encoding; FISCO 3.x's TARS encoding is not spoken here). Answers the transaction hash at once;
    FISCO 3.x holds the request until the receipt exists and answers the receipt."""
    data, _require_proof = p.take(params, 1, 1, names="data, requireProof")
    return m.send_raw_transaction(ctx, [data])


@method3("getABI")
def get_abi(ctx: m.RpcContext, params: list[Any]) -> str:
    """The ABI deployed with a contract: FISCO 3.x stores it from the deploying transaction's
    ``abi`` field; this chain's transactions have none, so every contract's is ""."""
    (address,) = p.take(params, 1, names="address")
    p.as_address(address)
    return ""


# --- node and group ------------------------------------------------------------------------------

def _node_info(ctx: m.RpcContext) -> dict[str, Any]:
    api = ctx.api
    own = api.node_id
    nodes = m._node_list(ctx)
    kind = 0 if own in nodes.sealer_ids else 1  # FISCO 3.x NodeType: 0 consensus, 1 observer
    ini = {"binaryInfo": {"buildTime": m.BUILD_TIME, "gitCommitHash": m.GIT_COMMIT, "platform": "Python",
                          "version": m.CLIENT_VERSION}, "chainID": str(api.chain_id), "groupID": api.group_name,
           "nodeID": own.hex(), "nodeName": api.node_name, "smCryptoType": api.suite.name == "sm"}
    return {
        "iniConfig": json.dumps(ini, separators=(",", ":")),
        "microService": False,
        "name": api.node_name,
        "nodeID": own.hex(),
        "protocol": {"compatibilityVersion": BLOCK_VERSION, "maxSupportedVersion": 1, "minSupportedVersion": 0},
        "serviceInfo": [],
        "type": kind,
    }


def _group_info(ctx: m.RpcContext) -> dict[str, Any]:
    api = ctx.api
    nodes = m._node_list(ctx)
    genesis = {"consensusType": "pbft", "sealerList": [{"nodeID": n.node_id.hex(), "weight": n.weight} for n in nodes.sealers],
               "smCryptoType": api.suite.name == "sm"}
    return {"chainID": str(api.chain_id), "genesisConfig": json.dumps(genesis, separators=(",", ":")),
            "groupID": api.group_name, "iniConfig": "", "nodeList": [_node_info(ctx)]}


@method3("getGroupInfo")
def get_group_info(ctx: m.RpcContext, params: list[Any]) -> dict[str, Any]:
    p.take(params, 0)
    return _group_info(ctx)


@method3("getGroupInfoList", grouped=False)
def get_group_info_list(ctx: m.RpcContext, params: list[Any]) -> list[dict[str, Any]]:
    return [_group_info(group) for group in ctx.group_contexts()]


@method3("getGroupList", grouped=False)
def get_group_list(ctx: m.RpcContext, params: list[Any]) -> dict[str, Any]:
    return {"code": 0, "groupList": [group.api.group_name for group in ctx.group_contexts()], "msg": "success"}


@method3("getGroupNodeInfo")
def get_group_node_info(ctx: m.RpcContext, params: list[Any]) -> dict[str, Any] | None:
    """3.x ``[g, nodeName]``: this node's info (another node's name is refused by the selector check)."""
    p.take(params, 0)
    return _node_info(ctx)


@method3("getGroupPeers")
def get_group_peers(ctx: m.RpcContext, params: list[Any]) -> list[str]:
    """The group's nodes this node is connected to, and itself."""
    p.take(params, 0)
    connected = [m.node_hex(peer.node_id) for peer in ctx.api.peers() if peer.connected and peer.node_id]
    return [ctx.api.node_id.hex()] + [node for node in connected if node != ctx.api.node_id.hex()]


@method3("getPeers")
def get_peers(ctx: m.RpcContext, params: list[Any]) -> dict[str, Any]:
    """3.x: this node's endpoint and id, and per connected peer the same (p2pNodeID is its node id here),
    each with the groups it serves among this node's (group0, and those both announced on the link).
    A node's answer, whichever group the request names."""
    api = ctx.group_contexts()[0].api
    names = {group.api.group_id: group.api.group_name for group in ctx.group_contexts()}

    def entry(endpoint: str, node: str, groups: Sequence[int]) -> dict[str, Any]:
        served = [api.group_name] + [names[g] for g in groups if g in names and names[g] != api.group_name]
        return {"endPoint": endpoint, "groupNodeIDInfo": [{"group": name, "nodeIDList": [node]} for name in served],
                "p2pNodeID": node}

    own = entry(m.p2p_endpoint(api), api.node_id.hex(), list(names))
    own["peers"] = [entry(peer.endpoint, m.node_hex(peer.node_id), peer.groups) for peer in api.peers() if peer.connected]
    return own


@method3("getSyncStatus")
def get_sync_status(ctx: m.RpcContext, params: list[Any]) -> str:
    """3.x answers a JSON *string*; hashes without 0x, nodeID for nodeId."""
    status = m.get_sync_status(ctx, params)
    bare = lambda value: str(value or "")[2:] if str(value or "").startswith("0x") else str(value or "")  # noqa: E731
    view = {
        "archivedBlockNumber": 0,
        "blockNumber": int(status["blockNumber"]),
        "genesisHash": bare(status["genesisHash"]),
        "isSyncing": bool(status["isSyncing"]),
        "knownHighestNumber": int(status["knownHighestNumber"]),
        "knownLatestHash": bare(status["knownLatestHash"]),
        "latestHash": bare(status["latestHash"]),
        "nodeID": status["nodeId"],
        "peers": [{"archivedBlockNumber": 0, "blockNumber": peer["blockNumber"], "genesisHash": bare(peer["genesisHash"]),
                   "latestHash": bare(peer["latestHash"]), "nodeID": peer["nodeId"]} for peer in status["peers"]],
    }
    return json.dumps(view, separators=(",", ":"))


@method3("getConsensusStatus")
def get_consensus_status(ctx: m.RpcContext, params: list[Any]) -> str:
    """3.x answers a JSON *string* (PBFTConfig's status): quorum sizes, the sealers with weights."""
    p.take(params, 0)
    status = ctx.api.consensus_status()
    nodes = m._node_list(ctx).sealers
    own = ctx.api.node_id.hex()
    count = len(nodes)
    faulty = (count - 1) // 3 if count else 0
    head = ctx.store.head()
    view = int(status.get("view", 0))
    index = status.get("nodeIndex")
    answer = {
        "blockNumber": ctx.store.head_number(),
        "changeCycle": 0,
        "connectedNodeList": sum(1 for peer in ctx.api.peers() if peer.connected) + 1,
        "consensusNodeList": [{"index": i, "nodeID": n.node_id.hex(), "weight": n.weight} for i, n in enumerate(nodes)],
        "consensusNodesNum": count,
        "hash": head.hash(ctx.suite).hex() if head else "",
        "index": int(index) if isinstance(index, int) else -1,
        "isConsensusNode": any(n.node_id.hex() == own for n in nodes),
        "leaderIndex": int(status.get("leader", 0) or 0),
        "maxFaultyQuorum": faulty,
        "minRequiredQuorum": count - faulty,
        "nodeID": own,
        "timeout": int(status.get("toView", view)) > view,
        "view": view,
    }
    return json.dumps(answer, separators=(",", ":"))


def dispatch3(ctx: m.RpcContext, name: str, params: list[Any]) -> tuple[bool, Any]:
    """(True, result) when this dialect serves the request, (False, None) to leave it to 2.x's table."""
    entry = METHODS3.get(name)
    if entry is None:
        return False, None
    if entry.grouped:
        if not params and name in NO_PARAMS_3X:  # 2.x requires the group, so [] can only be 3.x
            return True, entry.handler(ctx, [])
        if not called_3x(params):
            return False, None
        return True, entry.handler(ctx, split_3x(ctx.api, params, name in GROUP_ONLY))
    if not called_3x(params) and (params or name in m.METHODS):  # 2.x's own (getGroupList [] or [1])
        return False, None
    return True, entry.handler(ctx, list(params[2:]) if params else [])
