"""Audience definitions beyond the campaign: saved segments, suppressions, resolved recipients
and the pre-launch funnel (BR-CAM-002)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from domain.contacts import Contact
from domain.model import Channel, Condition


class SuppressionReason(enum.StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class Segment:
    """A saved attribute query of the built-in directory, addressable by `segment_id`."""

    segment_id: str
    name: str
    conditions: tuple[Condition, ...]
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Suppression:
    """Never send to this user or address, on one channel or (channel None) on all of them."""

    user_id: str = ""
    address: str = ""
    channel: Channel | None = None
    reason: SuppressionReason = SuppressionReason.MANUAL
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    """One audience member as resolved at run time, with the channels suppressed for them.

    Members suppressed on every channel never appear: sources drop them in the query itself.
    """

    contact: Contact
    suppressed_channels: frozenset[Channel] = frozenset()


@dataclass(frozen=True, slots=True)
class AudienceCounts:
    """The funnel before holdout: what EstimateAudience reports and `campaign.started` carries."""

    by_segment: tuple[int, ...]  # one per campaign audience, in order
    after_exclusions: int
    after_suppression: int
    reachable_by_channel: dict[Channel, int] = field(default_factory=dict)
