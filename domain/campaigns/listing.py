"""Campaign list queries: filters, ordering and opaque keyset page tokens.

Tokens (domain.kernel.paging) carry the last row's sort key and id plus a digest of the filter
and order, so a page can never be read with a different filter or order than the one it was cut
for, and deep pages cost the same as the first (keyset, not OFFSET).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.campaigns.campaign import Campaign
from domain.campaigns.model import CampaignStatus, CampaignType
from domain.kernel import paging
from domain.kernel.channels import Channel
from domain.kernel.errors import FieldViolation, InvalidArgumentError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# `scheduled_at` sorts by the next run (the instant the scheduled_after/before filters use):
# campaigns without one come last in either direction, by id, and their cursor's sort value is
# NO_SORT_VALUE.
SORT_KEYS = ("created_at", "updated_at", "name", "scheduled_at")
NO_SORT_VALUE = ""


@dataclass(frozen=True, slots=True)
class CampaignFilter:
    statuses: tuple[CampaignStatus, ...] = ()
    campaign_type: CampaignType | None = None
    channel: Channel | None = None
    name_prefix: str = ""
    tags: tuple[str, ...] = ()  # all of them must be present
    created_after: datetime | None = None
    created_before: datetime | None = None
    scheduled_after: datetime | None = None
    scheduled_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class Ordering:
    key: str = "created_at"
    descending: bool = True


@dataclass(frozen=True, slots=True)
class Cursor:
    """Position after the last row of the previous page (sort_value NO_SORT_VALUE: a row
    without a value for the sort key, which sorts after every row that has one)."""

    sort_value: str
    campaign_id: str


@dataclass(frozen=True, slots=True)
class CampaignQuery:
    filter: CampaignFilter = field(default_factory=CampaignFilter)
    ordering: Ordering = field(default_factory=Ordering)
    page_size: int = DEFAULT_PAGE_SIZE
    after: Cursor | None = None


@dataclass(frozen=True, slots=True)
class CampaignPage:
    campaigns: list[Campaign]
    next_cursor: Cursor | None
    total_size: int


def parse_order_by(order_by: str) -> Ordering:
    """`created_at desc` (default), `name`, `updated_at asc`, ... as AIP-132 spells it."""
    words = order_by.split()
    if not words:
        return Ordering()
    key, direction = words[0], (words[1].lower() if len(words) > 1 else "asc")
    if key not in SORT_KEYS or direction not in ("asc", "desc") or len(words) > 2:
        raise InvalidArgumentError(
            [
                FieldViolation(
                    "order_by",
                    f"use one of {', '.join(SORT_KEYS)} optionally followed by asc or desc",
                )
            ]
        )
    return Ordering(key, direction == "desc")


def encode_page_token(cursor: Cursor | None, query: CampaignQuery) -> str:
    position = None if cursor is None else (cursor.sort_value, cursor.campaign_id)
    return paging.encode_page_token(position, (query.filter, query.ordering))


def decode_page_token(
    token: str, query_filter: CampaignFilter, ordering: Ordering
) -> Cursor | None:
    position = paging.decode_page_token(token, (query_filter, ordering), size=2)
    return None if position is None else Cursor(*position)
