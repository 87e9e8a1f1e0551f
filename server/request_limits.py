"""A cap on every repeated field, map and string of every request message, checked before any work.

One table, keyed by the proto field's full name, gives each field its most items (repeated
fields, maps) and most characters (strings). Where a domain rule owns the limit (a campaign's
10 audiences, a contact's 128-character user_id, ...) the entry says so: the domain reports it
with its own reason and every other problem of the definition at once, and the walk here only
uses the number to avoid descending into an oversized list. Every other field is checked here,
and an over-long id or a 300-tag filter is INVALID_ARGUMENT before a query is built.

tests/unit/test_request_limits.py walks every RPC's request type and fails when a string,
repeated field or map has no entry, so a field added to the protos needs a cap to ship.
The whole message is also bounded by gRPC's receive limit (4 MiB by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from domain.audience import conditions, contacts
from domain.audience import service as audience
from domain.campaigns import rules
from domain.campaigns import service as campaigns
from domain.kernel.channels import Channel
from domain.kernel.errors import ViolationCollector, shown

MAX_DEPTH = 32  # messages nested in messages, e.g. Structs in Structs in a sample profile
ID = 128  # ids the service or the client chose: campaign, execution, message, variant, user
PAGE_TOKEN = 2_048  # opaque, issued by us: far below this
STRUCT_FIELDS = 1_000  # keys of one Struct (a profile, a context, event properties)
STRUCT_KEY = 256
STRUCT_TEXT = 16_384  # one string value in a Struct
LIST_VALUES = 1_000
ENUM_FILTER = 16  # more than any enum has values: a list of states, breakdowns
EVENTS_PER_CALL = 1_000


@dataclass(frozen=True, slots=True)
class Cap:
    """`items` for a repeated field or map, `chars` for a string (or each string of a repeated
    one). `rule` names the domain rule that enforces it; None = enforced here."""

    items: int | None = None
    chars: int | None = None
    rule: str | None = None


def _domain(rule: str, *, items: int | None = None, chars: int | None = None) -> Cap:
    return Cap(items, chars, rule)


_RULES = "domain.campaigns.rules"
_CONTACT = "domain.audience.contacts (a rejected contact, not a failed stream)"
_COND = "domain.audience.conditions.check_conditions"
_SEGMENT = "domain.audience.service.create_segment"
_SUPPRESSION = "domain.audience.service (suppressions)"


def _content(message: str, channel: Channel) -> dict[str, Cap]:
    return {
        f"campaign.v1.{message}.{name}": _domain(_RULES, chars=limit)
        for name, limit in rules.CONTENT_LIMITS[channel].items()
    }


def _spec(message: str) -> dict[str, Cap]:
    """The editable campaign fields CreateCampaignRequest and Campaign share."""
    prefix = f"campaign.v1.{message}"
    return {
        f"{prefix}.name": _domain(_RULES, chars=rules.MAX_NAME),
        f"{prefix}.description": _domain(_RULES, chars=rules.MAX_DESCRIPTION),
        f"{prefix}.audiences": _domain(_RULES, items=rules.MAX_SEGMENTS),
        f"{prefix}.channels": _domain(_RULES, items=len(Channel)),
        f"{prefix}.variants": _domain(_RULES, items=rules.MAX_VARIANTS),
        f"{prefix}.triggers": _domain(_RULES, items=rules.MAX_TRIGGERS),
        f"{prefix}.tags": _domain(_RULES, items=rules.MAX_TAGS, chars=rules.MAX_TAG),
        f"{prefix}.metadata": _domain(_RULES, items=rules.MAX_METADATA),
        f"{prefix}.MetadataEntry.key": _domain(_RULES, chars=rules.MAX_METADATA_KEY),
        f"{prefix}.MetadataEntry.value": _domain(_RULES, chars=rules.MAX_METADATA_VALUE),
    }


LIMITS: dict[str, Cap] = {
    # --- campaign definitions (CreateCampaign, UpdateCampaign's campaign) ----------------------
    **_spec("CreateCampaignRequest"),
    **_spec("Campaign"),
    "campaign.v1.CreateCampaignRequest.request_id": _domain(
        "domain.campaigns.service", chars=campaigns.MAX_REQUEST_ID
    ),
    "campaign.v1.Audience.audience_id": _domain(_RULES, chars=rules.MAX_ID),
    "campaign.v1.Audience.segment_id": _domain(_RULES, chars=conditions.MAX_FIELD),
    "campaign.v1.Audience.name": _domain(_RULES, chars=rules.MAX_NAME),
    "campaign.v1.SegmentQuery.conditions": _domain(_COND, items=conditions.MAX_CONDITIONS),
    "campaign.v1.Condition.field": _domain(_COND, chars=conditions.MAX_FIELD),
    "campaign.v1.ChannelContent.template_id": _domain(_RULES, chars=rules.MAX_ID),
    **_content("EmailContent", Channel.EMAIL),
    **_content("SmsContent", Channel.SMS),
    **_content("WhatsAppContent", Channel.WHATSAPP),
    **_content("InAppContent", Channel.IN_APP),
    **_content("WebhookContent", Channel.WEBHOOK),
    # A coarse guard only: the webhook rules (domain) validate and limit headers precisely.
    "campaign.v1.WebhookContent.headers": Cap(items=64),
    "campaign.v1.WebhookContent.HeadersEntry.key": Cap(chars=256),
    "campaign.v1.WebhookContent.HeadersEntry.value": Cap(chars=8_192),
    "campaign.v1.Variant.variant_id": _domain(_RULES, chars=rules.MAX_ID),
    "campaign.v1.Variant.name": _domain(_RULES, chars=rules.MAX_NAME),
    "campaign.v1.Variant.channels": _domain(_RULES, items=len(Channel)),
    "campaign.v1.Trigger.trigger_id": _domain(_RULES, chars=rules.MAX_ID),
    "campaign.v1.Trigger.event_type": _domain(_RULES, chars=conditions.MAX_FIELD),
    "campaign.v1.Trigger.conditions": _domain(_COND, items=conditions.MAX_CONDITIONS),
    "campaign.v1.Conversion.event_type": _domain(_RULES, chars=conditions.MAX_FIELD),
    "campaign.v1.QuietHours.start": Cap(chars=8),  # "HH:MM"
    "campaign.v1.QuietHours.end": Cap(chars=8),
    "campaign.v1.CronSchedule.expression": Cap(chars=128),
    "campaign.v1.CronSchedule.timezone": Cap(chars=64),  # the longest IANA name has 32
    # Output-only fields of Campaign a client may still send with UpdateCampaign.
    "campaign.v1.Campaign.campaign_id": Cap(chars=ID),
    "campaign.v1.Campaign.organization_id": Cap(chars=ID),
    "campaign.v1.Campaign.etag": Cap(chars=ID),
    "campaign.v1.Campaign.created_by": Cap(chars=256),
    "campaign.v1.Campaign.updated_by": Cap(chars=256),
    "campaign.v1.Campaign.cloned_from_id": Cap(chars=ID),
    "campaign.v1.Campaign.winner_variant_id": Cap(chars=ID),
    "campaign.v1.Campaign.cancel_reason": Cap(chars=campaigns.MAX_REASON),
    "google.protobuf.FieldMask.paths": Cap(items=32, chars=128),
    "campaign.v1.UpdateCampaignRequest.etag": Cap(chars=ID),
    # --- the other CampaignService requests ----------------------------------------------------
    "campaign.v1.GetCampaignRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.ListCampaignsRequest.page_token": Cap(chars=PAGE_TOKEN),
    "campaign.v1.ListCampaignsRequest.statuses": Cap(items=ENUM_FILTER),
    "campaign.v1.ListCampaignsRequest.name_prefix": Cap(chars=rules.MAX_NAME),
    # A campaign carries at most MAX_TAGS tags, so an all-of filter with more matches nothing.
    "campaign.v1.ListCampaignsRequest.tags": Cap(items=rules.MAX_TAGS, chars=rules.MAX_TAG),
    "campaign.v1.ListCampaignsRequest.order_by": Cap(chars=64),
    "campaign.v1.DeleteCampaignRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.DeleteCampaignRequest.etag": Cap(chars=ID),
    "campaign.v1.CloneCampaignRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.CloneCampaignRequest.name": Cap(chars=rules.MAX_NAME),
    "campaign.v1.CloneCampaignRequest.request_id": Cap(chars=campaigns.MAX_REQUEST_ID),
    "campaign.v1.ScheduleCampaignRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.UnscheduleCampaignRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.ActivateCampaignRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.PauseCampaignRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.ResumeCampaignRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.CancelCampaignRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.CancelCampaignRequest.reason": Cap(chars=campaigns.MAX_REASON),
    "campaign.v1.SendTransactionalRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.SendTransactionalRequest.user_id": Cap(chars=contacts.MAX_USER_ID),
    "campaign.v1.SendTransactionalRequest.idempotency_key": Cap(chars=campaigns.MAX_REQUEST_ID),
    "campaign.v1.PreviewMessageRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.PreviewMessageRequest.variant_id": Cap(chars=ID),
    "campaign.v1.PreviewMessageRequest.sample_user_id": Cap(chars=contacts.MAX_USER_ID),
    "campaign.v1.SelectWinnerRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.SelectWinnerRequest.variant_id": Cap(chars=ID),
    "campaign.v1.GetExecutionRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.GetExecutionRequest.execution_id": Cap(chars=ID),
    "campaign.v1.ListExecutionsRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.ListExecutionsRequest.page_token": Cap(chars=PAGE_TOKEN),
    "campaign.v1.GetMessageRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.GetMessageRequest.message_id": Cap(chars=ID),
    "campaign.v1.ListMessagesRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.ListMessagesRequest.execution_id": Cap(chars=ID),
    "campaign.v1.ListMessagesRequest.user_id": Cap(chars=contacts.MAX_USER_ID),
    "campaign.v1.ListMessagesRequest.statuses": Cap(items=ENUM_FILTER),
    "campaign.v1.ListMessagesRequest.page_token": Cap(chars=PAGE_TOKEN),
    "campaign.v1.SendCampaignNowRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.ListTriggerEvaluationsRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.ListTriggerEvaluationsRequest.user_id": Cap(chars=contacts.MAX_USER_ID),
    "campaign.v1.ListTriggerEvaluationsRequest.page_token": Cap(chars=PAGE_TOKEN),
    # --- AudienceService -----------------------------------------------------------------------
    "campaign.v1.EstimateAudienceRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.EstimateAudienceRequest.audiences": _domain(_RULES, items=rules.MAX_SEGMENTS),
    "campaign.v1.Contact.user_id": _domain(_CONTACT, chars=contacts.MAX_USER_ID),
    "campaign.v1.Contact.email": _domain(_CONTACT, chars=contacts.MAX_EMAIL),
    "campaign.v1.Contact.phone": _domain(_CONTACT, chars=contacts.MAX_PHONE),
    "campaign.v1.Contact.timezone": _domain(_CONTACT, chars=contacts.MAX_TIMEZONE),
    "campaign.v1.Contact.locale": _domain(_CONTACT, chars=contacts.MAX_LOCALE),
    "campaign.v1.GetContactRequest.user_id": Cap(chars=contacts.MAX_USER_ID),
    "campaign.v1.DeleteContactRequest.user_id": Cap(chars=contacts.MAX_USER_ID),
    "campaign.v1.AddSuppressionsRequest.entries": _domain(
        _SUPPRESSION, items=audience.MAX_SUPPRESSIONS_PER_CALL
    ),
    "campaign.v1.RemoveSuppressionsRequest.entries": _domain(
        _SUPPRESSION, items=audience.MAX_SUPPRESSIONS_PER_CALL
    ),
    "campaign.v1.SuppressionEntry.user_id": _domain(_SUPPRESSION, chars=contacts.MAX_USER_ID),
    # Checked here too: removal accepts entries stored before addresses were checked.
    "campaign.v1.SuppressionEntry.address": Cap(chars=2_048),
    "campaign.v1.ListSuppressionsRequest.page_token": Cap(chars=PAGE_TOKEN),
    "campaign.v1.Segment.segment_id": _domain(_SEGMENT, chars=128),
    "campaign.v1.Segment.name": _domain(_SEGMENT, chars=audience.MAX_SEGMENT_NAME),
    "campaign.v1.Segment.conditions": _domain(_COND, items=conditions.MAX_CONDITIONS),
    "campaign.v1.GetSegmentRequest.segment_id": Cap(chars=128),
    "campaign.v1.DeleteSegmentRequest.segment_id": Cap(chars=128),
    "campaign.v1.ListSegmentsRequest.page_token": Cap(chars=PAGE_TOKEN),
    # --- MetricsService, EventService ----------------------------------------------------------
    "campaign.v1.GetCampaignMetricsRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.GetCampaignMetricsRequest.execution_id": Cap(chars=ID),
    "campaign.v1.GetCampaignMetricsRequest.breakdowns": Cap(items=ENUM_FILTER),
    "campaign.v1.StreamCampaignMetricsRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.StreamCampaignMetricsRequest.breakdowns": Cap(items=ENUM_FILTER),
    "campaign.v1.GetExperimentResultsRequest.campaign_id": Cap(chars=ID),
    "campaign.v1.TrackEventsRequest.events": Cap(items=EVENTS_PER_CALL),
    "campaign.v1.TrackedEvent.event_id": Cap(chars=ID),
    "campaign.v1.TrackedEvent.event_type": Cap(chars=conditions.MAX_FIELD),
    "campaign.v1.TrackedEvent.user_id": Cap(chars=contacts.MAX_USER_ID),
    # --- free-form values: condition values, profiles, contexts, event properties --------------
    # A condition's text value is held to MAX_CONDITION_VALUE by the domain; these bound the rest.
    "google.protobuf.Value.string_value": Cap(chars=STRUCT_TEXT),
    "google.protobuf.Struct.fields": Cap(items=STRUCT_FIELDS),
    "google.protobuf.Struct.FieldsEntry.key": Cap(chars=STRUCT_KEY),
    "google.protobuf.ListValue.values": Cap(items=LIST_VALUES),
}


def check_request(message: Message) -> None:
    """INVALID_ARGUMENT naming every field over its cap; return when none is.

    A message smaller than the smallest cap its type can meet is not walked: a string of n
    characters takes at least n bytes, n repeated items or map entries at least n, and a level of
    nesting at least 2, so nothing in it can be over (a GetCampaignRequest, every call)."""
    if message.ByteSize() <= fits_any_cap(message.DESCRIPTOR):
        return
    v = ViolationCollector()
    _walk(message, "", v, 0)
    v.raise_if_any()


@cache
def fits_any_cap(descriptor: Descriptor) -> int:
    """The most bytes a message of this type may have and still be under every cap and depth."""
    return min(_smallest_cap(descriptor), 2 * MAX_DEPTH)


@cache
def _smallest_cap(descriptor: Descriptor) -> int:
    """The smallest item or character cap any field in a message of this type can meet."""
    smallest = 2**62
    pending, seen = [descriptor], {descriptor.full_name}
    while pending:
        for field in pending.pop().fields:
            cap = LIMITS.get(field.full_name, Cap())
            for bound in (cap.items, cap.chars):
                if bound is not None:
                    smallest = min(smallest, bound)
            if field.message_type is not None and field.message_type.full_name not in seen:
                seen.add(field.message_type.full_name)
                pending.append(field.message_type)
    return smallest


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the walk does with a field, worked out once per field instead of on every call."""

    cap: Cap
    is_map: bool
    is_repeated: bool
    is_message: bool


@cache
def _plan(field: FieldDescriptor) -> _Plan:
    return _Plan(
        LIMITS.get(field.full_name, Cap()),
        _is_map(field),
        _is_repeated(field),
        field.type == FieldDescriptor.TYPE_MESSAGE,
    )


def _below_every_cap(message: Message, depth: int) -> bool:
    """Whether nothing in `message`, walked at `depth`, can be over a cap or too deep: a string
    of n characters or n items take at least n bytes, each level of nesting at least 2."""
    size = message.ByteSize()
    return size <= _smallest_cap(message.DESCRIPTOR) and size <= 2 * (MAX_DEPTH - depth)


def _walk(message: Message, path: str, v: ViolationCollector, depth: int) -> None:
    if depth > MAX_DEPTH:
        v.add(path.rstrip(".") or "request", f"nested more than {MAX_DEPTH} levels deep")
        return
    for field, value in message.ListFields():
        plan = _plan(field)
        if plan.is_map:
            where = path + field.name
            if _too_many(v, where, plan.cap, len(value)):
                continue
            entry = field.message_type
            assert entry is not None  # a map field's entry type
            _walk_map(entry, value, where, v, depth)
        elif plan.is_repeated:
            if _too_many(v, path + field.name, plan.cap, len(value)):
                continue
            for i, item in enumerate(value):
                if plan.is_message:
                    if not _below_every_cap(item, depth + 1):
                        _walk(item, f"{path}{field.name}[{i}].", v, depth + 1)
                elif isinstance(item, str):
                    _too_long(v, f"{path}{field.name}[{i}]", plan.cap, item)
        elif plan.is_message:
            if not _below_every_cap(value, depth + 1):
                _walk(value, path + field.name + ".", v, depth + 1)
        elif isinstance(value, str):
            _too_long(v, path + field.name, plan.cap, value)


def _walk_map(
    entry: Descriptor, items: object, where: str, v: ViolationCollector, depth: int
) -> None:
    key_cap = LIMITS.get(entry.fields_by_name["key"].full_name, Cap())
    value_field = entry.fields_by_name["value"]
    value_cap = LIMITS.get(value_field.full_name, Cap())
    for key, item in items.items():  # type: ignore[attr-defined]
        shown_key = f"{where}[{shown(key)}]"
        if isinstance(key, str) and _too_long(v, shown_key, key_cap, key, "key"):
            continue
        if value_field.type == FieldDescriptor.TYPE_MESSAGE:
            _walk(item, shown_key + ".", v, depth + 1)
        elif isinstance(item, str):
            _too_long(v, shown_key, value_cap, item)


def _too_many(v: ViolationCollector, where: str, cap: Cap, count: int) -> bool:
    """Whether `count` is over the cap; reported here unless a domain rule reports it."""
    if cap.items is None or count <= cap.items:
        return False
    if cap.rule is None:
        v.add(where, f"at most {cap.items} items (got {count})")
    return True


def _too_long(v: ViolationCollector, where: str, cap: Cap, text: str, what: str = "") -> bool:
    if cap.chars is None or cap.rule is not None or len(text) <= cap.chars:
        return False
    subject = f"{what}s are" if what else "is"
    v.add(where, f"{subject} at most {cap.chars} characters (got {len(text)})")
    return True


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)
