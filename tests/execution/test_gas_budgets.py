"""Bounds on unpaid gas: a read-only call's time budget, and the block gas limit as chain config."""

from __future__ import annotations

import time

import pytest

from chain.abi.codec import encode_call
from chain.crypto.keys import KeyPair
from chain.crypto.suite import get_suite
from chain.execution.executor import CallOutOfTime
from chain.execution.local import LocalChain
from chain.execution.precompiled import SYSTEM_CONFIG_ADDRESS
from chain.ledger import system
from chain.ledger.genesis import GenesisConfig, build_genesis
from chain.ledger.state import MemoryState
from chain.ledger.status import Status

pytestmark = pytest.mark.timeout(60)

ENDLESS_LOOP = bytes.fromhex("5b600056")  # JUMPDEST; PUSH1 0; JUMP — runs until its gas is gone


def deploy_code(chain: LocalChain, key: KeyPair, runtime: bytes) -> bytes:
    """Deploy raw runtime code (init code: PUSHn code; PUSH1 0; MSTORE; RETURN its n bytes)."""
    n = len(runtime)
    init = bytes([0x60 + n - 1]) + runtime + bytes.fromhex("600052") + bytes([0x60, n, 0x60, 32 - n, 0xF3])
    receipt = chain.send(key, b"", init)
    assert receipt.status == Status.SUCCESS
    return receipt.contract_address


def test_an_endless_call_stops_at_its_time_budget(chain: LocalChain, user: KeyPair) -> None:
    loop = deploy_code(chain, user, ENDLESS_LOOP)
    started = time.monotonic()
    with pytest.raises(CallOutOfTime, match="time budget"):
        chain.executor.call(chain.state, loop, b"", user.address, chain.number + 1, deadline=started + 0.3)
    # It stopped at the budget, not after burning tx_gas_limit (300,000,000 gas: a minute or more).
    assert time.monotonic() - started < 3


def test_a_call_within_its_budget_is_answered_as_before(chain: LocalChain, user: KeyPair) -> None:
    loop = deploy_code(chain, user, ENDLESS_LOOP)
    # Out of gas first (a small gas budget), long before the deadline: an ordinary failed call.
    status, _ = chain.executor.call(chain.state, loop, b"", user.address, chain.number + 1,
                                    gas=50_000, deadline=time.monotonic() + 30)
    assert status == Status.OUT_OF_GAS
    query = encode_call(chain.suite, "getValueByKey(string)", "tx_gas_limit")
    status, output = chain.executor.call(chain.state, SYSTEM_CONFIG_ADDRESS, query, user.address, chain.number + 1,
                                         deadline=time.monotonic() + 30)
    assert status == Status.SUCCESS and output


def test_block_execution_never_looks_at_the_clock(chain: LocalChain, user: KeyPair) -> None:
    """A transaction runs to its gas limit however long it takes: every node must get the same result."""
    loop = deploy_code(chain, user, ENDLESS_LOOP)
    receipt = chain.send(user, loop, b"", gas_limit=200_000)
    assert receipt.status == Status.OUT_OF_GAS and receipt.gas_used == 200_000


def test_block_gas_limit_is_a_genesis_parameter(suite_name: str) -> None:
    sealer = (KeyPair(suite_name, 5).public_key, 1)
    plain = GenesisConfig(chain_id=1, group_id=1, suite=suite_name, sealers=(sealer,))
    block, changes = build_genesis(plain)
    state = MemoryState()
    state.apply(changes)
    # Not set: no row (the genesis of chains made before the key existed is unchanged), the default read.
    assert (system.CONFIG_TABLE, system.BLOCK_GAS_LIMIT.encode()) not in changes
    assert system.block_gas_limit(state, 1) == int(system.DEFAULT_CONFIG[system.BLOCK_GAS_LIMIT])
    limited = GenesisConfig(chain_id=1, group_id=1, suite=suite_name, sealers=(sealer,),
                            system_config={system.BLOCK_GAS_LIMIT: "30000000"})
    assert GenesisConfig.loads(limited.dumps()) == limited
    limited_block, changes = build_genesis(limited)
    state = MemoryState()
    state.apply(changes)
    assert system.block_gas_limit(state, 1) == 30_000_000
    assert limited_block.hash(get_suite(suite_name)) != block.hash(get_suite(suite_name))


def test_governance_sets_the_block_gas_limit_within_its_range(chain: LocalChain, admin: KeyPair) -> None:
    def set_value(value: str) -> int:
        data = encode_call(chain.suite, "setValueByKey(string,string)", system.BLOCK_GAS_LIMIT, value)
        return chain.send(admin, SYSTEM_CONFIG_ADDRESS, data).status

    assert set_value("99999") == Status.PRECOMPILED_ERROR
    assert set_value("60000000") == Status.SUCCESS
    assert system.block_gas_limit(chain.state, chain.number + 1) == 60_000_000
