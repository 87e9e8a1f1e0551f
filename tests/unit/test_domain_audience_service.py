"""AudienceService.list_suppressions and list_segments: the role check and paging of
ListSuppressions and ListSegments."""

from __future__ import annotations

import pytest

from adapters.memory.audience import (
    MemoryContactDirectory,
    MemorySegmentStore,
    MemorySuppressionStore,
)
from adapters.system import SystemClock
from domain.audience.model import Condition, ConditionOperator, Segment, Suppression
from domain.audience.service import (
    DEFAULT_SEGMENT_PAGE,
    MAX_SEGMENT_PAGE,
    MAX_SUPPRESSION_PAGE,
    AudienceService,
)
from domain.kernel.channels import Channel
from domain.kernel.errors import InvalidArgumentError, PermissionDeniedError
from domain.kernel.principal import Principal, Role

READER = Principal("org-1", "ann", frozenset({Role.USER}))
NOBODY = Principal("org-1", "bob", frozenset())


@pytest.fixture
def service() -> AudienceService:
    return AudienceService(
        contacts=MemoryContactDirectory(),
        segments=MemorySegmentStore(),
        suppressions=MemorySuppressionStore(),
        clock=SystemClock(),
    )


async def _fill(service: AudienceService, n: int) -> None:
    admin = Principal("org-1", "root", frozenset({Role.ADMIN}))
    await service.add_suppressions(admin, [Suppression(user_id=f"u-{i:04d}") for i in range(n)])


async def test_listing_needs_a_reader_role(service: AudienceService) -> None:
    with pytest.raises(PermissionDeniedError):
        await service.list_suppressions(NOBODY)


async def test_pages_follow_their_tokens_to_the_end(service: AudienceService) -> None:
    await _fill(service, 5)

    first, token = await service.list_suppressions(READER, page_size=2)
    second, token = await service.list_suppressions(READER, page_size=2, page_token=token)
    third, last = await service.list_suppressions(READER, page_size=2, page_token=token)

    assert [e.user_id for e in [*first, *second, *third]] == [f"u-{i:04d}" for i in range(5)]
    assert last == ""


async def test_page_size_defaults_and_is_capped(service: AudienceService) -> None:
    await _fill(service, MAX_SUPPRESSION_PAGE + 1)

    default, _ = await service.list_suppressions(READER)
    capped, _ = await service.list_suppressions(READER, page_size=10**6)

    assert (len(default), len(capped)) == (100, MAX_SUPPRESSION_PAGE)


async def test_a_negative_page_size_or_a_foreign_token_is_invalid(
    service: AudienceService,
) -> None:
    await _fill(service, 3)
    _, token = await service.list_suppressions(READER, page_size=1)

    with pytest.raises(InvalidArgumentError) as negative:
        await service.list_suppressions(READER, page_size=-1)
    with pytest.raises(InvalidArgumentError) as foreign:
        await service.list_suppressions(READER, channel=Channel.EMAIL, page_token=token)

    assert [v.field for v in negative.value.violations] == ["page_size"]
    assert [v.field for v in foreign.value.violations] == ["page_token"]


# --- ListSegments ---------------------------------------------------------------------------


async def _segments(service: AudienceService, n: int) -> None:
    admin = Principal("org-1", "root", frozenset({Role.ADMIN}))
    for i in range(n):
        await service.create_segment(
            admin, Segment(f"seg-{i:04d}", "", (Condition("plan", ConditionOperator.EQUALS, "x"),))
        )


async def test_segment_pages_follow_their_tokens_to_the_end(service: AudienceService) -> None:
    await _segments(service, 5)

    first, token = await service.list_segments(READER, page_size=2)
    second, token = await service.list_segments(READER, page_size=2, page_token=token)
    third, last = await service.list_segments(READER, page_size=2, page_token=token)

    listed = [s.segment_id for s in [*first, *second, *third]]
    assert listed == [f"seg-{i:04d}" for i in range(5)]
    assert last == ""


async def test_a_full_last_segment_page_has_no_next_token(service: AudienceService) -> None:
    await _segments(service, 4)

    _, token = await service.list_segments(READER, page_size=2)
    second, last = await service.list_segments(READER, page_size=2, page_token=token)

    assert (len(second), last) == (2, "")


async def test_segment_page_size_defaults_and_is_capped(service: AudienceService) -> None:
    await _segments(service, MAX_SEGMENT_PAGE + 1)

    default, _ = await service.list_segments(READER)
    capped, _ = await service.list_segments(READER, page_size=10**6)

    assert (len(default), len(capped)) == (DEFAULT_SEGMENT_PAGE, MAX_SEGMENT_PAGE)


async def test_a_segment_page_token_of_another_list_is_invalid(service: AudienceService) -> None:
    await _fill(service, 3)
    _, suppression_token = await service.list_suppressions(READER, page_size=1)

    with pytest.raises(InvalidArgumentError) as caught:
        await service.list_segments(READER, page_token=suppression_token)
    with pytest.raises(InvalidArgumentError):
        await service.list_segments(READER, page_size=-1)

    assert [v.field for v in caught.value.violations] == ["page_token"]
