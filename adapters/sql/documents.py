"""JSON column values decoded fast and exactly the way the driver's json.loads would.

Both the audience stream and the message reads decode thousands of JSON documents per batch;
orjson is faster (docs/performance.md), and this module keeps the one rule that makes it safe.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def decode_document(raw: Any) -> Any:
    """A JSON column's value, exactly as the driver's json.loads would have returned it."""
    if not isinstance(raw, str | bytes):
        return raw
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:  # e.g. NaN, which json.loads accepts and SQLite may hold
        return json.loads(raw)
    return value if float_free(value) else json.loads(raw)


def float_free(value: Any) -> bool:
    """No float anywhere in it: orjson reads integers beyond 64 bits as floats where json keeps
    them exact, so only a document without floats is certainly the same from both."""
    kind = type(value)
    if kind is dict:
        values = value.values()
    elif kind is list:
        values = value
    else:
        return kind is not float
    for item in values:
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if kind is float or not float_free(item):
            return False
    return True
