"""Each tamper of a stored block is caught by exactly the checks that should catch it.

The chain is a real one: four simulated sealers commit a few blocks (standard suite, fast), one
node's store is saved to a SQLite file — the same file a real node keeps — and each test edits its
own copy. The expected set of failing checks is exact, so deleting any check (or making it pass
everything) fails a test here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chain.crypto.keys import KeyPair
from chain.crypto.suite import get_suite
from chain.execution.kv import encode_kv
from chain.ledger.transaction import new_transaction, sign_transaction
from chain.sim import SimConfig, Simulation
from chain.tamper.checks import (CHECKS, HASH_LINKS, MERKLE_ROOT, RE_EXECUTION, SIGNATURE_LIST, TX_SIGNATURES,
                                 AuditReport, audit, check_transaction_signatures)
from chain.tamper.forge import TAMPERS, TamperError, changed_transaction, tamper
from chain.tamper.node_files import locate, make_executor, open_store, overwrite_block, save_node

BLOCK = 3  # the block tampered with; the chain holds at least BLOCK + 1 blocks, so it has a child


@pytest.fixture(scope="module")
def simulated() -> Simulation:
    sim = Simulation(SimConfig(nodes=4, suite="standard", seed=3))
    sim.run_blocks(BLOCK + 2, max_time_ms=60_000)
    return sim


@pytest.fixture
def node_dir(simulated: Simulation, tmp_path: Path) -> Path:
    """A fresh copy of node 0's store on disk, in a node directory."""
    return save_node(simulated.nodes[0].store, simulated.genesis, tmp_path / "node0", name="node0", executor_kind="kv")


def audit_dir(directory: Path) -> AuditReport:
    files = locate(directory)
    with open_store(files) as store:
        return audit(store, files.genesis, make_executor(files))


def tamper_dir(directory: Path, what: str, number: int = BLOCK, index: int = 0) -> None:
    files = locate(directory)
    with open_store(files) as store:
        block = store.block_by_number(number)
        assert block is not None
        overwrite_block(store, tamper(block, what, index, files.genesis.suite))


def test_untouched_store_passes_every_check(node_dir: Path) -> None:
    report = audit_dir(node_dir)
    assert report.head >= BLOCK + 1
    assert report.ok and report.refused_at is None
    assert {f.check for f in report.findings if f.number == BLOCK} == set(CHECKS)


@pytest.mark.parametrize("what, caught", [
    # standard suite: a changed transaction still recovers *a* sender, so its signature check passes
    ("tx", {MERKLE_ROOT, RE_EXECUTION}),
    ("tx-resigned", {MERKLE_ROOT, RE_EXECUTION}),
    ("tx-and-root", {SIGNATURE_LIST, HASH_LINKS, RE_EXECUTION}),
    ("signature", {SIGNATURE_LIST}),
])
def test_each_tamper_is_caught_by_exactly_its_checks(node_dir: Path, what: str, caught: set[str]) -> None:
    tamper_dir(node_dir, what)
    report = audit_dir(node_dir)
    assert report.failed_checks(BLOCK) == caught, report.failures()
    assert not report.failures(BLOCK - 1) and all(f.number == BLOCK for f in report.failures())
    # a syncing node refuses the block (signature list first, then re-execution) and stops there
    assert report.refused_at == BLOCK
    assert ("does not verify" if SIGNATURE_LIST in caught else "different result") in report.refusal


def test_the_last_block_has_no_child_to_break(node_dir: Path) -> None:
    head = audit_dir(node_dir).head
    tamper_dir(node_dir, "tx-and-root", number=head)
    assert audit_dir(node_dir).failed_checks(head) == {SIGNATURE_LIST, RE_EXECUTION}


def test_a_tampered_genesis_is_another_chain(node_dir: Path) -> None:
    files = locate(node_dir)
    with open_store(files) as store:
        genesis = store.block_by_number(0)
        assert genesis is not None
        overwrite_block(store, genesis.with_execution(receipts_root=b"\x01" * 32, state_root=genesis.header.state_root,
                                                      gas_used=0))
    report = audit_dir(node_dir)
    assert report.refused_at == 0 and report.failed_checks(0) == {HASH_LINKS}


@pytest.mark.parametrize("suite_name", ["sm", "standard"])
def test_transaction_signature_check(suite_name: str) -> None:
    """sm: the public key in v no longer verifies a changed transaction; standard: the signature is malformed only if v is."""
    suite = get_suite(suite_name)
    tx = sign_transaction(new_transaction(to=b"\x10" * 20, data=encode_kv(b"k", b"1"), block_limit=10), KeyPair(suite_name, 7))
    block = type("B", (), {"transactions": (changed_transaction(tx),)})()
    problem = check_transaction_signatures(suite, block)  # type: ignore[arg-type]
    if suite_name == "sm":
        assert problem is not None and "transaction 0" in problem
    else:
        assert problem is None  # recovers someone else's key: only the Merkle root tells
        broken = type("B", (), {"transactions": (tx.__class__(**{**_fields(tx), "v": 30}),)})()
        assert "v must be 27 or 28" in (check_transaction_signatures(suite, broken) or "")  # type: ignore[arg-type]


def _fields(tx: object) -> dict[str, object]:
    from chain.ledger.transaction import FIELD_NAMES

    return {name: getattr(tx, name) for name in FIELD_NAMES}


def test_impossible_edits_are_refused(simulated: Simulation) -> None:
    block = simulated.nodes[0].store.block_by_number(BLOCK)
    assert block is not None
    with pytest.raises(TamperError, match="no index 999"):
        tamper(block, "tx", 999, "standard")
    with pytest.raises(TamperError, match="no index 9"):
        tamper(block, "signature", 9, "standard")
    with pytest.raises(TamperError, match="unknown tamper"):
        tamper(block, "nosuch", 0, "standard")
    assert set(TAMPERS) == {"tx", "tx-resigned", "tx-and-root", "signature"}


def test_a_row_that_does_not_decode_stops_the_replay(node_dir: Path) -> None:
    import sqlite3

    files = locate(node_dir)
    with sqlite3.connect(files.store_path) as db:
        db.execute("UPDATE blocks SET raw = ? WHERE number = ?", (b"\xc1\x80garbage", BLOCK))
    report = audit_dir(node_dir)
    assert report.refused_at == BLOCK and "does not decode" in report.failures(BLOCK)[0].detail
    assert not report.failures(BLOCK - 1)
