"""The one page-token codec and page-size clamp of every List RPC (domain.kernel.paging)."""

from __future__ import annotations

import pytest

from domain.audience.model import (
    SuppressionReason,
    decode_suppression_page_token,
    encode_suppression_page_token,
)
from domain.kernel.channels import Channel
from domain.kernel.errors import InvalidArgumentError
from domain.kernel.paging import clamp_page_size, decode_page_token, encode_page_token

QUERY = ("messages", "cmp-1", "", "", ("sent",))


def violated_fields(error: InvalidArgumentError) -> list[str]:
    return [v.field for v in error.violations]


@pytest.mark.parametrize(("requested", "expected"), [(0, 20), (1, 1), (100, 100), (101, 100)])
def test_page_size_defaults_and_is_capped(requested: int, expected: int) -> None:
    assert clamp_page_size(requested, default=20, maximum=100) == expected


def test_a_negative_page_size_is_rejected() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        clamp_page_size(-1, default=20, maximum=100)

    assert violated_fields(caught.value) == ["page_size"]


def test_a_token_round_trips_its_position() -> None:
    token = encode_page_token(("2026-01-01T00:00:00+00:00", "x|y"), QUERY)

    assert decode_page_token(token, QUERY, size=2) == ("2026-01-01T00:00:00+00:00", "x|y")
    assert not set(token) - set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_no_position_gives_no_token_and_no_token_gives_no_position() -> None:
    assert encode_page_token(None, QUERY) == ""
    assert decode_page_token("", QUERY, size=1) is None


@pytest.mark.parametrize(
    ("other_query", "size"),
    [
        (("messages", "cmp-2", "", "", ("sent",)), 1),  # another campaign
        (("messages", "cmp-1", "", "", ()), 1),  # another filter
        (("executions", "cmp-1"), 1),  # another list
        (QUERY, 2),  # a position of another shape
    ],
)
def test_a_token_of_another_query_is_rejected(other_query: object, size: int) -> None:
    token = encode_page_token(("m-1",), QUERY)

    with pytest.raises(InvalidArgumentError) as caught:
        decode_page_token(token, other_query, size=size)

    assert violated_fields(caught.value) == ["page_token"]


@pytest.mark.parametrize("token", ["garbage", "!!!!", "a", "m-000123", "x|y"])
def test_a_token_not_written_here_is_rejected(token: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        decode_page_token(token, QUERY, size=1)

    assert violated_fields(caught.value) == ["page_token"]


def test_a_suppression_token_is_bound_to_the_channel_and_reason_filters() -> None:
    key = ("user", "u-1", "email")
    token = encode_suppression_page_token(key, channel=Channel.EMAIL, reason=None)

    assert decode_suppression_page_token(token, channel=Channel.EMAIL, reason=None) == key
    with pytest.raises(InvalidArgumentError):
        decode_suppression_page_token(token, channel=None, reason=None)
    with pytest.raises(InvalidArgumentError):
        decode_suppression_page_token(
            token, channel=Channel.EMAIL, reason=SuppressionReason.BOUNCED
        )
