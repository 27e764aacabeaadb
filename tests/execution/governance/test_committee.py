"""CommitteeManager (0x10001): who may propose and vote, when a proposal passes, fails or expires,
and that a passed proposal is executed once, in force where FISCO puts it."""

from __future__ import annotations

import pytest

from chain.abi.codec import decode_args, encode_call, event_topic
from chain.crypto.keys import KeyPair
from chain.execution.local import LocalChain
from chain.execution.precompiled import COMMITTEE_MANAGER_ADDRESS, CONSENSUS_ADDRESS, SYSTEM_CONFIG_ADDRESS
from chain.ledger import committee, system
from chain.ledger.committee import ProposalStatus
from chain.ledger.status import Status
from tests.execution.governance.conftest import committee_call, make_auth_chain, proposal_status, reason

pytestmark = pytest.mark.timeout(60)

SET_CONFIG = "createSetSysConfigProposal(string,string,uint256)"
VOTE = "voteProposal(uint256,bool)"


def node_ids(suite_name: str, count: int, start: int = 100) -> list[bytes]:
    from chain.crypto.suite import get_suite

    suite = get_suite(suite_name)
    return [suite.public_key(start + i) for i in range(count)]


def count_limit(chain: LocalChain, number: int | None = None) -> int:
    return system.get_config_int(chain.state, system.TX_COUNT_LIMIT, chain.number + 1 if number is None else number)


def test_non_governor_cannot_propose_or_vote(suite_name: str, governors: list[KeyPair], user: KeyPair) -> None:
    chain = make_auth_chain(suite_name, governors, participates=100)
    refused = committee_call(chain, user, SET_CONFIG, "tx_count_limit", "7", 10)
    assert refused.status == Status.PERMISSION_DENIED and "governor" in reason(chain, refused)
    assert committee.proposal_count(chain.state) == 0
    assert committee_call(chain, governors[0], SET_CONFIG, "tx_count_limit", "7", 10).status == Status.SUCCESS
    vote = committee_call(chain, user, VOTE, 1, True)
    assert vote.status == Status.PERMISSION_DENIED
    assert committee.get_proposal(chain.state, 1).agree == (governors[0].address,)  # type: ignore[union-attr]


def test_a_governor_votes_once(suite_name: str, governors: list[KeyPair]) -> None:
    chain = make_auth_chain(suite_name, governors, participates=100)
    assert committee_call(chain, governors[0], SET_CONFIG, "tx_count_limit", "7", 10).status == Status.SUCCESS
    again = committee_call(chain, governors[0], VOTE, 1, True)  # the proposer already voted yes
    assert again.status == Status.PRECOMPILED_ERROR and "Already voted" in reason(chain, again)
    assert committee_call(chain, governors[1], VOTE, 1, False).status == Status.SUCCESS
    assert committee_call(chain, governors[1], VOTE, 1, True).status == Status.PRECOMPILED_ERROR
    assert proposal_status(chain, 1) == ProposalStatus.NOT_ENOUGH_VOTES


def test_a_passed_proposal_takes_no_more_votes(suite_name: str, governors: list[KeyPair]) -> None:
    chain = make_auth_chain(suite_name, governors)  # rates 0: the proposer's vote passes it
    assert committee_call(chain, governors[0], SET_CONFIG, "tx_count_limit", "7", 10).status == Status.SUCCESS
    assert proposal_status(chain, 1) == ProposalStatus.FINISHED
    row = chain.state.get(system.CONFIG_TABLE, b"tx_count_limit")
    late = committee_call(chain, governors[1], VOTE, 1, True)
    assert late.status == Status.PRECOMPILED_ERROR and "not votable" in reason(chain, late) and not late.logs
    assert chain.state.get(system.CONFIG_TABLE, b"tx_count_limit") == row  # not executed a second time


def test_below_participation_nothing_is_executed(suite_name: str, governors: list[KeyPair]) -> None:
    chain = make_auth_chain(suite_name, governors, participates=70)
    committee_call(chain, governors[0], SET_CONFIG, "tx_count_limit", "7", 10)
    committee_call(chain, governors[1], VOTE, 1, True)  # 2 of 3 = 67 % < 70 %
    assert proposal_status(chain, 1) == ProposalStatus.NOT_ENOUGH_VOTES
    assert count_limit(chain) == 1000
    committee_call(chain, governors[2], VOTE, 1, True)
    assert proposal_status(chain, 1) == ProposalStatus.FINISHED
    assert count_limit(chain) == 7


def test_below_win_rate_the_proposal_fails(suite_name: str, governors: list[KeyPair]) -> None:
    chain = make_auth_chain(suite_name, governors, participates=100, win=60)
    committee_call(chain, governors[0], SET_CONFIG, "tx_count_limit", "7", 10)
    committee_call(chain, governors[1], VOTE, 1, True)
    committee_call(chain, governors[2], VOTE, 1, False)  # 2 of 3 agree = 67 % >= 60 %: passes
    assert proposal_status(chain, 1) == ProposalStatus.FINISHED
    committee_call(chain, governors[0], SET_CONFIG, "tx_count_limit", "8", 10)
    committee_call(chain, governors[1], VOTE, 2, False)
    committee_call(chain, governors[2], VOTE, 2, False)  # 1 of 3 agree = 33 % < 60 %: fails
    assert proposal_status(chain, 2) == ProposalStatus.FAILED
    assert count_limit(chain) == 7
    late = committee_call(chain, governors[2], VOTE, 2, True)
    assert late.status == Status.PRECOMPILED_ERROR and "not votable" in reason(chain, late)


def test_an_expired_proposal_is_never_executed(suite_name: str, governors: list[KeyPair]) -> None:
    chain = make_auth_chain(suite_name, governors, participates=100)
    committee_call(chain, governors[0], SET_CONFIG, "tx_count_limit", "7", 2)  # open through block N + 2
    created = chain.number
    committee_call(chain, governors[1], VOTE, 1, True)  # block N + 1
    chain.run_block([])  # block N + 2: the last one it could have been voted in
    assert proposal_status(chain, 1) == ProposalStatus.OUTDATED  # as block N + 3 sees it
    late = committee_call(chain, governors[2], VOTE, 1, True)  # block N + 3
    assert chain.number == created + 3
    assert late.status == Status.PRECOMPILED_ERROR and "outdated" in reason(chain, late)
    assert count_limit(chain) == 1000
    # an outdated proposal no longer blocks a new one on the same resource
    assert committee_call(chain, governors[0], SET_CONFIG, "tx_count_limit", "9", 2).status == Status.SUCCESS


def test_one_open_proposal_per_resource(suite_name: str, governors: list[KeyPair]) -> None:
    chain = make_auth_chain(suite_name, governors, participates=100)
    committee_call(chain, governors[0], SET_CONFIG, "tx_count_limit", "7", 10)
    second = committee_call(chain, governors[1], SET_CONFIG, "tx_gas_limit", "3000000", 10)
    assert second.status == Status.PRECOMPILED_ERROR and "not end" in reason(chain, second)


def test_revoke_by_the_proposer_while_open(suite_name: str, governors: list[KeyPair]) -> None:
    chain = make_auth_chain(suite_name, governors, participates=100)
    committee_call(chain, governors[0], SET_CONFIG, "tx_count_limit", "7", 10)
    other = committee_call(chain, governors[1], "revokeProposal(uint256)", 1)
    assert other.status == Status.PRECOMPILED_ERROR and "proposer" in reason(chain, other)
    assert committee_call(chain, governors[0], "revokeProposal(uint256)", 1).status == Status.SUCCESS
    assert proposal_status(chain, 1) == ProposalStatus.REVOKED
    assert committee_call(chain, governors[1], VOTE, 1, True).status == Status.PRECOMPILED_ERROR
    assert committee_call(chain, governors[0], "revokeProposal(uint256)", 1).status == Status.PRECOMPILED_ERROR


def test_a_weighted_committee_adds_a_sealer_over_one_no_exactly_once(suite_name: str, governors: list[KeyPair]) -> None:
    """Three governors (weights 2, 1, 1), participation 75 %, win 60 %: the proposer's 2 of 4 is not
    enough to decide; one "no" brings participation to 75 % and 2 of 3 voted agree: it passes."""
    sealers = node_ids(suite_name, 4)
    chain = make_auth_chain(suite_name, governors, (2, 1, 1), participates=75, win=60, sealers=tuple(sealers))
    newcomer = node_ids(suite_name, 1, start=900)[0]
    signature = "createSetConsensusWeightProposal(string,uint32,bool,uint256)"
    assert committee_call(chain, governors[0], signature, newcomer.hex(), 1, True, 10).status == Status.SUCCESS
    assert proposal_status(chain, 1) == ProposalStatus.NOT_ENOUGH_VOTES
    result = chain.run_block([chain.transaction(governors[1], COMMITTEE_MANAGER_ADDRESS,
                                                encode_call(chain.suite, VOTE, 1, False))])
    vote_block = result.block.number
    receipt = result.receipts[0]
    assert receipt.status == Status.SUCCESS
    assert proposal_status(chain, 1) == ProposalStatus.FINISHED
    # executed: the execResult(0) event, and the sealer in force from the next block (Consensus's rule)
    topic = event_topic(chain.suite, "execResult(int256)")
    assert [(log.address, log.topics, decode_args(["int256"], log.data)) for log in receipt.logs] == [
        (COMMITTEE_MANAGER_ADDRESS, (topic,), (0,))]
    assert newcomer not in system.consensus_nodes(chain.state, vote_block).sealer_ids
    assert newcomer in system.consensus_nodes(chain.state, vote_block + 1).sealer_ids
    # exactly once: the third governor's vote is refused and nothing is written again
    rows = chain.state.get(system.CONSENSUS_TABLE, system.CONSENSUS_KEY)
    late = committee_call(chain, governors[2], VOTE, 1, True)
    assert late.status == Status.PRECOMPILED_ERROR and not late.logs
    assert chain.state.get(system.CONSENSUS_TABLE, system.CONSENSUS_KEY) == rows


def test_the_admin_list_no_longer_governs(suite_name: str, governors: list[KeyPair], admin: KeyPair) -> None:
    chain = make_auth_chain(suite_name, governors[:1], (1,), admins=(admin.address,))
    for key in (admin, governors[0]):  # an s_admin account, and even a governor, cannot call them directly
        for address, data in (
            (SYSTEM_CONFIG_ADDRESS, encode_call(chain.suite, "setValueByKey(string,string)", "tx_count_limit", "5")),
            (CONSENSUS_ADDRESS, encode_call(chain.suite, "addSealer(string,uint256)", node_ids(suite_name, 1)[0].hex(), 1)),
        ):
            receipt = chain.send(key, address, data)
            assert receipt.status == Status.PERMISSION_DENIED
            assert "proposal" in (reason(chain, receipt))
    assert system.get_config(chain.state, system.AUTH_CHECK_STATUS, chain.number) == "1"


def test_governors_and_rates_change_by_proposal(suite_name: str, governors: list[KeyPair]) -> None:
    chain = make_auth_chain(suite_name, governors[:1], (1,))
    update = "createUpdateGovernorProposal(address,uint32,uint256)"
    # rates 0: the proposer's own vote passes it, even with a heavier governor present
    assert committee_call(chain, governors[0], update, governors[1].address, 3, 10).status == Status.SUCCESS
    assert committee.committee(chain.state).governors == ((governors[0].address, 1), (governors[1].address, 3))
    # a governor cannot vote itself out
    itself = committee_call(chain, governors[0], update, governors[0].address, 0, 10)
    assert itself.status == Status.PRECOMPILED_ERROR and "yourself" in reason(chain, itself)
    assert committee_call(chain, governors[0], update, governors[1].address, 0, 10).status == Status.SUCCESS
    assert committee.committee(chain.state).governors == ((governors[0].address, 1),)
    rate = committee_call(chain, governors[0], "createSetRateProposal(uint8,uint8,uint256)", 101, 50, 10)
    assert rate.status == Status.PRECOMPILED_ERROR and "participatesRate" in reason(chain, rate)
    assert committee_call(chain, governors[0], "createSetRateProposal(uint8,uint8,uint256)", 50, 60, 10).status == 0
    status, output = chain.call(COMMITTEE_MANAGER_ADDRESS, encode_call(chain.suite, "getCommitteeInfo()"))
    p_rate, w_rate, members, weights = decode_args(["uint8", "uint8", "address[]", "uint32[]"], output)
    assert (p_rate, w_rate, [bytes.fromhex(m[2:]) for m in members], list(weights)) == (
        50, 60, [governors[0].address], [1])


def test_a_chain_without_auth_has_no_committee(suite_name: str, admin: KeyPair) -> None:
    chain = LocalChain(suite_name, admins=[admin.address])
    receipt = committee_call(chain, admin, SET_CONFIG, "tx_count_limit", "7", 10)
    assert receipt.status == Status.PRECOMPILED_ERROR and "without --auth" in reason(chain, receipt)
    assert system.get_config(chain.state, system.AUTH_CHECK_STATUS, chain.number) == "0"
