"""What an auth chain refuses before a transaction runs (FISCO BCOS 3.x ``checkAuth``), one rule each.

Only on a chain built with ``--auth`` (``chain.ledger.committee.is_auth_chain``); elsewhere the
executor never calls this. The rules read the rows of ``chain.ledger.permissions`` as the
transaction's own state sees them, so a change made earlier in the same block is already in force.

The executor asks ``refusal`` before a transaction's own frame runs (about its sender); the EVM
asks ``frame_error`` before every frame a contract opens — a call or a CREATE — about the
transaction's origin, as FISCO checks each call frame against tx.origin. A refused inner frame fails
like a reverted call: the calling contract sees the failure (Solidity then usually reverts too).
"""

from __future__ import annotations

from eth.exceptions import VMError

from chain.ledger import permissions
from chain.ledger.committee import is_auth_chain
from chain.ledger.permissions import ContractStatus
from chain.ledger.state import StateReader
from chain.ledger.status import Status


def refusal(state: StateReader, sender: bytes, to: bytes, data: bytes, create: bool) -> tuple[Status, str] | None:
    """(status, reason) if this transaction or call must not run on an auth chain, else None."""
    refused = permissions.account_refusal(state, sender)
    if refused is not None:
        return refused
    if create:
        # deploying follows the committee's deploy policy (none, white list, black list)
        if not permissions.has_deploy_auth(state, sender):
            return Status.NO_DEPLOY_PERMISSION, f"account 0x{sender.hex()} may not deploy contracts (deploy auth)"
        return None
    # a frozen contract takes no calls until its admin unfreezes it
    if permissions.contract_status(state, to) == ContractStatus.FROZEN:
        return Status.CONTRACT_FROZEN, f"contract 0x{to.hex()} is frozen"
    # the method's policy, set by the contract's admin
    if not permissions.method_allowed(state, to, data[:4], sender):
        return Status.NO_CALL_PERMISSION, f"account 0x{sender.hex()} may not call method 0x{data[:4].hex()} of 0x{to.hex()}"
    return None


def frame_error(state: StateReader, origin: bytes, to: bytes, data: bytes, create: bool) -> VMError | None:
    """The error an inner EVM frame fails with on an auth chain (None: it may run)."""
    if not is_auth_chain(state):
        return None
    refused = refusal(state, origin, to, data, create)
    if refused is None:
        return None
    from chain.execution.precompiled.base import PrecompiledFailure

    return PrecompiledFailure(refused[0], refused[1])
