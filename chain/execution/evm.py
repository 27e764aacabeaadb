"""The bridge to py-evm: EVM accounts as table rows, and the opcode changes the sm suite needs.

We drive py-evm at *message* level (``apply_message`` / ``apply_create_message``), skipping its
transaction layer, which deals with fees, balances and Ethereum's transaction types that a FISCO
chain does not have. py-evm reaches the world only through an ``AccountDatabaseAPI``; ours,
``TableAccountDB``, keeps every account in three tables of our own state:

* ``evm_code``    key = address (20 bytes)                 value = runtime code
* ``evm_account`` key = address                            value = RLP [nonce, balance]
* ``evm_storage`` key = address ‖ slot (32 bytes, big end) value = the word without leading zeros

A zero storage word, a zero nonce or empty code is an absent row, so "no account" and "empty
account" are the same thing and nothing is stored that does not matter. All reads and writes go
through the transaction's ``TableJournal``, which also provides py-evm's snapshot/revert.

In the sm suite every hash the chain exposes is SM3, as FISCO BCOS does: the KECCAK256 opcode
(0x20) hashes with SM3, CREATE / CREATE2 derive addresses with SM3, and so does EXTCODEHASH. The
standard suite is Ethereum, unchanged.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Callable, Mapping

from eth_typing import Address, BlockNumber, Hash32

from eth import constants
from eth._utils.numeric import ceil32, int_to_bytes32
from eth.abc import (
    AccountDatabaseAPI, ComputationAPI, MessageAPI, MetaWitnessAPI, OpcodeAPI, StateAPI, TransactionContextAPI,
)
from eth.vm import mnemonics, opcode_values
from eth.vm.code_stream import CodeStream
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.prague import PragueState
from eth.vm.forks.prague.computation import PragueComputation
from eth.exceptions import VMError
from eth.typing import JournalDBCheckpoint
from eth.vm.forks.cancun.transaction_context import CancunTransactionContext
from eth.vm.forks.prague.opcodes import PRAGUE_OPCODES
from eth.vm.forks.shanghai.logic import Create2EIP3860, CreateEIP3860
from eth.vm.logic.system import CreateOpcodeStackData
from eth.vm.opcode import _FastOpcode, as_opcode

from chain.crypto.suite import CryptoSuite
from chain.execution.journal import TableJournal
from chain.ledger import codec
from chain.recursion import cap_recursion_limit

cap_recursion_limit()  # py_ecc (via py-evm) raised it to 100,000: deep enough to overflow the C stack

CODE_TABLE = "evm_code"
ACCOUNT_TABLE = "evm_account"
STORAGE_TABLE = "evm_storage"

ZERO_ADDRESS = b"\x00" * 20
ADDRESS_SIZE = 20

Precompile = Callable[[ComputationAPI], ComputationAPI]
Instruction = Callable[[ComputationAPI], None]  # py-evm runs a plain function as an opcode too (see charging)


def contract_address(suite: CryptoSuite, sender: bytes, nonce: int) -> bytes:
    """Where CREATE puts a contract: the last 20 bytes of hash(RLP [sender, nonce]).

    For a contract creating another, nonce is the creator's account nonce (Ethereum's rule). For a
    deploy transaction it is the transaction's nonce — FISCO's random 256-bit "randomid", unique
    on chain thanks to the tx pool's replay window — since externally owned accounts keep no nonce.
    """
    return suite.hash(codec.encode([sender, nonce]))[-20:]


def create2_address(suite: CryptoSuite, sender: bytes, salt: int, init_code: bytes) -> bytes:
    """CREATE2 (EIP-1014) with the suite's hash."""
    return suite.hash(b"\xff" + sender + int_to_bytes32(salt) + suite.hash(init_code))[-20:]


def storage_key(address: bytes, slot: int) -> bytes:
    return address + slot.to_bytes(32, "big")


# --- the account database over our tables ---------------------------------------------------------

class TableAccountDB(AccountDatabaseAPI):
    """py-evm's view of accounts, backed by the rows of one transaction's journal."""

    def __init__(self, journal: TableJournal, suite: CryptoSuite) -> None:  # noqa: D107 (not py-evm's signature)
        self.journal = journal
        self._suite = suite
        self._root = constants.BLANK_ROOT_HASH  # py-evm snapshots carry a root; ours is computed per block

    # py-evm asks for a trie root around snapshots; the chain's state root is computed per block
    # by the executor from the change set, so here it is an opaque constant.
    @property
    def state_root(self) -> Hash32:
        return self._root

    @state_root.setter
    def state_root(self, value: Hash32) -> None:
        self._root = value

    def has_root(self, state_root: bytes) -> bool:
        return state_root == self._root

    # --- storage ---

    def get_storage(self, address: bytes, slot: int, from_journal: bool = True) -> int:
        key = storage_key(address, slot)
        raw = (
            self.journal.get(STORAGE_TABLE, key) if from_journal
            else self.journal.get_original(STORAGE_TABLE, key)
        )
        return int.from_bytes(raw, "big") if raw else 0

    def set_storage(self, address: bytes, slot: int, value: int) -> None:
        raw = value.to_bytes(32, "big").lstrip(b"\x00")
        self.journal.set(STORAGE_TABLE, storage_key(address, slot), raw or None)

    def delete_storage(self, address: bytes) -> None:
        # Storage this transaction wrote can be listed; storage from earlier blocks cannot (tables
        # are not enumerable by prefix), but only code at the address could have written it, and
        # py-evm deletes storage only for addresses without code (CREATE2 target, EIP-6780 account
        # created in this same transaction).
        for key in self.journal.written_keys(STORAGE_TABLE, address):
            self.journal.set(STORAGE_TABLE, key, None)

    def is_storage_warm(self, address: bytes, slot: int) -> bool:
        return self.journal.has_mark(("slot", address, slot))

    def mark_storage_warm(self, address: bytes, slot: int) -> None:
        self.journal.add_mark(("slot", address, slot))

    # --- nonce and balance ---

    def _account(self, address: bytes) -> tuple[int, int]:
        raw = self.journal.get(ACCOUNT_TABLE, address)
        if raw is None:
            return 0, 0
        items = codec.decode_list(raw, "evm account", 2)
        return codec.as_int(items[0], "evm account nonce", 64), codec.as_int(items[1], "evm account balance")

    def _set_account(self, address: bytes, nonce: int, balance: int) -> None:
        self.journal.set(ACCOUNT_TABLE, address, codec.encode([nonce, balance]) if nonce or balance else None)

    def get_balance(self, address: bytes) -> int:
        return self._account(address)[1]

    def set_balance(self, address: bytes, balance: int) -> None:
        nonce, _ = self._account(address)
        self._set_account(address, nonce, balance)

    def get_nonce(self, address: bytes) -> int:
        return self._account(address)[0]

    def set_nonce(self, address: bytes, nonce: int) -> None:
        _, balance = self._account(address)
        self._set_account(address, nonce, balance)

    def increment_nonce(self, address: bytes) -> None:
        self.set_nonce(address, self.get_nonce(address) + 1)

    # --- code ---

    def set_code(self, address: bytes, code: bytes) -> None:
        self.journal.set(CODE_TABLE, address, bytes(code) or None)

    def get_code(self, address: bytes) -> bytes:
        return self.journal.get(CODE_TABLE, address) or b""

    def get_code_hash(self, address: bytes) -> Hash32:
        return _code_hash(self._suite, self.get_code(address))

    def delete_code(self, address: bytes) -> None:
        self.journal.set(CODE_TABLE, address, None)

    # --- accounts ---

    def account_has_code_or_nonce(self, address: bytes) -> bool:
        return self.get_nonce(address) != 0 or self.journal.get(CODE_TABLE, address) is not None

    def delete_account(self, address: bytes) -> None:
        self.delete_storage(address)
        self.delete_code(address)
        self.journal.set(ACCOUNT_TABLE, address, None)

    def account_exists(self, address: bytes) -> bool:
        return self.account_has_code_or_nonce(address) or self.get_balance(address) != 0

    def touch_account(self, address: bytes) -> None:
        """Nothing to do: an empty account is simply no rows (EIP-161 clearing is implicit)."""

    def account_is_empty(self, address: bytes) -> bool:
        return not self.account_exists(address)

    def is_address_warm(self, address: bytes) -> bool:
        return self.journal.has_mark(("address", address))

    def mark_address_warm(self, address: bytes) -> None:
        self.journal.add_mark(("address", address))

    # --- checkpoints ---

    def record(self) -> JournalDBCheckpoint:
        return JournalDBCheckpoint(self.journal.checkpoint())

    def discard(self, checkpoint: JournalDBCheckpoint) -> None:
        self.journal.revert(checkpoint)

    def commit(self, checkpoint: JournalDBCheckpoint) -> None:
        self.journal.commit(checkpoint)

    def lock_changes(self) -> None:
        """Nothing to do: each transaction has its own journal."""

    def make_state_root(self) -> Hash32:
        return self._root

    def persist(self) -> MetaWitnessAPI:  # pragma: no cover - the executor commits rows, never a trie
        raise NotImplementedError("TableAccountDB is committed by the executor as table rows")


@lru_cache(maxsize=4096)
def _code_hash(suite: CryptoSuite, code: bytes) -> Hash32:
    return Hash32(suite.hash(code))


# --- sm suite opcodes ----------------------------------------------------------------------------

def _hash_opcode(suite: CryptoSuite) -> Instruction:
    """KECCAK256 (0x20) with the suite's hash: SM3 in the sm suite. Same gas as Keccak-256."""

    def hash_op(computation: ComputationAPI) -> None:
        start, size = computation.stack_pop_ints(2)
        computation.extend_memory(start, size)
        data = computation.memory_read_bytes(start, size)
        computation.consume_gas(constants.GAS_SHA3WORD * (ceil32(len(data)) // 32), reason="SHA3: word gas cost")
        computation.stack_push_bytes(suite.hash(bytes(data)))

    return hash_op


def _create_opcodes(suite: CryptoSuite) -> dict[int, OpcodeAPI]:
    """CREATE and CREATE2 deriving addresses with the suite's hash (otherwise Shanghai+ rules)."""

    class SuiteCreate(CreateEIP3860):
        def generate_contract_address(
            self, stack_data: CreateOpcodeStackData, call_data: bytes, computation: ComputationAPI
        ) -> Address:
            creator = computation.msg.storage_address
            nonce = computation.state.get_nonce(creator)
            computation.state.increment_nonce(creator)
            address = Address(contract_address(suite, creator, nonce))
            computation.state.mark_address_warm(address)
            return address

    class SuiteCreate2(Create2EIP3860):
        def generate_contract_address(
            self, stack_data: CreateOpcodeStackData, call_data: bytes, computation: ComputationAPI
        ) -> Address:
            creator = computation.msg.storage_address
            computation.state.increment_nonce(creator)
            address = Address(create2_address(suite, creator, stack_data.salt or 0, bytes(call_data)))
            computation.state.mark_address_warm(address)
            return address

    return {
        opcode_values.CREATE: SuiteCreate.configure(
            __name__="opcode:CREATE", mnemonic=mnemonics.CREATE, gas_cost=constants.GAS_CREATE
        )(),
        opcode_values.CREATE2: SuiteCreate2.configure(
            __name__="opcode:CREATE2", mnemonic=mnemonics.CREATE2, gas_cost=constants.GAS_CREATE
        )(),
    }


# --- jump destinations, analysed once per contract ------------------------------------------------

@lru_cache(maxsize=256)
def push_data_mask(code: bytes) -> bytes:
    """One byte per byte of code: 1 where it is PUSH data, not an instruction (so never a jump
    destination), 0 elsewhere. A byte mask, not a set: at most 24 KiB for the largest contract."""
    mask = bytearray(len(code))
    pc, end = 0, len(code)
    while pc < end:
        opcode = code[pc]
        if opcode_values.PUSH1 <= opcode <= opcode_values.PUSH32:
            size = min(opcode - opcode_values.PUSH1 + 1, end - pc - 1)
            mask[pc + 1:pc + 1 + size] = b"\x01" * size
            pc += size
        pc += 1
    return bytes(mask)


class AnalysedCodeStream(CodeStream):
    """py-evm's CodeStream, with its jump-destination check answered from an analysis shared by
    every call of the same code.

    Why: py-evm works out, per call, whether a JUMP target is an instruction by looking back up to
    32 bytes for a PUSH, recursively; a contract called by every transaction of a block paid that
    anew each time (about a tenth of an Asset transfer). The answer is a pure function of the code.
    """

    __slots__ = ("_push_data",)

    def __init__(self, code_bytes: bytes) -> None:
        super().__init__(code_bytes)
        self._push_data = push_data_mask(bytes(code_bytes))

    def is_valid_opcode(self, position: int) -> bool:
        return position < self._length_cache and not self._push_data[position]


# --- the state and the computation classes -------------------------------------------------------

class ChainComputation(PragueComputation):
    """Prague computation whose code stream reuses the jump-destination analysis of its code."""

    def __init__(self, state: StateAPI, message: MessageAPI, transaction_context: TransactionContextAPI) -> None:  # noqa: D107
        super().__init__(state, message, transaction_context)
        self.code = AnalysedCodeStream(message.code)

    # An auth chain's rules (chain.execution.auth_rules) for the frames a contract opens: the
    # transaction's own frame is checked by the executor before it starts.

    @classmethod
    def apply_message(cls, state: StateAPI, message: MessageAPI, transaction_context: TransactionContextAPI,
                      parent_computation: ComputationAPI | None = None) -> ComputationAPI:
        refused = cls._inner_refusal(state, message, transaction_context, create=False)
        if refused is not None:
            return refused
        return super().apply_message(state, message, transaction_context, parent_computation=parent_computation)

    @classmethod
    def apply_create_message(cls, state: StateAPI, message: MessageAPI, transaction_context: TransactionContextAPI,
                             parent_computation: ComputationAPI | None = None) -> ComputationAPI:
        refused = cls._inner_refusal(state, message, transaction_context, create=True)
        if refused is not None:
            return refused
        return super().apply_create_message(state, message, transaction_context, parent_computation=parent_computation)

    @classmethod
    def _inner_refusal(cls, state: StateAPI, message: MessageAPI, transaction_context: TransactionContextAPI,
                       *, create: bool) -> ComputationAPI | None:
        """A failed computation if an auth chain refuses this inner frame, else None (run it)."""
        if message.depth == 0:
            return None
        from chain.execution.auth_rules import frame_error  # at call time: auth_rules imports the system contracts

        error = frame_error(getattr(state, "journal"), bytes(transaction_context.origin), bytes(message.storage_address),
                            bytes(message.data) if not create else b"", create)
        if error is None:
            return None
        computation = cls(state, message, transaction_context)
        with computation:  # records the error as the frame's failure, as any VM error is
            raise error
        return computation


class OutOfTime(VMError):
    """A read-only call ran past its wall-clock budget (never raised while executing a block)."""


class BudgetedTransactionContext(CancunTransactionContext):
    """The transaction context of a read-only call: also carries the call's deadline (monotonic s)."""

    def __init__(self, *, origin: bytes, deadline: float) -> None:  # noqa: D107
        super().__init__(gas_price=0, origin=Address(origin))
        self.deadline = deadline


class BudgetedCodeStream(AnalysedCodeStream):
    """A code stream that stops a call whose time is up, at its next jump.

    Any code that runs long loops, and every loop jumps: checking the clock when a jump target is
    checked (``is_valid_opcode``) bounds a call's time without a check per instruction. A call that
    recurses instead of looping starts new frames, which check it too (``BudgetedComputation``).
    """

    __slots__ = ("_deadline",)

    def __init__(self, code_bytes: bytes, deadline: float) -> None:
        super().__init__(code_bytes)
        self._deadline = deadline

    def is_valid_opcode(self, position: int) -> bool:
        if time.monotonic() > self._deadline:
            raise OutOfTime("the call ran out of time")
        return super().is_valid_opcode(position)


class BudgetedComputation(ChainComputation):
    """The computation of a read-only call: the same EVM, plus the call's wall-clock deadline.

    Only ``EVMExecutor.call`` uses it. Block execution never looks at a clock: every node must get
    the same result, so a block is bounded by gas alone (tx_gas_limit, block_gas_limit).
    """

    def __init__(self, state: StateAPI, message: MessageAPI, transaction_context: TransactionContextAPI) -> None:  # noqa: D107
        super().__init__(state, message, transaction_context)
        deadline: float = getattr(transaction_context, "deadline", float("inf"))
        self.code = BudgetedCodeStream(message.code, deadline)
        if time.monotonic() > deadline:
            raise OutOfTime("the call ran out of time")


class ChainState(PragueState):
    """A py-evm Prague state over one transaction's journal (no trie, no beacon/history contracts)."""

    suite: CryptoSuite = None  # type: ignore[assignment]  # set per suite by state_class()

    def __init__(self, journal: TableJournal, execution_context: ExecutionContext) -> None:  # noqa: D107
        # BaseState.__init__ would build a trie-backed AccountDB; ours is table rows.
        self._db = None  # type: ignore[assignment]  # no trie database under this state: py-evm never reads it
        self.execution_context = execution_context
        self._account_db = TableAccountDB(journal, self.suite)
        self.journal = journal

    def set_system_contracts(self) -> None:
        """No EIP-4788/2935 system contracts: a consortium chain has no beacon chain."""


def charging(logic_fn: Instruction, gas_cost: int, mnemonic: str) -> Instruction:
    """An instruction with a fixed gas cost as one function: charge the gas, run the logic.

    Why: py-evm's _FastOpcode does exactly this through an extra call per instruction
    (``computation.consume_gas`` → the gas meter); an Asset transfer runs ~450 instructions, and
    charging the meter directly saves ~13 % of its execution. Same gas, same behaviour.
    """

    def instruction(computation: ComputationAPI) -> None:
        computation._gas_meter.consume_gas(gas_cost, mnemonic)
        return logic_fn(computation)

    instruction.mnemonic = mnemonic  # type: ignore[attr-defined]  # what py-evm's debug log prints
    instruction.gas_cost = gas_cost  # type: ignore[attr-defined]  # and what OpcodeAPI offers beside it
    return instruction


def state_class(suite: CryptoSuite, precompiles: Mapping[bytes, Precompile], *, budgeted: bool = False) -> type[ChainState]:
    """The ChainState class of a suite, with its opcode table and its precompiles (system contracts).

    budgeted: for read-only calls, whose computations also stop at a wall-clock deadline.
    """
    opcodes = dict(PRAGUE_OPCODES)
    if suite.name != "standard":
        opcodes[opcode_values.SHA3] = as_opcode(
            logic_fn=_hash_opcode(suite), mnemonic=mnemonics.SHA3, gas_cost=constants.GAS_SHA3
        )
        opcodes.update(_create_opcodes(suite))
    # fixed-cost instructions charge the gas meter directly (the others are classes: kept)
    table: dict[int, OpcodeAPI | Instruction] = {
        value: charging(op.logic_fn, op.gas_cost, op.mnemonic) if type(op) is _FastOpcode else op
        for value, op in opcodes.items()
    }
    all_precompiles: dict[bytes, Callable[[ComputationAPI], object]] = {  # keyed by py-evm's Address: a bytes
        address: precompile for address, precompile in PragueComputation.get_precompiles().items()
    }
    all_precompiles.update(precompiles)
    computation = (BudgetedComputation if budgeted else ChainComputation).configure(
        __name__=f"ChainComputation[{suite.name}]", opcodes=table, _precompiles=all_precompiles
    )
    return ChainState.configure(
        __name__=f"ChainState[{suite.name}]", computation_class=computation, suite=suite
    )


def execution_context(*, block_number: int, timestamp: int, gas_limit: int, chain_id: int) -> ExecutionContext:
    """What the block-level opcodes see. BLOCKHASH returns zero (no ancestor hashes are passed in)."""
    return ExecutionContext(
        coinbase=Address(ZERO_ADDRESS),
        timestamp=timestamp,
        block_number=BlockNumber(block_number),
        difficulty=0,
        mix_hash=Hash32(b"\x00" * 32),
        gas_limit=gas_limit,
        prev_hashes=(),
        chain_id=chain_id,
        base_fee_per_gas=0,
        excess_blob_gas=0,
    )
