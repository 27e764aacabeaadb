"""One EVM message on the head state, changing nothing: eth_call's answer and eth_estimateGas's measure.

Like ``EVMExecutor.call`` (same state class with a wall-clock budget, same gas cap), but it also
runs creations (``to`` empty: a deploy's init code at the sender's next Ethereum contract address)
and reports the gas used, intrinsic cost included, as a transaction would be charged.
"""

from __future__ import annotations

import time
from typing import Protocol

from chain.execution import gas as gas_rules
from chain.execution.evm import BudgetedTransactionContext, contract_address
from chain.execution.executor import EVMExecutor
from chain.execution.journal import TableJournal
from chain.execution.result import CallOutOfTime
from chain.ledger.accounts import account_nonce
from chain.ledger.state import StateReader


class HeadState(StateReader, Protocol):
    """A chain's state at its head, which knows the head's number (the node's Store)."""

    def head_number(self) -> int: ...


def run_message(
    executor: EVMExecutor, state: HeadState, sender: bytes, to: bytes, data: bytes, gas: int | None,
    deadline: float, number: int | None = None,
) -> tuple[int, bytes, int]:
    """(status, output, gas used) of sender sending data to `to` (or deploying it) in the next block."""
    if number is None:
        number = state.head_number() + 1
    create = not to
    context = executor._context(state, number, 0)
    gas_limit = context.gas_limit if gas is None else min(gas, context.gas_limit)
    intrinsic = gas_rules.intrinsic_gas(data, create)
    if gas_limit < intrinsic:
        return 4, b"", gas_limit  # Status.OUT_OF_GAS_INTRINSIC
    target = contract_address(executor.suite, sender, account_nonce(state, sender)) if create else to
    outcome = executor._run(
        TableJournal(state), context, sender, target, data, gas_limit, intrinsic, create=create,
        state_cls=executor._call_state_class,
        transaction_context=BudgetedTransactionContext(origin=sender, deadline=deadline),
    )
    if not outcome.ok and time.monotonic() > deadline:
        raise CallOutOfTime("the call ran out of its time budget before it finished (an endless loop?)")
    return int(outcome.status), outcome.output, outcome.gas_used
