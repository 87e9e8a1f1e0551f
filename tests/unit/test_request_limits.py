"""Every string, repeated field and map of every request has a cap, and the caps are enforced."""

from __future__ import annotations

import pytest
from campaign.v1 import audience_pb2 as apb
from campaign.v1 import audience_service_pb2 as asvc
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import event_pb2, event_service_pb2, metrics_service_pb2
from google.protobuf import struct_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from domain.kernel.errors import InvalidArgumentError
from server.request_limits import LIMITS, MAX_DEPTH, check_request

SERVICES = [
    svc.DESCRIPTOR.services_by_name["CampaignService"],
    asvc.DESCRIPTOR.services_by_name["AudienceService"],
    metrics_service_pb2.DESCRIPTOR.services_by_name["MetricsService"],
    event_service_pb2.DESCRIPTOR.services_by_name["EventService"],
]


def _capped_fields() -> list[FieldDescriptor]:
    seen: set[str] = set()
    found: list[FieldDescriptor] = []

    def walk(message: Descriptor) -> None:
        if message.full_name in seen:
            return
        seen.add(message.full_name)
        for field in message.fields:
            if field.is_repeated or field.type == FieldDescriptor.TYPE_STRING:
                found.append(field)
            if field.message_type is not None:
                walk(field.message_type)

    for service in SERVICES:
        for method in service.methods:
            walk(method.input_type)
    return found


CAPPED = _capped_fields()


def test_the_walk_finds_the_request_fields() -> None:
    names = {f.full_name for f in CAPPED}
    assert "campaign.v1.ListCampaignsRequest.tags" in names
    assert "campaign.v1.TrackedEvent.event_id" in names
    assert len(names) > 120


@pytest.mark.parametrize("field", CAPPED, ids=lambda f: f.full_name)
def test_every_string_repeated_field_and_map_of_a_request_has_a_cap(
    field: FieldDescriptor,
) -> None:
    cap = LIMITS.get(field.full_name)
    assert cap is not None, f"{field.full_name} needs an entry in server.request_limits.LIMITS"
    is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
    if field.is_repeated:
        assert cap.items is not None
    if field.type == FieldDescriptor.TYPE_STRING:
        assert cap.chars is not None
    assert not is_map or cap.items is not None


def test_no_cap_names_a_field_that_does_not_exist() -> None:
    assert set(LIMITS) <= {f.full_name for f in CAPPED}


def violations(message: object) -> list[str]:
    with pytest.raises(InvalidArgumentError) as caught:
        check_request(message)  # type: ignore[arg-type]
    return [v.field for v in caught.value.violations]


def test_a_list_filter_of_300_tags_is_rejected() -> None:
    request = svc.ListCampaignsRequest(tags=[f"t{i}" for i in range(300)])

    assert violations(request) == ["tags"]


def test_a_list_filter_within_the_caps_passes() -> None:
    check_request(svc.ListCampaignsRequest(tags=["a"] * 20, statuses=[1, 2], name_prefix="x"))


def test_a_one_megabyte_id_is_rejected_and_not_echoed() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        check_request(svc.GetCampaignRequest(campaign_id="x" * 1_000_000))

    assert [v.field for v in caught.value.violations] == ["campaign_id"]
    assert len(caught.value.message) < 200


def test_map_keys_and_values_are_capped_and_the_key_is_shown_truncated() -> None:
    context = struct_pb2.Struct()
    context.update({"k" * 10_000: 1})
    request = svc.SendTransactionalRequest(campaign_id="c", user_id="u", context=context)

    [field] = violations(request)

    assert field.startswith("context.fields['kkk")
    assert len(field) < 100


def test_struct_nesting_is_capped() -> None:
    profile: dict[str, object] = {}
    inner = profile
    for _ in range(MAX_DEPTH):
        inner["a"] = {}
        inner = inner["a"]  # type: ignore[assignment]
    sample = struct_pb2.Struct()
    sample.update(profile)

    assert violations(svc.PreviewMessageRequest(campaign_id="c", sample_profile=sample))


def test_too_many_events_are_rejected() -> None:
    events = [event_pb2.TrackedEvent(event_id=str(i), event_type="x") for i in range(1_001)]

    assert violations(event_service_pb2.TrackEventsRequest(events=events)) == ["events"]


def test_domain_owned_caps_are_left_to_the_domain() -> None:
    """20,000 conditions: the domain reports them (one violation, its own reason); the walk
    neither reports nor descends into them."""
    conditions = [pb.Condition(field="f") for _ in range(20_000)]
    segment = apb.Segment(segment_id="s", conditions=conditions)

    check_request(asvc.CreateSegmentRequest(segment=segment))


def test_a_nested_output_only_field_of_an_update_is_capped() -> None:
    request = svc.UpdateCampaignRequest(campaign=pb.Campaign(campaign_id="c", etag="e" * 500))

    assert violations(request) == ["campaign.etag"]
