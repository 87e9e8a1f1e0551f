"""The condition operators through the API (docs/conditions.md), on SQLite and Postgres: the
value each operator takes is checked at create, and the new operators select the same members
as the documented rules say, dot paths and numeric text included."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from campaign.v1 import audience_pb2 as apb
from campaign.v1 import audience_service_pb2 as asvc
from campaign.v1 import campaign_pb2 as pb
from google.protobuf import json_format, struct_pb2

from tests.e2e.engine_helpers import AudienceApi, contact
from tests.e2e.helpers import mint_token

OP = pb.ConditionOperator


@pytest.fixture
def audience(channel: grpc.Channel, org: str) -> AudienceApi:
    return AudienceApi(channel, mint_token(org, "admin"))


def cond(field: str, operator: int, value: Any = None) -> pb.Condition:
    out = pb.Condition(field=field, operator=operator)
    if value is not None:
        out.value.CopyFrom(json_format.ParseDict(value, struct_pb2.Value()))
    return out


def create(api: AudienceApi, *conditions: pb.Condition) -> apb.Segment:
    segment = apb.Segment(segment_id="s", conditions=conditions)
    return api.call("CreateSegment", asvc.CreateSegmentRequest(segment=segment)).segment


def members(api: AudienceApi, *conditions: pb.Condition) -> int:
    query = pb.Audience(
        segment_type=pb.SEGMENT_TYPE_INCLUDE, query=pb.SegmentQuery(conditions=conditions)
    )
    return api.estimate(audiences=[query]).after_exclusions


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (cond("plan", OP.CONDITION_OPERATOR_IN, "pro"), "list"),
        (cond("plan", OP.CONDITION_OPERATOR_NOT_IN, []), "at least one"),
        (cond("plan", OP.CONDITION_OPERATOR_IN, list(range(101))), "at most 100"),
        (cond("plan", OP.CONDITION_OPERATOR_IN, ["x" * 1_025]), "at most 1024"),
        (cond("plan", OP.CONDITION_OPERATOR_EXISTS, "pro"), "no value"),
        (cond("plan", OP.CONDITION_OPERATOR_NOT_EXISTS, False), "no value"),
        (cond("plan", OP.CONDITION_OPERATOR_EQUALS, ["pro"]), "not a list"),
        (cond("plan", OP.CONDITION_OPERATOR_NOT_CONTAINS, 5), "text"),
        (cond("score", OP.CONDITION_OPERATOR_GREATER_THAN_OR_EQUAL, "5"), "number"),
        (cond("score", OP.CONDITION_OPERATOR_LESS_THAN_OR_EQUAL), "required"),
        (cond("score", OP.CONDITION_OPERATOR_IN, [1, float("inf")]), "finite"),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_a_value_the_operator_does_not_take_is_invalid_argument_naming_it(
    audience: AudienceApi, bad: pb.Condition, reason: str
) -> None:
    segment = apb.Segment(segment_id="s", conditions=[bad])

    failure = audience.fails("CreateSegment", asvc.CreateSegmentRequest(segment=segment))

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["segment.conditions[0].value"]
    assert reason in failure.field_violations[0].description
    assert audience.call("ListSegments", asvc.ListSegmentsRequest()).segments == []


def test_a_list_element_that_is_not_a_scalar_is_invalid_argument_naming_it(
    audience: AudienceApi,
) -> None:
    bad = cond("plan", OP.CONDITION_OPERATOR_IN, ["pro", ["nested"], None])
    segment = apb.Segment(segment_id="s", conditions=[bad])

    failure = audience.fails("CreateSegment", asvc.CreateSegmentRequest(segment=segment))

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["segment.conditions[0].value[1]", "segment.conditions[0].value[2]"]


def test_list_and_presence_conditions_read_back_as_created(audience: AudienceApi) -> None:
    wanted = [
        cond("plan", OP.CONDITION_OPERATOR_IN, ["pro", 3, True]),
        cond("address.city", OP.CONDITION_OPERATOR_EXISTS),
        cond("score", OP.CONDITION_OPERATOR_LESS_THAN_OR_EQUAL, 5),
    ]

    created = create(audience, *wanted)
    read = audience.call("GetSegment", asvc.GetSegmentRequest(segment_id="s")).segment

    assert list(created.conditions) == list(read.conditions) == wanted
    assert not read.conditions[1].HasField("value")


def test_the_new_operators_select_by_the_documented_rules(audience: AudienceApi) -> None:
    audience.upsert(
        contact("u1", attributes={"plan": "pro", "score": 5, "address": {"city": "Oslo"}}),
        contact("u2", attributes={"plan": "free", "score": "7", "address": {"city": "Bergen"}}),
        contact("u3", attributes={"plan": "trial", "score": True, "address": "Main St 1"}),
        contact("u4", attributes={"plan": None}),
    )
    op = OP

    cases: list[tuple[pb.Condition, int]] = [
        (cond("plan", op.CONDITION_OPERATOR_IN, ["pro", "free"]), 2),
        (cond("plan", op.CONDITION_OPERATOR_NOT_IN, ["pro", "free"]), 1),  # u3; u4 is null
        (cond("plan", op.CONDITION_OPERATOR_NOT_CONTAINS, "o"), 2),  # free, trial
        (cond("plan", op.CONDITION_OPERATOR_EXISTS), 3),
        (cond("plan", op.CONDITION_OPERATOR_NOT_EXISTS), 1),
        (cond("score", op.CONDITION_OPERATOR_GREATER_THAN_OR_EQUAL, 5), 2),  # 5 and "7"
        (cond("score", op.CONDITION_OPERATOR_LESS_THAN_OR_EQUAL, 5), 1),  # true is no number
        (cond("score", op.CONDITION_OPERATOR_NOT_EQUALS, 5), 1),  # "7"; true is a mismatch
        (cond("address.city", op.CONDITION_OPERATOR_EQUALS, "Oslo"), 1),
        (cond("address.city", op.CONDITION_OPERATOR_NOT_EXISTS), 2),  # u3 (a string), u4
        (cond("address.city", op.CONDITION_OPERATOR_NOT_EQUALS, "Oslo"), 1),  # missing: false
    ]

    found = {str(c): members(audience, c) for c, _ in cases}

    assert found == {str(c): n for c, n in cases}


def test_an_in_list_of_the_maximum_length_is_estimated(audience: AudienceApi) -> None:
    audience.upsert(*(contact(f"u{i}", attributes={"n": i}) for i in range(5)))
    big = cond("n", OP.CONDITION_OPERATOR_IN, [*range(1, 99), "3", "x"])

    assert members(audience, *[big] * 50) == 4  # the caps together: 50 lists of 100 values
