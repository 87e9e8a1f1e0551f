"""AudienceService use cases: the contact directory, suppressions, saved segments, and the
pre-launch funnel of EstimateAudience (BR-CAM-002.5)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from domain import rules
from domain.audience import AudienceCounts, Segment, Suppression
from domain.auth import Principal
from domain.contacts import Contact, contact_problems
from domain.errors import (
    CampaignNotFoundError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
    ViolationCollector,
)
from domain.model import Audience, Channel, Throttle
from domain.ports import (
    AudienceSource,
    Clock,
    ContactDirectory,
    SegmentStore,
    SuppressionStore,
    UnitOfWorkFactory,
)
from domain.rules import basis_points
from domain.throttling import HOUR, OrganizationLimits, limits_for

SEGMENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
UPSERT_CHUNK = 1_000
MAX_SUPPRESSIONS_PER_CALL = 10_000


@dataclass(frozen=True, slots=True)
class RejectedContact:
    index: int
    user_id: str
    reasons: tuple[str, ...]


@dataclass(slots=True)
class UpsertResult:
    upserted: int = 0
    rejected: list[RejectedContact] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AudienceEstimate:
    audiences: tuple[Audience, ...]
    counts: AudienceCounts
    after_holdout: int
    estimated_completion: timedelta
    estimated_at: datetime
    # After holdout, like after_holdout (counts.reachable_by_channel is before it).
    reachable_by_channel: dict[Channel, int] = field(default_factory=dict)


class AudienceService:
    def __init__(
        self,
        *,
        contacts: ContactDirectory,
        segments: SegmentStore,
        suppressions: SuppressionStore,
        audience: AudienceSource,
        campaigns: UnitOfWorkFactory,
        clock: Clock,
        organization_limits: OrganizationLimits | None = None,
    ) -> None:
        self._contacts = contacts
        self._segments = segments
        self._suppressions = suppressions
        self._audience = audience
        self._campaigns = campaigns
        self._clock = clock
        self._limits = organization_limits or OrganizationLimits()

    # --- contacts ----------------------------------------------------------------------------

    async def upsert_contacts(
        self, principal: Principal, contacts: Sequence[Contact], *, first_index: int = 0
    ) -> UpsertResult:
        """Keeps every valid contact and reports each invalid one with its reasons."""
        principal.require_write()
        result = UpsertResult()
        valid: list[Contact] = []
        for offset, contact in enumerate(contacts):
            problems = contact_problems(contact)
            if problems:
                result.rejected.append(
                    RejectedContact(first_index + offset, contact.user_id, tuple(problems))
                )
            else:
                valid.append(contact)
        for start in range(0, len(valid), UPSERT_CHUNK):
            result.upserted += await self._contacts.upsert(
                principal.organization_id, valid[start : start + UPSERT_CHUNK]
            )
        return result

    async def get_contact(self, principal: Principal, user_id: str) -> Contact:
        principal.require_read()
        contact = await self._contacts.get(principal.organization_id, _required(user_id))
        if contact is None:
            raise NotFoundError(f"contact {user_id!r} not found", metadata={"user_id": user_id})
        return contact

    async def delete_contact(self, principal: Principal, user_id: str) -> None:
        principal.require_write()
        if not await self._contacts.delete(principal.organization_id, _required(user_id)):
            raise NotFoundError(f"contact {user_id!r} not found", metadata={"user_id": user_id})

    # --- suppressions ------------------------------------------------------------------------

    async def add_suppressions(self, principal: Principal, entries: Sequence[Suppression]) -> int:
        principal.require_write()
        _check_suppressions(entries)
        return await self._suppressions.add(principal.organization_id, entries)

    async def remove_suppressions(
        self, principal: Principal, entries: Sequence[Suppression]
    ) -> int:
        principal.require_write()
        _check_suppressions(entries)
        return await self._suppressions.remove(principal.organization_id, entries)

    @property
    def suppressions(self) -> SuppressionStore:
        return self._suppressions

    # --- segments ----------------------------------------------------------------------------

    async def create_segment(self, principal: Principal, segment: Segment) -> Segment:
        principal.require_write()
        v = ViolationCollector()
        if not SEGMENT_ID.match(segment.segment_id):
            v.add("segment.segment_id", "1-128 letters, digits, dot, dash or underscore")
        if not segment.conditions:
            v.add("segment.conditions", "at least one condition is required")
        rules.check_conditions(v, "segment.conditions", segment.conditions)
        v.raise_if_any()
        saved = replace(segment, created_at=self._clock.now())
        await self._segments.save(principal.organization_id, saved)
        # The store keeps the created_at of a segment saved before: answer with what it holds.
        stored = await self._segments.get(principal.organization_id, segment.segment_id)
        return stored or saved

    async def get_segment(self, principal: Principal, segment_id: str) -> Segment:
        principal.require_read()
        found = await self._segments.get(
            principal.organization_id, _required(segment_id, "segment_id")
        )
        if found is None:
            raise NotFoundError(
                f"segment {segment_id!r} not found", metadata={"segment_id": segment_id}
            )
        return found

    async def list_segments(self, principal: Principal) -> Sequence[Segment]:
        principal.require_read()
        return await self._segments.list(principal.organization_id)

    async def delete_segment(self, principal: Principal, segment_id: str) -> None:
        principal.require_write()
        if not await self._segments.delete(
            principal.organization_id, _required(segment_id, "segment_id")
        ):
            raise NotFoundError(
                f"segment {segment_id!r} not found", metadata={"segment_id": segment_id}
            )

    # --- estimate ----------------------------------------------------------------------------

    async def estimate_audience(
        self,
        principal: Principal,
        *,
        campaign_id: str = "",
        audiences: Sequence[Audience] = (),
        holdout_percentage: float = 0.0,
    ) -> AudienceEstimate:
        principal.require_read()
        channels: list[Channel] = []
        per_minute = per_hour = None
        if campaign_id:
            async with self._campaigns(read_only=True) as uow:
                campaign = await uow.campaigns.get(principal.organization_id, campaign_id)
            if campaign is None:
                raise CampaignNotFoundError(campaign_id)
            spec = campaign.spec
            audiences, holdout_percentage = spec.audiences, spec.holdout_percentage
            channels = [c.channel for c in spec.channels] + [
                c.channel for v in spec.variants for c in v.channels
            ]
            per_minute, per_hour = spec.throttle.per_minute, spec.throttle.per_hour
        elif not audiences:
            raise InvalidArgumentError(
                [FieldViolation("audiences", "give audiences or a campaign_id")]
            )
        else:
            _check_audiences(audiences)
        bp = basis_points(holdout_percentage)
        if bp is None or not 0 <= bp <= rules.MAX_HOLDOUT * 100:
            raise InvalidArgumentError(
                [FieldViolation("holdout_percentage", "0 to 20, two decimals")]
            )
        counts = await self._audience.counts(principal.organization_id, audiences)
        after_holdout = _without_holdout(counts.after_suppression, bp)
        duration = self._completion(
            principal.organization_id, after_holdout, channels, per_minute, per_hour
        )
        return AudienceEstimate(
            tuple(audiences),
            counts,
            after_holdout,
            duration,
            self._clock.now(),
            {c: _without_holdout(n, bp) for c, n in counts.reachable_by_channel.items()},
        )

    def _completion(
        self,
        organization_id: str,
        recipients: int,
        channels: Sequence[Channel],
        per_minute: int | None,
        per_hour: int | None,
    ) -> timedelta:
        """Time to send `recipients` messages under the tightest limit of the first channel
        (the fallback channel most recipients get); quiet hours are not included."""
        channel = channels[0] if channels else Channel.EMAIL
        limits = limits_for(
            organization_id,
            "estimate",
            channel,
            self._limits,
            Throttle(per_minute=per_minute, per_hour=per_hour),
        )
        spacing = max(limit.spacing_seconds for limit in limits)
        return timedelta(seconds=recipients * spacing) if spacing < HOUR else timedelta(0)


def _without_holdout(recipients: int, holdout_bp: int) -> int:
    return recipients - round(recipients * holdout_bp / 10_000)


def _required(value: str, name: str = "user_id") -> str:
    if not value:
        raise InvalidArgumentError([FieldViolation(name, "is required")])
    return value


def _check_audiences(audiences: Sequence[Audience]) -> None:
    """What CreateCampaign checks of audiences: an audience without a source is no audience,
    and would otherwise be estimated as the whole directory."""
    v = ViolationCollector()
    for i, audience in enumerate(audiences):
        if bool(audience.segment_id) == bool(audience.query):
            v.add(f"audiences[{i}]", "exactly one of segment_id or query is required")
        rules.check_conditions(v, f"audiences[{i}].query.conditions", audience.query)
    v.raise_if_any()


def _check_suppressions(entries: Sequence[Suppression]) -> None:
    v = ViolationCollector()
    if len(entries) > MAX_SUPPRESSIONS_PER_CALL:
        v.add("entries", f"at most {MAX_SUPPRESSIONS_PER_CALL} per call")
    for i, entry in enumerate(entries):
        if bool(entry.user_id) == bool(entry.address):
            v.add(f"entries[{i}]", "exactly one of user_id or address is required")
    v.raise_if_any()
