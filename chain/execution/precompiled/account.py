"""AccountManager (0x10003): governors freeze, unfreeze and abolish accounts (FISCO BCOS 3.x).

    setAccountStatus(address account, uint8 status) returns (int32)   a governor; 0 normal, 1 frozen, 2 abolished
    getAccountStatus(address account) returns (uint8)

As in FISCO, this is not a proposal: any single governor sets an account's status directly (the
console's freezeAccount / unfreezeAccount / abolishAccount). A frozen account's transactions are
refused by the pool and by the executor with ACCOUNT_FROZEN until it is unfrozen; an abolished
account is refused for ever — its status can never change again. A governor's own status cannot be
set (the committee would lock itself out); nor a contract's (contracts are frozen by their admin
through ContractAuth 0x1005).
"""

from __future__ import annotations

from chain.execution import gas
from chain.execution.evm import CODE_TABLE
from chain.execution.precompiled.base import CallContext, PrecompiledFailure, SystemContract, method, system_address
from chain.execution.precompiled.committee import address_bytes
from chain.ledger import permissions
from chain.ledger.committee import committee, is_auth_chain
from chain.ledger.permissions import AccountStatus
from chain.ledger.status import Status


class AccountManagerContract(SystemContract):
    address = system_address(0x10003)
    name = "AccountManager"

    @method("setAccountStatus(address,uint8)", ("int32",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def set_account_status(self, call: CallContext, account: str, status: int) -> tuple[int]:
        # only an auth chain has governors
        if not is_auth_chain(call.journal):
            raise call.fail("this chain has no committee (built without --auth)")
        members = committee(call.journal)
        target = address_bytes(account)
        # only a governor sets an account's status
        if not members.is_governor(call.sender):
            raise PrecompiledFailure(Status.PERMISSION_DENIED, "only a governor may set an account's status")
        # a governor frozen out of the committee could lock the chain's governance
        if members.is_governor(target):
            raise call.fail("Should not set governor's status.")
        # contracts have their own status, set by their admin
        if call.journal.get(CODE_TABLE, target) is not None:
            raise call.fail("this address is a contract: its admin freezes it with setContractStatus (0x1005)")
        # normal, frozen or abolished
        if status not in set(AccountStatus):
            raise call.fail(f"account status must be 0 (normal), 1 (frozen) or 2 (abolished), got {status}")
        # abolishing is for ever
        if permissions.account_status(call.journal, target) == AccountStatus.ABOLISHED:
            raise call.fail("Account already abolish, should not set any status.")
        permissions.set_account_status(call.journal, target, AccountStatus(status))
        return (0,)

    @method("getAccountStatus(address)", ("uint8",), gas=gas.PRECOMPILED_READ)
    def get_account_status(self, call: CallContext, account: str) -> tuple[int]:
        return (int(permissions.account_status(call.journal, address_bytes(account))),)
