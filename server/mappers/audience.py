"""Proto <-> domain for the AudienceService: contacts, suppressions, segments, estimates."""

from __future__ import annotations

from collections.abc import Sequence

from campaign.v1 import audience_pb2 as apb
from campaign.v1 import audience_service_pb2 as asvc
from google.protobuf import json_format, struct_pb2

from domain.audience.contacts import DEFAULT_TIMEZONE, Contact
from domain.audience.model import Segment, Suppression, SuppressionReason
from domain.audience.service import RejectedContact
from domain.execution.estimate import AudienceEstimate
from domain.kernel.errors import ViolationCollector
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


def contact_from_proto(c: apb.Contact) -> Contact:
    attributes = json_format.MessageToDict(c.attributes) if c.HasField("attributes") else {}
    return Contact(
        user_id=c.user_id,
        email=c.email,
        phone=c.phone,
        whatsapp_verified=c.whatsapp_verified,
        timezone=c.timezone or DEFAULT_TIMEZONE,
        locale=c.locale,
        email_opted_in=c.email_opted_in,
        sms_opted_in=c.sms_opted_in,
        whatsapp_opted_in=c.whatsapp_opted_in,
        in_app_opted_in=c.in_app_opted_in,
        attributes=attributes,
    )


def contact_to_proto(c: Contact) -> apb.Contact:
    attributes = struct_pb2.Struct()
    attributes.update(dict(c.attributes))
    out = apb.Contact(
        user_id=c.user_id,
        email=c.email,
        phone=c.phone,
        whatsapp_verified=c.whatsapp_verified,
        timezone=c.timezone,
        locale=c.locale,
        email_opted_in=c.email_opted_in,
        sms_opted_in=c.sms_opted_in,
        whatsapp_opted_in=c.whatsapp_opted_in,
        in_app_opted_in=c.in_app_opted_in,
        attributes=attributes,
    )
    set_timestamp(out.created_at, c.created_at)
    set_timestamp(out.updated_at, c.updated_at)
    return out


def rejected_to_proto(r: RejectedContact) -> apb.RejectedContact:
    return apb.RejectedContact(index=r.index, user_id=r.user_id, reasons=list(r.reasons))


def suppressions_from_proto(entries: Sequence[apb.SuppressionEntry]) -> list[Suppression]:
    v = ViolationCollector()
    out = []
    for i, e in enumerate(entries):
        channel = enum_in(v, f"entries[{i}].channel", enums.CHANNELS, e.channel, required=False)
        reason = enum_in(v, f"entries[{i}].reason", REASONS, e.reason, required=False)
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
