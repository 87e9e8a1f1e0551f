"""The segment key of a campaign's messages, read from the stored campaign when its messages are
written (domain.metrics.deltas.segment_of): one primary key lookup per campaign and unit of work,
not a field every message constructor of the domain has to carry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.campaigns.tables import campaigns
from domain.audience.model import Audience, SegmentType
from domain.metrics.deltas import segment_of


class CampaignSegments:
    """Campaign id -> segment key, remembered for the unit of work (a campaign's audiences do
    not change under a transaction that writes its messages)."""

    def __init__(self) -> None:
        self._known: dict[str, str] = {}

    async def of(
        self, connection: AsyncConnection, campaign_ids: Iterable[str]
    ) -> Mapping[str, str]:
        wanted = set(campaign_ids)
        missing = sorted(wanted - self._known.keys())
        if missing:
            rows = await connection.execute(
                select(campaigns.c.campaign_id, campaigns.c.spec).where(
                    campaigns.c.campaign_id.in_(missing)
                )
            )
            for campaign_id, spec in rows:
                self._known[campaign_id] = segment_of(_audiences(spec))
            for campaign_id in missing:
                self._known.setdefault(campaign_id, "")
        return {c: self._known[c] for c in wanted}


def _audiences(spec: Mapping[str, Any]) -> list[Audience]:
    """Only what segment_of reads of each stored audience (the spec's JSON, see
    adapters/sql/campaigns/serialization.py): its id and its type."""
    out = []
    for raw in spec.get("audiences") or ():
        try:
            kind = SegmentType(raw.get("segment_type"))
        except ValueError:
            continue
        out.append(Audience(audience_id=str(raw.get("audience_id") or ""), segment_type=kind))
    return out
