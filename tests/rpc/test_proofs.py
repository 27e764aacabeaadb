"""Merkle proofs from the node check out against the block header — and tampering is caught."""

from __future__ import annotations

import copy

import pytest

from chain.sdk.errors import ProofError
from chain.sdk.proof import checked_header, verify_receipt_proof, verify_transaction_proof


def h(data: bytes) -> str:
    return "0x" + data.hex()


@pytest.fixture(scope="module")
def proved(rpc, chain):
    suite = chain["node"].suite
    tx = chain["good"][1]
    tx_answer = rpc("getTransactionByHashWithProof", [1, h(tx.hash(suite))])["result"]
    receipt_answer = rpc("getTransactionReceiptByHashWithProof", [1, h(tx.hash(suite))])["result"]
    block_view = rpc("getBlockByHash", [1, tx_answer["transaction"]["blockHash"], False])["result"]
    return suite, tx, tx_answer, receipt_answer, block_view


def test_every_transaction_and_receipt_of_a_block_verifies(rpc, chain):
    suite = chain["node"].suite
    header = checked_header(suite, rpc("getBlockByNumber", [1, "0x1", False])["result"])
    for tx in chain["good"]:
        answer = rpc("getTransactionByHashWithProof", [1, h(tx.hash(suite))])["result"]
        assert [len(u["left"]) + len(u["right"]) for u in answer["txProof"]] == [2, 0]  # 3 leaves, then the top
        assert verify_transaction_proof(suite, answer, header) == tx
        receipt_answer = rpc("getTransactionReceiptByHashWithProof", [1, h(tx.hash(suite))])["result"]
        receipt = verify_receipt_proof(suite, receipt_answer, header)
        assert receipt.transaction_hash == tx.hash(suite) and receipt.ok


def test_a_single_transaction_block_verifies(rpc, chain):
    suite = chain["node"].suite
    bad = chain["bad"]
    answer = rpc("getTransactionByHashWithProof", [1, h(bad.hash(suite))])["result"]
    header = checked_header(suite, rpc("getBlockByNumber", [1, "0x2", False])["result"])
    assert answer["txProof"] == [{"left": [], "right": []}]  # root = H(rlp(0) ‖ hash)
    assert verify_transaction_proof(suite, answer, header) == bad


def test_unknown_transaction_has_no_proof(rpc):
    assert rpc("getTransactionByHashWithProof", [1, h(b"\x01" * 32)])["result"] is None
    assert rpc("getTransactionReceiptByHashWithProof", [1, h(b"\x01" * 32)])["result"] is None


def test_tampered_sibling_is_caught(proved):
    suite, _, tx_answer, receipt_answer, block_view = proved
    header = checked_header(suite, block_view)
    forged = copy.deepcopy(tx_answer)
    unit = forged["txProof"][0]
    (unit["left"] or unit["right"])[0] = "80" + "00" * 32
    with pytest.raises(ProofError, match="transactionsRoot"):
        verify_transaction_proof(suite, forged, header)
    forged = copy.deepcopy(receipt_answer)
    unit = forged["receiptProof"][0]  # the same siblings, but the leaf claimed at another place in its group
    unit["left"], unit["right"] = (unit["left"] + unit["right"][:1], unit["right"][1:]) if unit["right"] else (unit["left"][:-1], unit["left"][-1:])
    with pytest.raises(ProofError, match="receiptsRoot"):
        verify_receipt_proof(suite, forged, header)


def test_a_raw_that_differs_from_the_view_is_caught(proved, chain):
    suite, _, tx_answer, receipt_answer, block_view = proved
    header = checked_header(suite, block_view)
    forged = dict(tx_answer, raw=h(chain["good"][0].encode()))  # another tx of the same block
    with pytest.raises(ProofError, match="does not hash"):
        verify_transaction_proof(suite, forged, header)
    shown = copy.deepcopy(receipt_answer)
    shown["transactionReceipt"]["status"] = "0x16"
    with pytest.raises(ProofError, match="differs"):
        verify_receipt_proof(suite, shown, header)


def test_a_header_that_lies_about_its_root_is_caught(proved):
    suite, _, tx_answer, _, block_view = proved
    lying = dict(block_view, transactionsRoot=h(b"\x05" * 32))
    with pytest.raises(ProofError, match="do not hash"):
        checked_header(suite, lying)


def test_proof_against_another_block_is_caught(proved, rpc):
    suite, _, tx_answer, _, _ = proved
    other = checked_header(suite, rpc("getBlockByNumber", [1, "0x2", False])["result"])
    with pytest.raises(ProofError, match="another block"):
        verify_transaction_proof(suite, tx_answer, other)


def test_a_proof_of_absurd_size_is_refused_before_hashing(proved):
    """At most 17 units (16 levels cover 16**16 leaves) of fewer than 16 siblings a side."""
    suite, _, tx_answer, _, block_view = proved
    header = checked_header(suite, block_view)
    deep = dict(tx_answer, txProof=[{"left": [], "right": []}] * 18)
    with pytest.raises(ProofError, match="at most 17"):
        verify_transaction_proof(suite, deep, header)
    wide = dict(tx_answer, txProof=[{"left": ["00"] * 16, "right": []}])
    with pytest.raises(ProofError, match="fewer than 16"):
        verify_transaction_proof(suite, wide, header)
    with pytest.raises(ProofError, match="units"):
        verify_transaction_proof(suite, dict(tx_answer, txProof={"index": 0}), header)
