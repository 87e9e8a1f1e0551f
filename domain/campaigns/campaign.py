"""The campaign aggregate: identity, status and history around a `CampaignSpec`.

Status changes happen only through the methods here, each checked against the state machine, so
no caller can put a campaign in a state the lifecycle does not allow.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from domain.campaigns import state_machine
from domain.campaigns.model import (
    EXECUTION_LOCKED_FIELDS,
    CampaignSpec,
    CampaignStatus,
    CampaignType,
    Schedule,
)
from domain.kernel.errors import (
    CampaignNotEditableError,
    FailedPreconditionError,
    PreconditionViolation,
)


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
        self._move(CampaignStatus.SCHEDULED, "schedule")
        self.schedule = schedule
        self.next_run_at = next_run_at
        self._touch(by, at)

    def unschedule(self, *, by: str, at: datetime) -> None:
        self._move(CampaignStatus.DRAFT, "unschedule")
        self.schedule = None
        self.next_run_at = None
        self._touch(by, at)

    def activate(self, *, by: str, at: datetime) -> None:
        if self.spec.campaign_type is CampaignType.SCHEDULED:
            raise FailedPreconditionError(
                "scheduled campaigns are scheduled, not activated; call ScheduleCampaign",
                metadata={"campaign_type": self.spec.campaign_type.value},
            )
        self._move(CampaignStatus.ACTIVE, "activate")
        self.activated_at = at
        self._touch(by, at)

    def pause(self, *, by: str, at: datetime) -> None:
        previous = self.status
        self._move(CampaignStatus.PAUSED, "pause")
        self.paused_from = previous
        self.paused_at = at
        self._touch(by, at)

    def resume(self, *, by: str, at: datetime) -> None:
        self._move(self.paused_from or CampaignStatus.ACTIVE, "resume")
        self.paused_from = None
        self.paused_at = None
        self._touch(by, at)

    def cancel(self, reason: str, *, by: str, at: datetime) -> None:
        self._move(CampaignStatus.CANCELLED, "cancel")
        self.cancel_reason = reason
        self.cancelled_at = at
        self.paused_from = None
        self.paused_at = None
        self.next_run_at = None
        self._touch(by, at)

    def start_execution(self, *, at: datetime) -> None:
        self._move(CampaignStatus.RUNNING, "start")

    def finish_execution(self, *, at: datetime, next_run_at: datetime | None = None) -> None:
        """Back to listening (triggered, transactional), to the next firing (recurring), or
        completed (one-time)."""
        if self.spec.campaign_type is not CampaignType.SCHEDULED:
            target = CampaignStatus.ACTIVE
        elif next_run_at is not None:
            target = CampaignStatus.SCHEDULED
        else:
            target = CampaignStatus.COMPLETED
        self._move(target, "finish")
        self.next_run_at = next_run_at
        if target is CampaignStatus.COMPLETED:
            self.completed_at = at
        self.updated_at = at

    def ensure_deletable(self) -> None:
        if self.status is CampaignStatus.RUNNING:
            raise FailedPreconditionError(
                "a running campaign cannot be deleted; pause or cancel it first",
                metadata={"status": self.status.value},
            )

    def _move(self, target: CampaignStatus, action: str) -> None:
        state_machine.ensure_move(self.status, target, action=action)
        self.status = target

    def _touch(self, by: str, at: datetime) -> None:
        self.updated_by = by
        self.updated_at = at
