"""Decoded campaign definitions remembered by the committed version they were read at.

Decoding a row's `spec` (pydantic validating the whole nested document into frozen dataclasses)
was the largest part of turning a row into a Campaign, for every Get and for every row of a List
page (docs/performance.md, "Where a Get's CPU goes"). A committed (organization, campaign,
version) names one content for good, since every change is a conditional UPDATE that bumps the
version; so the read-only units of work, which only see committed rows, keep what they decoded.
Writers never use it: a transaction may read back a version it later rolls back.
"""

from __future__ import annotations

from collections import OrderedDict

from domain.campaigns.model import CampaignSpec, Schedule

CACHE_SIZE = 2_000  # campaigns

_Key = tuple[str, str, int]


class SpecCache:
    """A bounded LRU of (spec, schedule) by (organization_id, campaign_id, version)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[_Key, tuple[CampaignSpec, Schedule | None]] = OrderedDict()

    def get(self, key: _Key) -> tuple[CampaignSpec, Schedule | None] | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: _Key, value: tuple[CampaignSpec, Schedule | None]) -> None:
        self._entries[key] = value
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
