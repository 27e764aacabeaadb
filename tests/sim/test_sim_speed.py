"""What makes big simulations affordable must not change what they do (issue 19: 100 rPBFT nodes)."""

from __future__ import annotations

import pytest

from chain.crypto.suite import get_suite
from chain.ledger import codec
from chain.ledger.block import Block
from chain.sim import SimConfig, Simulation
from chain.sim.trace import Recorder
from chain.sim.verify_once import verify_once


def _run(**overrides: object) -> tuple[str, Simulation]:
    config: dict[str, object] = dict(nodes=4, seed=11, suite="sm", loss=0.05, byzantine={3: "forge"})
    config.update(overrides)
    sim = Simulation(SimConfig(**config))  # type: ignore[arg-type]
    recorder = Recorder()
    sim.subscribe(recorder)
    sim.run_blocks(3, 30_000)
    return recorder.text(), sim


@pytest.mark.timeout(60)
def test_shared_verifications_give_the_same_run_and_verify_each_signature_once() -> None:
    shared, sim = _run(share_verifications=True)
    every, plain = _run(share_verifications=False)
    assert shared == every  # a shortcut in CPU only: same trace byte for byte
    assert plain.verifications is None
    memo = sim.verifications
    assert memo is not None and memo.calls > 0
    # Broadcasts reach 3 receivers each: most calls are answered from the memo.
    assert memo.computed < memo.calls / 2
    assert sim.check().ok


def test_the_memo_answers_per_key_hash_and_signature() -> None:
    suite, memo = verify_once(get_suite("sm"))
    alice, bob = suite.public_key(7), suite.public_key(8)
    digest = suite.hash(b"block")
    signature = suite.sign(7, digest)
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    for _ in range(2):  # asked twice: the second round comes from the memo, with the same answers
        assert suite.verify(alice, digest, signature)
        assert not suite.verify(alice, digest, flipped)
        assert not suite.verify(bob, digest, signature)
        assert not suite.verify(alice, suite.hash(b"other"), signature)
    assert (memo.calls, memo.computed) == (8, 4)
    assert isinstance(suite, type(get_suite("sm"))) and suite.name == "sm"


@pytest.mark.timeout(60)
def test_block_decoding_is_shared_and_encoding_splices_the_header_unchanged() -> None:
    _, sim = _run(suite="standard", byzantine={})
    block = sim.nodes[0].store.block_by_number(1)
    assert block is not None
    raw = block.encode()
    # The header's memoised encoding spliced in gives exactly the plain RLP of the whole block.
    assert raw == codec.encode([block.header.to_rlp(), [tx.encode() for tx in block.transactions],
                                [[i, s] for i, s in block.signatures]])
    assert Block.decode(bytes(raw)) is Block.decode(bytes(bytearray(raw)))  # equal bytes, one decode


@pytest.mark.timeout(60)
def test_the_checker_judges_a_block_held_by_every_node_once_and_still_each_nodes_own() -> None:
    _, sim = _run(suite="standard", byzantine={})
    judged: list[int] = []
    inner = sim.checker._block_problem

    def counting(block: Block, parent: Block | None, weights: dict[bytes, int]) -> str | None:
        judged.append(block.number)
        return inner(block, parent, weights)

    sim.checker._block_problem = counting  # type: ignore[method-assign]
    report = sim.check()
    assert report.ok and report.highest >= 3
    # One verdict per distinct copy: each sealer stores the quorum of signatures it gathered, so
    # copies of a height differ in their signature lists, but never one verdict per node.
    stores = [node.store for node in sim.nodes]
    copies = {(n, store.block_by_number(n).encode())  # type: ignore[union-attr]
              for store in stores for n in range(1, store.head_number() + 1)}
    assert len(judged) == len(copies) < sum(store.head_number() for store in stores)
    # A node whose copy differs (its signature list cut to one) is judged on its own copy.
    store = sim.nodes[2].store
    block = store.block_by_number(1)
    assert block is not None
    thin = block.with_signatures(block.signatures[:1])
    store._db.execute("UPDATE blocks SET raw = ? WHERE number = 1", (thin.encode(),))
    report = sim.check()
    assert not report.validity and any("node 2 block 1" in v for v in report.violations)
    assert not any("node 1 block 1" in v for v in report.violations)
