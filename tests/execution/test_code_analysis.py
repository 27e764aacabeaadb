"""The shared jump-destination analysis answers exactly what py-evm's own CodeStream answers."""

from __future__ import annotations

from eth.vm.code_stream import CodeStream
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.execution.evm import AnalysedCodeStream, push_data_mask

# Code rich in PUSHes (0x60..0x7f), JUMPDESTs (0x5b) and truncated PUSH data at the end.
opcodes = st.one_of(st.integers(0x60, 0x7F), st.just(0x5B), st.integers(0, 255))


@settings(max_examples=200, deadline=None)
@given(st.lists(opcodes, max_size=120).map(bytes))
def test_valid_positions_match_py_evm(code: bytes) -> None:
    ours, theirs = AnalysedCodeStream(code), CodeStream(code)
    for position in range(len(code) + 3):
        assert ours.is_valid_opcode(position) == theirs.is_valid_opcode(position), position


def test_push_data_is_never_an_instruction() -> None:
    code = bytes([0x60, 0x5B, 0x5B, 0x7F]) + b"\x5b" * 32 + bytes([0x5B, 0x61, 0x00])
    data = {i for i, flag in enumerate(push_data_mask(code)) if flag}
    assert data == {1, *range(4, 36), 38} and len(push_data_mask(code)) == len(code)  # PUSH2 at 37 is cut short
    stream = AnalysedCodeStream(code)
    assert stream.is_valid_opcode(2) and stream.is_valid_opcode(36) and not stream.is_valid_opcode(1)
    assert not stream.is_valid_opcode(38) and not stream.is_valid_opcode(39)  # data; past the end


def test_charging_instructions_behave_exactly_like_py_evm_opcodes() -> None:
    """The same block on py-evm's own opcode objects and on ours: same receipts (gas included),
    same changes, same roots — including a revert and a transaction that runs out of gas."""
    from eth.vm.forks.prague.opcodes import PRAGUE_OPCODES

    from chain.crypto.keys import KeyPair
    from chain.execution.executor import EVMExecutor
    from chain.execution.local import LocalChain
    from tests.execution.test_executor import asset_chain

    admin, user = KeyPair("standard", 11), KeyPair("standard", 12)
    chain = LocalChain("standard", admins=[admin.address])
    abi, address = asset_chain(chain, admin, user, 50)
    state, parent = chain.state.snapshot(), chain.head
    txs = [chain.transaction(user, address, abi.encode_call("transfer", admin.address, n), nonce=n) for n in (1, 2, 99)]
    txs.append(chain.transaction(user, address, abi.encode_call("transfer", admin.address, 1), nonce=4, gas_limit=23_000))
    ours = chain.run_block(txs)
    theirs_executor = EVMExecutor(chain.suite)
    computation = theirs_executor._state_class.computation_class
    theirs_executor._state_class = theirs_executor._state_class.configure(
        computation_class=computation.configure(opcodes=dict(PRAGUE_OPCODES)))
    theirs = theirs_executor.execute(ours.block.with_execution(
        receipts_root=parent.header.receipts_root, state_root=parent.header.state_root, gas_used=0,
    ), state, parent.header.state_root)
    from chain.ledger.status import Status

    # an overdraft reverts; 23000 gas runs out inside the contract
    assert [r.status for r in ours.receipts] == [0, 0, Status.REVERT_INSTRUCTION, Status.OUT_OF_GAS]
    assert theirs.receipts == ours.receipts and theirs.changes == ours.changes
    assert theirs.block.header == ours.block.header
