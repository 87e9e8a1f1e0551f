"""The read path's shortcuts give exactly what the long way gives (docs/performance.md, "Where a
Get's CPU goes"): timestamps, reused protos and definitions keyed by version, prebuilt list
statements, and the benchmark's CPU reading."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf import timestamp_pb2

from adapters.sql.campaigns.listing import first_page_statements
from adapters.sql.campaigns.spec_cache import SpecCache
from bench.cpu import tree_cpu_seconds
from domain.campaigns.campaign import Campaign
from domain.campaigns.listing import CampaignFilter, CampaignQuery, Cursor, Ordering
from domain.campaigns.model import CampaignSpec, CampaignStatus, CampaignType
from server.mappers.campaign_out import campaign_to_proto
from server.mappers.campaign_protos import CampaignProtos
from server.mappers.common import set_timestamp

AT = datetime(2026, 5, 1, 12, 3, 4, 567891, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        AT,
        datetime(1960, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(2026, 5, 1, 12, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5))),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_set_timestamp_is_from_datetime(value: datetime) -> None:
    fast, slow = timestamp_pb2.Timestamp(), timestamp_pb2.Timestamp()
    set_timestamp(fast, value)
    slow.FromDatetime(value.astimezone(UTC))
    assert fast == slow


def campaign(version: int = 1, name: str = "spring") -> Campaign:
    spec = CampaignSpec(name=name, campaign_type=CampaignType.SCHEDULED, tags=("a",))
    made = Campaign.new("c-1", "org-1", spec, by="u", at=AT)
    made.version = version
    return made


def test_a_reused_proto_is_the_one_built_for_that_version() -> None:
    protos = CampaignProtos()
    first = protos(campaign())
    assert first == campaign_to_proto(campaign())
    assert protos(campaign()) is first
    changed = campaign(version=2, name="summer")
    assert protos(changed) == campaign_to_proto(changed)
    assert protos(changed).name == "summer"


def test_reused_protos_are_bounded() -> None:
    protos = CampaignProtos(size=2)
    oldest = protos(campaign(1))
    protos(campaign(2))
    protos(campaign(3))
    assert protos(campaign(1)) is not oldest


def test_spec_cache_keeps_the_most_recent() -> None:
    specs = SpecCache(size=2)
    spec = campaign().spec
    for version in (1, 2, 3):
        specs.put(("org-1", "c-1", version), (spec, None))
    specs.get(("org-1", "c-1", 2))
    specs.put(("org-1", "c-1", 4), (spec, None))
    assert specs.get(("org-1", "c-1", 1)) is None
    assert specs.get(("org-1", "c-1", 3)) is None
    assert specs.get(("org-1", "c-1", 2)) == (spec, None)


def test_only_a_first_page_without_filters_uses_prebuilt_statements() -> None:
    plain = CampaignQuery(filter=CampaignFilter(), ordering=Ordering(), page_size=20)
    statements = first_page_statements(plain)
    assert statements is not None
    assert first_page_statements(dataclasses.replace(plain)) is statements
    assert first_page_statements(dataclasses.replace(plain, page_size=21)) is not statements
    filtered = dataclasses.replace(plain, filter=CampaignFilter(statuses=(CampaignStatus.DRAFT,)))
    assert first_page_statements(filtered) is None
    later = dataclasses.replace(plain, after=Cursor(AT.isoformat(), "c-1"))
    assert first_page_statements(later) is None


def test_tree_cpu_seconds_grows_with_work() -> None:
    before = tree_cpu_seconds(os.getpid())
    deadline = before + 0.05
    for _ in range(1_000_000):  # bounded: a reading that never grows fails instead of hanging
        if tree_cpu_seconds(os.getpid()) >= deadline:
            break
        sum(range(10_000))
    assert tree_cpu_seconds(os.getpid()) >= deadline
