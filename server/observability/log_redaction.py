"""The last line of defence against personal data in logs: a structlog processor that masks
email addresses, phone numbers and credentials (bearer tokens, JWTs, signed tracking tokens)
in every string value of a log line, whichever library wrote it.

Nothing of ours logs a recipient on purpose; this catches what slips through anyway: a database
error quoting the row it refused, an upstream's reply in an exception, a URL with a tracking
token. One compiled pattern, one scan per string value; values without a match are returned
as they were, so a clean line costs a few regex scans and no copy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

MASKS = {
    "email": "[email]",
    "phone": "[phone]",
    "bearer": "Bearer [token]",
    "jwt": "[jwt]",
    "tracking": "[token]",
}
# Keys whose whole value is a credential, whatever it looks like.
SECRET_KEYS = frozenset({"authorization", "token", "password", "secret", "jwt", "api_key"})

_PATTERN = re.compile(
    "|".join(
        (
            r"(?P<bearer>\b[Bb]earer\s+[\w.~+/=-]+)",
            # three base64url parts, the first a JSON header: '{"' encodes as "eyJ"
            r"(?P<jwt>\beyJ[\w-]*\.[\w-]+\.[\w-]*)",
            # itsdangerous tokens of tracking links: a JSON list ('[' encodes as "Wy") and a
            # signature (adapters/tracking/links.py)
            r"(?P<tracking>\bWy[\w-]{4,}\.[\w-]{16,})",
            r"(?P<email>[\w.%+-]+@[\w-]+(?:\.[\w-]+)+)",
            # international numbers (+33 6 12 34 56 78) and national ones (0612345678); not
            # dates, times, ids or decimals, which neither start with + nor with 0 and a digit
            r"(?P<phone>(?<![\w+])\+\d(?:[ ().-]{0,2}\d){6,16}(?!\w)"
            r"|(?<![\w.:/-])0\d(?:[ .-]?\d){7,12}(?![\w.:-]))",
        )
    )
)


def _mask(match: re.Match[str]) -> str:
    return MASKS[match.lastgroup or "email"]


def redact_text(text: str) -> str:
    """`text` with every personal value or credential masked (the same object if none)."""
    if _PATTERN.search(text) is None:
        return text
    return _PATTERN.sub(_mask, text)


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: "[redacted]" if k in SECRET_KEYS else _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    if isinstance(value, BaseException):
        return redact_text(repr(value))
    return value


def redact_personal_data(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: runs after exceptions are rendered to text, before the renderer."""
    for key, value in event_dict.items():
        if key in SECRET_KEYS and value:
            event_dict[key] = "[redacted]"
        elif isinstance(value, str | Mapping | list | tuple | BaseException):
            event_dict[key] = _redact(value)
    return event_dict
