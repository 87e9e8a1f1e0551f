"""The generic request walk (server/mappers/request_checks.py): every string, timestamp,
duration and Struct of any request message, reported with its path in request terms."""

from __future__ import annotations

from campaign.v1 import audience_pb2 as apb
from campaign.v1 import audience_service_pb2 as asvc
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2

from server.mappers.request_checks import (
    MAX_REPORTED,
    MAX_VISITS,
    needs_walk,
    request_violations,
)


def fields(message: object) -> list[str]:
    return [v.field for v in request_violations(message)]  # type: ignore[arg-type]


def test_nul_characters_are_found_in_nested_repeated_and_map_fields() -> None:
    request = svc.CreateCampaignRequest(
        name="ok",
        channels=[
            pb.ChannelContent(sms=pb.SmsContent(body="fine")),
            pb.ChannelContent(webhook=pb.WebhookContent(url="https://x", headers={"X-A": "b\x00"})),
        ],
        tags=["a", "\x00"],
        metadata={"k\x00": "v"},
    )
    assert sorted(fields(request)) == [
        'channels[1].webhook.headers["X-A"]',
        "metadata",
        "tags[1]",
    ]


def test_a_clean_request_has_no_violations() -> None:
    request = svc.ListCampaignsRequest(
        name_prefix="Spring", created_after=timestamp_pb2.Timestamp(seconds=1_700_000_000)
    )
    assert request_violations(request) == []


def test_timestamps_and_durations_out_of_range_are_found() -> None:
    request = svc.CreateCampaignRequest(
        triggers=[
            pb.Trigger(
                delay=duration_pb2.Duration(seconds=10**15),
                frequency_window=duration_pb2.Duration(seconds=-1, nanos=5),
            )
        ]
    )
    assert fields(request) == ["triggers[0].delay", "triggers[0].frequency_window"]
    listing = svc.ListCampaignsRequest(
        created_after=timestamp_pb2.Timestamp(seconds=253_402_300_800),
        created_before=timestamp_pb2.Timestamp(seconds=0, nanos=-1),
    )
    assert fields(listing) == ["created_after", "created_before"]


def test_a_struct_deeper_than_the_cap_is_found_and_a_shallow_one_is_not() -> None:
    def nested(depth: int) -> struct_pb2.Struct:
        value: object = "leaf"
        for _ in range(depth - 1):
            value = {"k": value}
        out = struct_pb2.Struct()
        out.update({"k": value})
        return out

    assert request_violations(svc.SendTransactionalRequest(context=nested(10))) == []
    assert fields(svc.SendTransactionalRequest(context=nested(11))) == [
        'context["k"]["k"]["k"]["k"]["k"]["k"]["k"]["k"]["k"]["k"]'
    ]
    nul = struct_pb2.Struct()
    nul.update({"a": ["x", "y\x00"]})
    assert fields(asvc.UpsertContactsRequest(contact=apb.Contact(attributes=nul))) == [
        'contact.attributes["a"][1]'
    ]


def test_reports_stop_at_the_cap() -> None:
    request = svc.ListCampaignsRequest(tags=["\x00"] * 500)
    assert len(request_violations(request)) == MAX_REPORTED


def test_only_messages_that_can_hold_timestamps_durations_or_structs_are_always_walked() -> None:
    assert not needs_walk(svc.GetCampaignRequest.DESCRIPTOR)
    assert not needs_walk(asvc.GetContactRequest.DESCRIPTOR)
    assert needs_walk(svc.ListCampaignsRequest.DESCRIPTOR)
    assert needs_walk(svc.CreateCampaignRequest.DESCRIPTOR)
    assert needs_walk(svc.SendTransactionalRequest.DESCRIPTOR)


def conditions(count: int, field: str = "plan") -> svc.CreateCampaignRequest:
    query = pb.Audience.DESCRIPTOR.fields_by_name["query"].message_type._concrete_class
    return svc.CreateCampaignRequest(
        audiences=[
            pb.Audience(
                query=query(
                    conditions=[
                        pb.Condition(field=field, value=struct_pb2.Value(string_value="pro"))
                        for _ in range(count)
                    ]
                )
            )
        ]
    )


def test_without_nul_bytes_fields_that_hold_no_timestamp_duration_or_struct_are_skipped() -> None:
    # conditions hold only strings and Values: nothing to check when no NUL can be inside
    assert request_violations(conditions(MAX_VISITS + 1), strings=False) == []


def test_a_walk_past_the_visit_budget_rejects_the_request_as_too_large() -> None:
    assert fields(conditions(MAX_VISITS, field="a\x00")) == ["request"]
