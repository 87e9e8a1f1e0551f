"""IANA time zones by name: campaigns schedule in them and recipients live in them."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The longest IANA name is 32 characters; a longer one is no zone, and must not reach the
# file system (a very long name raises OSError "File name too long" there).
MAX_ZONE_NAME = 64


def zone(name: str) -> ZoneInfo | None:
    if not name or len(name) > MAX_ZONE_NAME or "\x00" in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
