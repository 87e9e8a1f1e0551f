"""The campaign aggregate: identity, status and history around a `CampaignSpec`.

Status changes happen only through the methods here, each checked against the state machine, so
no caller can put a campaign in a state the lifecycle does not allow. Each change also advances
the version and records the event that tells subscribers about it (`events`), in the same
method: a caller cannot change a campaign and forget either. The save that commits the change
writes the events to the outbox (domain.campaigns.store).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from domain.campaigns import state_machine
from domain.campaigns.model import (
    EXECUTION_LOCKED_FIELDS,
    CampaignSpec,
    CampaignStatus,
    CampaignType,
    Schedule,
)
from domain.campaigns.state_machine import Action
from domain.kernel import events as ev
from domain.kernel.errors import (
    CampaignNotEditableError,
    FailedPreconditionError,
    NotFoundError,
    PreconditionViolation,
    shown,
)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How a finished execution went, as `campaign.completed` reports it (fields in wire order).
    The execution context counts it; the campaign only tells it."""

    execution_id: str
    total_sent: int
    total_delivered: int
    holdout: int
    audience_size: int
    execution_status: str
    failure_reason: str = ""


# Statuses in which a campaign sends, or will, so an automatic A/B winner still matters.
WINNER_PENDING_STATUSES = frozenset(
    {CampaignStatus.SCHEDULED, CampaignStatus.ACTIVE, CampaignStatus.RUNNING}
)


class VariantNotFoundError(NotFoundError):
    reason = "VARIANT_NOT_FOUND"


class NotAnAbTestError(FailedPreconditionError):
    reason = "NOT_AN_AB_TEST"


class ControlCannotWinError(FailedPreconditionError):
    reason = "CONTROL_CANNOT_WIN"


@dataclass(slots=True)
class Campaign:
    campaign_id: str
    organization_id: str
    spec: CampaignSpec
    created_by: str
    created_at: datetime
    updated_at: datetime
    updated_by: str = ""
    status: CampaignStatus = CampaignStatus.DRAFT
    version: int = 1
    schedule: Schedule | None = None
    next_run_at: datetime | None = None
    cloned_from_id: str | None = None
    request_id: str | None = None
    request_fingerprint: str | None = None
    paused_from: CampaignStatus | None = None
    winner_variant_id: str | None = None
    cancel_reason: str = ""
    activated_at: datetime | None = None
    paused_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    # Recorded by the changes since the last save, oldest first; the save takes them.
    events: list[ev.PendingEvent] = field(default_factory=list, compare=False, repr=False)
    # The version the store holds: a save applies only if it still does (optimistic locking).
    saved_version: int = field(init=False, default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.saved_version = self.version

    @classmethod
    def new(
        cls,
        campaign_id: str,
        organization_id: str,
        spec: CampaignSpec,
        *,
        by: str,
        at: datetime,
        request_id: str | None = None,
        request_fingerprint: str | None = None,
        cloned_from_id: str | None = None,
    ) -> Campaign:
        """A draft at version 1 that records `campaign.created`."""
        campaign = cls(
            campaign_id=campaign_id,
            organization_id=organization_id,
            spec=spec,
            created_by=by,
            updated_by=by,
            created_at=at,
            updated_at=at,
            request_id=request_id,
            request_fingerprint=request_fingerprint,
            cloned_from_id=cloned_from_id,
        )
        campaign._record(
            ev.CAMPAIGN_CREATED,
            name=spec.name,
            type=spec.campaign_type.value,
            status=campaign.status.value,
            created_by=by,
            cloned_from_id=cloned_from_id,
        )
        return campaign

    @property
    def etag(self) -> str:
        """Opaque to clients; derived from the version so it cannot drift from it."""
        return f'W/"{self.version}"'

    @property
    def is_editable(self) -> bool:
        return self.status in state_machine.EDITABLE

    # --- edits -------------------------------------------------------------------------------

    def apply_update(
        self, new_spec: CampaignSpec, paths: frozenset[str], *, by: str, at: datetime
    ) -> None:
        if not self.is_editable:
            raise CampaignNotEditableError(
                f"a {self.status.value} campaign cannot be edited; only draft and paused "
                "campaigns can (clone a completed or cancelled one instead)",
                metadata={"status": self.status.value},
            )
        locked = sorted(paths & EXECUTION_LOCKED_FIELDS)
        if (
            self.status is CampaignStatus.PAUSED
            and self.paused_from is CampaignStatus.RUNNING
            and locked
        ):
            raise CampaignNotEditableError(
                "audiences, variants and holdout are locked while an execution is in flight",
                violations=[
                    PreconditionViolation("LOCKED", p, "locked during execution") for p in locked
                ],
            )
        self.spec = replace(self.spec, **{p: getattr(new_spec, p) for p in paths})
        self._touch(by, at)
        self._changed(ev.CAMPAIGN_UPDATED, changed_fields=sorted(paths), updated_by=by)

    # --- lifecycle ---------------------------------------------------------------------------

    def schedule_for(
        self, schedule: Schedule, next_run_at: datetime, *, by: str, at: datetime
    ) -> None:
        if self.spec.campaign_type is not CampaignType.SCHEDULED:
            raise FailedPreconditionError(
                f"only scheduled campaigns take a schedule; a {self.spec.campaign_type.value} "
                "campaign is activated instead",
                metadata={"campaign_type": self.spec.campaign_type.value},
            )
        self._move(CampaignStatus.SCHEDULED, Action.SCHEDULE)
        self.schedule = schedule
        self.next_run_at = next_run_at
        self._touch(by, at)
        self._changed(
            ev.CAMPAIGN_SCHEDULED,
            scheduled_at=next_run_at.isoformat(),
            task_id=None,
            cron=schedule.cron.expression if schedule.cron else None,
        )

    def unschedule(self, *, by: str, at: datetime) -> None:
        self._move(CampaignStatus.DRAFT, Action.UNSCHEDULE)
        self.schedule = None
        self.next_run_at = None
        self._touch(by, at)
        self._changed(ev.CAMPAIGN_UPDATED, changed_fields=["schedule", "status"], updated_by=by)

    def activate(self, *, by: str, at: datetime) -> None:
        if self.spec.campaign_type is CampaignType.SCHEDULED:
            raise FailedPreconditionError(
                "scheduled campaigns are scheduled, not activated; call ScheduleCampaign",
                metadata={"campaign_type": self.spec.campaign_type.value},
            )
        self._move(CampaignStatus.ACTIVE, Action.ACTIVATE)
        self.activated_at = at
        self._touch(by, at)
        self._changed(ev.CAMPAIGN_ACTIVATED, activated_at=at.isoformat())

    def pause(self, *, by: str, at: datetime, messages_sent: int = 0) -> None:
        """`messages_sent`: what the runs being paused have handed to delivery so far."""
        previous = self.status
        self._move(CampaignStatus.PAUSED, Action.PAUSE)
        self.paused_from = previous
        self.paused_at = at
        self._touch(by, at)
        self._changed(ev.CAMPAIGN_PAUSED, paused_by=by, messages_sent=messages_sent)

    def resume(self, *, by: str, at: datetime) -> None:
        self._move(self.paused_from or CampaignStatus.ACTIVE, Action.RESUME)
        self.paused_from = None
        self.paused_at = None
        self._touch(by, at)
        self._changed(ev.CAMPAIGN_RESUMED, resumed_by=by)

    def cancel(self, reason: str, *, by: str, at: datetime) -> None:
        self._move(CampaignStatus.CANCELLED, Action.CANCEL)
        self.cancel_reason = reason
        self.cancelled_at = at
        self.paused_from = None
        self.paused_at = None
        self.next_run_at = None
        self._touch(by, at)
        self._changed(ev.CAMPAIGN_CANCELLED, cancelled_by=by, reason=reason)

    def send_now(self, *, by: str, at: datetime) -> None:
        """SendCampaignNow: a draft one-time campaign starts its run at once, without a schedule
        (and so without the scheduling lead time); when the run ends it completes. Records no
        event: the run tells `campaign.started` (trigger `manual`) once it knows its audience."""
        if self.spec.campaign_type is not CampaignType.SCHEDULED:
            raise FailedPreconditionError(
                "only scheduled (one-time) campaigns can be sent now; a "
                f"{self.spec.campaign_type.value} campaign is activated instead",
                metadata={"campaign_type": self.spec.campaign_type.value},
            )
        self._move(CampaignStatus.RUNNING, Action.SEND_NOW)
        self.schedule = None
        self.next_run_at = None
        self._touch(by, at)
        self._changed()

    def start_execution(self, *, at: datetime) -> None:
        """Records no event: the run tells `campaign.started` itself once it knows its audience
        (domain.execution.executor)."""
        self._move(CampaignStatus.RUNNING, Action.START)
        self._changed()

    def finish_execution(
        self,
        *,
        at: datetime,
        next_run_at: datetime | None = None,
        outcome: RunOutcome | None = None,
    ) -> None:
        """Back to listening (triggered, transactional), to the next firing (recurring), or
        completed (one-time). `outcome` is what `campaign.completed` reports; without one (a
        finish no execution reports on) no event is recorded."""
        if self.spec.campaign_type is not CampaignType.SCHEDULED:
            target = CampaignStatus.ACTIVE
        elif next_run_at is not None:
            target = CampaignStatus.SCHEDULED
        else:
            target = CampaignStatus.COMPLETED
        self._move(target, Action.FINISH)
        self.next_run_at = next_run_at
        if target is CampaignStatus.COMPLETED:
            self.completed_at = at
        self.updated_at = at
        if outcome is None:
            self._changed()
        else:
            self._changed(ev.CAMPAIGN_COMPLETED, **asdict(outcome))

    # --- A/B test --------------------------------------------------------------------------

    @property
    def awaits_auto_winner(self) -> bool:
        """Automatic winner selection is on and has not decided yet, and the campaign still
        sends (or will): what the automatic rule's worker looks for (domain.metrics)."""
        ab = self.spec.ab_test
        return (
            ab is not None
            and ab.auto_winner_enabled
            and not self.winner_variant_id
            and self.status in WINNER_PENDING_STATUSES
        )

    def select_winner(
        self, variant_id: str, *, by: str, at: datetime, evidence: dict[str, Any] | None = None
    ) -> bool:
        """Declare `variant_id` the A/B test's winner: from now on every recipient outside the
        holdout gets it (domain.execution.assignment), in the running execution's remaining
        batches and in every later run. False (and no change) when it already is the winner.

        `by` is the subject who chose it (the automatic rule names itself), and `evidence` the
        automatic rule's grounds (metric, p-values), which the event carries; None by hand."""
        variants = self.spec.variants
        if len(variants) < 2:
            raise NotAnAbTestError(
                "the campaign has no A/B test: a winner needs at least two variants",
                violations=[PreconditionViolation("AB_TEST", "variants", "fewer than two")],
            )
        chosen = next((v for v in variants if v.variant_id == variant_id), None)
        if chosen is None:
            raise VariantNotFoundError(
                f"variant {shown(variant_id)} not found in the campaign",
                metadata={"variant_id": variant_id},
            )
        if chosen.is_control:
            raise ControlCannotWinError(
                "a control variant sends nothing and cannot be the winner",
                violations=[PreconditionViolation("CONTROL", "variant_id", "is the control")],
            )
        if self.winner_variant_id == variant_id:
            return False
        previous = self.winner_variant_id
        self.winner_variant_id = variant_id
        self._touch(by, at)
        self._changed(
            ev.CAMPAIGN_WINNER_SELECTED,
            variant_id=variant_id,
            variant_name=chosen.name,
            selected_by=by,
            automatic=evidence is not None,
            previous_winner_variant_id=previous,
            **(evidence or {}),
        )
        return True

    def ensure_deletable(self) -> None:
        if self.status is CampaignStatus.RUNNING:
            raise FailedPreconditionError(
                "a running campaign cannot be deleted; pause or cancel it first",
                metadata={"status": self.status.value},
            )

    def take_changes(self) -> tuple[int, list[ev.PendingEvent]]:
        """For the save that commits the changes: the version the store must still hold for it
        to apply, and the recorded events. The aggregate keeps none of them, so no later save
        can write them twice, and counts the current version as saved."""
        expected, taken = self.saved_version, self.events
        self.events = []
        self.saved_version = self.version
        return expected, taken

    def _move(self, target: CampaignStatus, action: Action) -> None:
        state_machine.ensure_move(self.status, target, action=action)
        self.status = target

    def _changed(self, event_type: str | None = None, **data: Any) -> None:
        """One change: the next version, and its event when it tells subscribers one."""
        self.version += 1
        if event_type is not None:
            self._record(event_type, **data)

    def _record(self, event_type: str, **data: Any) -> None:
        self.events.append(
            ev.PendingEvent(
                event_type, self.organization_id, {"campaign_id": self.campaign_id, **data}
            )
        )

    def _touch(self, by: str, at: datetime) -> None:
        self.updated_by = by
        self.updated_at = at
