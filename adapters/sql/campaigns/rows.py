"""Campaign aggregate <-> table rows, the only place that knows both shapes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.sql.campaigns.serialization import (
    schedule_from_json,
    schedule_to_json,
    spec_from_json,
    spec_to_json,
)
from adapters.sql.campaigns.spec_cache import SpecCache
from adapters.sql.documents import decode_document
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import CampaignSpec, CampaignStatus, Schedule


def campaign_row(campaign: Campaign) -> dict[str, Any]:
    """Every column; name, description, type and the conversion's event type are copies of the
    spec kept for filtering."""
    spec = campaign.spec
    return {
        "campaign_id": campaign.campaign_id,
        "organization_id": campaign.organization_id,
        "name": spec.name,
        "description": spec.description,
        "campaign_type": spec.campaign_type.value,
        "status": campaign.status.value,
        "version": campaign.version,
        "spec": spec_to_json(spec),
        "schedule": schedule_to_json(campaign.schedule),
        "next_run_at": campaign.next_run_at,
        "created_by": campaign.created_by,
        "updated_by": campaign.updated_by,
        "created_at": campaign.created_at,
        "updated_at": campaign.updated_at,
        "cloned_from_id": campaign.cloned_from_id,
        "request_id": campaign.request_id,
        "request_fingerprint": campaign.request_fingerprint,
        "paused_from": campaign.paused_from.value if campaign.paused_from else None,
        "winner_variant_id": campaign.winner_variant_id,
        "cancel_reason": campaign.cancel_reason,
        "activated_at": campaign.activated_at,
        "paused_at": campaign.paused_at,
        "completed_at": campaign.completed_at,
        "cancelled_at": campaign.cancelled_at,
        "conversion_event_type": spec.conversion.event_type if spec.conversion else None,
    }


DOCUMENTS = ("spec", "schedule")  # the JSON columns, which reads may fetch as text


# By stored value: an Enum call per row was a visible part of a 20-row page's decoding.
_STATUSES = {status.value: status for status in CampaignStatus}


def campaign_from_row(row: Mapping[Any, Any], specs: SpecCache | None = None) -> Campaign:
    """`specs`: only for rows a read-only unit of work read (see spec_cache.py). The JSON
    documents may come decoded or as text (listing.page_statement, raw asyncpg reads)."""
    paused_from = row["paused_from"]
    if specs is None:
        spec, schedule = _spec_and_schedule(row)
    else:
        key = (row["organization_id"], row["campaign_id"], row["version"])
        decoded = specs.get(key)
        if decoded is None:
            decoded = _spec_and_schedule(row)
            specs.put(key, decoded)
        spec, schedule = decoded
    return Campaign(
        campaign_id=row["campaign_id"],
        organization_id=row["organization_id"],
        spec=spec,
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
        status=_STATUSES[row["status"]],
        version=row["version"],
        schedule=schedule,
        next_run_at=row["next_run_at"],
        cloned_from_id=row["cloned_from_id"],
        request_id=row["request_id"],
        request_fingerprint=row["request_fingerprint"],
        paused_from=_STATUSES[paused_from] if paused_from else None,
        winner_variant_id=row["winner_variant_id"],
        cancel_reason=row["cancel_reason"],
        activated_at=row["activated_at"],
        paused_at=row["paused_at"],
        completed_at=row["completed_at"],
        cancelled_at=row["cancelled_at"],
    )


def tag_rows(campaign: Campaign) -> list[dict[str, str]]:
    return [
        {"campaign_id": campaign.campaign_id, "organization_id": campaign.organization_id, "tag": t}
        for t in sorted(set(campaign.spec.tags))
    ]


def channel_rows(campaign: Campaign) -> list[dict[str, str]]:
    """The campaign's own channels plus every variant's: a filter matches if any arm sends there."""
    spec = campaign.spec
    channels = {content.channel.value for content in spec.channels}
    channels |= {content.channel.value for v in spec.variants for content in v.channels}
    return [
        {
            "campaign_id": campaign.campaign_id,
            "organization_id": campaign.organization_id,
            "channel": c,
        }
        for c in sorted(channels)
    ]


def _spec_and_schedule(row: Mapping[Any, Any]) -> tuple[CampaignSpec, Schedule | None]:
    return spec_from_json(_document(row["spec"])), schedule_from_json(_document(row["schedule"]))


def _document(value: Any) -> Any:
    return decode_document(value) if isinstance(value, str) else value
