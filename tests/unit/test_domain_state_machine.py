"""The lifecycle table: every (from, to) pair is allowed exactly when docs/lifecycle.md lists it."""

from __future__ import annotations

import itertools

import pytest

from domain.campaigns import state_machine
from domain.campaigns.model import CampaignStatus as S
from domain.kernel.errors import FailedPreconditionError, InvalidTransitionError

# docs/lifecycle.md: draft->scheduled|active|cancelled; scheduled->running|draft|cancelled;
# active->running|draft|paused|cancelled; running->paused|completed|cancelled;
# paused->running|active|cancelled. The module docstring adds running->scheduled (recurring
# campaigns between firings), running->active (triggered campaigns after a batch) and
# draft->running (SendCampaignNow).
DESIGN_TABLE: dict[S, set[S]] = {
    S.DRAFT: {S.SCHEDULED, S.ACTIVE, S.CANCELLED},
    S.SCHEDULED: {S.RUNNING, S.DRAFT, S.CANCELLED},
    S.ACTIVE: {S.RUNNING, S.DRAFT, S.PAUSED, S.CANCELLED},
    S.RUNNING: {S.PAUSED, S.COMPLETED, S.CANCELLED},
    S.PAUSED: {S.RUNNING, S.ACTIVE, S.CANCELLED},
    S.COMPLETED: set(),
    S.CANCELLED: set(),
}
DOCUMENTED_EXTRAS = {(S.RUNNING, S.SCHEDULED), (S.RUNNING, S.ACTIVE), (S.DRAFT, S.RUNNING)}

ALLOWED = {(a, b) for a, targets in DESIGN_TABLE.items() for b in targets} | DOCUMENTED_EXTRAS
ALL_PAIRS = list(itertools.product(S, S))
REFUSED = [pair for pair in ALL_PAIRS if pair not in ALLOWED]


def test_the_table_is_the_design_table_plus_the_three_documented_moves() -> None:
    actual = {(a, b) for a, targets in state_machine.TRANSITIONS.items() for b in targets}

    assert set(state_machine.TRANSITIONS) == set(S)
    assert actual == ALLOWED


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=lambda s: s.value)
def test_a_move_is_allowed_exactly_when_the_table_lists_it(current: S, target: S) -> None:
    assert state_machine.can_move(current, target) is ((current, target) in ALLOWED)


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED), ids=lambda s: s.value)
def test_ensure_move_accepts_an_allowed_move(current: S, target: S) -> None:
    assert state_machine.ensure_move(current, target, action="go") is None


@pytest.mark.parametrize(("current", "target"), REFUSED, ids=lambda s: s.value)
def test_ensure_move_refuses_a_move_outside_the_table(current: S, target: S) -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        state_machine.ensure_move(current, target, action="nudge")

    assert caught.value.reason == "INVALID_STATE_TRANSITION"
    assert isinstance(caught.value, FailedPreconditionError)
    assert caught.value.message.startswith(f"cannot nudge a campaign that is {current.value}")
    assert caught.value.metadata == {
        "status": current.value,
        "requested_status": target.value,
        "action": "nudge",
    }


def test_refusal_lists_where_the_campaign_can_go() -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        state_machine.ensure_move(S.SCHEDULED, S.PAUSED, action="pause")

    assert caught.value.message.endswith("it can move to: cancelled, draft, running")


def test_refusal_from_a_final_state_says_it_is_final() -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        state_machine.ensure_move(S.COMPLETED, S.RUNNING, action="start")

    assert "none (final state)" in caught.value.message


def test_refusal_names_both_the_current_and_the_requested_state() -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        state_machine.ensure_move(S.DRAFT, S.COMPLETED, action="finish")

    assert "draft" in caught.value.message
    assert "completed" in caught.value.message


def test_completed_and_cancelled_are_final() -> None:
    assert set(state_machine.FINAL) == {S.COMPLETED, S.CANCELLED}
    assert all(not state_machine.TRANSITIONS[s] for s in state_machine.FINAL)


def test_only_draft_and_paused_are_editable() -> None:
    assert set(state_machine.EDITABLE) == {S.DRAFT, S.PAUSED}


def test_only_send_now_moves_a_draft_to_running() -> None:
    """The engine's start must not borrow SendCampaignNow's move: a draft is never started by
    the scheduler, only by an operator's explicit send-now."""
    state_machine.ensure_move(S.DRAFT, S.RUNNING, action=state_machine.Action.SEND_NOW)

    with pytest.raises(InvalidTransitionError):
        state_machine.ensure_move(S.DRAFT, S.RUNNING, action=state_machine.Action.START)


@pytest.mark.parametrize("current", [s for s in S if s is not S.DRAFT], ids=lambda s: s.value)
def test_send_now_starts_from_draft_only(current: S) -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        state_machine.ensure_move(current, S.RUNNING, action=state_machine.Action.SEND_NOW)

    assert caught.value.message.startswith(f"cannot send now a campaign that is {current.value}")
