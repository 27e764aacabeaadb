"""Governance of an auth chain from a client: the calls behind the console's FISCO 3.x auth commands.

Modelled on java-sdk's ``AuthManager``: a governor proposes (``create_*``) and votes, a contract's
admin sets its method ACLs and freezes it, a governor freezes accounts; anyone reads. Every write
returns the transaction's receipt (a failed one carries the reason: ``decode_revert_reason``); a
proposal's id is ``proposal_id_of(receipt)``. When no ``interval`` is given a proposal stays open
for the chain's default lifetime (genesis ``[auth] proposal_lifetime``), like java-sdk's
DEFAULT_BLOCK_NUMBER_INTERVAL.

The addresses are FISCO's: CommitteeManager 0x10001 (which also answers its Committee's and
ProposalManager's views here), ContractAuth 0x1005, AccountManager 0x10003.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence

from chain.abi.codec import decode_args, decode_revert_reason, encode_call, selector
from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError
from chain.ledger.committee import STATUS_NAMES, TYPE_NAMES, ProposalStatus, ProposalType
from chain.ledger.permissions import AccountStatus, AuthType
from chain.ledger.receipt import Receipt

COMMITTEE_MANAGER = bytes.fromhex("0000000000000000000000000000000000010001")
CONTRACT_AUTH = bytes.fromhex("0000000000000000000000000000000000001005")
ACCOUNT_MANAGER = bytes.fromhex("0000000000000000000000000000000000010003")
ZERO_ADDRESS = b"\x00" * 20


class GovernanceError(ChainError):
    """A read the chain refused (e.g. a chain built without --auth)."""


class Transport(Protocol):
    """What governance needs of a client (``chain.sdk.client.SyncClient`` provides it)."""

    @property
    def suite(self) -> CryptoSuite: ...
    def call(self, to: bytes, data: bytes, sender: bytes = ZERO_ADDRESS) -> tuple[int, bytes]: ...
    def send_and_wait(self, account: Any, to: bytes, data: bytes) -> Receipt: ...


@dataclass(frozen=True)
class CommitteeInfo:
    participates_rate: int
    win_rate: int
    governors: tuple[tuple[bytes, int], ...]  # (address, weight)


@dataclass(frozen=True)
class ProposalInfo:
    id: int
    resource_id: bytes
    proposer: bytes
    type: int
    deadline: int  # the last block it can be voted in
    status: int
    agree: tuple[bytes, ...]
    against: tuple[bytes, ...]

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(ProposalType(self.type), "unknown") if self.type in set(ProposalType) else "unknown"

    @property
    def status_name(self) -> str:
        return STATUS_NAMES[ProposalStatus(self.status)] if self.status in set(ProposalStatus) else "unknown"


def address_of(value: str) -> bytes:
    """eth-abi returns addresses as checksummed text."""
    return bytes.fromhex(value[2:])


def proposal_id_of(receipt: Receipt) -> int:
    """The id a create*Proposal transaction returned."""
    return int(decode_args(["uint256"], receipt.output)[0])


def reason_of(suite: CryptoSuite, receipt: Receipt) -> str | None:
    return decode_revert_reason(suite, receipt.output)


class Governance:
    """FISCO 3.x permission governance over one client and (for writes) one account."""

    def __init__(self, client: Transport, account: Any = None) -> None:
        self.client = client
        self.account = account

    # --- plumbing ---

    def _view(self, to: bytes, signature: str, returns: Sequence[str], *args: Any) -> tuple[Any, ...]:
        status, output = self.client.call(to, encode_call(self.client.suite, signature, *args),
                                          self.account.address if self.account is not None else ZERO_ADDRESS)
        if status != 0:
            reason = decode_revert_reason(self.client.suite, output)
            raise GovernanceError(f"{signature} failed (status {status})" + (f": {reason}" if reason else ""))
        return decode_args(list(returns), output)

    def _send(self, to: bytes, signature: str, *args: Any) -> Receipt:
        if self.account is None:
            raise GovernanceError("this sends a transaction: an account (key) is needed")
        return self.client.send_and_wait(self.account, to, encode_call(self.client.suite, signature, *args))

    def _interval(self, interval: int | None) -> int:
        return self.proposal_lifetime() if interval is None else interval

    def selector(self, function: str) -> bytes:
        """A method's selector from its signature ("set(string)") or its hex (0x4ed3885e)."""
        if "(" in function:
            return selector(self.client.suite, function.replace(" ", ""))
        raw = bytes.fromhex(function[2:] if function.lower().startswith("0x") else function)
        if len(raw) != 4:
            raise GovernanceError(f"a function is a signature like set(string) or a 4-byte selector, got {function!r}")
        return raw

    # --- committee (reads) ---

    def committee_info(self) -> CommitteeInfo:
        p, w, governors, weights = self._view(COMMITTEE_MANAGER, "getCommitteeInfo()",
                                              ["uint8", "uint8", "address[]", "uint32[]"])
        return CommitteeInfo(int(p), int(w), tuple((address_of(a), int(x)) for a, x in zip(governors, weights)))

    def proposal_lifetime(self) -> int:
        return int(self._view(COMMITTEE_MANAGER, "proposalLifetime()", ["uint256"])[0])

    def latest_proposal(self) -> int:
        return int(self._view(COMMITTEE_MANAGER, "_proposalCount()", ["uint256"])[0])

    def proposal_info(self, proposal_id: int) -> ProposalInfo | None:
        resource, proposer, kind, deadline, status, agree, against = self._view(
            COMMITTEE_MANAGER, "getProposalInfo(uint256)",
            ["address", "address", "uint8", "uint256", "uint8", "address[]", "address[]"], proposal_id)
        if int(status) == ProposalStatus.NONE:
            return None
        return ProposalInfo(proposal_id, address_of(resource), address_of(proposer), int(kind), int(deadline),
                            int(status), tuple(address_of(a) for a in agree), tuple(address_of(a) for a in against))

    # --- committee (proposals and votes; governors) ---

    def update_governor(self, account: bytes, weight: int, interval: int | None = None) -> Receipt:
        return self._send(COMMITTEE_MANAGER, "createUpdateGovernorProposal(address,uint32,uint256)", account, weight,
                          self._interval(interval))

    def set_rate(self, participates_rate: int, win_rate: int, interval: int | None = None) -> Receipt:
        return self._send(COMMITTEE_MANAGER, "createSetRateProposal(uint8,uint8,uint256)", participates_rate, win_rate,
                          self._interval(interval))

    def set_deploy_auth_type(self, auth_type: AuthType, interval: int | None = None) -> Receipt:
        return self._send(COMMITTEE_MANAGER, "createSetDeployAuthTypeProposal(uint8,uint256)", int(auth_type),
                          self._interval(interval))

    def modify_deploy_auth(self, account: bytes, open_: bool, interval: int | None = None) -> Receipt:
        return self._send(COMMITTEE_MANAGER, "createModifyDeployAuthProposal(address,bool,uint256)", account, open_,
                          self._interval(interval))

    def reset_admin(self, new_admin: bytes, contract: bytes, interval: int | None = None) -> Receipt:
        return self._send(COMMITTEE_MANAGER, "createResetAdminProposal(address,address,uint256)", new_admin, contract,
                          self._interval(interval))

    def set_sys_config(self, key: str, value: str, interval: int | None = None) -> Receipt:
        return self._send(COMMITTEE_MANAGER, "createSetSysConfigProposal(string,string,uint256)", key, value,
                          self._interval(interval))

    def set_node_weight(self, node_id: str, weight: int, *, add: bool, interval: int | None = None) -> Receipt:
        """add: a new sealer (weight > 0) or observer (weight 0); otherwise a sealer's new weight."""
        return self._send(COMMITTEE_MANAGER, "createSetConsensusWeightProposal(string,uint32,bool,uint256)",
                          node_id, weight, add, self._interval(interval))

    def remove_node(self, node_id: str, interval: int | None = None) -> Receipt:
        return self._send(COMMITTEE_MANAGER, "createRmNodeProposal(string,uint256)", node_id, self._interval(interval))

    def vote(self, proposal_id: int, agree: bool = True) -> Receipt:
        return self._send(COMMITTEE_MANAGER, "voteProposal(uint256,bool)", proposal_id, agree)

    def revoke(self, proposal_id: int) -> Receipt:
        return self._send(COMMITTEE_MANAGER, "revokeProposal(uint256)", proposal_id)

    # --- deploy policy (reads) ---

    def deploy_type(self) -> AuthType:
        return AuthType(int(self._view(CONTRACT_AUTH, "deployType()", ["uint256"])[0]))

    def has_deploy_auth(self, account: bytes) -> bool:
        return bool(self._view(CONTRACT_AUTH, "hasDeployAuth(address)", ["bool"], account)[0])

    # --- a contract's admin ---

    def contract_admin(self, contract: bytes) -> bytes:
        return address_of(self._view(CONTRACT_AUTH, "getAdmin(address)", ["address"], contract)[0])

    def set_method_auth_type(self, contract: bytes, function: str, auth_type: AuthType) -> Receipt:
        return self._send(CONTRACT_AUTH, "setMethodAuthType(address,bytes4,uint8)", contract, self.selector(function),
                          int(auth_type))

    def open_method_auth(self, contract: bytes, function: str, account: bytes) -> Receipt:
        return self._send(CONTRACT_AUTH, "openMethodAuth(address,bytes4,address)", contract, self.selector(function),
                          account)

    def close_method_auth(self, contract: bytes, function: str, account: bytes) -> Receipt:
        return self._send(CONTRACT_AUTH, "closeMethodAuth(address,bytes4,address)", contract, self.selector(function),
                          account)

    def check_method_auth(self, contract: bytes, function: str, account: bytes) -> bool:
        return bool(self._view(CONTRACT_AUTH, "checkMethodAuth(address,bytes4,address)", ["bool"], contract,
                               self.selector(function), account)[0])

    def set_contract_frozen(self, contract: bytes, frozen: bool) -> Receipt:
        return self._send(CONTRACT_AUTH, "setContractStatus(address,bool)", contract, frozen)

    def contract_available(self, contract: bytes) -> bool:
        return bool(self._view(CONTRACT_AUTH, "contractAvailable(address)", ["bool"], contract)[0])

    # --- accounts (governors) ---

    def set_account_status(self, account: bytes, status: AccountStatus) -> Receipt:
        return self._send(ACCOUNT_MANAGER, "setAccountStatus(address,uint8)", account, int(status))

    def account_status(self, account: bytes) -> AccountStatus:
        return AccountStatus(int(self._view(ACCOUNT_MANAGER, "getAccountStatus(address)", ["uint8"], account)[0]))
