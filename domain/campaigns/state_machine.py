"""The campaign lifecycle as a table (docs/lifecycle.md), so every move is checked in one place.

Two moves are taken only when a run ends: a recurring campaign returns
to `scheduled` between firings (running -> scheduled) and a triggered campaign returns to `active`
when a batch execution ends (running -> active). One is taken only by SendCampaignNow: a draft
one-time campaign starts its run at once (draft -> running), without a schedule.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from domain.campaigns.model import CampaignStatus as S
from domain.kernel.errors import InvalidTransitionError

TRANSITIONS: Mapping[S, frozenset[S]] = {
    S.DRAFT: frozenset({S.SCHEDULED, S.ACTIVE, S.RUNNING, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.RUNNING, S.DRAFT, S.CANCELLED}),
    S.ACTIVE: frozenset({S.RUNNING, S.DRAFT, S.PAUSED, S.CANCELLED}),
    S.RUNNING: frozenset({S.PAUSED, S.COMPLETED, S.CANCELLED, S.SCHEDULED, S.ACTIVE}),
    S.PAUSED: frozenset({S.RUNNING, S.ACTIVE, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
}


class Action(enum.StrEnum):
    """The lifecycle methods of the aggregate (domain.campaigns.campaign), one member each; the
    value is what a refusal names (`cannot pause a campaign that is ...`)."""

    SCHEDULE = "schedule"
    UNSCHEDULE = "unschedule"  # back to draft; for an active campaign: deactivate
    ACTIVATE = "activate"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    START = "start"
    SEND_NOW = "send now"  # SendCampaignNow: a draft starts its run at once
    FINISH = "finish"


# Which states each action starts from. The table above says which moves exist at all; this one
# keeps an action from borrowing a move meant for another (e.g. ScheduleCampaign must not use the
# running -> scheduled move that only a finished recurring firing may take).
ACTION_SOURCES: Mapping[str, frozenset[S]] = {
    Action.SCHEDULE: frozenset({S.DRAFT}),
    Action.UNSCHEDULE: frozenset({S.SCHEDULED, S.ACTIVE}),
    Action.ACTIVATE: frozenset({S.DRAFT}),
    Action.PAUSE: frozenset({S.ACTIVE, S.RUNNING}),
    Action.RESUME: frozenset({S.PAUSED}),
    Action.CANCEL: frozenset({S.DRAFT, S.SCHEDULED, S.ACTIVE, S.RUNNING, S.PAUSED}),
    Action.START: frozenset({S.SCHEDULED, S.ACTIVE}),
    Action.SEND_NOW: frozenset({S.DRAFT}),
    Action.FINISH: frozenset({S.RUNNING}),
}

EDITABLE: frozenset[S] = frozenset({S.DRAFT, S.PAUSED})  # BR-CAM-001.5
FINAL: frozenset[S] = frozenset({S.COMPLETED, S.CANCELLED})  # BR-CAM-001.7, 001.8


def can_move(current: S, target: S) -> bool:
    return target in TRANSITIONS[current]


def ensure_move(current: S, target: S, *, action: str) -> None:
    """Refuse a move outside the table, or from a state `action` does not start from. `action`
    is an `Action`; any other name is checked against the table alone."""
    action = str(action)
    sources = ACTION_SOURCES.get(action)
    if can_move(current, target) and (sources is None or current in sources):
        return
    allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final state)"
    raise InvalidTransitionError(
        f"cannot {action} a campaign that is {current.value} (to {target.value}); from "
        f"{current.value} it can move to: {allowed}",
        metadata={"status": current.value, "requested_status": target.value, "action": action},
    )
