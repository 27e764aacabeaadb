"""CommitteeManager (0x10001): proposals and votes of the governors of an auth chain (FISCO BCOS 3.x).

In FISCO BCOS 3.x this is a Solidity contract deployed at genesis (bcos-auth's CommitteeManager,
with a Committee, a ProposalManager and a VoteComputer it creates). Here it is one Python system
contract with the same ABI, so FISCO's clients and the console's commands call it unchanged; the
state lives in rows (``chain.ledger.committee``). ``_committee()`` and ``_proposalMgr()`` return
this same address, which therefore also answers Committee's and ProposalManager's views.

Proposals (governors only; each returns the new proposal id and counts as the proposer's yes vote):

    createUpdateGovernorProposal(address account, uint32 weight, uint256 blockNumberInterval)   11
    createSetRateProposal(uint8 participatesRate, uint8 winRate, uint256 interval)             12
    createSetDeployAuthTypeProposal(uint8 deployAuthType, uint256 interval)                    21
    createModifyDeployAuthProposal(address account, bool openFlag, uint256 interval)           22
    createResetAdminProposal(address newAdmin, address contractAddr, uint256 interval)         31
    createSetSysConfigProposal(string key, string value, uint256 interval)                     41
    createSetConsensusWeightProposal(string node, uint32 weight, bool addFlag, uint256 interval) 51
    createRmNodeProposal(string node, uint256 interval)                                        52
    voteProposal(uint256 proposalId, bool agree)
    revokeProposal(uint256 proposalId)            the proposer, while it is open

Views: isGovernor(address), getCommitteeInfo(), getWeight(address), _participatesRate(), _winRate(),
_proposalCount(), getProposalInfo(uint256), getProposalStatus(uint256), getProposalType(uint256),
getIdByTypeAndResourceId(uint8,address); ours: proposalLifetime() (the default interval genesis set).

When a vote passes a proposal, the proposal is executed in that same transaction, exactly once
(its status is then ``finished`` and no vote is accepted any more), and ``execResult(int256)`` is
emitted with the system contract's return code. Config and node changes are then in force from the
next block, like any SystemConfig/Consensus change; committee, deploy and admin changes at once. If
executing fails (say, an invalid config value), the vote transaction reverts as in FISCO, so the
proposal stays open.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

from chain.crypto.suite import CryptoSuite
from chain.execution import gas
from chain.execution.evm import CODE_TABLE
from chain.execution.precompiled.base import (
    COMMITTEE_MANAGER_ADDRESS, CallContext, PrecompiledFailure, SystemContract, method, system_address,
)
from chain.execution.precompiled.consensus import ConsensusContract
from chain.execution.precompiled.system_config import SystemConfigContract
from chain.abi.codec import encode_args, event_topic
from chain.ledger import committee as rows
from chain.ledger import permissions
from chain.ledger.committee import Proposal, ProposalStatus, ProposalType
from chain.ledger.status import Status

AUTH_MANAGER_ADDRESS = system_address(0x1005)
MAX_INTERVAL = 1 << 62  # a deadline must fit the 64-bit block numbers
EXEC_RESULT_EVENT = "execResult(int256)"


def address_bytes(value: Any) -> bytes:
    """eth-abi decodes an address as checksummed text; rows keep 20 bytes."""
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


@lru_cache(maxsize=None)
def _consensus(suite: CryptoSuite) -> ConsensusContract:
    return ConsensusContract(suite)


@lru_cache(maxsize=None)
def _system_config(suite: CryptoSuite) -> SystemConfigContract:
    return SystemConfigContract(suite)


class CommitteeManagerContract(SystemContract):
    address = COMMITTEE_MANAGER_ADDRESS
    name = "CommitteeManager"

    # --- rules shared by the methods ---

    def _require_auth_chain(self, call: CallContext) -> None:
        # a chain built without --auth has no committee: its admins govern directly
        if not rows.is_auth_chain(call.journal):
            raise call.fail("this chain has no committee (built without --auth): admins govern it directly")

    def _require_governor(self, call: CallContext) -> rows.Committee:
        self._require_auth_chain(call)
        members = rows.committee(call.journal)
        # only governors make proposals and vote (FISCO's onlyGovernor)
        if not members.is_governor(call.sender):
            raise PrecompiledFailure(Status.PERMISSION_DENIED, "you must be governor")
        return members

    def _proposal(self, call: CallContext, proposal_id: int) -> Proposal:
        proposal = rows.get_proposal(call.journal, proposal_id)
        # votes and revocations name an existing proposal
        if proposal is None:
            raise call.fail("Proposal not exist")
        return proposal

    def _create(self, call: CallContext, kind: ProposalType, resource: bytes, interval: int, **what: Any) -> tuple[int]:
        self._require_governor(call)
        # the deadline is a block number
        if interval > MAX_INTERVAL:
            raise call.fail(f"blockNumberInterval must be at most {MAX_INTERVAL}")
        previous = rows.get_proposal(call.journal, rows.proposal_for(call.journal, kind, resource))
        # one open proposal per type and resource, so two cannot race to change the same thing
        if previous is not None and previous.status_at(call.block_number) == ProposalStatus.NOT_ENOUGH_VOTES:
            raise call.fail(f"Current proposal not end (proposal {previous.id} is still open)")
        proposal_id = rows.new_proposal_id(call.journal, kind, resource)
        proposal = Proposal(
            id=proposal_id, type=kind, resource_id=resource, proposer=call.sender,
            deadline=call.block_number + interval, status=ProposalStatus.NOT_ENOUGH_VOTES, **what,
        )
        rows.put_proposal(call.journal, proposal)
        self._vote(call, proposal, True)  # the proposer agrees with its own proposal
        return (proposal_id,)

    def _vote(self, call: CallContext, proposal: Proposal, agree: bool) -> None:
        # only an open proposal takes votes: not a decided, revoked or outdated one
        if proposal.status_at(call.block_number) != ProposalStatus.NOT_ENOUGH_VOTES:
            status = rows.STATUS_NAMES[proposal.status_at(call.block_number)]
            raise call.fail(f"Proposal is not votable (it is {status})")
        # one governor, one vote
        if proposal.has_voted(call.sender):
            raise call.fail("Already voted")
        voted = proposal.with_vote(call.sender, agree)
        decided = replace(voted, status=rows.committee(call.journal).decide(voted.agree, voted.against))
        rows.put_proposal(call.journal, decided)
        if decided.status == ProposalStatus.FINISHED:
            code = self._execute(call, decided)
            call.emit((event_topic(self.suite, EXEC_RESULT_EVENT),), encode_args(["int256"], [code]))

    # --- executing a passed proposal ---

    def _execute(self, call: CallContext, p: Proposal) -> int:
        """Do what a passed proposal says, as the CommitteeManager (the only account allowed to)."""
        as_committee = replace(call, sender=COMMITTEE_MANAGER_ADDRESS)
        if p.type == ProposalType.SET_WEIGHT:
            # a governor cannot vote itself out (it would leave the committee mid-vote)
            if p.weight == 0 and p.addresses[0] == call.sender:
                raise call.fail("You can not remove yourself!")
            members = rows.committee(call.journal)
            governors = [(a, w) for a, w in members.governors if a != p.addresses[0]]
            if p.weight:
                kept = dict(members.governors)
                if p.addresses[0] in kept:  # an existing governor keeps its place in the list
                    governors = [(a, p.weight if a == p.addresses[0] else w) for a, w in members.governors]
                else:
                    governors.append((p.addresses[0], p.weight))
            # a committee without governors could never decide anything again
            if not governors:
                raise call.fail("refused: this would remove the last governor")
            rows.set_governors(call.journal, governors)
            return 0
        if p.type == ProposalType.SET_RATE:
            rows.set_rates(call.journal, p.uint8s[0], p.uint8s[1])
            return 0
        if p.type == ProposalType.SET_DEPLOY_AUTH_TYPE:
            permissions.set_deploy_type(call.journal, permissions.AuthType(p.uint8s[0]))
            return 0
        if p.type == ProposalType.MODIFY_DEPLOY_AUTH:
            # an ACL entry belongs to the white or the black list: one must be in force
            if permissions.deploy_type(call.journal) == permissions.AuthType.NONE:
                raise call.fail("no deploy auth type is set: pass a setDeployAuthType proposal first")
            permissions.set_deploy_access(call.journal, p.addresses[0], p.flag)
            return 0
        if p.type == ProposalType.RESET_ADMIN:
            permissions.set_contract_admin(call.journal, p.resource_id, p.addresses[0])
            return 0
        if p.type == ProposalType.SET_CONFIG:
            return int(_system_config(self.suite).set_value_by_key(as_committee, p.strings[0], p.strings[1])[0])
        if p.type == ProposalType.SET_NODE_WEIGHT:
            consensus = _consensus(self.suite)
            if p.flag and p.weight == 0:
                return int(consensus.add_observer(as_committee, p.strings[0])[0])
            if p.flag:
                return int(consensus.add_sealer(as_committee, p.strings[0], p.weight)[0])
            return int(consensus.set_weight(as_committee, p.strings[0], p.weight)[0])
        if p.type == ProposalType.REMOVE_NODE:
            return int(_consensus(self.suite).remove(as_committee, p.strings[0])[0])
        raise call.fail("vote type error.")  # unreachable: only known types are ever created

    # --- proposals ---

    @method("createUpdateGovernorProposal(address,uint32,uint256)", ("uint256",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def update_governor(self, call: CallContext, account: str, weight: int, interval: int) -> tuple[int]:
        target = address_bytes(account)
        return self._create(call, ProposalType.SET_WEIGHT, target, interval, weight=weight, addresses=(target,),
                            flag=True)

    @method("createSetRateProposal(uint8,uint8,uint256)", ("uint256",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def set_rate(self, call: CallContext, participates_rate: int, win_rate: int, interval: int) -> tuple[int]:
        # rates are percentages
        if participates_rate > rows.MAX_RATE:
            raise call.fail("invalid range of participatesRate")
        if win_rate > rows.MAX_RATE:
            raise call.fail("invalid range of winRate")
        return self._create(call, ProposalType.SET_RATE, self.address, interval, uint8s=(participates_rate, win_rate))

    @method("createSetDeployAuthTypeProposal(uint8,uint256)", ("uint256",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def set_deploy_auth_type(self, call: CallContext, auth_type: int, interval: int) -> tuple[int]:
        # 0 none, 1 white list, 2 black list (FISCO's AuthType)
        if auth_type not in set(permissions.AuthType):
            raise call.fail("deploy auth type must be 1 (white list) or 2 (black list), or 0 for none")
        # a proposal that changes nothing is a mistake
        if permissions.deploy_type(call.journal) == auth_type:
            raise call.fail("the current deploy auth type is the same as you want to set")
        return self._create(call, ProposalType.SET_DEPLOY_AUTH_TYPE, AUTH_MANAGER_ADDRESS, interval,
                            uint8s=(auth_type,))

    @method("createModifyDeployAuthProposal(address,bool,uint256)", ("uint256",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def modify_deploy_auth(self, call: CallContext, account: str, open_flag: bool, interval: int) -> tuple[int]:
        # an ACL entry belongs to the white or the black list: one must be in force
        if permissions.deploy_type(call.journal) == permissions.AuthType.NONE:
            raise call.fail("no deploy auth type is set: pass a setDeployAuthType proposal first")
        target = address_bytes(account)
        return self._create(call, ProposalType.MODIFY_DEPLOY_AUTH, target, interval, addresses=(target,),
                            flag=open_flag)

    @method("createResetAdminProposal(address,address,uint256)", ("uint256",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def reset_admin(self, call: CallContext, new_admin: str, contract: str, interval: int) -> tuple[int]:
        admin, target = address_bytes(new_admin), address_bytes(contract)
        # only a deployed contract has an admin
        if call.journal.get(CODE_TABLE, target) is None:
            raise call.fail("contract address not exists.")
        # a proposal that changes nothing is a mistake
        if permissions.contract_admin(call.journal, target) == admin:
            raise call.fail("the account has been the admin of concurrt contract.")
        return self._create(call, ProposalType.RESET_ADMIN, target, interval, addresses=(admin,))

    @method("createSetSysConfigProposal(string,string,uint256)", ("uint256",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def set_sys_config(self, call: CallContext, key: str, value: str, interval: int) -> tuple[int]:
        if len(key) <= 1:
            raise call.fail("invalid key length.")
        return self._create(call, ProposalType.SET_CONFIG, _system_config(self.suite).address, interval,
                            strings=(key, value))

    @method("createSetConsensusWeightProposal(string,uint32,bool,uint256)", ("uint256",), gas=gas.PRECOMPILED_WRITE,
            writes=True)
    def set_consensus_weight(self, call: CallContext, node: str, weight: int, add: bool, interval: int) -> tuple[int]:
        if len(node) <= 1:
            raise call.fail("invalid node.")
        return self._create(call, ProposalType.SET_NODE_WEIGHT, _consensus(self.suite).address, interval,
                            strings=(node,), weight=weight, flag=add)

    @method("createRmNodeProposal(string,uint256)", ("uint256",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def remove_node(self, call: CallContext, node: str, interval: int) -> tuple[int]:
        if len(node) <= 1:
            raise call.fail("invalid node.")
        return self._create(call, ProposalType.REMOVE_NODE, _consensus(self.suite).address, interval,
                            strings=(node,), flag=True)

    # --- votes ---

    @method("voteProposal(uint256,bool)", (), gas=gas.PRECOMPILED_WRITE, writes=True)
    def vote_proposal(self, call: CallContext, proposal_id: int, agree: bool) -> tuple[()]:
        self._require_governor(call)
        self._vote(call, self._proposal(call, proposal_id), agree)
        return ()

    @method("revokeProposal(uint256)", (), gas=gas.PRECOMPILED_WRITE, writes=True)
    def revoke_proposal(self, call: CallContext, proposal_id: int) -> tuple[()]:
        self._require_governor(call)
        proposal = self._proposal(call, proposal_id)
        # only an open proposal can be withdrawn
        if proposal.status_at(call.block_number) != ProposalStatus.NOT_ENOUGH_VOTES:
            raise call.fail("Only newly created proposal can be revoked")
        # and only by whoever made it
        if proposal.proposer != call.sender:
            raise call.fail("Only proposer can revoke")
        rows.put_proposal(call.journal, replace(proposal, status=ProposalStatus.REVOKED))
        return ()

    @method("refreshProposalStatus(uint256)", ("uint8",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def refresh_proposal_status(self, call: CallContext, proposal_id: int) -> tuple[int]:
        proposal = self._proposal(call, proposal_id)
        status = proposal.status_at(call.block_number)
        if status != proposal.status:
            rows.put_proposal(call.journal, replace(proposal, status=status))
        return (int(status),)

    # --- views ---

    @method("_committee()", ("address",), gas=gas.PRECOMPILED_READ)
    def committee_address(self, call: CallContext) -> tuple[bytes]:
        return (self.address,)

    @method("_proposalMgr()", ("address",), gas=gas.PRECOMPILED_READ)
    def proposal_manager_address(self, call: CallContext) -> tuple[bytes]:
        return (self.address,)

    @method("isGovernor(address)", ("bool",), gas=gas.PRECOMPILED_READ)
    def is_governor(self, call: CallContext, account: str) -> tuple[bool]:
        return (rows.committee(call.journal).is_governor(address_bytes(account)),)

    @method("getWeight(address)", ("uint32",), gas=gas.PRECOMPILED_READ)
    def get_weight(self, call: CallContext, account: str) -> tuple[int]:
        return (rows.committee(call.journal).weight_of(address_bytes(account)),)

    @method("getCommitteeInfo()", ("uint8", "uint8", "address[]", "uint32[]"), gas=gas.PRECOMPILED_READ)
    def get_committee_info(self, call: CallContext) -> tuple[int, int, list[bytes], list[int]]:
        members = rows.committee(call.journal)
        return (members.participates_rate, members.win_rate, [a for a, _ in members.governors],
                [w for _, w in members.governors])

    @method("_participatesRate()", ("uint8",), gas=gas.PRECOMPILED_READ)
    def participates_rate(self, call: CallContext) -> tuple[int]:
        return (rows.committee(call.journal).participates_rate,)

    @method("_winRate()", ("uint8",), gas=gas.PRECOMPILED_READ)
    def win_rate(self, call: CallContext) -> tuple[int]:
        return (rows.committee(call.journal).win_rate,)

    @method("proposalLifetime()", ("uint256",), gas=gas.PRECOMPILED_READ)
    def proposal_lifetime(self, call: CallContext) -> tuple[int]:
        return (rows.proposal_lifetime(call.journal),)

    @method("_proposalCount()", ("uint256",), gas=gas.PRECOMPILED_READ)
    def proposal_count(self, call: CallContext) -> tuple[int]:
        return (rows.proposal_count(call.journal),)

    @method("getProposalInfo(uint256)", ("address", "address", "uint8", "uint256", "uint8", "address[]", "address[]"),
            gas=gas.PRECOMPILED_READ)
    def get_proposal_info(self, call: CallContext, proposal_id: int) -> tuple[Any, ...]:
        p = rows.get_proposal(call.journal, proposal_id)
        if p is None:  # FISCO returns an all-zero record for an unknown id
            return (b"\x00" * 20, b"\x00" * 20, 0, 0, 0, [], [])
        return (p.resource_id, p.proposer, p.type, p.deadline, int(p.status_at(call.block_number)),
                list(p.agree), list(p.against))

    @method("getProposalStatus(uint256)", ("uint8",), gas=gas.PRECOMPILED_READ)
    def get_proposal_status(self, call: CallContext, proposal_id: int) -> tuple[int]:
        p = rows.get_proposal(call.journal, proposal_id)
        return (int(p.status_at(call.block_number)) if p is not None else 0,)

    @method("getProposalType(uint256)", ("uint8",), gas=gas.PRECOMPILED_READ)
    def get_proposal_type(self, call: CallContext, proposal_id: int) -> tuple[int]:
        p = rows.get_proposal(call.journal, proposal_id)
        return (p.type if p is not None else 0,)

    @method("getIdByTypeAndResourceId(uint8,address)", ("uint256",), gas=gas.PRECOMPILED_READ)
    def get_id_by_type_and_resource(self, call: CallContext, proposal_type: int, resource: str) -> tuple[int]:
        return (rows.proposal_for(call.journal, proposal_type, address_bytes(resource)),)
