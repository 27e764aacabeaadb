"""The governance committee of an auth chain (FISCO BCOS 3.x ``-A``): governors, rates, proposals.

FISCO BCOS 3.x keeps these in Solidity contracts deployed at genesis (bcos-auth's Committee,
ProposalManager and VoteComputer behind CommitteeManager 0x10001). Here they are rows of state,
read and written by the CommitteeManager system contract (``chain.execution.precompiled.committee``)
and written once by genesis. The rules are FISCO's, word for word where it matters:

* a proposal passes or fails on the weights of the governors who voted (``decide``):
  participation first — ``voted * 100 >= total * participatesRate`` — else it waits for more votes;
  then ``agree * 100 >= winRate * voted`` passes it, anything less fails it;
* the governors and rates in force *when a vote is cast* decide (changing them re-judges every
  open proposal at its next vote);
* a proposal is open until block ``deadline = creation block + blockNumberInterval``; from the next
  block on it is outdated and can no longer be voted on or revoked.

Rows (values are RLP):

* ``s_committee`` ``governors`` = [[address, weight], ...] in joining order (FISCO's LibAddressSet);
  ``rates`` = [participatesRate, winRate]; ``lifetime`` = the chain's default blockNumberInterval.
* ``s_proposal`` ``count`` = the last proposal id; key = id (8 bytes, big end) = the proposal.
* ``s_proposal_index`` key = type (1 byte) ‖ resource id (20 bytes) = the latest proposal id for it
  (FISCO allows one open proposal per type and resource).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Any, Iterable, Protocol

from chain.errors import LedgerError
from chain.ledger import codec
from chain.ledger.state import StateReader

COMMITTEE_TABLE = "s_committee"
GOVERNORS_KEY = b"governors"
RATES_KEY = b"rates"
LIFETIME_KEY = b"lifetime"
PROPOSAL_TABLE = "s_proposal"
PROPOSAL_COUNT_KEY = b"count"
PROPOSAL_INDEX_TABLE = "s_proposal_index"

ADDRESS_SIZE = 20
MAX_RATE = 100
MAX_GOVERNOR_WEIGHT = (1 << 32) - 1  # uint32 in FISCO's Committee
# The console's and java-sdk's DEFAULT_BLOCK_NUMBER_INTERVAL ("about a week" at one block a second).
DEFAULT_PROPOSAL_LIFETIME = 3600 * 24 * 7


class ProposalStatus(IntEnum):
    """ProposalManager's status codes (0 = no such proposal)."""

    NONE = 0
    NOT_ENOUGH_VOTES = 1  # open
    FINISHED = 2  # passed and executed
    FAILED = 3  # voted down
    REVOKED = 4
    OUTDATED = 5


class ProposalType(IntEnum):
    """CommitteeManager's proposal types (1x committee, 2x deploy auth, 3x admin, 4x config, 5x nodes)."""

    SET_WEIGHT = 11  # updateGovernorProposal
    SET_RATE = 12
    SET_DEPLOY_AUTH_TYPE = 21
    MODIFY_DEPLOY_AUTH = 22  # open (flag) or close a deploy ACL entry
    RESET_ADMIN = 31
    SET_CONFIG = 41
    SET_NODE_WEIGHT = 51  # flag: add (weight 0 = observer) else set weight
    REMOVE_NODE = 52


# What FISCO's console prints for each type and status.
TYPE_NAMES = {
    ProposalType.SET_WEIGHT: "setWeight", ProposalType.SET_RATE: "setRate",
    ProposalType.SET_DEPLOY_AUTH_TYPE: "setDeployAuthType", ProposalType.MODIFY_DEPLOY_AUTH: "modifyDeployAuth",
    ProposalType.RESET_ADMIN: "resetAdmin", ProposalType.SET_CONFIG: "setConfig",
    ProposalType.SET_NODE_WEIGHT: "setNodeWeight", ProposalType.REMOVE_NODE: "removeNode",
}
STATUS_NAMES = {
    ProposalStatus.NONE: "unknown", ProposalStatus.NOT_ENOUGH_VOTES: "notEnoughVotes",
    ProposalStatus.FINISHED: "finished", ProposalStatus.FAILED: "failed", ProposalStatus.REVOKED: "revoke",
    ProposalStatus.OUTDATED: "outdated",
}


class Rows(StateReader, Protocol):
    """State that can also be written (a transaction's journal)."""

    def set(self, table: str, key: bytes, value: bytes | None) -> None: ...


@dataclass(frozen=True)
class Committee:
    governors: tuple[tuple[bytes, int], ...]  # (address, weight) in joining order
    participates_rate: int
    win_rate: int

    def weight_of(self, address: bytes) -> int:
        return dict(self.governors).get(address, 0)

    def is_governor(self, address: bytes) -> bool:
        return self.weight_of(address) > 0

    @property
    def total_weight(self) -> int:
        return sum(weight for _, weight in self.governors)

    def decide(self, agree: Iterable[bytes], against: Iterable[bytes]) -> ProposalStatus:
        """FISCO's VoteComputer.determineVoteResult on the voters so far."""
        agree_votes = sum(self.weight_of(a) for a in agree)
        done_votes = agree_votes + sum(self.weight_of(a) for a in against)
        # enough of the committee's weight has voted
        if done_votes * 100 < self.total_weight * self.participates_rate:
            return ProposalStatus.NOT_ENOUGH_VOTES
        # and enough of that weight agrees
        if agree_votes * 100 >= self.win_rate * done_votes:
            return ProposalStatus.FINISHED
        return ProposalStatus.FAILED


@dataclass(frozen=True)
class Proposal:
    """ProposalManager's record plus CommitteeManager's ProposalInfo (what to do when it passes)."""

    id: int
    type: int
    resource_id: bytes
    proposer: bytes
    deadline: int  # last block in which it can be voted on (FISCO's blockNumberInterval field)
    status: ProposalStatus
    agree: tuple[bytes, ...] = ()
    against: tuple[bytes, ...] = ()
    uint8s: tuple[int, ...] = ()
    strings: tuple[str, ...] = ()
    weight: int = 0
    addresses: tuple[bytes, ...] = ()
    flag: bool = False

    def status_at(self, block_number: int) -> ProposalStatus:
        """The status as of block_number: an open proposal past its deadline is outdated."""
        if self.status == ProposalStatus.NOT_ENOUGH_VOTES and block_number > self.deadline:
            return ProposalStatus.OUTDATED
        return self.status

    def has_voted(self, address: bytes) -> bool:
        return address in self.agree or address in self.against

    def with_vote(self, voter: bytes, agree: bool) -> Proposal:
        if agree:
            return replace(self, agree=self.agree + (voter,))
        return replace(self, against=self.against + (voter,))


# --- encoding -----------------------------------------------------------------------------------

def _int_row(raw: bytes, what: str) -> int:
    """A row holding one integer (RLP [n])."""
    return codec.as_int(codec.decode_list(raw, what, 1)[0], what, 64)


def _id_key(proposal_id: int) -> bytes:
    return proposal_id.to_bytes(8, "big")


def encode_governors(governors: Iterable[tuple[bytes, int]]) -> bytes:
    return codec.encode([[address, weight] for address, weight in governors])


def decode_governors(raw: bytes) -> tuple[tuple[bytes, int], ...]:
    out = []
    for entry in codec.decode_list(raw, "s_committee.governors"):
        items = codec.as_list(entry, "governor [address, weight]", 2)
        out.append((codec.as_bytes(items[0], "governor address", size=ADDRESS_SIZE),
                    codec.as_int(items[1], "governor weight", 32)))
    return tuple(out)


def encode_proposal(p: Proposal) -> bytes:
    return codec.encode([
        p.type, p.resource_id, p.proposer, p.deadline, int(p.status), list(p.agree), list(p.against),
        list(p.uint8s), [s.encode() for s in p.strings], p.weight, list(p.addresses), int(p.flag),
    ])


def decode_proposal(proposal_id: int, raw: bytes) -> Proposal:
    items = codec.decode_list(raw, "s_proposal row", 12)

    def addresses(value: Any, what: str) -> tuple[bytes, ...]:
        return tuple(codec.as_bytes(a, what, size=ADDRESS_SIZE) for a in codec.as_list(value, what))

    status = codec.as_int(items[4], "proposal status", 8)
    if status not in set(ProposalStatus):
        raise LedgerError(f"s_proposal: unknown status {status}")
    return Proposal(
        id=proposal_id,
        type=codec.as_int(items[0], "proposal type", 8),
        resource_id=codec.as_bytes(items[1], "proposal resource", size=ADDRESS_SIZE),
        proposer=codec.as_bytes(items[2], "proposer", size=ADDRESS_SIZE),
        deadline=codec.as_int(items[3], "proposal deadline"),
        status=ProposalStatus(status),
        agree=addresses(items[5], "agree voters"),
        against=addresses(items[6], "against voters"),
        uint8s=tuple(codec.as_int(v, "proposal uint8", 8) for v in codec.as_list(items[7], "uint8s")),
        strings=tuple(codec.as_bytes(v, "proposal string").decode() for v in codec.as_list(items[8], "strings")),
        weight=codec.as_int(items[9], "proposal weight", 32),
        addresses=addresses(items[10], "proposal addresses"),
        flag=bool(codec.as_int(items[11], "proposal flag", 8)),
    )


# --- reading ------------------------------------------------------------------------------------

def is_auth_chain(state: StateReader) -> bool:
    """True iff genesis made a committee (the chain was built with --auth)."""
    return state.get(COMMITTEE_TABLE, GOVERNORS_KEY) is not None


def committee(state: StateReader) -> Committee:
    raw = state.get(COMMITTEE_TABLE, GOVERNORS_KEY)
    governors = decode_governors(raw) if raw is not None else ()
    rates_raw = state.get(COMMITTEE_TABLE, RATES_KEY)
    rates = codec.decode_list(rates_raw, "s_committee.rates", 2) if rates_raw is not None else [0, 0]
    return Committee(governors, codec.as_int(rates[0], "participatesRate", 8), codec.as_int(rates[1], "winRate", 8))


def proposal_lifetime(state: StateReader) -> int:
    raw = state.get(COMMITTEE_TABLE, LIFETIME_KEY)
    return _int_row(raw, "s_committee.lifetime") if raw is not None else DEFAULT_PROPOSAL_LIFETIME


def proposal_count(state: StateReader) -> int:
    raw = state.get(PROPOSAL_TABLE, PROPOSAL_COUNT_KEY)
    return _int_row(raw, "s_proposal.count") if raw is not None else 0


def get_proposal(state: StateReader, proposal_id: int) -> Proposal | None:
    if not 0 < proposal_id < 1 << 64:
        return None
    raw = state.get(PROPOSAL_TABLE, _id_key(proposal_id))
    return decode_proposal(proposal_id, raw) if raw is not None else None


def proposal_for(state: StateReader, proposal_type: int, resource_id: bytes) -> int:
    """The latest proposal id of this type about this resource (0 if none)."""
    raw = state.get(PROPOSAL_INDEX_TABLE, bytes([proposal_type]) + resource_id)
    return _int_row(raw, "s_proposal_index") if raw is not None else 0


def open_proposals(state: StateReader, block_number: int, limit: int = 50) -> list[Proposal]:
    """The newest proposals still open at block_number (for dashboards), newest first."""
    found = []
    for proposal_id in range(proposal_count(state), 0, -1):
        proposal = get_proposal(state, proposal_id)
        if proposal is not None and proposal.status_at(block_number) == ProposalStatus.NOT_ENOUGH_VOTES:
            found.append(proposal)
            if len(found) >= limit:
                break
    return found


# --- writing ------------------------------------------------------------------------------------

def set_governors(rows: Rows, governors: Iterable[tuple[bytes, int]]) -> None:
    rows.set(COMMITTEE_TABLE, GOVERNORS_KEY, encode_governors(governors))


def set_rates(rows: Rows, participates_rate: int, win_rate: int) -> None:
    rows.set(COMMITTEE_TABLE, RATES_KEY, codec.encode([participates_rate, win_rate]))


def put_proposal(rows: Rows, proposal: Proposal) -> None:
    rows.set(PROPOSAL_TABLE, _id_key(proposal.id), encode_proposal(proposal))


def new_proposal_id(rows: Rows, proposal_type: int, resource_id: bytes) -> int:
    proposal_id = proposal_count(rows) + 1
    rows.set(PROPOSAL_TABLE, PROPOSAL_COUNT_KEY, codec.encode([proposal_id]))
    rows.set(PROPOSAL_INDEX_TABLE, bytes([proposal_type]) + resource_id, codec.encode([proposal_id]))
    return proposal_id


def genesis_rows(governors: Iterable[tuple[bytes, int]], participates_rate: int, win_rate: int,
                 lifetime: int) -> dict[tuple[str, bytes], bytes]:
    """The rows genesis writes on an auth chain."""
    return {
        (COMMITTEE_TABLE, GOVERNORS_KEY): encode_governors(governors),
        (COMMITTEE_TABLE, RATES_KEY): codec.encode([participates_rate, win_rate]),
        (COMMITTEE_TABLE, LIFETIME_KEY): codec.encode([lifetime]),
    }
