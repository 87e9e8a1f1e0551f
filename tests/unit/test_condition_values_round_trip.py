"""Every kind of condition value survives the campaign document (pydantic) and the proto mapping
unchanged: a bool stays a bool (not 1), a list stays a tuple, no value stays None."""

from __future__ import annotations

from dataclasses import replace

import pytest

from adapters.sql.campaigns.serialization import spec_from_json, spec_to_json
from domain.audience.model import Audience, Condition, ConditionOperator, SegmentType
from domain.campaigns.model import CampaignSpec, CampaignType
from domain.kernel.errors import ViolationCollector
from server.mappers.campaign_in import conditions_from_proto
from server.mappers.campaign_out import conditions_to_proto

OP = ConditionOperator
CONDITIONS = (
    Condition("plan", OP.EQUALS, "pro"),
    Condition("vip", OP.NOT_EQUALS, True),
    Condition("score", OP.GREATER_THAN_OR_EQUAL, 5.0),
    Condition("tier", OP.IN, ("gold", 3.0, True, "30")),
    Condition("tier", OP.NOT_IN, (False,)),
    Condition("address.city", OP.EXISTS, None),
    Condition("address.zip", OP.NOT_EXISTS, None),
    Condition("note", OP.NOT_CONTAINS, "x"),
    Condition("n", OP.LESS_THAN_OR_EQUAL, 1.5),
)


def test_the_campaign_document_keeps_every_value_kind() -> None:
    spec = replace(
        CampaignSpec(name="x", campaign_type=CampaignType.TRIGGERED),
        audiences=(Audience("a", SegmentType.INCLUDE, query=CONDITIONS),),
    )

    back = spec_from_json(spec_to_json(spec))

    assert back.audiences[0].query == CONDITIONS
    assert [type(c.value) for c in back.audiences[0].query] == [type(c.value) for c in CONDITIONS]
    assert [type(x) for x in back.audiences[0].query[3].value] == [str, float, bool, str]  # type: ignore[union-attr]


@pytest.mark.parametrize("condition", CONDITIONS, ids=lambda c: c.operator.value)
def test_the_proto_mapping_keeps_every_value_kind(condition: Condition) -> None:
    v = ViolationCollector()

    back = conditions_from_proto(v, "c", conditions_to_proto([condition]))

    assert back == (condition,)
    assert not v.violations
