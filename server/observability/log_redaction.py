"""The last line of defence against personal data in logs: a structlog processor that masks
email addresses, phone numbers and credentials (bearer tokens, JWTs, signed tracking tokens)
in every string value of a log line, whichever library wrote it.

Nothing of ours logs a recipient on purpose; this catches what slips through anyway: a database
error quoting the row it refused, an upstream's reply in an exception, a URL with a tracking
token. A pattern only scans a value that contains its telltale substring ("@" for an address),
so a clean line costs a few substring tests and no copy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

# Keys whose whole value is a credential, whatever it looks like.
SECRET_KEYS = frozenset({"authorization", "token", "password", "secret", "jwt", "api_key"})
# Keys whose values we write ourselves and which cannot hold personal data: never scanned.
SAFE_KEYS = frozenset({"timestamp", "level", "logger", "trace_id", "span_id", "code", "method"})

# (a substring every match contains, the pattern, its mask); the substring test skips the
# pattern for most values, which is what keeps a line's redaction at a few microseconds.
_RULES = (
    ("earer", re.compile(r"\b[Bb]earer\s+[\w.~+/=-]+"), "Bearer [token]"),
    # three base64url parts, the first a JSON header: '{"' encodes as "eyJ"
    ("eyJ", re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*"), "[jwt]"),
    # itsdangerous tokens of tracking links: a JSON list ('[' encodes as "Wy") and a signature
    # (adapters/tracking/links.py)
    ("Wy", re.compile(r"\bWy[\w-]{4,}\.[\w-]{16,}"), "[token]"),
    ("@", re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    # international numbers (+33 6 12 34 56 78): a + and at least 7 digits
    ("+", re.compile(r"(?<![\w+])\+\d(?:[ ().-]{0,2}\d){6,16}(?!\w)"), "[phone]"),
    # national ones (06 12 34 56 78, 0612345678); not dates, times, ids or decimals, which do
    # not start with 0 and a digit after a separator
    ("0", re.compile(r"(?<![\w.:/-])0\d(?:[ .-]?\d){7,12}(?![\w.:-])"), "[phone]"),
)


def redact_text(text: str) -> str:
    """`text` with every personal value or credential masked (the same object if none)."""
    for needle, pattern, mask in _RULES:
        if needle in text:
            text = pattern.sub(mask, text)
    return text


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
        if key in SAFE_KEYS:
            continue
        if key in SECRET_KEYS and value:
            event_dict[key] = "[redacted]"
        elif isinstance(value, str | Mapping | list | tuple | BaseException):
            event_dict[key] = _redact(value)
    return event_dict
