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
