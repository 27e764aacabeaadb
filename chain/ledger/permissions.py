"""Permissions of an auth chain (FISCO BCOS 3.x): who may deploy, call which method, send at all.

Three levels, as in FISCO's permission-governance design:

* the **committee** (``chain.ledger.committee``) sets the *deploy* policy: none (anyone deploys),
  a white list (only accounts opened by a proposal) or a black list (everyone but the accounts
  closed by a proposal); it also freezes, unfreezes and abolishes accounts;
* a **contract's admin** — its deployer unless a proposal resets it — sets a policy per method
  (selector): white list or black list, and opens/closes accounts on it; the admin can also
  freeze the contract;
* everyone else is a **user**, refused by the executor when a rule says no.

Rows (one table each; a flag is b"\\x01" for true, b"\\x00" for false, absent = never set):

* ``s_deploy_auth``   ``type`` = 0/1/2; ``w`` ‖ address / ``b`` ‖ address = access flag in the
  white / black map (FISCO keeps one map per mode: switching mode does not mix them)
* ``s_contract_admin``  key = contract address = admin address
* ``s_contract_status`` key = contract address = status byte (0 normal, 1 frozen)
* ``s_method_auth_type`` key = contract ‖ selector = 1 (white) or 2 (black)
* ``s_method_acl``    key = contract ‖ selector ‖ mode byte ‖ account = access flag
* ``s_account_status`` key = account address = status byte (0 normal, 1 frozen, 2 abolished)

Where a rule differs from FISCO's it says so (``method_allowed``).
"""

from __future__ import annotations

from enum import IntEnum

from chain.ledger.committee import Rows
from chain.ledger.state import StateReader
from chain.ledger.status import Status

DEPLOY_AUTH_TABLE = "s_deploy_auth"
DEPLOY_TYPE_KEY = b"type"
CONTRACT_ADMIN_TABLE = "s_contract_admin"
CONTRACT_STATUS_TABLE = "s_contract_status"
METHOD_AUTH_TYPE_TABLE = "s_method_auth_type"
METHOD_ACL_TABLE = "s_method_acl"
ACCOUNT_STATUS_TABLE = "s_account_status"

TRUE, FALSE = b"\x01", b"\x00"
EMPTY_ADDRESS = b"\x00" * 20


class AuthType(IntEnum):
    """FISCO's AuthType for deploy and method policies."""

    NONE = 0
    WHITE_LIST = 1
    BLACK_LIST = 2


class AccountStatus(IntEnum):
    """AccountManager's account status."""

    NORMAL = 0
    FROZEN = 1
    ABOLISHED = 2


class ContractStatus(IntEnum):
    NORMAL = 0
    FROZEN = 1


_MODE_PREFIX = {AuthType.WHITE_LIST: b"w", AuthType.BLACK_LIST: b"b"}
_AUTH_TYPES = frozenset(AuthType)
_ACCOUNT_STATUSES = frozenset(AccountStatus)


def _byte(raw: bytes | None) -> int:
    return raw[0] if raw else 0


# --- deploy -------------------------------------------------------------------------------------

def deploy_type(state: StateReader) -> AuthType:
    value = _byte(state.get(DEPLOY_AUTH_TABLE, DEPLOY_TYPE_KEY))
    return AuthType(value) if value in _AUTH_TYPES else AuthType.NONE


def set_deploy_type(rows: Rows, auth_type: AuthType) -> None:
    rows.set(DEPLOY_AUTH_TABLE, DEPLOY_TYPE_KEY, bytes([auth_type]))


def set_deploy_access(rows: Rows, account: bytes, open_: bool) -> None:
    """FISCO's open/closeDeployAuth: an entry in the map of the mode in force (none: refused earlier)."""
    mode = deploy_type(rows)
    # opening means "may deploy": true in a white list, false (not blocked) in a black list
    access = open_ if mode == AuthType.WHITE_LIST else not open_
    rows.set(DEPLOY_AUTH_TABLE, _MODE_PREFIX[mode] + account, TRUE if access else FALSE)


def has_deploy_auth(state: StateReader, account: bytes) -> bool:
    mode = deploy_type(state)
    if mode == AuthType.NONE:
        return True
    flag = state.get(DEPLOY_AUTH_TABLE, _MODE_PREFIX[mode] + account)
    if mode == AuthType.WHITE_LIST:
        return flag == TRUE  # only the opened
    return flag != TRUE  # everyone but the closed


# --- contracts ----------------------------------------------------------------------------------

def contract_admin(state: StateReader, contract: bytes) -> bytes:
    """The contract's admin, or 20 zero bytes for a contract without one (FISCO's EMPTY_ADDRESS)."""
    return state.get(CONTRACT_ADMIN_TABLE, contract) or EMPTY_ADDRESS


def set_contract_admin(rows: Rows, contract: bytes, admin: bytes) -> None:
    rows.set(CONTRACT_ADMIN_TABLE, contract, admin)


def contract_status(state: StateReader, contract: bytes) -> ContractStatus:
    return ContractStatus.FROZEN if _byte(state.get(CONTRACT_STATUS_TABLE, contract)) else ContractStatus.NORMAL


def set_contract_status(rows: Rows, contract: bytes, status: ContractStatus) -> None:
    rows.set(CONTRACT_STATUS_TABLE, contract, bytes([status]) if status else None)


def method_auth_type(state: StateReader, contract: bytes, selector: bytes) -> AuthType:
    value = _byte(state.get(METHOD_AUTH_TYPE_TABLE, contract + selector))
    return AuthType(value) if value in _AUTH_TYPES else AuthType.NONE


def set_method_auth_type(rows: Rows, contract: bytes, selector: bytes, auth_type: AuthType) -> None:
    rows.set(METHOD_AUTH_TYPE_TABLE, contract + selector, bytes([auth_type]))


def set_method_access(rows: Rows, contract: bytes, selector: bytes, account: bytes, open_: bool) -> None:
    """open/closeMethodAuth under the method's policy (callers refuse a method without one)."""
    mode = method_auth_type(rows, contract, selector)
    access = open_ if mode == AuthType.WHITE_LIST else not open_
    rows.set(METHOD_ACL_TABLE, contract + selector + _MODE_PREFIX[mode] + account, TRUE if access else FALSE)


def method_allowed(state: StateReader, contract: bytes, selector: bytes, account: bytes) -> bool:
    """May account call this method of contract?

    No policy: yes. White list: only accounts opened on it. Black list: all but those closed on it.
    (FISCO additionally lets a white-listed method through when the contract's white map is
    non-empty but holds no entry for this method — an artefact of its storage layout, not kept.)
    """
    mode = method_auth_type(state, contract, selector)
    if mode == AuthType.NONE:
        return True
    flag = state.get(METHOD_ACL_TABLE, contract + selector + _MODE_PREFIX[mode] + account)
    if mode == AuthType.WHITE_LIST:
        return flag == TRUE
    return flag != TRUE


# --- accounts -----------------------------------------------------------------------------------

def account_status(state: StateReader, account: bytes) -> AccountStatus:
    value = _byte(state.get(ACCOUNT_STATUS_TABLE, account))
    return AccountStatus(value) if value in _ACCOUNT_STATUSES else AccountStatus.NORMAL


def set_account_status(rows: Rows, account: bytes, status: AccountStatus) -> None:
    rows.set(ACCOUNT_STATUS_TABLE, account, bytes([status]) if status else None)


def account_refusal(state: StateReader, sender: bytes) -> tuple[Status, str] | None:
    """(status, reason) if the sender may not send at all (the pool asks this too)."""
    status = account_status(state, sender)
    # a frozen account sends nothing until a governor unfreezes it
    if status == AccountStatus.FROZEN:
        return Status.ACCOUNT_FROZEN, f"account 0x{sender.hex()} is frozen"
    # an abolished account never sends again (FISCO 3.x: AccountAbolished; 2.x codes have only frozen)
    if status == AccountStatus.ABOLISHED:
        return Status.ACCOUNT_FROZEN, f"account 0x{sender.hex()} is abolished"
    return None
