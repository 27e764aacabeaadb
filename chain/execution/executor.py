"""The EVM executor: apply a block's transactions in order and report what they did.

For each transaction, in block order:

1. recover the sender (``tx.sender(suite)``, cached on the transaction);
2. refuse value transfers — accounts hold no coin on this chain — with NOT_ENOUGH_CASH;
3. gas available = min(tx.gasLimit, system config ``tx_gas_limit`` in force for the block), less
   the intrinsic cost (``chain.execution.gas``); too little is OUT_OF_GAS_INTRINSIC;
4. run one EVM message through py-evm: a contract creation when ``to`` is empty (the contract
   goes to ``contract_address(suite, sender, tx.nonce)``), a call otherwise — to a contract or to
   a system contract (``chain.execution.precompiled``);
5. on success the transaction's net row changes are merged into the block's overlay; on failure
   they are dropped and only the receipt remains, with the FISCO status code and, for a revert,
   the revert data (``Error(string)``) as output.

The block's change set is the overlay's rows that differ from the parent state; the state root
chains over it (``chain.ledger.state.next_state_root``), so it changes exactly when state changes.
Nothing here reads a clock or iterates an unordered collection: the same block on the same state
gives byte-identical results on every node.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Mapping

from eth_typing import Address

from eth import constants as evm_constants
from eth.abc import ComputationAPI
from eth.exceptions import (
    ContractCreationCollision, FullStack, InsufficientFunds, InsufficientStack, InvalidInstruction,
    InvalidJumpDestination, OutOfGas, Revert, StackDepthLimit, VMError, WriteProtection,
)
from eth.vm.execution_context import ExecutionContext
from eth.abc import TransactionContextAPI
from eth.vm.forks.cancun.transaction_context import CancunTransactionContext
from eth.vm.message import Message

from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError
from chain.abi.codec import encode_error
from chain.execution import auth_rules, gas
from chain.execution.evm import (
    BudgetedTransactionContext, ChainState, contract_address, execution_context, state_class,
)
from chain.execution.journal import TableJournal
from chain.execution.precompiled import PrecompiledFailure, system_contracts
from chain.execution.result import CallOutOfTime, ExecutionResult, block_result
from chain.ledger import codec
from chain.ledger import permissions
from chain.ledger.block import Block
from chain.ledger.accounts import ACCOUNT_TABLE as ETH_ACCOUNT_TABLE, account_nonce
from chain.ledger.committee import is_auth_chain
from chain.ledger.eth_transaction import EthTransaction
from chain.ledger.receipt import Log, Receipt
from chain.ledger.state import Changes, StateOverlay, StateReader
from chain.ledger.status import Status
from chain.ledger.system import tx_gas_limit
from chain.ledger.transaction import Transaction

log = logging.getLogger(__name__)

# py-evm's error classes and the FISCO BCOS status each one becomes in a receipt.
ERROR_STATUS: tuple[tuple[type[VMError], Status], ...] = (
    (Revert, Status.REVERT_INSTRUCTION),
    (OutOfGas, Status.OUT_OF_GAS),
    (InvalidInstruction, Status.BAD_INSTRUCTION),
    (InvalidJumpDestination, Status.BAD_JUMP_DESTINATION),
    (InsufficientStack, Status.STACK_UNDERFLOW),
    (FullStack, Status.OUT_OF_STACK),
    (StackDepthLimit, Status.OUT_OF_STACK),
    (InsufficientFunds, Status.NOT_ENOUGH_CASH),
    (ContractCreationCollision, Status.ADDRESS_ALREADY_USED),
    (WriteProtection, Status.BAD_INSTRUCTION),
)


def status_of(error: VMError) -> Status:
    """The receipt status of a failed EVM message."""
    if isinstance(error, PrecompiledFailure):
        return error.status
    for error_class, status in ERROR_STATUS:
        if isinstance(error, error_class):
            return status
    return Status.UNKNOWN


@dataclass(frozen=True)
class Outcome:
    """What one transaction did, before it is numbered into a receipt."""

    status: Status
    output: bytes = b""
    contract_address: bytes = b""
    gas_used: int = 0
    logs: tuple[Log, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == Status.SUCCESS


class EVMExecutor:
    """A BlockExecutor (``chain.execution.result``) running EVM contracts and system contracts."""

    def __init__(self, suite: CryptoSuite, *, chain_id: int = 1) -> None:
        self.suite = suite
        self.chain_id = chain_id  # what the CHAINID opcode returns
        self._state_class = state_class(suite, system_contracts(suite))
        self._call_state_class = state_class(suite, system_contracts(suite), budgeted=True)

    # --- the BlockExecutor contract ---

    def execute(self, block: Block, state: StateReader, parent_state_root: bytes) -> ExecutionResult:
        number = block.number
        context = self._context(state, number, block.header.timestamp)
        gas_cap = context.gas_limit
        overlay = StateOverlay(state)
        receipts: list[Receipt] = []
        for index, tx in enumerate(block.transactions):
            # An Ethereum transaction uses its sender's next nonce first, kept even if it then fails.
            refused = self.use_eth_nonce(tx, overlay) if isinstance(tx, EthTransaction) else None
            if refused is not None:
                outcome = refused
            else:
                tx_overlay = overlay.child()
                outcome = self.apply_transaction(tx, tx_overlay, context, gas_cap)
                if outcome.ok:
                    tx_overlay.merge()  # a failed transaction's overlay is simply dropped
            receipts.append(Receipt(
                status=int(outcome.status), output=outcome.output, contract_address=outcome.contract_address,
                gas_used=outcome.gas_used, logs=outcome.logs, block_number=number,
                transaction_hash=tx.hash(self.suite), transaction_index=index,
            ))
        return block_result(self.suite, block, receipts, net_changes(state, overlay.changes()), parent_state_root)

    # --- one transaction ---

    def apply_transaction(
        self, tx: Transaction, base: StateOverlay, context: ExecutionContext, gas_cap: int
    ) -> Outcome:
        """Run tx over base (the transaction's overlay), writing its net changes there on success."""
        checked = precheck(self.suite, tx, gas_cap)
        if isinstance(checked, Outcome):
            return checked
        sender, gas_limit, intrinsic = checked
        journal = TableJournal(base)
        to = contract_address(self.suite, sender, tx.nonce) if tx.is_create else tx.to
        auth = is_auth_chain(base)
        if auth:  # an auth chain's permissions (chain.execution.auth_rules)
            refused = auth_rules.refusal(base, sender, to, tx.data, tx.is_create)
            if refused is not None:
                return Outcome(refused[0], output=encode_error(self.suite, refused[1]))
        outcome = self._run(journal, context, sender, to, tx.data, gas_limit, intrinsic, create=tx.is_create)
        if outcome.ok:
            if auth and tx.is_create:  # the deployer administers the contract's method ACLs
                permissions.set_contract_admin(journal, to, sender)
            journal.flush_into(base)
        return outcome

    def use_eth_nonce(self, tx: EthTransaction, overlay: StateOverlay) -> Outcome | None:
        """Raise the sender's account nonce if tx carries exactly it; else the failed Outcome.

        This is Ethereum's replay protection (the pool checks it too, but a block from a faulty
        leader may still carry a used or future nonce): a transaction whose nonce is not the
        account's runs nothing and changes nothing.
        """
        try:
            sender = tx.sender(self.suite)
        except ChainError as exc:
            return Outcome(Status.INVALID_SIGNATURE, output=str(exc).encode())
        nonce = account_nonce(overlay, sender)
        # only the account's next nonce may run: lower ones were used, higher ones leave a gap
        if tx.nonce != nonce:
            return Outcome(Status.NONCE_CHECK_FAIL, output=f"nonce {tx.nonce}, account nonce {nonce}".encode())
        raw = overlay.get(ETH_ACCOUNT_TABLE, sender)
        balance = codec.as_int(codec.decode_list(raw, "evm account", 2)[1], "evm account balance") if raw else 0
        overlay.set(ETH_ACCOUNT_TABLE, sender, codec.encode([nonce + 1, balance]))
        return None

    # --- read-only queries ---

    def call(
        self, state: StateReader, to: bytes, data: bytes, sender: bytes = b"\x00" * 20, block_number: int = 0,
        *, gas: int | None = None, deadline: float | None = None,
    ) -> tuple[int, bytes]:
        """(status, output) of calling `to` with `data` on `state`, changing nothing.

        block_number is the number the call runs "in" (use head + 1 to see what a transaction
        would see); the gas allowed is that block's tx_gas_limit, or `gas` if that is less.

        A call is nobody's transaction: no one waits for it but its client, and a node answers it
        while doing everything else. So besides gas it has a wall-clock budget: with `deadline`
        (a ``time.monotonic()`` value) it stops at its first jump past it and raises CallOutOfTime.
        Block execution has no such budget (it must give every node the same result).
        """
        # a query needs a target: an address, never a creation
        if len(to) != 20 or len(sender) != 20:
            return int(Status.CALL_ADDRESS_ERROR), b""
        context = self._context(state, block_number, 0)
        gas_limit = context.gas_limit if gas is None else min(gas, context.gas_limit)
        if is_auth_chain(state):  # what a transaction from `sender` would be refused, a call is too
            refused = auth_rules.refusal(state, sender, to, data, False)
            if refused is not None:
                return int(refused[0]), encode_error(self.suite, refused[1])
        journal = TableJournal(state)
        if deadline is None:
            outcome = self._run(journal, context, sender, to, data, gas_limit, 0, create=False)
        else:
            outcome = self._run(journal, context, sender, to, data, gas_limit, 0, create=False,
                                state_cls=self._call_state_class,
                                transaction_context=BudgetedTransactionContext(origin=Address(sender), deadline=deadline))
            # A frame stopped by the clock fails, and so does every frame above it as it reaches its
            # next jump: a failed call past its deadline is one the budget stopped.
            if not outcome.ok and time.monotonic() > deadline:
                raise CallOutOfTime("the call ran out of its time budget before it finished (an endless loop?)")
        return int(outcome.status), outcome.output

    # --- the EVM message ---

    def _context(self, state: StateReader, number: int, timestamp: int) -> ExecutionContext:
        # the limit in force for this block, read from the parent state (rows stamped <= number)
        gas_cap = tx_gas_limit(state, number)
        return execution_context(block_number=number, timestamp=timestamp, gas_limit=gas_cap, chain_id=self.chain_id)

    def _run(
        self, journal: TableJournal, context: ExecutionContext, sender: bytes, to: bytes, data: bytes,
        gas_limit: int, intrinsic: int, *, create: bool, state_cls: type[ChainState] | None = None,
        transaction_context: TransactionContextAPI | None = None,
    ) -> Outcome:
        vm_state: ChainState = (state_cls or self._state_class)(journal, context)
        computation_class = vm_state.computation_class
        origin, target = Address(sender), Address(to)  # py-evm's name for 20 bytes
        # EIP-2929: the sender and the target start warm (system and Ethereum precompiles always are)
        vm_state.mark_address_warm(origin)
        vm_state.mark_address_warm(target)
        if transaction_context is None:
            transaction_context = CancunTransactionContext(gas_price=0, origin=origin)
        message_gas = gas_limit - intrinsic
        try:
            if create:
                # a deploy must not land on an existing contract (the randomid makes this a replay)
                if vm_state.has_code_or_nonce(target):
                    return Outcome(Status.ADDRESS_ALREADY_USED, gas_used=gas_limit)
                message = Message(
                    gas=message_gas, to=evm_constants.CREATE_CONTRACT_ADDRESS, sender=origin, value=0,
                    data=b"", code=data, create_address=target,
                )
                computation = computation_class.apply_create_message(vm_state, message, transaction_context)
            else:
                message = Message(
                    gas=message_gas, to=target, sender=origin, value=0, data=data, code=vm_state.get_code(target),
                )
                computation = computation_class.apply_message(vm_state, message, transaction_context)
        except VMError as error:  # raised before the computation started, e.g. stack depth
            return Outcome(status_of(error), gas_used=gas_limit)
        except Exception as exc:  # a bug must not stop the chain: fail this transaction, same on every node
            log.exception("unexpected error executing a transaction")
            return Outcome(Status.UNKNOWN, output=f"internal error: {type(exc).__name__}".encode(), gas_used=gas_limit)
        return self._outcome(computation, vm_state, gas_limit, intrinsic, to if create else b"")

    def _outcome(
        self, computation: ComputationAPI, vm_state: ChainState, gas_limit: int, intrinsic: int, created: bytes
    ) -> Outcome:
        used = intrinsic + computation.get_gas_used()
        if computation.is_error:
            return Outcome(status_of(computation.error), output=bytes(computation.output), gas_used=used)
        refund = min(computation.get_gas_refund(), used // 5)  # EIP-3529 cap
        for address in sorted(computation.get_accounts_for_deletion()):  # EIP-6780: created in this tx
            vm_state.delete_account(address)
        logs = tuple(
            Log(bytes(address), tuple(topic.to_bytes(32, "big") for topic in topics), bytes(data))
            for address, topics, data in computation.get_log_entries()
        )
        output = b"" if created else bytes(computation.output)
        return Outcome(Status.SUCCESS, output=output, contract_address=created, gas_used=used - refund, logs=logs)


def precheck(suite: CryptoSuite, tx: Transaction, gas_cap: int) -> tuple[bytes, int, int] | Outcome:
    """What every executor checks before any code runs: (sender, gas allowed, intrinsic gas), or the
    failed outcome — one function so the serial and the DMC executor cannot drift apart."""
    try:
        sender = tx.sender(suite)
    except ChainError as exc:  # the pool checks signatures; a block from a faulty leader may not
        return Outcome(Status.INVALID_SIGNATURE, output=str(exc).encode())
    # no coin exists on this chain, so nothing can be transferred
    if tx.value != 0:
        return Outcome(Status.NOT_ENOUGH_CASH)
    gas_limit = min(tx.gas_limit, gas_cap)
    intrinsic = gas.intrinsic_gas(tx.data, tx.is_create)
    # the transaction must at least pay for itself before any code runs
    if gas_limit < intrinsic:
        return Outcome(Status.OUT_OF_GAS_INTRINSIC, gas_used=gas_limit)
    return sender, gas_limit, intrinsic


def net_changes(state: StateReader, changes: Mapping[tuple[str, bytes], bytes | None]) -> Changes:
    """The rows of changes that differ from state, in row order (a value put back is no change)."""
    return {row: value for row, value in sorted(changes.items()) if state.get(*row) != value}
