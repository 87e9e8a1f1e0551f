"""Saved segments named by campaign audiences, resolved through the SegmentStore port.

The one rule every audience source over the built-in directory follows (memory, SQL): an
audience is its inline query, or the conditions of the saved segment it names; a segment that
does not exist (deleted, or never saved) makes the audience unresolvable, a FailedPrecondition
naming the audience and the segment. Segments are looked up once per call, so a run streams one
consistent definition even if a segment is edited meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.audience.model import Audience, Condition, SegmentType
from domain.audience.ports import SegmentStore
from domain.kernel.errors import FailedPreconditionError, PreconditionViolation, shown

SEGMENT_NOT_FOUND = "SEGMENT_NOT_FOUND"

ResolvedAudience = tuple[SegmentType, Sequence[Condition]]  # an audience's type and conditions


async def resolve_audiences(
    segments: SegmentStore, organization_id: str, audiences: Sequence[Audience]
) -> list[ResolvedAudience]:
    """Each audience's type and conditions, in order: a saved segment's, or the inline query."""
    resolved: list[ResolvedAudience] = []
    for index, audience in enumerate(audiences):
        if not audience.segment_id:
            resolved.append((audience.segment_type, audience.query))
            continue
        segment = await segments.get(organization_id, audience.segment_id)
        if segment is None:
            raise unknown_segment(index, audience)
        resolved.append((audience.segment_type, segment.conditions))
    return resolved


async def missing_segments(
    segments: SegmentStore, organization_id: str, audiences: Sequence[Audience]
) -> list[int]:
    """The indexes of the audiences (include and exclude) naming a saved segment that does not
    exist: what AudienceSource.missing_segments answers over the built-in directory."""
    missing: list[int] = []
    for index, audience in enumerate(audiences):
        if audience.segment_id and await segments.get(organization_id, audience.segment_id) is None:
            missing.append(index)
    return missing


def unknown_segment(index: int, audience: Audience) -> FailedPreconditionError:
    """The error for `audiences[index]`, whose saved segment does not exist: what every audience
    source raises when asked to resolve it (memory, SQL and the data service alike)."""
    segment_id = audience.segment_id or ""
    return FailedPreconditionError(
        f"audience {shown(audience.name or audience.audience_id)} cannot be resolved: "
        f"{_description(segment_id)}",
        violations=[segment_violation(index, audience)],
        metadata={"segment_id": segment_id, "audience_id": audience.audience_id},
    )


def segment_violation(index: int, audience: Audience) -> PreconditionViolation:
    """One missing segment, subject `audiences[index].segment_id`."""
    return PreconditionViolation(
        SEGMENT_NOT_FOUND, f"audiences[{index}].segment_id", _description(audience.segment_id or "")
    )


def _description(segment_id: str) -> str:
    return f"segment {shown(segment_id)} does not exist (deleted, or never saved)"
