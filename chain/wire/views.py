"""The JSON shapes of blocks, transactions, receipts and proofs (FISCO BCOS 2.x), both ways.

The server renders ledger records with the ``*_json`` functions; a client that wants to check what
it was told (Merkle proofs) rebuilds the records with the ``*_from_json`` functions. Keeping both
directions in one module is what guarantees they agree.

Conventions, as in FISCO 2.x: numbers are ``0x`` hex strings, byte strings are ``0x`` hex, node ids
are hex *without* ``0x``. The field names, types and nesting are FISCO 2.x's (``Rpc.cpp``
``parseTransactionIntoResponse`` / ``parseReceiptIntoResponse``), since its SDKs deserialise them
strictly: a block's ``extraData`` is an array of hex strings (one item: our header's one field), a
contract creation's ``to`` is the zero address, a transaction carries its ``signature`` object.
Where the chain has no such value the field still appears with the value FISCO itself shows for
"none" (``dbHash`` is the state root, see header_json). ``logsBloom`` is the receipts' blooms
(chain.ledger.bloom). docs/rpc.md lists each such field.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Sequence

from chain.crypto.suite import CryptoSuite
from chain.errors import LedgerError
from chain.ledger import bloom
from chain.ledger.block import Block, BlockHeader
from chain.ledger.merkle import FANOUT, MAX_DEPTH, MerkleProof, ProofUnit
from chain.ledger.receipt import Log, Receipt
from chain.ledger.status import Status
from chain.ledger.transaction import Transaction

ZERO_ADDRESS = "0x" + "00" * 20
EMPTY_BLOOM = "0x" + bloom.EMPTY_BLOOM.hex()  # no logs: FISCO shows 256 zero bytes


def hex_int(value: int) -> str:
    return hex(value)


def hex_bytes(data: bytes) -> str:
    return "0x" + data.hex()


def _int(value: Any, what: str) -> int:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise LedgerError(f"{what}: expected a 0x hex number, got {value!r}")
    try:
        return int(value, 16)
    except ValueError:
        raise LedgerError(f"{what}: not a hex number: {value!r}") from None


def _bytes(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise LedgerError(f"{what}: expected a hex string, got {value!r}")
    try:
        return bytes.fromhex(value[2:] if value.startswith("0x") else value)
    except ValueError:
        raise LedgerError(f"{what}: not hex: {value!r}") from None


# --- transactions ------------------------------------------------------------------------------

SENDER_CACHE_SIZE = 1 << 16
_senders: OrderedDict[bytes, bytes] = OrderedDict()  # tx hash -> sender address, most recent last


def sender_of(suite: CryptoSuite, tx: Transaction) -> bytes:
    """The sender's address of a transaction the node has already admitted (pooled or committed).

    Such a transaction's signature was verified on admission, so showing it does not verify it
    again: that would cost a signature check per transaction on every block view (half a second
    for a 1000-transaction sm block, with the node's event loop blocked). In the sm suite the
    public key travels in ``v``; in the standard suite it must be recovered, which is cached.
    """
    if suite.name == "sm":
        return suite.hash(tx.v.to_bytes(64, "big"))[-20:]  # address = last 20 bytes of SM3(public key)
    tx_hash = tx.hash(suite)
    address = _senders.get(tx_hash)
    if address is None:
        address = tx.sender(suite)
        _senders[tx_hash] = address
        if len(_senders) > SENDER_CACHE_SIZE:
            _senders.popitem(last=False)
    return address


def transaction_json(
    suite: CryptoSuite, tx: Transaction, block_hash: bytes | None = None,
    block_number: int | None = None, index: int | None = None,
) -> dict[str, Any]:
    """A transaction as getTransactionByHash shows it; the block fields are left out for pending ones."""
    view: dict[str, Any] = {}
    if block_hash is not None and block_number is not None and index is not None:
        view.update(blockHash=hex_bytes(block_hash), blockNumber=hex_int(block_number),
                    transactionIndex=hex_int(index))
    view.update(
        hash=hex_bytes(tx.hash(suite)),
        **{"from": hex_bytes(sender_of(suite, tx))},
        to=hex_bytes(tx.to) if tx.to else ZERO_ADDRESS,  # FISCO 2.x: the zero address for a contract creation
        gas=hex_int(tx.gas_limit),
        gasPrice=hex_int(tx.gas_price),
        input=hex_bytes(tx.data),
        nonce=hex_int(tx.nonce),
        value=hex_int(tx.value),
        blockLimit=hex_int(tx.block_limit),
        chainId=hex_int(tx.chain_id),
        groupId=hex_int(tx.group_id),
        extraData=hex_bytes(tx.extra_data),
    )
    if tx.is_signed:
        view["signature"] = signature_json(suite, tx)
    return view


def signature_json(suite: CryptoSuite, tx: Transaction) -> dict[str, str]:
    """FISCO 2.x's ``signature {r, s, v, signature}``: v is the recovery id (0/1) in the standard
    suite and the signer's 64-byte public key in the sm suite; ``signature`` is r || s || v."""
    r, s = tx.r.to_bytes(32, "big"), tx.s.to_bytes(32, "big")
    if suite.name == "sm":
        v = hex_bytes(tx.v.to_bytes(64, "big"))
        joined = r + s + tx.v.to_bytes(64, "big")
    else:
        recovery = tx.v - 27 if tx.v in (27, 28) else tx.v
        v = hex_int(recovery)
        joined = r + s + bytes([recovery & 0xFF])
    return {"r": hex_bytes(r), "s": hex_bytes(s), "signature": hex_bytes(joined), "v": v}


# --- receipts ----------------------------------------------------------------------------------

def log_json(log: Log) -> dict[str, Any]:
    return {"address": hex_bytes(log.address), "topics": [hex_bytes(t) for t in log.topics], "data": hex_bytes(log.data)}


def status_message(status: int) -> str:
    """FISCO 2.x's ``statusMsg``: the TransactionException's name as its ``operator<<`` prints it
    ("None" for success, then "OutOfGas", "RevertInstruction", "BlockLimitCheckFail"...)."""
    try:
        name = Status(status).name
    except ValueError:
        return f"Unknown({status})"
    if status == Status.SUCCESS:
        return "None"
    return "".join(word.capitalize() for word in name.split("_"))


def receipt_json(suite: CryptoSuite, receipt: Receipt, tx: Transaction, block: Block) -> dict[str, Any]:
    """A receipt as getTransactionReceipt shows it (status "0x0" is success)."""
    return {
        "blockHash": hex_bytes(block.hash(suite)),
        "blockNumber": hex_int(receipt.block_number),
        "contractAddress": hex_bytes(receipt.contract_address) if receipt.contract_address else ZERO_ADDRESS,
        "from": hex_bytes(sender_of(suite, tx)),
        "to": hex_bytes(tx.to) if tx.to else ZERO_ADDRESS,
        "gasUsed": hex_int(receipt.gas_used),
        "input": hex_bytes(tx.data),
        "logs": [log_json(log) for log in receipt.logs],
        "logsBloom": receipt_bloom(suite, receipt),
        "output": hex_bytes(receipt.output),
        "remainGas": hex_int(max(tx.gas_limit - receipt.gas_used, 0)),
        "root": hex_bytes(block.header.state_root),
        "status": hex_int(receipt.status),
        "statusMsg": status_message(receipt.status),
        "transactionHash": hex_bytes(receipt.transaction_hash),
        "transactionIndex": hex_int(receipt.transaction_index),
    }


def batch_receipt_json(suite: CryptoSuite, receipt: Receipt, tx: Transaction, index: int) -> dict[str, Any]:
    """One receipt of getBatchReceiptsBy...AndRange: FISCO 2.x's shorter receipt (no block fields,
    input, root or bloom: the batch's blockInfo carries the block)."""
    return {
        "contractAddress": hex_bytes(receipt.contract_address) if receipt.contract_address else ZERO_ADDRESS,
        "from": hex_bytes(sender_of(suite, tx)),
        "gasUsed": hex_int(receipt.gas_used),
        "logs": [log_json(log) for log in receipt.logs],
        "output": hex_bytes(receipt.output),
        "status": hex_int(receipt.status),
        "to": hex_bytes(tx.to) if tx.to else ZERO_ADDRESS,
        "transactionHash": hex_bytes(receipt.transaction_hash),
        "transactionIndex": hex_int(index),
    }


def receipt_from_json(view: dict[str, Any]) -> Receipt:
    """The Receipt a receipt view describes (so its hash can be checked against a proof)."""
    try:
        contract = _bytes(view["contractAddress"], "contractAddress")
        return Receipt(
            status=_int(view["status"], "status"),
            output=_bytes(view["output"], "output"),
            contract_address=b"" if contract == bytes(20) else contract,
            gas_used=_int(view["gasUsed"], "gasUsed"),
            logs=tuple(
                Log(_bytes(log["address"], "log.address"), tuple(_bytes(t, "log.topic") for t in log["topics"]),
                    _bytes(log["data"], "log.data"))
                for log in view["logs"]
            ),
            block_number=_int(view["blockNumber"], "blockNumber"),
            transaction_hash=_bytes(view["transactionHash"], "transactionHash"),
            transaction_index=_int(view["transactionIndex"], "transactionIndex"),
        )
    except (KeyError, TypeError) as exc:
        raise LedgerError(f"receipt view is missing or mistypes a field: {exc}") from exc


# --- blocks ------------------------------------------------------------------------------------

def header_json(suite: CryptoSuite, block: Block, receipts: Sequence[Receipt] = ()) -> dict[str, Any]:
    """The header fields of a block view; its receipts give ``logsBloom`` (none given: the empty bloom)."""
    header = block.header
    return {
        "hash": hex_bytes(block.hash(suite)),
        "number": hex_int(header.number),
        "parentHash": hex_bytes(header.parent_hash),
        "timestamp": hex_int(header.timestamp),
        "sealer": hex_int(header.sealer),
        "sealerList": [node.hex() for node in header.sealer_list],
        "transactionsRoot": hex_bytes(header.transactions_root),
        "receiptsRoot": hex_bytes(header.receipts_root),
        "stateRoot": hex_bytes(header.state_root),
        "gasUsed": hex_int(header.gas_used),
        "gasLimit": "0x0",  # FISCO has no block gas limit; 2.x reports 0x0 too
        "extraData": [hex_bytes(header.extra_data)] if header.extra_data else [],
        "dbHash": hex_bytes(header.state_root),  # FISCO 2.x: the hash of the block's state changes
        "logsBloom": block_bloom(suite, receipts),
        "signatureList": [{"index": hex_int(i), "signature": hex_bytes(sig)} for i, sig in block.signatures],
    }


def block_json(suite: CryptoSuite, block: Block, include_transactions: bool,
               receipts: Sequence[Receipt] = ()) -> dict[str, Any]:
    """A block as getBlockByNumber shows it: full transactions or just their hashes."""
    view = header_json(suite, block, receipts)
    block_hash = block.hash(suite)
    if include_transactions:
        view["transactions"] = [
            transaction_json(suite, tx, block_hash, block.number, i) for i, tx in enumerate(block.transactions)
        ]
    else:
        view["transactions"] = [hex_bytes(tx.hash(suite)) for tx in block.transactions]
    return view


def header_from_json(view: dict[str, Any]) -> BlockHeader:
    """The BlockHeader a block view describes; its hash must equal view["hash"] for the view to be honest."""
    try:
        return BlockHeader(
            parent_hash=_bytes(view["parentHash"], "parentHash"),
            number=_int(view["number"], "number"),
            timestamp=_int(view["timestamp"], "timestamp"),
            sealer=_int(view["sealer"], "sealer"),
            sealer_list=tuple(_bytes(node, "sealerList") for node in view["sealerList"]),
            transactions_root=_bytes(view["transactionsRoot"], "transactionsRoot"),
            receipts_root=_bytes(view["receiptsRoot"], "receiptsRoot"),
            state_root=_bytes(view["stateRoot"], "stateRoot"),
            gas_used=_int(view["gasUsed"], "gasUsed"),
            extra_data=_extra_data(view["extraData"]),
        )
    except (KeyError, TypeError) as exc:
        raise LedgerError(f"block view is missing or mistypes a field: {exc}") from exc


def _extra_data(value: Any) -> bytes:
    """A header's extraData from its 2.x view (an array of at most one hex string) or a bare hex string."""
    if isinstance(value, list):
        if len(value) > 1:
            raise LedgerError("extraData: this chain's headers hold one extra-data field, got several")
        return _bytes(value[0], "extraData") if value else b""
    return _bytes(value, "extraData")


# --- log blooms --------------------------------------------------------------------------------

def block_bloom(suite: CryptoSuite, receipts: Sequence[Receipt]) -> str:
    """The block's ``logsBloom``: its receipts' blooms OR-ed (chain.ledger.bloom)."""
    return hex_bytes(bloom.block_bloom(suite, receipts))


def receipt_bloom(suite: CryptoSuite, receipt: Receipt) -> str:
    return hex_bytes(bloom.receipt_bloom(suite, receipt))


# --- Merkle proofs -----------------------------------------------------------------------------

MAX_PROOF_UNITS = MAX_DEPTH + 1


def proof_json(proof: MerkleProof) -> list[dict[str, list[str]]]:
    """FISCO 2.x's proof: one {left, right} unit per level, nodes as hex without 0x (see chain.ledger.merkle)."""
    return [{"left": [node.hex() for node in unit.left], "right": [node.hex() for node in unit.right]} for unit in proof]


def proof_from_json(view: Any) -> MerkleProof:
    try:
        if not isinstance(view, list) or len(view) > MAX_PROOF_UNITS:
            raise LedgerError(f"proof must be a list of at most {MAX_PROOF_UNITS} {{left, right}} units")
        units = []
        for unit in view:
            sides = [unit["left"], unit["right"]]
            if any(not isinstance(side, list) or len(side) >= FANOUT for side in sides):
                raise LedgerError(f"a proof unit's left and right are lists of fewer than {FANOUT} nodes")
            units.append(ProofUnit(*(tuple(_bytes(node, "proof node") for node in side) for side in sides)))
        return tuple(units)
    except (KeyError, TypeError) as exc:
        raise LedgerError(f"proof is missing or mistypes a field: {exc}") from exc
