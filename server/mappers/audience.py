"""Proto <-> domain for the AudienceService: contacts, suppressions, segments, estimates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from campaign.v1 import audience_pb2 as apb
from campaign.v1 import audience_service_pb2 as asvc
from google.protobuf import json_format, struct_pb2

from domain.audience.contacts import DEFAULT_TIMEZONE, MAX_USER_ID, Contact
from domain.audience.imports import RejectedContact
from domain.audience.model import Segment, Suppression, SuppressionReason
from domain.execution.estimate import AudienceEstimate
from domain.kernel.errors import ViolationCollector, truncated
from server.mappers import enums
from server.mappers.campaign_in import conditions_from_proto
from server.mappers.campaign_out import audience_to_proto, conditions_to_proto
from server.mappers.common import enum_in, invert, set_timestamp

REASONS: dict[int, SuppressionReason] = {
    apb.SUPPRESSION_REASON_UNSUBSCRIBED: SuppressionReason.UNSUBSCRIBED,
    apb.SUPPRESSION_REASON_BOUNCED: SuppressionReason.BOUNCED,
    apb.SUPPRESSION_REASON_COMPLAINED: SuppressionReason.COMPLAINED,
    apb.SUPPRESSION_REASON_MANUAL: SuppressionReason.MANUAL,
}
REASONS_OUT = invert(REASONS)


# What apb.Contact and Contact hold alike, field for field: all but what converts.
_CONTACT_FIELDS = tuple(
    f.name for f in fields(Contact) if f.name not in ("attributes", "created_at", "updated_at")
)


def _contact_fields(c: apb.Contact | Contact) -> dict[str, Any]:
    return {name: getattr(c, name) for name in _CONTACT_FIELDS}


def contact_from_proto(c: apb.Contact) -> Contact:
    attributes = json_format.MessageToDict(c.attributes) if c.HasField("attributes") else {}
    values = _contact_fields(c)
    values["timezone"] = c.timezone or DEFAULT_TIMEZONE
    return Contact(**values, attributes=attributes)


def contact_to_proto(c: Contact) -> apb.Contact:
    attributes = struct_pb2.Struct()
    attributes.update(dict(c.attributes))
    out = apb.Contact(**_contact_fields(c), attributes=attributes)
    set_timestamp(out.created_at, c.created_at)
    set_timestamp(out.updated_at, c.updated_at)
    return out


def rejected_to_proto(r: RejectedContact) -> apb.RejectedContact:
    # A rejected user_id may be what was wrong with it (too long): never echo more than a
    # valid one could be.
    return apb.RejectedContact(
        index=r.index, user_id=truncated(r.user_id, MAX_USER_ID), reasons=list(r.reasons)
    )


def suppressions_from_proto(
    entries: Sequence[apb.SuppressionEntry], *, adding: bool = False
) -> list[Suppression]:
    """Entries to add need a reason (the proto marks it required); removal ignores it."""
    v = ViolationCollector()
    out = []
    for i, e in enumerate(entries):
        channel = enum_in(v, f"entries[{i}].channel", enums.CHANNELS, e.channel, required=False)
        reason = enum_in(v, f"entries[{i}].reason", REASONS, e.reason, required=adding)
        out.append(
            Suppression(
                user_id=e.user_id if e.WhichOneof("target") == "user_id" else "",
                address=e.address if e.WhichOneof("target") == "address" else "",
                channel=channel,
                reason=reason or SuppressionReason.MANUAL,
            )
        )
    v.raise_if_any()
    return out


def suppression_to_proto(s: Suppression) -> apb.SuppressionEntry:
    out = apb.SuppressionEntry(reason=REASONS_OUT[s.reason])
    if s.user_id:
        out.user_id = s.user_id
    else:
        out.address = s.address
    if s.channel is not None:
        out.channel = enums.CHANNELS_OUT[s.channel]
    set_timestamp(out.created_at, s.created_at)
    return out


def segment_from_proto(s: apb.Segment) -> Segment:
    v = ViolationCollector()
    conditions = conditions_from_proto(v, "segment.conditions", list(s.conditions))
    v.raise_if_any()
    return Segment(segment_id=s.segment_id, name=s.name, conditions=conditions)


def segment_to_proto(s: Segment) -> apb.Segment:
    out = apb.Segment(segment_id=s.segment_id, name=s.name)
    out.conditions.extend(conditions_to_proto(s.conditions))
    set_timestamp(out.created_at, s.created_at)
    return out


def estimate_to_proto(
    estimate: AudienceEstimate, audiences: Sequence[object]
) -> asvc.EstimateAudienceResponse:
    counts = estimate.counts
    out = asvc.EstimateAudienceResponse(
        estimated_size=estimate.after_holdout,
        after_exclusions=counts.after_exclusions,
        after_suppression=counts.after_suppression,
        after_holdout=estimate.after_holdout,
    )
    for audience, size in zip(audiences, counts.by_segment, strict=False):
        out.by_segment.append(apb.SegmentEstimate(audience=audience_to_proto(audience), size=size))  # type: ignore[arg-type]
    for channel, size in estimate.reachable_by_channel.items():
        out.reachable_by_channel.append(
            apb.ChannelReach(channel=enums.CHANNELS_OUT[channel], size=size)
        )
    out.estimated_completion.FromTimedelta(estimate.estimated_completion)
    set_timestamp(out.estimated_at, estimate.estimated_at)
    return out
