"""Paging of every List RPC: how many rows a page holds, and the opaque page token.

A token carries the keyset position after the last row of a page (a few strings: the sort value
and id, say) and a digest of the query it was cut for: the list and its filters and order. So a
token is only good for the next page of the same query; read with other filters, another list,
or altered by hand, it is an InvalidArgumentError on `page_token`, never a silently wrong page.
Tokens are URL-safe base64 without padding; what is inside is nobody's business but this module's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

from domain.kernel.errors import FieldViolation, InvalidArgumentError

_NOT_OURS = "not a page token of this query"


def clamp_page_size(requested: int, *, default: int, maximum: int) -> int:
    """0 (unset) asks for `default` rows; more than `maximum` gets `maximum`; negative is an
    InvalidArgumentError on `page_size`."""
    if requested < 0:
        raise InvalidArgumentError([FieldViolation("page_size", "must not be negative")])
    return min(requested or default, maximum)


def encode_page_token(position: Sequence[str] | None, query: object) -> str:
    """The token of the page after `position` for `query`; "" when there is no next page.

    `query` is any value whose repr names the list and its filters and order (a tuple of the
    list's name and its filter values, a frozen dataclass): only its digest goes in the token.
    """
    if position is None:
        return ""
    body = {"p": [str(value) for value in position], "q": _digest(query)}
    encoded = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode())
    return encoded.decode().rstrip("=")


def decode_page_token(token: str, query: object, *, size: int) -> tuple[str, ...] | None:
    """The position `token` carries (`size` strings), None for "" (the first page).

    InvalidArgumentError on `page_token` for a token this module did not write, or wrote for
    another query."""
    if not token:
        return None
    bad = InvalidArgumentError([FieldViolation("page_token", _NOT_OURS)])
    try:
        padded = token + "=" * (-len(token) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode()))
        position, digest = body["p"], body["q"]
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError) as exc:
        raise bad from exc
    if (
        digest != _digest(query)
        or not isinstance(position, list)
        or len(position) != size
        or not all(isinstance(value, str) and "\x00" not in value for value in position)
    ):
        raise bad
    return tuple(position)


def decode_instant(text: str) -> datetime:
    """A position value that is an instant (written by `isoformat()`), as an aware UTC datetime.

    InvalidArgumentError on `page_token` for anything else: a forged token may carry any text,
    and a date that does not parse, has no zone or lies out of range must not reach a query."""
    try:
        moment = datetime.fromisoformat(text)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidArgumentError([FieldViolation("page_token", _NOT_OURS)]) from exc


def _digest(query: object) -> str:
    return hashlib.sha256(repr(query).encode()).hexdigest()[:16]
