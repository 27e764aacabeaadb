"""FISCO's own proof check, ported from its Java SDK, accepts our proofs in both suites.

The port follows java-sdk 2.x ``MerkleProofUtility.verifyTransaction`` /
``verifyTransactionReceipt`` and ``Merkle.calculateMerkleRoot`` line by line, on the same hex
strings the SDK handles: the leaf is ``toHexString(rlp(transactionIndex)) + hash[2:]``, then each
``{left, right}`` unit turns ``result`` into ``hash("0x" + join(left) + result[2:] + join(right))``,
and the final ``result`` must equal the block's ``transactionsRoot`` / ``receiptsRoot``. Its RLP is
the ``rlp`` package's, not ours, and it hashes with the suite's hash (the SDK's CryptoSuite: Keccak-256
or SM3). One substitution: FISCO's ``ReceiptEncoder`` is replaced by the raw receipt bytes our node
returns, since the receipt hash is over our receipt encoding.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest
import rlp

from chain.crypto.keys import KeyPair
from chain.execution.kv import encode_kv
from chain.ledger.transaction import new_transaction, sign_transaction
from chain.rpc.methods import RpcContext
from chain.rpc.server import handle_body
from tests.rpc.localnode import CHAIN_ID, GROUP_ID, LocalNode

BLOCK_TXS = 40  # more than 16: two levels of FISCO's 16-ary tree below the root, the last group partial


# --- the port (java-sdk 2.x) -------------------------------------------------------------------

def calculate_merkle_root(hash_hex: Callable[[str], str], units: list[dict[str, list[str]]] | None, leaf: str) -> str:
    """Merkle.calculateMerkleRoot(merkleProofUnits, hash)."""
    if units is None:
        return leaf
    result = leaf
    for unit in units:
        left = "".join(unit["left"])
        right = "".join(unit["right"])
        result = hash_hex("0x" + left + result[2:] + right)
    return result


def verify_transaction(hash_hex: Callable[[str], str], transaction_root: str, trans_and_proof: dict[str, Any]) -> bool:
    """MerkleProofUtility.verifyTransaction(transactionRoot, transAndProof)."""
    transaction = trans_and_proof["transaction"]
    index = int(transaction["transactionIndex"], 16)
    leaf = "0x" + rlp.encode(index).hex() + transaction["hash"][2:]
    return calculate_merkle_root(hash_hex, trans_and_proof["txProof"], leaf) == transaction_root


def verify_transaction_receipt(hash_hex: Callable[[str], str], receipt_root: str, receipt_and_proof: dict[str, Any]) -> bool:
    """MerkleProofUtility.verifyTransactionReceipt(receiptRoot, receiptAndProof)."""
    receipt = receipt_and_proof["transactionReceipt"]
    byte_index = rlp.encode(int(receipt["transactionIndex"], 16))
    rlp_hash = hash_hex(receipt_and_proof["raw"])  # FISCO: Hash.sha3(ReceiptEncoder.encode(receipt))
    leaf = "0x" + byte_index.hex() + rlp_hash[2:]
    return calculate_merkle_root(hash_hex, receipt_and_proof["receiptProof"], leaf) == receipt_root


# --- a chain to ask ----------------------------------------------------------------------------

@pytest.fixture(scope="module", params=["standard", "sm"])
def answers(request: pytest.FixtureRequest) -> dict[str, Any]:
    node = LocalNode(request.param)
    user = KeyPair(request.param, 5150)
    txs = [sign_transaction(new_transaction(to=b"\x00" * 19 + b"\x09", data=encode_kv(b"k%d" % i, b"v"),
                                            block_limit=500, chain_id=CHAIN_ID, group_id=GROUP_ID), user)
           for i in range(BLOCK_TXS)]
    for tx in txs:
        node.submit_transaction(tx)
    node.seal()
    ctx = RpcContext(node)

    def call(method: str, params: list[Any]) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        return handle_body(ctx, body.encode())["result"]

    suite = node.suite
    hashes = ["0x" + tx.hash(suite).hex() for tx in txs]
    return {
        "hash_hex": lambda data: "0x" + suite.hash(bytes.fromhex(data[2:])).hex(),
        "block": call("getBlockByNumber", [1, "0x1", False]),
        "txs": [call("getTransactionByHashWithProof", [1, h]) for h in hashes],
        "receipts": [call("getTransactionReceiptByHashWithProof", [1, h]) for h in hashes],
    }


def test_fiscos_check_accepts_every_transaction_proof(answers: dict[str, Any]) -> None:
    root = answers["block"]["transactionsRoot"]
    assert len(answers["block"]["transactions"]) == BLOCK_TXS
    for answer in answers["txs"]:
        assert [len(u["left"]) + len(u["right"]) for u in answer["txProof"][1:]] == [2, 0]  # 3 groups, then the top
        assert verify_transaction(answers["hash_hex"], root, answer)


def test_fiscos_check_accepts_every_receipt_proof(answers: dict[str, Any]) -> None:
    root = answers["block"]["receiptsRoot"]
    for answer in answers["receipts"]:
        assert verify_transaction_receipt(answers["hash_hex"], root, answer)


def test_fiscos_check_refuses_a_proof_for_another_index_or_root(answers: dict[str, Any]) -> None:
    """The port is not a yes-machine: a moved leaf or another block's root fails it."""
    tx_root, hash_hex = answers["block"]["transactionsRoot"], answers["hash_hex"]
    moved = json.loads(json.dumps(answers["txs"][3]))
    moved["transaction"]["transactionIndex"] = "0x4"
    assert not verify_transaction(hash_hex, tx_root, moved)
    assert not verify_transaction(hash_hex, answers["block"]["receiptsRoot"], answers["txs"][3])
