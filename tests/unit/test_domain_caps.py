"""Issue #10 items 3, 4, 17 in the domain: counts and sizes of definitions, bounded reports and
error details, suppressions and segments as the spec has them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from adapters.memory.audience import (
    MemoryContactDirectory,
    MemorySegmentStore,
    MemorySuppressionStore,
)
from adapters.system import SystemClock
from domain.audience.conditions import MAX_CONDITIONS, check_conditions
from domain.audience.contacts import Contact
from domain.audience.imports import (
    MAX_REPORTED_REJECTIONS,
    ContactImport,
    Upsert,
    UpsertResult,
)
from domain.audience.model import (
    Audience,
    Condition,
    ConditionOperator,
    Segment,
    SegmentType,
    Suppression,
)
from domain.audience.service import AudienceService, RejectedContact
from domain.campaigns.model import CampaignSpec, CampaignType, ChannelContent, Trigger
from domain.campaigns.rules import CONTENT_LIMITS, MAX_TRIGGERS, validate_spec
from domain.kernel.channels import Channel
from domain.kernel.errors import (
    MAX_REPORTED_VIOLATIONS,
    AlreadyExistsError,
    CampaignNotFoundError,
    FieldViolation,
    InvalidArgumentError,
    ValidationError,
    ViolationCollector,
    shown,
    truncated,
)
from domain.kernel.principal import Principal, Role

ADMIN = Principal("org-1", "root", frozenset({Role.ADMIN}))
PRO = Condition("plan", ConditionOperator.EQUALS, "pro")


def spec(**changes: object) -> CampaignSpec:
    base = CampaignSpec(
        name="Caps",
        campaign_type=CampaignType.SCHEDULED,
        audiences=(Audience("a", SegmentType.INCLUDE, segment_id="seg"),),
        channels=(ChannelContent(Channel.SMS, body="Hi"),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def violated(candidate: CampaignSpec) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        validate_spec(candidate)
    return [v.field for v in caught.value.violations]


def problems(candidate: CampaignSpec) -> list[str]:
    """The violated fields of `candidate`; empty when it is valid."""
    try:
        validate_spec(candidate)
    except ValidationError as error:
        return [v.field for v in error.violations]
    return []


# --- counts ----------------------------------------------------------------------------------


def test_conditions_are_capped_with_one_violation_for_the_list() -> None:
    v = ViolationCollector()
    check_conditions(v, "q", (PRO,) * MAX_CONDITIONS)
    assert v.violations == []

    check_conditions(v, "q", (Condition("", ConditionOperator.EQUALS, "x"),) * 20_000)
    assert [x.field for x in v.violations] == ["q"]


def test_a_long_condition_text_value_is_rejected() -> None:
    v = ViolationCollector()
    check_conditions(v, "q", (Condition("plan", ConditionOperator.EQUALS, "x" * 1_025),))
    assert [x.field for x in v.violations] == ["q[0].value"]


def test_a_query_audience_of_51_conditions_is_rejected() -> None:
    audience = Audience("a", SegmentType.INCLUDE, query=(PRO,) * (MAX_CONDITIONS + 1))

    assert violated(spec(audiences=(audience,))) == ["audiences[0].query.conditions"]


def test_triggers_are_capped() -> None:
    triggers = tuple(Trigger(f"e{i}", "") for i in range(MAX_TRIGGERS + 1))
    candidate = spec(campaign_type=CampaignType.TRIGGERED, triggers=triggers)

    assert violated(candidate) == ["triggers"]
    assert validate_spec(replace(candidate, triggers=triggers[:MAX_TRIGGERS])) is None


def test_more_contents_than_channels_is_one_violation() -> None:
    contents = tuple(ChannelContent(Channel.SMS, body="Hi") for _ in range(5_000))

    assert violated(spec(channels=contents)) == ["channels"]


# --- content sizes ---------------------------------------------------------------------------

_BLOCK = {
    Channel.EMAIL: "email",
    Channel.SMS: "sms",
    Channel.WHATSAPP: "whatsapp",
    Channel.IN_APP: "in_app",
    Channel.WEBHOOK: "webhook",
}
CASES = [
    (channel, name, limit)
    for channel, limits in CONTENT_LIMITS.items()
    for name, limit in limits.items()
    if name != "url"  # a URL is also checked for its scheme; its size is enough here
]


def _content(channel: Channel, name: str, size: int) -> ChannelContent:
    base = {"subject": "s"} if channel is Channel.EMAIL and name != "subject" else {}
    return ChannelContent(channel, **{**base, name: "x" * size})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("channel", "name", "limit"), CASES, ids=[f"{c.value}.{n}" for c, n, _ in CASES]
)
def test_every_content_field_is_capped_at_its_size(channel: Channel, name: str, limit: int) -> None:
    path = f"channels[0].{_BLOCK[channel]}.{name}"

    assert path in problems(spec(channels=(_content(channel, name, limit + 1),)))
    # Other problems (a webhook without a url) may remain: not this field's.
    assert path not in problems(spec(channels=(_content(channel, name, limit),)))


def test_the_email_html_cap_is_gmails_clipping_size() -> None:
    assert CONTENT_LIMITS[Channel.EMAIL]["html_body"] == 102_400
    assert CONTENT_LIMITS[Channel.EMAIL]["subject"] == 998


# --- bounded errors --------------------------------------------------------------------------


def test_echoed_values_are_truncated_with_an_ellipsis() -> None:
    assert truncated("x" * 1_000_000) == "x" * 63 + "\u2026"
    assert truncated("short") == "short"
    assert shown("x" * 100) == repr("x" * 63 + "\u2026")


def test_error_metadata_and_message_are_truncated_centrally() -> None:
    error = CampaignNotFoundError("c" * 1_000_000)

    assert error.metadata["campaign_id"] == "c" * 63 + "\u2026"
    assert len(error.message) < 120


def test_an_error_lists_at_most_20_violations_and_counts_the_rest() -> None:
    error = InvalidArgumentError([FieldViolation(f"f{i}", "bad") for i in range(20_000)])

    assert len(error.violations) == MAX_REPORTED_VIOLATIONS + 1
    assert error.violations[-1].description == "and 19980 more problems not listed"


# --- UpsertContacts --------------------------------------------------------------------------


def _rejecting(calls: list[int]) -> Upsert:
    async def upsert(contacts: Sequence[Contact], first: int) -> UpsertResult:
        calls.append(len(contacts))
        return UpsertResult(
            rejected=[
                RejectedContact(first + i, c.user_id, ("bad",)) for i, c in enumerate(contacts)
            ]
        )

    return upsert


async def test_an_import_reports_the_first_rejections_and_counts_them_all() -> None:
    calls: list[int] = []
    contacts = ContactImport(_rejecting(calls), chunk=1_000)
    for i in range(2_500):
        await contacts.add(Contact(f"u{i}"))

    report = await contacts.finish()

    assert calls == [1_000, 1_000, 500]
    assert report.rejected_count == 2_500
    assert len(report.rejected) == MAX_REPORTED_REJECTIONS
    assert report.rejected[-1].index == MAX_REPORTED_REJECTIONS - 1


async def test_a_stream_over_its_contact_cap_fails_after_processing_the_first_ones() -> None:
    calls: list[int] = []
    contacts = ContactImport(_rejecting(calls), max_contacts=5, chunk=3)
    for i in range(5):
        await contacts.add(Contact(f"u{i}"))

    with pytest.raises(InvalidArgumentError) as caught:
        await contacts.add(Contact("u5"))

    assert calls == [3, 2]
    assert caught.value.metadata["processed_count"] == "5"
    assert caught.value.metadata["rejected_count"] == "5"


# --- suppressions and segments ---------------------------------------------------------------


@pytest.fixture
def audience() -> AudienceService:
    return AudienceService(
        contacts=MemoryContactDirectory(),
        segments=MemorySegmentStore(),
        suppressions=MemorySuppressionStore(),
        clock=SystemClock(),
    )


@pytest.mark.parametrize("address", ["ana@example.com", "+14155550100"])
async def test_a_suppression_by_email_or_e164_phone_is_added(
    audience: AudienceService, address: str
) -> None:
    assert await audience.add_suppressions(ADMIN, [Suppression(address=address)]) == 1


@pytest.mark.parametrize("address", ["not an address", "0155550100", "https://x.example/h"])
async def test_a_suppression_of_anything_else_is_rejected(
    audience: AudienceService, address: str
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        await audience.add_suppressions(ADMIN, [Suppression(address=address)])

    assert [v.field for v in caught.value.violations] == ["entries[0].address"]


async def test_removing_a_suppression_needs_only_its_shape(audience: AudienceService) -> None:
    assert await audience.remove_suppressions(ADMIN, [Suppression(address="legacy")]) == 0


async def test_creating_a_segment_id_twice_is_already_exists_and_keeps_the_first(
    audience: AudienceService,
) -> None:
    await audience.create_segment(ADMIN, Segment("vip", "First", (PRO,)))

    with pytest.raises(AlreadyExistsError):
        await audience.create_segment(ADMIN, Segment("vip", "Second", (PRO, PRO)))

    assert (await audience.get_segment(ADMIN, "vip")).name == "First"


async def test_a_segment_of_20000_conditions_is_one_violation(audience: AudienceService) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        await audience.create_segment(ADMIN, Segment("huge", "", (PRO,) * 20_000))

    assert [v.field for v in caught.value.violations] == ["segment.conditions"]
