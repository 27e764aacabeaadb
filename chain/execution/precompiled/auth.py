"""ContractAuth / AuthManager (0x1005): deploy policy, contract admins, method ACLs, contract freeze.

FISCO BCOS 3.x's public permission entry (``ContractAuthPrecompiled.sol`` in bcos-auth, served by
AuthManagerPrecompiled). FISCO forwards every call to ContractAuthMgr at 0x10002, an internal store
that accepts calls from 0x1005 only; here 0x1005 reads and writes the rows itself
(``chain.ledger.permissions``), so 0x10002 has nothing left to do and is not served.

Who may call what:

    resetAdmin(address contract, address admin) returns (int256)           the committee (a passed proposal)
    setDeployAuthType(uint8 type) returns (int256)                          the committee
    openDeployAuth(address) / closeDeployAuth(address) returns (int256)     the committee
    setMethodAuthType(address contract, bytes4 func, uint8 type) returns (int256)   the contract's admin
    openMethodAuth / closeMethodAuth(address contract, bytes4 func, address account) returns (int256)  its admin
    setContractStatus(address contract, bool isFreeze) returns (int256)     its admin (freezeContract)
    getAdmin(address) returns (address); checkMethodAuth(address,bytes4,address) returns (bool);
    contractAvailable(address) returns (bool); deployType() returns (uint256); hasDeployAuth(address) returns (bool)

A contract's admin is the account that deployed it on an auth chain (the executor writes the row).
Not served: getMethodAuth (it lists accounts, and ACL rows are not enumerable here).
"""

from __future__ import annotations

from chain.execution import gas
from chain.execution.precompiled.base import (
    COMMITTEE_MANAGER_ADDRESS, CallContext, PrecompiledFailure, SystemContract, method, system_address,
)
from chain.execution.precompiled.committee import address_bytes
from chain.ledger import permissions
from chain.ledger.committee import is_auth_chain
from chain.ledger.permissions import AuthType, ContractStatus
from chain.ledger.status import Status


class AuthManagerContract(SystemContract):
    address = system_address(0x1005)
    name = "ContractAuth"

    # --- who may write ---

    def _require_committee(self, call: CallContext) -> None:
        # the chain-wide rules change only by a passed proposal, which the CommitteeManager executes
        if not is_auth_chain(call.journal):
            raise call.fail("this chain has no committee (built without --auth)")
        if call.sender != COMMITTEE_MANAGER_ADDRESS:
            raise PrecompiledFailure(Status.PERMISSION_DENIED, "only the committee may change this: make a proposal")

    def _require_contract_admin(self, call: CallContext, contract: bytes) -> None:
        # a contract's rules are its admin's to set (the deployer, unless a proposal reset it)
        if permissions.contract_admin(call.journal, contract) != call.sender:
            raise PrecompiledFailure(
                Status.PERMISSION_DENIED, f"only the admin of contract 0x{contract.hex()} may set its access rules")

    def _auth_type(self, call: CallContext, value: int) -> AuthType:
        # a policy is a white list (1) or a black list (2)
        if value not in (AuthType.WHITE_LIST, AuthType.BLACK_LIST):
            raise call.fail(f"auth type must be 1 (white list) or 2 (black list), got {value}")
        return AuthType(value)

    # --- the committee's ---

    @method("resetAdmin(address,address)", ("int256",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def reset_admin(self, call: CallContext, contract: str, admin: str) -> tuple[int]:
        self._require_committee(call)
        permissions.set_contract_admin(call.journal, address_bytes(contract), address_bytes(admin))
        return (0,)

    @method("setDeployAuthType(uint8)", ("int256",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def set_deploy_auth_type(self, call: CallContext, value: int) -> tuple[int]:
        self._require_committee(call)
        # 0 none, 1 white list, 2 black list
        if value not in set(AuthType):
            raise call.fail(f"deploy auth type must be 0, 1 or 2, got {value}")
        permissions.set_deploy_type(call.journal, AuthType(value))
        return (0,)

    def _deploy_access(self, call: CallContext, account: str, open_: bool) -> tuple[int]:
        self._require_committee(call)
        # an ACL entry belongs to the white or the black list: one must be in force
        if permissions.deploy_type(call.journal) == AuthType.NONE:
            raise call.fail("no deploy auth type is set")
        permissions.set_deploy_access(call.journal, address_bytes(account), open_)
        return (0,)

    @method("openDeployAuth(address)", ("int256",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def open_deploy_auth(self, call: CallContext, account: str) -> tuple[int]:
        return self._deploy_access(call, account, True)

    @method("closeDeployAuth(address)", ("int256",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def close_deploy_auth(self, call: CallContext, account: str) -> tuple[int]:
        return self._deploy_access(call, account, False)

    # --- a contract admin's ---

    @method("setMethodAuthType(address,bytes4,uint8)", ("int256",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def set_method_auth_type(self, call: CallContext, contract: str, func: bytes, value: int) -> tuple[int]:
        target = address_bytes(contract)
        self._require_contract_admin(call, target)
        permissions.set_method_auth_type(call.journal, target, bytes(func), self._auth_type(call, value))
        return (0,)

    def _method_access(self, call: CallContext, contract: str, func: bytes, account: str, open_: bool) -> tuple[int]:
        target = address_bytes(contract)
        self._require_contract_admin(call, target)
        # an ACL entry belongs to the method's white or black list: the method needs a policy first
        if permissions.method_auth_type(call.journal, target, bytes(func)) == AuthType.NONE:
            raise call.fail(f"method 0x{bytes(func).hex()} has no auth type: call setMethodAuthType first")
        permissions.set_method_access(call.journal, target, bytes(func), address_bytes(account), open_)
        return (0,)

    @method("openMethodAuth(address,bytes4,address)", ("int256",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def open_method_auth(self, call: CallContext, contract: str, func: bytes, account: str) -> tuple[int]:
        return self._method_access(call, contract, func, account, True)

    @method("closeMethodAuth(address,bytes4,address)", ("int256",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def close_method_auth(self, call: CallContext, contract: str, func: bytes, account: str) -> tuple[int]:
        return self._method_access(call, contract, func, account, False)

    @method("setContractStatus(address,bool)", ("int256",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def set_contract_status(self, call: CallContext, contract: str, freeze: bool) -> tuple[int]:
        target = address_bytes(contract)
        self._require_contract_admin(call, target)
        permissions.set_contract_status(call.journal, target, ContractStatus.FROZEN if freeze else ContractStatus.NORMAL)
        return (0,)

    # --- views ---

    @method("getAdmin(address)", ("address",), gas=gas.PRECOMPILED_READ)
    def get_admin(self, call: CallContext, contract: str) -> tuple[bytes]:
        return (permissions.contract_admin(call.journal, address_bytes(contract)),)

    @method("checkMethodAuth(address,bytes4,address)", ("bool",), gas=gas.PRECOMPILED_READ)
    def check_method_auth(self, call: CallContext, contract: str, func: bytes, account: str) -> tuple[bool]:
        return (permissions.method_allowed(call.journal, address_bytes(contract), bytes(func), address_bytes(account)),)

    @method("contractAvailable(address)", ("bool",), gas=gas.PRECOMPILED_READ)
    def contract_available(self, call: CallContext, contract: str) -> tuple[bool]:
        return (permissions.contract_status(call.journal, address_bytes(contract)) == ContractStatus.NORMAL,)

    @method("deployType()", ("uint256",), gas=gas.PRECOMPILED_READ)
    def deploy_type(self, call: CallContext) -> tuple[int]:
        return (int(permissions.deploy_type(call.journal)),)

    @method("hasDeployAuth(address)", ("bool",), gas=gas.PRECOMPILED_READ)
    def has_deploy_auth(self, call: CallContext, account: str) -> tuple[bool]:
        return (permissions.has_deploy_auth(call.journal, address_bytes(account)),)
