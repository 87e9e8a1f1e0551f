"""A page token is client input: whatever it decodes to, a bad one is INVALID_ARGUMENT on
`page_token` (domain.kernel.paging), never an exception from deeper down."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from domain.kernel.errors import InvalidArgumentError
from domain.kernel.paging import decode_instant, decode_page_token, encode_page_token

QUERY = ("executions", "cmp-1")


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [b64(b"[" * 100_000), b64(b'{"p": 1, "q": 2}'), b64(b"[]"), b64(b"\xff\xfe")],
    ids=["nested past the JSON parser", "wrong types", "a list", "not UTF-8"],
)
def test_a_garbled_token_is_invalid_argument(token: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        decode_page_token(token, QUERY, size=2)
    assert [v.field for v in caught.value.violations] == ["page_token"]


def test_a_position_with_a_nul_character_is_invalid_argument() -> None:
    token = encode_page_token(("2024-01-01T00:00:00+00:00", "x\x00"), QUERY)
    with pytest.raises(InvalidArgumentError):
        decode_page_token(token, QUERY, size=2)


@pytest.mark.parametrize(
    "text",
    ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-14:00", "yesterday", ""],
)
def test_an_instant_that_no_page_could_end_at_is_invalid_argument(text: str) -> None:
    with pytest.raises(InvalidArgumentError):
        decode_instant(text)


def test_an_instant_reads_back_in_utc_and_a_naive_one_as_utc() -> None:
    assert decode_instant("2024-05-01T12:00:00+02:00") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert decode_instant("2024-05-01T12:00:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)
