"""What every system contract shares: ABI dispatch, gas, permissions and failure reporting.

A system contract is Python code at a fixed address that the EVM calls like any contract (a
py-evm precompile), so it is reachable from a transaction *and* from Solidity through an interface
file. Each method is declared once with its Solidity signature; the selector table is then built
for the chain's suite (SM3 selectors in the sm suite). A failure is reported the way Solidity
reports one — the call reverts with an ``Error(string)`` reason — and carries the FISCO status
code (PERMISSION_DENIED, PRECOMPILED_ERROR) that the receipt shows when the transaction called the
system contract directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

from eth.abc import ComputationAPI
from eth.exceptions import VMError

from chain.abi.codec import ABIError, decode_args, encode_args, encode_error, selector, split_signature
from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError
from chain.execution.evm import ChainState
from chain.execution.journal import TableJournal
from chain.ledger.committee import is_auth_chain
from chain.ledger.genesis import is_admin  # table s_admin: key = 20-byte address, value = b"\x01"
from chain.ledger.status import Status


def system_address(number: int) -> bytes:
    """FISCO BCOS system contract addresses are small numbers, e.g. 0x1000 for SystemConfig."""
    return number.to_bytes(20, "big")


COMMITTEE_MANAGER_ADDRESS = system_address(0x10001)  # on an auth chain, the only sender allowed to govern


class PrecompiledFailure(VMError):
    """A system contract refused a call. Unlike an EVM fault it burns no gas and keeps its reason."""

    burns_gas = False
    erases_return_data = False

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class CallContext:
    """What a system contract method may look at: the transaction's rows, the block, the caller."""

    journal: TableJournal
    suite: CryptoSuite
    block_number: int
    sender: bytes  # the direct caller (msg.sender), never tx.origin: a contract cannot borrow an admin's rights
    is_static: bool
    charge: Callable[[int], None]  # consume extra gas (e.g. per hashed word)
    emit: Callable[[tuple[bytes, ...], bytes], None] = lambda topics, data: None  # a log from this contract

    def require_admin(self) -> None:
        # on an auth chain only a passed proposal governs: the CommitteeManager is the only caller
        if is_auth_chain(self.journal):
            if self.sender != COMMITTEE_MANAGER_ADDRESS:
                raise PrecompiledFailure(
                    Status.PERMISSION_DENIED,
                    "this chain is governed by its committee: make a proposal (CommitteeManager 0x10001)",
                )
            return
        # governance is reserved to the genesis admin accounts (table s_admin)
        if not is_admin(self.journal, self.sender):
            raise PrecompiledFailure(Status.PERMISSION_DENIED, f"0x{self.sender.hex()} is not a governance admin")

    def require_writable(self) -> None:
        # STATICCALL (Solidity `view`) must not change state, system contracts included
        if self.is_static:
            raise PrecompiledFailure(Status.PRECOMPILED_ERROR, "state change attempted in a static call")

    def fail(self, message: str) -> PrecompiledFailure:
        return PrecompiledFailure(Status.PRECOMPILED_ERROR, message)


@dataclass(frozen=True)
class MethodSpec:
    signature: str
    returns: tuple[str, ...]
    gas: int
    writes: bool


def method(signature: str, returns: tuple[str, ...] = (), *, gas: int, writes: bool = False) -> Callable[[Any], Any]:
    """Declare a system contract method by its Solidity signature, its return types and its gas."""

    def mark(fn: Any) -> Any:
        fn.spec = MethodSpec(signature, returns, gas, writes)
        return fn

    return mark


class SystemContract:
    """Base of the system contracts: subclasses set `address`/`name` and declare @method functions."""

    address: ClassVar[bytes]
    name: ClassVar[str]

    def __init__(self, suite: CryptoSuite) -> None:
        self.suite = suite
        self.methods: dict[bytes, tuple[MethodSpec, tuple[str, ...], Callable[..., tuple[Any, ...]]]] = {}
        for attribute in dir(type(self)):
            fn = getattr(self, attribute)
            spec = getattr(fn, "spec", None)
            if isinstance(spec, MethodSpec):
                inputs = tuple(split_signature(spec.signature)[1])
                self.methods[selector(suite, spec.signature)] = (spec, inputs, fn)

    def __call__(self, computation: ComputationAPI) -> ComputationAPI:
        """The precompile entry point py-evm calls."""
        try:
            computation.output = self._dispatch(computation)
        except PrecompiledFailure as failure:
            computation.output = encode_error(self.suite, failure.message)
            raise
        except VMError:
            raise  # out of gas: the EVM's own fault, handled by py-evm
        except (ChainError, ABIError, ValueError, UnicodeDecodeError) as exc:
            computation.output = encode_error(self.suite, f"{self.name}: {exc}")
            raise PrecompiledFailure(Status.PRECOMPILED_ERROR, f"{self.name}: {exc}") from exc
        return computation

    def _dispatch(self, computation: ComputationAPI) -> bytes:
        data = computation.msg.data_as_bytes
        entry = self.methods.get(data[:4])
        # call data must start with the selector of a known method
        if len(data) < 4 or entry is None:
            raise PrecompiledFailure(Status.PRECOMPILED_ERROR, f"{self.name}: unknown method 0x{data[:4].hex()}")
        spec, inputs, fn = entry
        computation.consume_gas(spec.gas, reason=f"{self.name}.{spec.signature}")
        state = computation.state
        assert isinstance(state, ChainState)  # system contracts are installed only in the chain's own state class
        context = CallContext(
            journal=state.journal,
            suite=self.suite,
            block_number=computation.state.block_number,
            sender=bytes(computation.msg.sender),
            is_static=computation.msg.is_static,
            charge=lambda gas: computation.consume_gas(gas, reason=f"{self.name}: data"),
            emit=lambda topics, log_data: computation.add_log_entry(
                computation.msg.storage_address, tuple(int.from_bytes(t, "big") for t in topics), log_data),
        )
        if spec.writes:
            context.require_writable()
        args = decode_args(inputs, data[4:])
        return encode_args(spec.returns, fn(context, *args))
