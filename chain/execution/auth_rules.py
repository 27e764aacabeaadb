"""What an auth chain refuses before a transaction runs (FISCO BCOS 3.x ``checkAuth``), one rule each.

Only on a chain built with ``--auth`` (``chain.ledger.committee.is_auth_chain``); elsewhere the
executor never calls this. The rules read the rows of ``chain.ledger.permissions`` as the
transaction's own state sees them, so a change made earlier in the same block is already in force.

They judge the transaction's sender and its target, at the top level: a contract that calls
another contract is not checked again for the inner call (FISCO checks every call frame against
tx.origin; here the inner frames would need a hook inside py-evm's message loop).
"""

from __future__ import annotations

from chain.ledger import permissions
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
