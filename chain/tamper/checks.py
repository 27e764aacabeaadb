"""Every check that can notice a tampered block, run the way a node syncing from its holder runs them.

A node never re-reads its own stored blocks, so an edit to its disk goes unnoticed *there*; the
evidence shows when someone else reads the block: a lagging node syncing from it, an auditor, a
client checking a Merkle proof. ``audit`` plays that reader. It replays the stored chain from
genesis on a fresh in-memory store, and for each block runs five checks, each with the sentence
that says why it catches what it catches (``WHY``):

1. transaction signatures — each transaction is signed by its sender;
2. Merkle root           — the header commits to the transactions;
3. signature list        — a quorum of sealers signed the header's hash (the Checkpoint phase);
4. hash links            — each header holds its parent's hash;
5. re-execution          — executing the block must give the header that was signed.

Checks 3 and 5 are the very functions block sync calls (chain.consensus.pbft.block_sync), so what the audit
reports is what a syncing node would refuse. Like sync, the replay stops at the first block a
syncing node would refuse: what comes after cannot be executed on a state it never reached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from chain.consensus.pbft import rpbft
from chain.consensus.pbft.checkpoint import verify_block_signatures
from chain.crypto.suite import CryptoSuite, get_suite
from chain.errors import ChainError
from chain.execution.result import BlockExecutor, ExecutionResult
from chain.ledger.block import Block
from chain.ledger.genesis import GenesisConfig, build_genesis, open_chain
from chain.ledger.merkle import transactions_root
from chain.ledger.store import Store
from chain.ledger.system import consensus_nodes
from chain.consensus.pbft.block_sync import re_execute

TX_SIGNATURES = "transaction signatures"
MERKLE_ROOT = "Merkle root"
SIGNATURE_LIST = "signature list"
HASH_LINKS = "hash links"
RE_EXECUTION = "re-execution"
CHECKS = (TX_SIGNATURES, MERKLE_ROOT, SIGNATURE_LIST, HASH_LINKS, RE_EXECUTION)

WHY: dict[str, str] = {
    TX_SIGNATURES: "each transaction is signed by its sender over its first ten fields; change a field and the "
                   "signature no longer fits (sm: the public key carried in v does not verify it; standard: the key "
                   "recovered from v, r, s is someone else's, so the sender silently changes)",
    MERKLE_ROOT: "the header's transactions root is the Merkle root of the transaction hashes; change one byte of "
                 "one transaction and its hash, hence the root, changes",
    SIGNATURE_LIST: "a quorum of sealers signed the header's hash in the Checkpoint phase; a changed header has "
                    "another hash their signatures do not fit, and a changed signature fails against its sealer's "
                    "public key (the list is not part of the hash, so only this check sees it)",
    HASH_LINKS: "each header holds the hash of its parent; change a header and its hash changes, so its child "
                "no longer points at it",
    RE_EXECUTION: "a syncing node executes the block on its own state; the receipts (each naming its transaction's "
                  "hash) and the state root must rebuild exactly the header the quorum signed",
}


@dataclass(frozen=True)
class Finding:
    """The verdict of one check on one block: passed, or failed with what was found."""

    number: int
    check: str
    ok: bool
    detail: str


@dataclass
class AuditReport:
    """All findings, block by block, and where (if anywhere) a syncing node would stop."""

    head: int
    findings: list[Finding] = field(default_factory=list)
    refused_at: int | None = None  # the first block a syncing node refuses
    refusal: str = ""  # the reason sync would give for it

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    def failures(self, number: int | None = None) -> list[Finding]:
        return [f for f in self.findings if not f.ok and (number is None or f.number == number)]

    def failed_checks(self, number: int) -> set[str]:
        return {f.check for f in self.failures(number)}


# --- the checks: each returns None when the block passes, or what it found -------------------------

def check_transaction_signatures(suite: CryptoSuite, block: Block) -> str | None:
    """Every transaction's signature yields its sender (chain.ledger.transaction.sender_public_key)."""
    for index, tx in enumerate(block.transactions):
        try:
            tx.sender(suite)
        except ChainError as exc:
            return f"transaction {index}: {exc}"
    return None


def check_merkle_root(suite: CryptoSuite, block: Block) -> str | None:
    """The header's transactions root is the Merkle root of the block's transactions."""
    computed = transactions_root(suite, block.transactions)
    if computed != block.header.transactions_root:
        return (f"header says {block.header.transactions_root.hex()[:16]}…, the transactions give "
                f"{computed.hex()[:16]}…")
    return None


def check_signature_list(suite: CryptoSuite, block: Block, sealer_ids: tuple[bytes, ...],
                         weights: tuple[int, ...]) -> str | None:
    """A quorum of the sealers in force signed this block's hash (chain.consensus.pbft.checkpoint)."""
    try:
        verify_block_signatures(suite, block, sealer_ids, weights)
    except ChainError as exc:
        return str(exc)
    return None


def check_hash_links(suite: CryptoSuite, block: Block, parent: Block | None, child: Block | None) -> str | None:
    """The block points at its parent's hash, and its child points at its hash."""
    if parent is not None and block.header.parent_hash != parent.hash(suite):
        return f"its parent hash is not the hash of block {parent.number}"
    if child is not None and child.header.parent_hash != block.hash(suite):
        return (f"block {child.number}'s parent hash is {child.header.parent_hash.hex()[:16]}…, "
                f"not this block's hash {block.hash(suite).hex()[:16]}…")
    return None


def check_re_execution(suite: CryptoSuite, executor: BlockExecutor, replay: Store,
                       block: Block) -> tuple[str | None, ExecutionResult | None]:
    """Execute the block on the replayed state (chain.consensus.pbft.block_sync.re_execute); (problem, result)."""
    try:
        return None, re_execute(suite, executor, replay, block)
    except ChainError as exc:
        return str(exc), None


# --- the audit ---------------------------------------------------------------------------------------

Stored = Block | ChainError  # a stored block, or why it cannot be read


def stored_blocks(store: Store) -> Iterator[tuple[int, Stored]]:
    """(number, block) for the store's blocks 0..head in order; a row that does not decode comes as its error."""
    for number in range(store.head_number() + 1):
        try:
            block = store.block_by_number(number)
        except ChainError as exc:
            yield number, exc
            continue
        yield number, block if block is not None else ChainError(f"block {number} is missing")


def with_neighbours(blocks: Iterator[tuple[int, Stored]]) -> Iterator[tuple[int, Stored | None, Stored, Stored | None]]:
    """(number, parent, block, child) for each block, holding three blocks in memory at a time."""
    parent: Stored | None = None
    current = next(blocks, None)
    while current is not None:
        following = next(blocks, None)
        yield current[0], parent, current[1], following[1] if following is not None else None
        parent, current = current[1], following


def audit(store: Store, genesis: GenesisConfig, executor: BlockExecutor) -> AuditReport:
    """Replay `store` from genesis as a syncing node would, running every check on every block."""
    suite = get_suite(genesis.suite)
    report = AuditReport(head=store.head_number())
    expected_genesis = build_genesis(genesis)[0].hash(suite)
    replay = open_chain(":memory:", genesis)
    try:
        for number, parent, block, child in with_neighbours(stored_blocks(store)):
            if number == 0:
                # The stored chain must start from this genesis, or it is another chain altogether.
                if isinstance(block, ChainError) or block.hash(suite) != expected_genesis:
                    report.findings.append(Finding(0, HASH_LINKS, False, "block 0 is not this chain's genesis block"))
                    report.refused_at, report.refusal = 0, "another genesis"
                    break
                continue
            if isinstance(block, ChainError):
                report.findings.append(Finding(number, RE_EXECUTION, False, f"the stored block does not decode: {block}"))
                report.refused_at, report.refusal = number, str(block)
                break
            nodes = consensus_nodes(replay, number)
            # rPBFT: a quorum of the block's epoch's working sealers (resting ones weigh 0)
            problem_sig = check_signature_list(suite, block, nodes.sealer_ids,
                                               rpbft.weights_in_force(suite, replay, number, nodes))
            problem_run, result = check_re_execution(suite, executor, replay, block)
            problems = {
                TX_SIGNATURES: check_transaction_signatures(suite, block),
                MERKLE_ROOT: check_merkle_root(suite, block),
                SIGNATURE_LIST: problem_sig,
                HASH_LINKS: check_hash_links(suite, block, parent if isinstance(parent, Block) else None,
                                             child if isinstance(child, Block) else None),
                RE_EXECUTION: problem_run,
            }
            for check in CHECKS:
                problem = problems[check]
                report.findings.append(Finding(number, check, problem is None, problem or "ok"))
            # Sync refuses a block whose signatures or re-execution fail (the order it checks them in).
            refusal = problem_sig or problem_run
            if refusal is not None:
                report.refused_at, report.refusal = number, refusal
                break
            assert result is not None
            replay.commit_block(result.block.with_signatures(block.signatures), result.receipts, result.changes)
    finally:
        replay.close()
    return report
