"""A contract as a Python object: deploy it, call its functions as methods, read its events.

    token = await Contract.deploy(client, account, abi, bytecode, "Coin", 1000)
    balance = await token.balanceOf(account.address)      # view function: a `call`, no transaction
    result = await token.transfer(other, 10)             # other functions: a signed transaction
    result.events                                          # decoded from the receipt's logs

Everything ABI-related (selectors and event topics hashed with the chain's suite, revert reasons)
comes from ``chain.abi.codec``; this module only adds the round trips. A failed transaction or call
raises ``ContractError`` with the FISCO status and, when the contract gave one, the revert reason.
``SyncContract`` offers the same over a ``SyncClient``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from chain.abi.codec import ABIError, ContractABI, DecodedEvent, decode_revert_reason
from chain.crypto.suite import CryptoSuite
from chain.ledger.receipt import Receipt
from chain.ledger.status import Status
from chain.sdk.account import Account
from chain.sdk.client import Client, SyncClient
from chain.sdk.errors import ContractError

CREATE = b""  # `to` of a deploy transaction


@dataclass(frozen=True)
class TxResult:
    """What a state-changing function call produced."""

    receipt: Receipt
    outputs: tuple[Any, ...]  # the function's return values (FISCO receipts carry the output)
    events: tuple[DecodedEvent, ...]

    @property
    def transaction_hash(self) -> bytes:
        return self.receipt.transaction_hash


def status_name(status: int) -> str:
    """FISCO's name for a receipt status (REVERT_INSTRUCTION...), or the bare number if it has none."""
    try:
        return Status(status).name
    except ValueError:
        return f"status {status}"


def failure(suite: CryptoSuite, what: str, status: int, output: bytes) -> ContractError:
    """The error for a failed call or transaction, with the revert reason decoded when there is one."""
    reason = decode_revert_reason(suite, output)
    text = f"{what} failed: {status_name(status)}" + (f": {reason}" if reason else "")
    return ContractError(text, status, reason)


class Contract:
    """A deployed contract bound to a client and (for transactions) a default account."""

    def __init__(self, client: Client, abi: ContractABI | Sequence[Mapping[str, Any]] | str, address: bytes,
                 account: Account | None = None) -> None:
        self.client = client
        self.abi = abi if isinstance(abi, ContractABI) else ContractABI(client.suite, abi)
        self.address = bytes(address)
        self.account = account

    @classmethod
    async def deploy(cls, client: Client, account: Account, abi: ContractABI | Sequence[Mapping[str, Any]] | str,
                     bytecode: bytes, *args: Any, timeout: float = 30.0) -> Contract:
        """Send the init code (with constructor arguments) and wait until the contract exists."""
        parsed = abi if isinstance(abi, ContractABI) else ContractABI(client.suite, abi)
        receipt = await client.send_and_wait(account, CREATE, parsed.encode_deploy(bytecode, *args), timeout=timeout)
        if not receipt.ok:
            raise failure(client.suite, "deploy", receipt.status, receipt.output)
        if not receipt.contract_address:
            raise ContractError("deploy succeeded but the receipt names no contract address")
        return cls(client, parsed, receipt.contract_address, account)

    async def call(self, name: str, *args: Any, sender: bytes | None = None) -> Any:
        """Query a function on the head state; one return value is returned bare, several as a tuple."""
        data = self.abi.encode_call(name, *args)
        sender = sender if sender is not None else (self.account.address if self.account else bytes(20))
        status, output = await self.client.call(self.address, data, sender)
        if status != Status.SUCCESS:
            raise failure(self.client.suite, f"call {name}", status, output)
        values = self.abi.decode_output(name, output)
        return values[0] if len(values) == 1 else values

    async def transact(self, name: str, *args: Any, account: Account | None = None, timeout: float = 30.0) -> TxResult:
        """Send a transaction calling a function, wait for its receipt, decode outputs and events."""
        signer = account or self.account
        if signer is None:
            raise ContractError(f"{name} changes state: it needs an account to sign the transaction")
        receipt = await self.client.send_and_wait(signer, self.address, self.abi.encode_call(name, *args), timeout=timeout)
        if not receipt.ok:
            raise failure(self.client.suite, name, receipt.status, receipt.output)
        try:
            outputs = self.abi.decode_output(name, receipt.output) if receipt.output else ()
        except ABIError:
            outputs = ()  # an output that does not fit the ABI is shown raw in the receipt, not guessed at
        return TxResult(receipt, outputs, tuple(self.abi.decode_logs(receipt.logs)))

    def events(self, receipt: Receipt) -> list[DecodedEvent]:
        """The events of this contract's ABI in a receipt (logs of other contracts skipped)."""
        return [event for event in self.abi.decode_logs(receipt.logs) if event.address == self.address]

    def __getattr__(self, name: str) -> Callable[..., Any]:
        """Functions as methods: view/pure ones are calls, the others transactions."""
        abi = self.__dict__.get("abi")
        if abi is None or name.startswith("_") or name not in abi.functions:
            raise AttributeError(name)  # names like `call` or `events` stay reachable via call()/transact()
        function = self.abi.function(name)
        if function.constant:
            return lambda *args, **kw: self.call(name, *args, **kw)
        return lambda *args, **kw: self.transact(name, *args, **kw)

    def __repr__(self) -> str:
        return f"<Contract 0x{self.address.hex()} with {sorted(f for f in self.abi.functions if '(' not in f)}>"


class SyncContract:
    """A Contract over a SyncClient: the same methods, blocking."""

    def __init__(self, contract: Contract, sync_client: SyncClient) -> None:
        self.contract = contract
        self._sync = sync_client

    @classmethod
    def deploy(cls, sync_client: SyncClient, account: Account, abi: Any, bytecode: bytes, *args: Any,
               timeout: float = 30.0) -> SyncContract:
        contract = sync_client.run(Contract.deploy(sync_client.client, account, abi, bytecode, *args, timeout=timeout))
        return cls(contract, sync_client)

    @classmethod
    def at(cls, sync_client: SyncClient, abi: Any, address: bytes, account: Account | None = None) -> SyncContract:
        return cls(Contract(sync_client.client, abi, address, account), sync_client)

    @property
    def address(self) -> bytes:
        return self.contract.address

    @property
    def abi(self) -> ContractABI:
        return self.contract.abi

    def call(self, name: str, *args: Any, **options: Any) -> Any:
        return self._sync.run(self.contract.call(name, *args, **options))

    def transact(self, name: str, *args: Any, **options: Any) -> TxResult:
        return self._sync.run(self.contract.transact(name, *args, **options))

    def events(self, receipt: Receipt) -> list[DecodedEvent]:
        return self.contract.events(receipt)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.contract, name)  # AttributeError for what the ABI does not declare
        return lambda *args, **kw: self._sync.run(method(*args, **kw))
