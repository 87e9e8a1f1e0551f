"""EventService.TrackEvents against the real server: a batch is taken event by event, each bad
one reported by its index and reason, the good ones kept; an (organization, event_id) counts
once, within a call and across calls, and never across organizations."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest
from campaign.v1 import event_pb2, event_service_pb2, event_service_pb2_grpc
from google.protobuf import struct_pb2, timestamp_pb2

from tests.e2e.helpers import RPC_TIMEOUT, Grpcurl, RpcFailure, bearer, mint_token

pytestmark = pytest.mark.e2e

TRACK = "campaign.v1.EventService/TrackEvents"


class Events:
    """EventService as one caller."""

    def __init__(self, channel: grpc.Channel, org: str, role: str = "admin") -> None:
        self.stub = event_service_pb2_grpc.EventServiceStub(channel)
        self.metadata = bearer(mint_token(org, role))

    def track(self, *events: event_pb2.TrackedEvent) -> event_service_pb2.TrackEventsResponse:
        return self.stub.TrackEvents(
            event_service_pb2.TrackEventsRequest(events=list(events)),
            metadata=self.metadata,
            timeout=RPC_TIMEOUT,
        )

    def fails(self, *events: event_pb2.TrackedEvent) -> RpcFailure:
        with pytest.raises(grpc.RpcError) as caught:
            self.track(*events)
        return RpcFailure.of(caught.value)


def event(event_id: str, event_type: str = "order.completed", **fields: Any) -> Any:
    properties = struct_pb2.Struct()
    properties.update(fields.pop("properties", {"value": 42.5}))
    return event_pb2.TrackedEvent(
        event_id=event_id, event_type=event_type, user_id="u-1", properties=properties, **fields
    )


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def summary(response: event_service_pb2.TrackEventsResponse) -> tuple[int, int, int]:
    return response.accepted_count, response.duplicate_count, response.rejected_count


def test_a_batch_is_accepted(channel: grpc.Channel, org: str):
    ids = [unique("e") for _ in range(25)]

    response = Events(channel, org).track(*(event(i) for i in ids))

    assert summary(response) == (25, 0, 0)
    assert list(response.rejected) == []


def test_each_bad_event_is_reported_by_index_and_the_good_ones_are_kept(
    channel: grpc.Channel, org: str
):
    events = Events(channel, org)
    good = [unique("good") for _ in range(3)]
    far_future = timestamp_pb2.Timestamp(seconds=4_102_444_800)  # 2100-01-01

    response = events.track(
        event(good[0]),
        event("", "order.completed"),
        event(good[1]),
        event(unique("bad-type"), "Order Completed"),
        event(unique("future"), occurred_at=far_future),
        event(good[2]),
    )
    again = events.track(*(event(i) for i in good))

    assert summary(response) == (3, 0, 3)
    assert [r.index for r in response.rejected] == [1, 3, 4]
    assert response.rejected[0].reason == "event_id is required"
    assert response.rejected[1].reason.startswith("event_type must be a lowercase dotted name")
    assert response.rejected[1].event_id.startswith("bad-type-")
    assert response.rejected[2].reason == "occurred_at is more than a day in the future"
    assert summary(again) == (0, 3, 0)  # the good ones were kept


def test_a_repeated_event_id_is_a_duplicate_in_one_call_and_across_calls(
    channel: grpc.Channel, org: str
):
    events = Events(channel, org)
    a, b = unique("a"), unique("b")

    first = events.track(event(a), event(a), event(b))
    second = events.track(event(b, "order.refunded"), event(unique("c")))

    assert summary(first) == (2, 1, 0)
    assert summary(second) == (1, 1, 0)  # the id counts, whatever the event says this time


def test_another_organizations_same_event_id_is_not_a_duplicate(channel: grpc.Channel):
    shared = unique("shared")
    one, two = f"org-{uuid.uuid4().hex[:12]}", f"org-{uuid.uuid4().hex[:12]}"

    mine = Events(channel, one).track(event(shared))
    theirs = Events(channel, two).track(event(shared))

    assert summary(mine) == (1, 0, 0)
    assert summary(theirs) == (1, 0, 0)


def test_an_empty_batch_is_invalid_argument(channel: grpc.Channel, org: str):
    failure = Events(channel, org).fails()

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["events"]


def test_more_than_a_thousand_events_is_invalid_argument(channel: grpc.Channel, org: str):
    failure = Events(channel, org).fails(*(event(f"e-{i}") for i in range(1_001)))

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["events"]


def test_a_user_role_cannot_track_events(channel: grpc.Channel, org: str):
    failure = Events(channel, org, role="user").fails(event(unique("e")))

    assert failure.code == grpc.StatusCode.PERMISSION_DENIED


def test_track_events_through_grpcurl_and_reflection(grpcurl: Grpcurl, org: str):
    token = mint_token(org)
    first, bad = unique("first"), unique("bad")
    body = {
        "events": [
            {
                "event_id": first,
                "event_type": "order.completed",
                "user_id": "u-1",
                "properties": {"value": 30, "items": [{"sku": "A-1"}]},
                "occurred_at": "2026-01-01T10:00:00Z",
            },
            {"event_id": bad, "event_type": "Bad Type"},
            {"event_id": first, "event_type": "order.completed"},
        ]
    }

    reply = grpcurl.invoke(TRACK, body, token=token)
    described = grpcurl.run("describe", "campaign.v1.RejectedEvent")

    assert reply["accepted_count"] == "1"  # int64 is a JSON string
    assert reply["duplicate_count"] == "1"
    assert reply["rejected_count"] == "1"
    [rejected] = reply["rejected"]
    assert rejected["index"] == 1
    assert rejected["event_id"] == bad
    assert rejected["reason"].startswith("event_type must be a lowercase dotted name")
    assert described.returncode == 0, described.output
    assert "int32 index = 1;" in described.stdout
