"""List queries: `order_by` parsing, page size clamping, and opaque page tokens that only work
for the query they were cut for."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from domain.campaigns.listing import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    CampaignFilter,
    CampaignQuery,
    Cursor,
    Ordering,
    decode_page_token,
    encode_page_token,
    parse_order_by,
)
from domain.campaigns.model import CampaignStatus, CampaignType
from domain.kernel.errors import InvalidArgumentError
from domain.kernel.paging import clamp_page_size

FILTER = CampaignFilter(
    statuses=(CampaignStatus.DRAFT, CampaignStatus.SCHEDULED),
    campaign_type=CampaignType.SCHEDULED,
    name_prefix="Spring",
    created_after=datetime(2026, 1, 1, tzinfo=UTC),
)
ORDERING = Ordering("name", descending=False)
QUERY = CampaignQuery(filter=FILTER, ordering=ORDERING)
CURSOR = Cursor("Spring sale", "cmp-42")


def violated_fields(error: InvalidArgumentError) -> list[str]:
    return [v.field for v in error.violations]


# --- order_by ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("", Ordering("created_at", descending=True)),
        ("   ", Ordering("created_at", descending=True)),
        ("name", Ordering("name", descending=False)),
        ("name asc", Ordering("name", descending=False)),
        ("name DESC", Ordering("name", descending=True)),
        ("created_at desc", Ordering("created_at", descending=True)),
        ("updated_at   asc", Ordering("updated_at", descending=False)),
        ("scheduled_at", Ordering("scheduled_at", descending=False)),
        ("scheduled_at desc", Ordering("scheduled_at", descending=True)),
    ],
)
def test_order_by_accepts_a_sort_key_and_an_optional_direction(
    order_by: str, expected: Ordering
) -> None:
    assert parse_order_by(order_by) == expected


@pytest.mark.parametrize(
    "order_by",
    ["status", "Name", "name sideways", "name asc extra", "name,created_at", "asc", "-name"],
)
def test_order_by_rejects_anything_else(order_by: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        parse_order_by(order_by)

    assert violated_fields(caught.value) == ["order_by"]


# --- page size -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "expected"),
    [(0, DEFAULT_PAGE_SIZE), (1, 1), (50, 50), (500, 500), (501, MAX_PAGE_SIZE), (10**9, 500)],
)
def test_page_size_defaults_to_50_and_is_capped_at_500(requested: int, expected: int) -> None:
    clamp = clamp_page_size(requested, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)

    assert clamp == expected


def test_negative_page_size_is_rejected() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        clamp_page_size(-1, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)

    assert violated_fields(caught.value) == ["page_size"]


# --- page tokens ---------------------------------------------------------------------------------


def test_page_token_round_trips_its_cursor() -> None:
    token = encode_page_token(CURSOR, QUERY)

    assert decode_page_token(token, FILTER, ORDERING) == CURSOR


def test_page_token_is_url_safe_without_padding() -> None:
    token = encode_page_token(Cursor("?" * 7, "~" * 5), QUERY)

    assert token
    assert not set(token) - set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_no_cursor_gives_no_token_and_no_token_gives_no_cursor() -> None:
    assert encode_page_token(None, QUERY) == ""
    assert decode_page_token("", FILTER, ORDERING) is None


@pytest.mark.parametrize(
    ("other_filter", "other_ordering"),
    [
        (CampaignFilter(), ORDERING),
        (CampaignFilter(statuses=(CampaignStatus.DRAFT,)), ORDERING),
        (FILTER, Ordering("name", descending=True)),
        (FILTER, Ordering("created_at", descending=False)),
    ],
)
def test_page_token_used_with_another_filter_or_order_is_rejected(
    other_filter: CampaignFilter, other_ordering: Ordering
) -> None:
    token = encode_page_token(CURSOR, QUERY)

    with pytest.raises(InvalidArgumentError) as caught:
        decode_page_token(token, other_filter, other_ordering)

    assert violated_fields(caught.value) == ["page_token"]


def _b64(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "!!!!",
        "a",
        _b64("not json"),
        _b64("[]"),
        _b64("42"),
        _b64("null"),
        _b64(json.dumps({"v": "x", "i": "y"})),
        _b64(json.dumps({"v": "x", "q": "0" * 16})),
        base64.urlsafe_b64encode(b"\xff\xfe\x00garbage").decode(),
    ],
)
def test_garbage_page_token_is_rejected(token: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        decode_page_token(token, FILTER, ORDERING)

    assert violated_fields(caught.value) == ["page_token"]


def test_tampered_page_token_is_rejected() -> None:
    token = encode_page_token(CURSOR, QUERY)
    body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    body["q"] = "0" * 16

    with pytest.raises(InvalidArgumentError):
        decode_page_token(_b64(json.dumps(body)), FILTER, ORDERING)
