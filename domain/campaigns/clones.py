"""A clone's name and its idempotency fingerprint.

A clone is named as asked, or "Copy of <original name>" when no name is given. When that name is
already a campaign's name in the organization (exactly, case included), the first free
" (2)", " (3)", ... is appended, so cloning "Spring sale" twice gives "Copy of Spring sale" and
"Copy of Spring sale (2)", and a list of campaigns never shows two copies one cannot tell apart.
A name at the length limit is shortened to make room for its suffix.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Set

from domain.campaigns.rules import MAX_NAME

COPY_PREFIX = "Copy of "
# Room kept for the longest suffix looked for: " (" + ten digits + ")".
SUFFIX_ROOM = 13


def base_name(source_name: str, requested: str) -> str:
    """The name the clone asks for before any suffix (at most MAX_NAME characters)."""
    return (requested.strip() or COPY_PREFIX + source_name)[:MAX_NAME]


def lookup_prefix(base: str) -> str:
    """Every name `unique_name(base, ...)` may try starts with this prefix: the store is asked
    for the names that start with it."""
    return base[: MAX_NAME - SUFFIX_ROOM]


def unique_name(base: str, taken: Set[str]) -> str:
    """`base`, or `base (n)` with the smallest n >= 2 that no campaign in `taken` is named."""
    if base not in taken:
        return base
    for n in itertools.count(2):
        suffix = f" ({n})"
        candidate = base[: MAX_NAME - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
    raise AssertionError("unreachable: `taken` is finite")  # pragma: no cover


def clone_fingerprint(source_id: str, requested: str) -> str:
    """What a CloneCampaign request asked for: a replay with its request_id must ask the same.
    (The suffix is not part of it: it depends on the names taken at the time.)"""
    body = {"clone_of": source_id, "name": requested.strip()}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
