"""The per-height state's step: it only moves forward, and a later view starts over unless the block is ordered."""

from __future__ import annotations

import pytest

from chain.consensus.pbft.height import HeightState, Step
from chain.errors import ConsensusError


def test_a_step_only_moves_forward() -> None:
    state = HeightState(5, since=0)
    assert state.step == Step.NEW
    state.advance(Step.PREPARED)
    state.advance(Step.PRE_PREPARED)  # a proposal accepted after a prepared certificate was restored
    assert state.step == Step.PREPARED


def test_new_is_not_reached_by_advancing() -> None:
    with pytest.raises(ConsensusError):
        HeightState(5, since=0).advance(Step.NEW)


@pytest.mark.parametrize("reached, after", [(Step.PRE_PREPARED, Step.NEW), (Step.PREPARED, Step.NEW),
                                            (Step.COMMITTED, Step.COMMITTED), (Step.EXECUTED, Step.EXECUTED)])
def test_a_later_view_starts_over_until_the_block_is_ordered(reached: Step, after: Step) -> None:
    state = HeightState(5, since=0)
    state.advance(reached)
    state.enter_view()
    assert state.step == after


def test_each_height_gets_a_fresh_state() -> None:
    first = HeightState(5, since=0)
    first.advance(Step.EXECUTED)
    first.signed[(1, 0)] = b"x"
    second = HeightState(6, since=10)
    assert second.step == Step.NEW and not second.signed and second.signed is not first.signed
