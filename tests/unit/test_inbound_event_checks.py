"""The rules an inbound event must meet, the same for TrackEvents and NATS, and how a
TrackedEvent and a NATS envelope become an InboundEvent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from campaign.v1 import event_pb2
from google.protobuf import struct_pb2, timestamp_pb2

from adapters.nats.inbound import dlq_subject, durable_name
from adapters.nats.inbound_envelope import PoisonMessageError, decode
from domain.events.model import Door, InboundEvent
from domain.events.validation import event_problems
from server.mappers.events import event_from_proto

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def event(**fields: object) -> InboundEvent:
    base: dict[str, object] = {
        "organization_id": "org-a",
        "event_id": "e-1",
        "event_type": "order.completed",
        "occurred_at": NOW,
        "user_id": "u-1",
    }
    return InboundEvent(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "event_type",
    ["order.completed", "signup", "notification.opened", "user.preferences.updated", "a_b-c.d2"],
)
def test_a_lowercase_dotted_event_type_is_fine(event_type: str):
    assert event_problems(event(event_type=event_type), NOW) == []


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"event_id": ""}, "event_id is required"),
        ({"event_id": "   "}, "event_id is required"),
        ({"event_id": "x" * 129}, "event_id must be at most 128 characters"),
        ({"event_type": ""}, "event_type is required"),
        ({"event_type": "x" * 129}, "event_type must be at most 128 characters"),
        ({"event_type": "Order.Completed"}, "event_type must be a lowercase dotted name"),
        ({"event_type": "order..completed"}, "event_type must be a lowercase dotted name"),
        ({"event_type": ".order"}, "event_type must be a lowercase dotted name"),
        ({"event_type": "order.completed."}, "event_type must be a lowercase dotted name"),
        ({"event_type": "order completed"}, "event_type must be a lowercase dotted name"),
        ({"event_type": "order.*"}, "event_type must be a lowercase dotted name"),
        ({"user_id": "u" * 129}, "user_id must be at most 128 characters"),
        ({"organization_id": ""}, "organization_id is required"),
        (
            {"occurred_at": NOW + timedelta(days=1, seconds=1)},
            "occurred_at is more than a day in the future",
        ),
        ({"occurred_at": datetime(1999, 12, 31, tzinfo=UTC)}, "occurred_at is before 2000-01-01"),
    ],
)
def test_each_broken_rule_is_named(fields: dict[str, object], reason: str):
    problems = event_problems(event(**fields), NOW)

    assert len(problems) == 1
    assert problems[0].startswith(reason)


def test_every_problem_of_one_event_is_named():
    problems = event_problems(event(event_id="", event_type="BAD", user_id="u" * 200), NOW)

    assert [p.split(" ")[0] for p in problems] == ["event_id", "event_type", "user_id"]


def test_the_boundaries_themselves_are_fine():
    fine = event(
        event_id="x" * 128,
        event_type="a" * 128,
        user_id="u" * 128,
        occurred_at=NOW + timedelta(days=1),
    )

    assert event_problems(fine, NOW) == []


# --- TrackedEvent -> InboundEvent ---------------------------------------------------------------


def test_a_tracked_event_belongs_to_the_callers_organization_with_its_properties():
    properties = struct_pb2.Struct()
    properties.update({"value": 42.5, "plan": {"tier": "gold"}, "tags": ["a", "b"], "ok": True})
    tracked = event_pb2.TrackedEvent(
        event_id="e-9",
        event_type="order.completed",
        user_id="u-9",
        properties=properties,
        occurred_at=timestamp_pb2.Timestamp(seconds=int((NOW - timedelta(hours=1)).timestamp())),
    )

    mapped = event_from_proto(tracked, "org-caller", NOW)

    assert mapped == InboundEvent(
        organization_id="org-caller",
        event_id="e-9",
        event_type="order.completed",
        occurred_at=NOW - timedelta(hours=1),
        user_id="u-9",
        properties={"value": 42.5, "plan": {"tier": "gold"}, "tags": ["a", "b"], "ok": True},
        door=Door.TRACK_EVENTS,
    )


def test_a_tracked_event_without_occurred_at_happened_when_it_was_received():
    mapped = event_from_proto(event_pb2.TrackedEvent(event_id="e", event_type="x"), "o", NOW)

    assert mapped.occurred_at == NOW
    assert mapped.properties == {}
    assert mapped.user_id == ""


# --- NATS envelope -> InboundEvent --------------------------------------------------------------


def envelope(**fields: object) -> bytes:
    base: dict[str, object] = {
        "event_id": "env-1",
        "event_type": "order.completed",
        "source": "order_service",
        "organization_id": "org-a",
        "occurred_at": "2030-01-01T11:00:00Z",
        "data": {"user_id": "u-1", "value": 30},
    }
    return orjson.dumps({**base, **fields})


def test_an_envelope_is_the_event_its_type_the_subject_its_properties_the_data():
    decoded = decode("order.completed", envelope(), NOW)

    assert decoded == InboundEvent(
        organization_id="org-a",
        event_id="env-1",
        event_type="order.completed",
        occurred_at=datetime(2030, 1, 1, 11, tzinfo=UTC),
        user_id="u-1",
        properties={"user_id": "u-1", "value": 30},
        door=Door.NATS,
    )


def test_event_stored_is_the_stored_event_inside_data():
    stored = {
        "event_id": "user-event-7",
        "event_type": "cart.abandoned",
        "user_id": "u-7",
        "properties": {"items": 3},
        "occurred_at": "2030-01-01T10:30:00+00:00",
    }

    decoded = decode("event.stored", envelope(event_type="event.stored", data=stored), NOW)

    assert decoded == InboundEvent(
        organization_id="org-a",
        event_id="user-event-7",
        event_type="cart.abandoned",
        occurred_at=datetime(2030, 1, 1, 10, 30, tzinfo=UTC),
        user_id="u-7",
        properties={"items": 3},
        door=Door.NATS,
    )


def test_an_envelope_without_occurred_at_or_data_happened_when_received():
    decoded = decode("user.deleted", envelope(occurred_at=None, data=None), NOW)

    assert (decoded.occurred_at, decoded.user_id, dict(decoded.properties)) == (NOW, "", {})


def test_a_numeric_user_id_is_taken_as_its_text():
    assert decode("order.completed", envelope(data={"user_id": 42}), NOW).user_id == "42"


@pytest.mark.parametrize(
    ("subject", "data", "reason"),
    [
        ("order.completed", b"{not json", "not JSON"),
        ("order.completed", b"[1, 2]", "the envelope is not a JSON object"),
        ("order.completed", envelope(organization_id=None), "organization_id is missing"),
        ("order.completed", envelope(organization_id=""), "organization_id is missing"),
        ("order.completed", envelope(event_id=None), "event_id is required"),
        ("order.completed", envelope(data=[1]), "data is not a JSON object"),
        ("order.completed", envelope(occurred_at="yesterday"), "occurred_at is not an ISO"),
        ("order.completed", envelope(occurred_at=5), "occurred_at is not an ISO 8601 string"),
        ("order.completed", envelope(occurred_at="2031-01-01T00:00:00Z"), "occurred_at is more"),
        ("event.stored", envelope(data={"event_id": "e"}), "event_type is required"),
        (
            "event.stored",
            envelope(data={"event_id": "e", "event_type": "x", "properties": "p"}),
            "data.properties is not a JSON object",
        ),
        ("event.stored", envelope(data={"event_type": "Bad Type"}), "event_type must be"),
    ],
)
def test_a_poison_message_says_why(subject: str, data: bytes, reason: str):
    with pytest.raises(PoisonMessageError) as caught:
        decode(subject, data, NOW)

    assert str(caught.value).startswith(reason)


def test_consumer_names_and_dead_letter_subjects_follow_the_subject():
    assert durable_name("t.x.event.*") == "campaign-in-t_x_event_STAR"
    assert durable_name("user.>") == "campaign-in-user_ALL"
    assert dlq_subject("t.x.", "t.x.user.deleted") == "t.x.campaign.dlq.user.deleted"
    assert dlq_subject("", "order.completed") == "campaign.dlq.order.completed"
