"""A consensus signature made in one group is worthless in another (chain.consensus.pbft.messages.signing_domain).

The same node keys sign in every group a node is in, and a ViewChange or a vote names only a
height, a view and a digest; these tests replay such messages from one group into a replica of
another and expect them refused on their signature, while the same message signed in the
replica's own group is taken.
"""

from __future__ import annotations

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.messages import MsgType, PrePrepare, ViewChange, Vote, signing_domain
from chain.sim.runner import GROUP_ID
from tests.consensus.test_rules_harness import Harness


def _rejections(effects: list[fx.Effect]) -> list[str]:
    return [e.reason for e in effects if isinstance(e, fx.Rejected)]


def test_the_first_group_signs_as_before_and_every_other_group_has_its_own_domain() -> None:
    first, second, third = Harness(), Harness(group_id=GROUP_ID + 1), Harness(group_id=GROUP_ID + 2)
    assert first.replica.domain == b""  # what group0's nodes sign did not change when groups came
    assert second.replica.domain == second.store.block_by_number(0).hash(second.suite)  # type: ignore[union-attr]
    assert len({first.replica.domain, second.replica.domain, third.replica.domain}) == 3
    genesis = third.store.block_by_number(0)
    assert genesis is not None and signing_domain(genesis, third.suite) == third.replica.domain


def test_a_view_change_replayed_from_another_group_is_refused_on_its_signature() -> None:
    group1, group0 = Harness(group_id=GROUP_ID + 1), Harness()
    height = group1.replica.height
    body = ViewChange(1, height, group1.replica.head_hash, None)
    from_group0 = group1.sign(1, MsgType.VIEW_CHANGE, body, domain=group0.replica.domain)
    reasons = _rejections(group1.deliver(from_group0))
    assert any("signature does not verify" in r for r in reasons), reasons
    assert 1 not in group1.replica.view_changes.get(1, {}), "a replayed ViewChange must not count"

    own = group1.sign(1, MsgType.VIEW_CHANGE, body)
    assert _rejections(group1.deliver(own)) == []


def test_a_group1_vote_is_refused_in_group0_too() -> None:
    group0, group1 = Harness(), Harness(group_id=GROUP_ID + 1)
    proposal = group0.pre_prepare(1)
    assert _rejections(group0.deliver(proposal)) == []
    pp = proposal.body()
    assert isinstance(pp, PrePrepare)
    body = Vote(pp.view, pp.number, pp.header.hash(group0.suite))
    reasons = _rejections(group0.deliver(group0.sign(2, MsgType.PREPARE, body, domain=group1.replica.domain)))
    assert any("signature does not verify" in r for r in reasons), reasons
    assert _rejections(group0.deliver(group0.sign(2, MsgType.PREPARE, body))) == []
