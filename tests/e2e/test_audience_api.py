"""AudienceService against the real server: the contact directory, the suppression list, saved
segments, and EstimateAudience as the funnel a campaign would reach; roles and tenancy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from campaign.v1 import audience_pb2 as apb
from campaign.v1 import audience_service_pb2 as asvc
from campaign.v1 import campaign_pb2 as pb
from google.protobuf import struct_pb2

from tests.e2e.engine_helpers import AudienceApi, contact, upsert_stream
from tests.e2e.helpers import CampaignApi, email, mint_token, new_org, scheduled_request

pytestmark = pytest.mark.e2e

S = apb.SuppressionEntry
UNSUBSCRIBED = apb.SUPPRESSION_REASON_UNSUBSCRIBED
BOUNCED = apb.SUPPRESSION_REASON_BOUNCED
COMPLAINED = apb.SUPPRESSION_REASON_COMPLAINED
MANUAL = apb.SUPPRESSION_REASON_MANUAL


@pytest.fixture
def audience_as(channel: grpc.Channel) -> Callable[..., AudienceApi]:
    """`audience_as(org, role)`: an AudienceService client with a valid token for that caller."""

    def make(org: str, role: str = "admin") -> AudienceApi:
        return AudienceApi(channel, mint_token(org, role))

    return make


@pytest.fixture
def audience(audience_as: Callable[..., AudienceApi], org: str) -> AudienceApi:
    return audience_as(org)


def condition(field: str, operator: pb.ConditionOperator, value: Any) -> pb.Condition:
    wrapped = struct_pb2.Value()
    if isinstance(value, bool):
        wrapped.bool_value = value
    elif isinstance(value, int | float):
        wrapped.number_value = value
    else:
        wrapped.string_value = value
    return pb.Condition(field=field, operator=operator, value=wrapped)


def plan_is(plan: str) -> pb.Condition:
    return condition("plan", pb.CONDITION_OPERATOR_EQUALS, plan)


def query(*conditions: pb.Condition, exclude: bool = False) -> pb.Audience:
    kind = pb.SEGMENT_TYPE_EXCLUDE if exclude else pb.SEGMENT_TYPE_INCLUDE
    return pb.Audience(segment_type=kind, query=pb.SegmentQuery(conditions=conditions))


def saved(segment_id: str, *, exclude: bool = False) -> pb.Audience:
    kind = pb.SEGMENT_TYPE_EXCLUDE if exclude else pb.SEGMENT_TYPE_INCLUDE
    return pb.Audience(segment_type=kind, segment_id=segment_id)


def create_segment(api: AudienceApi, segment_id: str, *conditions: pb.Condition, name: str = ""):
    request = asvc.CreateSegmentRequest(
        segment=apb.Segment(segment_id=segment_id, name=name, conditions=conditions)
    )
    return api.call("CreateSegment", request).segment


def reach(estimate: asvc.EstimateAudienceResponse) -> dict[int, int]:
    return {r.channel: r.size for r in estimate.reachable_by_channel}


# --- contacts ---------------------------------------------------------------------------------


def test_an_upserted_contact_reads_back_with_every_field_and_timestamps(audience: AudienceApi):
    stored = contact(
        "ann",
        phone="+14155550100",
        whatsapp_verified=True,
        timezone="Europe/Paris",
        locale="fr-FR",
        sms_opted_in=True,
        whatsapp_opted_in=True,
        in_app_opted_in=True,
        attributes={"first_name": "Ann", "plan": "pro", "score": 7, "beta": True},
    )

    reply = audience.upsert(stored)
    got = audience.get_contact("ann")

    assert reply == asvc.UpsertContactsResponse(upserted_count=1)
    assert got.created_at.seconds > 0
    assert got.updated_at == got.created_at
    got.ClearField("created_at")
    got.ClearField("updated_at")
    assert got == stored


def test_a_contact_without_a_time_zone_is_stored_in_utc(audience: AudienceApi):
    audience.upsert(contact("bob"))

    assert audience.get_contact("bob").timezone == "UTC"


def test_upserting_the_same_user_id_again_replaces_the_whole_contact(audience: AudienceApi):
    audience.upsert(
        contact("ann", phone="+14155550100", sms_opted_in=True, attributes={"plan": "pro"})
    )
    first = audience.get_contact("ann")

    audience.upsert(contact("ann", email="ann@new.example", attributes={"country": "FR"}))
    second = audience.get_contact("ann")

    assert second.email == "ann@new.example"
    assert second.phone == ""  # not merged: replaced
    assert not second.sms_opted_in
    assert dict(second.attributes) == {"country": "FR"}
    assert second.created_at == first.created_at
    assert second.updated_at.ToDatetime() >= first.updated_at.ToDatetime()


def test_a_stream_keeps_the_valid_contacts_and_reports_each_invalid_one_with_reasons(
    audience: AudienceApi,
):
    stream = [
        contact("ok-1"),
        contact("bad-email", email="ann.example.com"),
        contact("bad-phone", email="", email_opted_in=False, phone="555-0100"),
        contact("bad-zone", timezone="Europe/Atlantis"),
        contact("", email="nobody@example.com"),
        contact("no-phone", email="", email_opted_in=False, sms_opted_in=True),
        contact("ok-2", phone="+442071838750"),
    ]

    reply = audience.upsert(*stream)

    assert reply.upserted_count == 2
    assert [(r.index, r.user_id) for r in reply.rejected] == [
        (1, "bad-email"),
        (2, "bad-phone"),
        (3, "bad-zone"),
        (4, ""),
        (5, "no-phone"),
    ]
    reasons = [list(r.reasons) for r in reply.rejected]
    assert reasons[0] == ["email: 'ann.example.com' is not a valid address"]
    assert reasons[1][0].startswith("phone: '555-0100' is not E.164")
    assert reasons[2] == ["timezone: 'Europe/Atlantis' is not an IANA time zone"]
    assert reasons[3][0].startswith("user_id:")
    assert reasons[4][0].startswith("sms_opted_in")
    assert audience.get_contact("ok-2").phone == "+442071838750"
    missing = audience.fails("GetContact", asvc.GetContactRequest(user_id="bad-email"))
    assert missing.code == grpc.StatusCode.NOT_FOUND


def test_an_empty_stream_upserts_nothing(audience: AudienceApi):
    assert audience.upsert() == asvc.UpsertContactsResponse()


def test_a_deleted_contact_is_not_found_afterwards_and_deleting_it_again_is_not_found(
    audience: AudienceApi,
):
    audience.upsert(contact("gdpr"), contact("stays"))

    audience.call("DeleteContact", asvc.DeleteContactRequest(user_id="gdpr"))
    get = audience.fails("GetContact", asvc.GetContactRequest(user_id="gdpr"))
    again = audience.fails("DeleteContact", asvc.DeleteContactRequest(user_id="gdpr"))

    assert get.code == again.code == grpc.StatusCode.NOT_FOUND
    assert get.error_metadata == {"user_id": "gdpr"}
    assert "gdpr" in get.message
    assert audience.get_contact("stays").user_id == "stays"


def test_an_empty_user_id_is_invalid_argument_naming_the_field(audience: AudienceApi):
    failure = audience.fails("GetContact", asvc.GetContactRequest(user_id=""))

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["user_id"]


# --- suppressions -----------------------------------------------------------------------------


def test_adding_suppressions_counts_each_new_entry_once(audience: AudienceApi):
    added = audience.suppress(
        S(user_id="ann", reason=UNSUBSCRIBED),
        S(user_id="ann", reason=UNSUBSCRIBED),  # the same entry twice in one call
        S(address="bob@example.com", channel=pb.CHANNEL_EMAIL, reason=BOUNCED),
    )
    again = audience.suppress(
        S(user_id="ann", reason=MANUAL),  # present already: left as it is
        S(user_id="ann", channel=pb.CHANNEL_SMS, reason=MANUAL),  # another channel: new
    )

    assert added == 2
    assert again == 1
    entries = audience.list_suppressions()
    assert [(e.WhichOneof("target"), e.channel, e.reason) for e in entries] == [
        ("address", pb.CHANNEL_EMAIL, BOUNCED),
        ("user_id", pb.CHANNEL_UNSPECIFIED, UNSUBSCRIBED),
        ("user_id", pb.CHANNEL_SMS, MANUAL),
    ]
    assert all(e.created_at.seconds > 0 for e in entries)


def test_suppressions_list_filtered_by_reason_and_channel_and_page_by_page(
    audience: AudienceApi,
):
    audience.suppress(
        *(S(user_id=f"user-{i:02d}", reason=UNSUBSCRIBED) for i in range(5)),
        *(
            S(address=f"b{i}@example.com", channel=pb.CHANNEL_EMAIL, reason=BOUNCED)
            for i in range(3)
        ),
        S(address="+14155550100", channel=pb.CHANNEL_SMS, reason=COMPLAINED),
    )

    everything = audience.list_suppressions(page_size=1000)
    paged = audience.list_suppressions(page_size=2)
    first = audience.call("ListSuppressions", asvc.ListSuppressionsRequest(page_size=2))
    bounced = audience.list_suppressions(reason=BOUNCED)
    by_email = audience.list_suppressions(channel=pb.CHANNEL_EMAIL)
    sms_complaints = audience.list_suppressions(channel=pb.CHANNEL_SMS, reason=COMPLAINED)
    none = audience.list_suppressions(channel=pb.CHANNEL_SMS, reason=BOUNCED)

    assert len(everything) == 9
    assert paged == everything  # same entries, same order, no page lost or repeated
    assert len(first.entries) == 2
    assert first.next_page_token
    assert sorted(e.address for e in bounced) == [f"b{i}@example.com" for i in range(3)]
    assert by_email == bounced
    assert [e.address for e in sms_complaints] == ["+14155550100"]
    assert none == []


def test_removing_suppressions_counts_only_the_entries_that_were_there(audience: AudienceApi):
    audience.suppress(
        S(user_id="ann", reason=UNSUBSCRIBED),
        S(address="bob@example.com", channel=pb.CHANNEL_EMAIL, reason=BOUNCED),
    )

    removed = audience.call(
        "RemoveSuppressions",
        asvc.RemoveSuppressionsRequest(
            entries=[
                S(user_id="ann"),  # reason is ignored when removing
                S(user_id="never-added"),
                S(address="bob@example.com", channel=pb.CHANNEL_SMS),  # other channel: kept
            ]
        ),
    )

    assert removed.removed_count == 1
    assert [e.address for e in audience.list_suppressions()] == ["bob@example.com"]


@pytest.mark.parametrize("rpc", ["AddSuppressions", "RemoveSuppressions"])
def test_a_suppression_entry_without_a_target_is_invalid_argument(audience: AudienceApi, rpc: str):
    request = getattr(asvc, f"{rpc}Request")(
        entries=[S(user_id="fine", reason=MANUAL), S(reason=MANUAL)]
    )

    failure = audience.fails(rpc, request)

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["entries[1]"]
    assert audience.list_suppressions() == []  # nothing of the call was applied


def test_suppressed_users_and_addresses_are_left_out_of_the_estimate(audience: AudienceApi):
    audience.upsert(
        *(
            contact(f"u{i}", phone=f"+1415555010{i}", sms_opted_in=True, attributes={"plan": "pro"})
            for i in range(6)
        )
    )
    audience.suppress(
        S(user_id="u0", reason=UNSUBSCRIBED),  # every channel
        S(address="u1@example.com", reason=COMPLAINED),  # the address, every channel
        S(address="u2@example.com", channel=pb.CHANNEL_EMAIL, reason=BOUNCED),  # email only
        S(user_id="u3", channel=pb.CHANNEL_SMS, reason=MANUAL),  # SMS only
    )

    estimate = audience.estimate(audiences=[query(plan_is("pro"))])

    assert [s.size for s in estimate.by_segment] == [6]
    assert estimate.after_exclusions == 6
    assert estimate.after_suppression == 4  # u0 and u1 are gone on every channel
    assert estimate.after_holdout == estimate.estimated_size == 4
    assert reach(estimate)[pb.CHANNEL_EMAIL] == 3  # u3, u4, u5
    assert reach(estimate)[pb.CHANNEL_SMS] == 3  # u2, u4, u5


# --- segments ---------------------------------------------------------------------------------


def test_a_saved_segment_reads_back_through_get_and_list_and_is_gone_after_delete(
    audience: AudienceApi,
):
    created = create_segment(audience, "vip.eu", plan_is("pro"), name="VIP Europe")
    create_segment(audience, "a-first", plan_is("free"))

    got = audience.call("GetSegment", asvc.GetSegmentRequest(segment_id="vip.eu")).segment
    listed = audience.call("ListSegments", asvc.ListSegmentsRequest()).segments
    audience.call("DeleteSegment", asvc.DeleteSegmentRequest(segment_id="vip.eu"))
    gone = audience.fails("GetSegment", asvc.GetSegmentRequest(segment_id="vip.eu"))
    again = audience.fails("DeleteSegment", asvc.DeleteSegmentRequest(segment_id="vip.eu"))

    assert created.segment_id == "vip.eu"
    assert created.name == "VIP Europe"
    assert list(created.conditions) == [plan_is("pro")]
    assert created.created_at.seconds > 0
    assert got == created
    assert [s.segment_id for s in listed] == ["a-first", "vip.eu"]
    assert listed[1] == created
    assert gone.code == again.code == grpc.StatusCode.NOT_FOUND
    assert gone.error_metadata == {"segment_id": "vip.eu"}
    remaining = audience.call("ListSegments", asvc.ListSegmentsRequest()).segments
    assert [s.segment_id for s in remaining] == ["a-first"]


def test_segments_are_listed_in_pages_with_sealed_tokens(
    audience: AudienceApi, audience_as: Callable[..., AudienceApi]
):
    ids = [f"seg-{i}" for i in range(5)]
    for segment_id in reversed(ids):
        create_segment(audience, segment_id, plan_is("pro"))

    listed: list[str] = []
    tokens: list[str] = []
    token = ""
    for _ in range(10):
        page = audience.call(
            "ListSegments", asvc.ListSegmentsRequest(page_size=2, page_token=token)
        )
        listed += [s.segment_id for s in page.segments]
        token = page.next_page_token
        if not token:
            break
        tokens.append(token)
    everything = audience.call("ListSegments", asvc.ListSegmentsRequest(page_size=10**6))
    elsewhere = audience_as(new_org()).fails(
        "ListSegments", asvc.ListSegmentsRequest(page_token=tokens[0])
    )
    negative = audience.fails("ListSegments", asvc.ListSegmentsRequest(page_size=-1))

    assert listed == ids
    assert len(tokens) == 2  # pages of 2, 2 and 1
    assert not any(segment_id in t for t in tokens for segment_id in ids)  # opaque
    assert [s.segment_id for s in everything.segments] == ids  # clamped, not refused
    assert everything.next_page_token == ""
    assert (elsewhere.code, elsewhere.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["page_token"])
    assert (negative.code, negative.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["page_size"])


def test_a_segment_id_is_created_once_and_can_be_reused_after_a_delete(
    audience: AudienceApi,
):
    first = create_segment(audience, "vip", plan_is("pro"), name="VIP")
    again = asvc.CreateSegmentRequest(
        segment=apb.Segment(segment_id="vip", name="VIP 2", conditions=[plan_is("enterprise")])
    )

    assert audience.fails("CreateSegment", again).code == grpc.StatusCode.ALREADY_EXISTS
    got = audience.call("GetSegment", asvc.GetSegmentRequest(segment_id="vip")).segment
    assert got == first

    audience.call("DeleteSegment", asvc.DeleteSegmentRequest(segment_id="vip"))
    second = audience.call("CreateSegment", again).segment
    assert second.name == "VIP 2"
    assert list(second.conditions) == [plan_is("enterprise")]


def test_an_invalid_segment_is_invalid_argument_with_every_field_violation(
    audience: AudienceApi,
):
    request = asvc.CreateSegmentRequest(segment=apb.Segment(segment_id="not valid!", name="x"))

    failure = audience.fails("CreateSegment", request)

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["segment.segment_id", "segment.conditions"]
    assert audience.call("ListSegments", asvc.ListSegmentsRequest()).segments == []


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (pb.Condition(field="plan", value=struct_pb2.Value(string_value="pro")), "operator"),
        (pb.Condition(field="plan", operator=pb.CONDITION_OPERATOR_EQUALS), "value"),
        (condition("", pb.CONDITION_OPERATOR_EQUALS, "pro"), "field"),
        (condition("score", pb.CONDITION_OPERATOR_GREATER_THAN, "ten"), "value"),
    ],
    ids=["no-operator", "no-value", "no-field", "text-for-a-number"],
)
def test_a_segment_condition_missing_a_part_is_invalid_argument_naming_it(
    audience: AudienceApi, bad: pb.Condition, field: str
):
    segment = apb.Segment(segment_id="s", conditions=[plan_is("pro"), bad])

    failure = audience.fails("CreateSegment", asvc.CreateSegmentRequest(segment=segment))

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == [f"segment.conditions[1].{field}"]


@pytest.mark.parametrize("rpc", ["GetSegment", "DeleteSegment"])
def test_an_empty_segment_id_is_invalid_argument_naming_segment_id(audience: AudienceApi, rpc: str):
    failure = audience.fails(rpc, getattr(asvc, f"{rpc}Request")(segment_id=""))

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["segment_id"]


# --- estimates --------------------------------------------------------------------------------


@pytest.fixture
def directory(audience: AudienceApi) -> AudienceApi:
    """Ten contacts: plan pro for u0-u5, free for u6-u9; country DE for u0 and u1, else FR;
    u8 and u9 opted out of email."""
    audience.upsert(
        *(
            contact(
                f"u{i}",
                email_opted_in=i < 8,
                attributes={"plan": "pro" if i < 6 else "free", "country": "DE" if i < 2 else "FR"},
            )
            for i in range(10)
        )
    )
    return audience


def test_a_campaign_audience_by_segment_id_resolves_through_estimate_audience(
    directory: AudienceApi, api: CampaignApi
):
    create_segment(directory, "pro", plan_is("pro"))
    create_segment(directory, "germany", condition("country", pb.CONDITION_OPERATOR_EQUALS, "DE"))
    campaign = api.create(
        scheduled_request(
            "Pro, not Germany",
            audiences=[saved("pro"), saved("germany", exclude=True)],
            channels=[email()],
            holdout_percentage=20,
        )
    )

    by_campaign = directory.estimate(campaign_id=campaign.campaign_id)
    by_audiences = directory.estimate(
        audiences=[saved("pro"), saved("germany", exclude=True)], holdout_percentage=20
    )

    assert [s.size for s in by_campaign.by_segment] == [6, 2]
    assert [s.audience.segment_id for s in by_campaign.by_segment] == ["pro", "germany"]
    assert [s.audience.audience_id for s in by_campaign.by_segment] == [
        a.audience_id for a in campaign.audiences
    ]
    assert by_campaign.after_exclusions == 4  # u2-u5
    assert by_campaign.after_suppression == 4
    assert by_campaign.after_holdout == by_campaign.estimated_size == 3  # 4 - round(0.8)
    assert reach(by_campaign) == {pb.CHANNEL_EMAIL: 3}  # the campaign's one channel
    assert set(reach(by_audiences)) == set(pb.Channel.values()) - {pb.CHANNEL_UNSPECIFIED}
    assert reach(by_audiences)[pb.CHANNEL_EMAIL] == 3
    assert by_campaign.estimated_at.seconds > 0
    for estimate in (by_campaign, by_audiences):
        # reach and the ETA follow the campaign's channels and bucketing; the funnel does not
        for name in ("estimated_at", "reachable_by_channel", "estimated_completion"):
            estimate.ClearField(name)
    for segment in by_campaign.by_segment:
        segment.audience.ClearField("audience_id")
    assert by_audiences == by_campaign


def test_an_inline_query_is_estimated_like_a_saved_segment(directory: AudienceApi):
    create_segment(directory, "free", plan_is("free"))

    inline = directory.estimate(audiences=[query(plan_is("free"))])
    by_id = directory.estimate(audiences=[saved("free")])

    assert inline.after_exclusions == by_id.after_exclusions == 4
    assert reach(inline) == reach(by_id)
    assert reach(inline)[pb.CHANNEL_EMAIL] == 2  # u6, u7; u8 and u9 opted out


def test_an_unknown_segment_id_in_estimate_audience_is_failed_precondition_naming_it(
    directory: AudienceApi,
):
    create_segment(directory, "pro", plan_is("pro"))

    failure = directory.fails(
        "EstimateAudience",
        asvc.EstimateAudienceRequest(
            audiences=[saved("pro"), saved("no-such-segment", exclude=True)]
        ),
    )

    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.subjects == ["audiences[1].segment_id"]
    assert failure.precondition_violations[0].type == "SEGMENT_NOT_FOUND"
    assert failure.error_metadata["segment_id"] == "no-such-segment"
    assert "no-such-segment" in failure.message


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({}, "audiences"),
        ({"audiences": [pb.Audience(segment_type=pb.SEGMENT_TYPE_INCLUDE)]}, "audiences[0]"),
        ({"audiences": [query()]}, "audiences[0]"),
        ({"audiences": [pb.Audience(segment_id="pro")]}, "audiences[0].segment_type"),
        ({"audiences": [query(plan_is("pro"))], "holdout_percentage": 25}, "holdout_percentage"),
    ],
    ids=["nothing", "no-source", "empty-query", "no-segment-type", "holdout-too-high"],
)
def test_an_estimate_request_without_a_usable_audience_is_invalid_argument(
    directory: AudienceApi, request_fields: dict[str, Any], field: str
):
    failure = directory.fails("EstimateAudience", asvc.EstimateAudienceRequest(**request_fields))

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == [field]


def test_estimating_an_unknown_campaign_is_campaign_not_found(directory: AudienceApi):
    missing = "00000000-0000-4000-8000-000000000000"

    failure = directory.fails("EstimateAudience", asvc.EstimateAudienceRequest(campaign_id=missing))

    assert failure.code == grpc.StatusCode.NOT_FOUND
    assert failure.reason == "CAMPAIGN_NOT_FOUND"
    assert failure.error_metadata == {"campaign_id": missing}


# --- roles and tenancy ------------------------------------------------------------------------

WRITES: list[tuple[str, Any]] = [
    ("UpsertContacts", lambda: upsert_stream([contact("u0")])),
    ("DeleteContact", lambda: asvc.DeleteContactRequest(user_id="u0")),
    (
        "AddSuppressions",
        lambda: asvc.AddSuppressionsRequest(entries=[S(user_id="u1", reason=MANUAL)]),
    ),
    ("RemoveSuppressions", lambda: asvc.RemoveSuppressionsRequest(entries=[S(user_id="u0")])),
    (
        "CreateSegment",
        lambda: asvc.CreateSegmentRequest(
            segment=apb.Segment(segment_id="x", conditions=[plan_is("a")])
        ),
    ),
    ("DeleteSegment", lambda: asvc.DeleteSegmentRequest(segment_id="pro")),
]


@pytest.mark.parametrize(("rpc", "request_of"), WRITES, ids=[rpc for rpc, _ in WRITES])
def test_the_user_role_cannot_change_the_directory(
    directory: AudienceApi,
    audience_as: Callable[..., AudienceApi],
    org: str,
    rpc: str,
    request_of: Callable[[], Any],
):
    create_segment(directory, "pro", plan_is("pro"))
    directory.suppress(S(user_id="u0", reason=MANUAL))

    failure = audience_as(org, "user").fails(rpc, request_of())

    assert failure.code == grpc.StatusCode.PERMISSION_DENIED
    assert directory.get_contact("u0").user_id == "u0"
    assert [e.user_id for e in directory.list_suppressions()] == ["u0"]
    segments = directory.call("ListSegments", asvc.ListSegmentsRequest()).segments
    assert [s.segment_id for s in segments] == ["pro"]


def test_the_user_role_can_read_the_directory(
    directory: AudienceApi, audience_as: Callable[..., AudienceApi], org: str
):
    create_segment(directory, "pro", plan_is("pro"))
    directory.suppress(S(user_id="u0", reason=MANUAL))
    reader = audience_as(org, "user")

    assert reader.get_contact("u3") == directory.get_contact("u3")
    assert [e.user_id for e in reader.list_suppressions()] == ["u0"]
    segment = reader.call("GetSegment", asvc.GetSegmentRequest(segment_id="pro")).segment
    assert list(segment.conditions) == [plan_is("pro")]
    assert len(reader.call("ListSegments", asvc.ListSegmentsRequest()).segments) == 1
    # Estimates are for admin, service and system (tests/e2e/test_roles_and_page_tokens.py).
    refused = reader.fails(
        "EstimateAudience", asvc.EstimateAudienceRequest(audiences=[saved("pro")])
    )
    assert refused.code == grpc.StatusCode.PERMISSION_DENIED
    assert directory.estimate(audiences=[saved("pro")]).after_suppression == 5


def test_a_call_without_a_token_is_unauthenticated(channel: grpc.Channel):
    failure = AudienceApi(channel, None).fails("GetContact", asvc.GetContactRequest(user_id="u0"))

    assert failure.code == grpc.StatusCode.UNAUTHENTICATED


def test_another_organization_sees_none_of_the_contacts_segments_or_suppressions(
    directory: AudienceApi, audience_as: Callable[..., AudienceApi], api: CampaignApi
):
    create_segment(directory, "pro", plan_is("pro"))
    directory.suppress(S(user_id="u0", reason=MANUAL))
    campaign = api.create(scheduled_request("A's", audiences=[saved("pro")]))
    other = audience_as(new_org())

    contact_get = other.fails("GetContact", asvc.GetContactRequest(user_id="u0"))
    contact_delete = other.fails("DeleteContact", asvc.DeleteContactRequest(user_id="u0"))
    segment_get = other.fails("GetSegment", asvc.GetSegmentRequest(segment_id="pro"))
    segment_delete = other.fails("DeleteSegment", asvc.DeleteSegmentRequest(segment_id="pro"))
    estimate_by_id = other.fails(
        "EstimateAudience", asvc.EstimateAudienceRequest(audiences=[saved("pro")])
    )
    estimate_campaign = other.fails(
        "EstimateAudience", asvc.EstimateAudienceRequest(campaign_id=campaign.campaign_id)
    )
    removed = other.call(
        "RemoveSuppressions", asvc.RemoveSuppressionsRequest(entries=[S(user_id="u0")])
    )
    inline = other.estimate(audiences=[query(plan_is("pro"))])

    assert contact_get.code == contact_delete.code == grpc.StatusCode.NOT_FOUND
    assert segment_get.code == segment_delete.code == grpc.StatusCode.NOT_FOUND
    assert estimate_by_id.code == grpc.StatusCode.FAILED_PRECONDITION
    assert estimate_campaign.code == grpc.StatusCode.NOT_FOUND
    assert estimate_campaign.reason == "CAMPAIGN_NOT_FOUND"
    assert removed.removed_count == 0
    assert inline.after_exclusions == 0
    assert other.list_suppressions() == []
    assert other.call("ListSegments", asvc.ListSegmentsRequest()).segments == []
    # and A's directory is untouched
    assert directory.get_contact("u0").user_id == "u0"
    assert [e.user_id for e in directory.list_suppressions()] == ["u0"]
    assert directory.estimate(audiences=[saved("pro")]).after_suppression == 5


def test_the_same_user_id_in_two_organizations_is_two_contacts(
    audience: AudienceApi, audience_as: Callable[..., AudienceApi]
):
    other = audience_as(new_org())
    audience.upsert(contact("shared", attributes={"owner": "a"}))
    other.upsert(contact("shared", email="b@example.com", attributes={"owner": "b"}))

    other.call("DeleteContact", asvc.DeleteContactRequest(user_id="shared"))

    mine = audience.get_contact("shared")
    assert mine.email == "shared@example.com"
    assert dict(mine.attributes) == {"owner": "a"}
    assert other.fails("GetContact", asvc.GetContactRequest(user_id="shared")).code == (
        grpc.StatusCode.NOT_FOUND
    )
