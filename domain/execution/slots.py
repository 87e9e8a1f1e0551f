"""When each message of a run may go out: held until its recipient's window opens, or given a
throttle slot (docs/assignment-and-throttling.md, "Held messages").

A recipient in quiet hours or a weekend right now is not given a slot: the message is *held*,
DEFERRED until the window's end, and reserves nothing, so the recipients who may be sent to now
get the whole rate (BR-CAM-006). When the window ends the executor reserves the held messages'
slots through the throttle like any batch, so a morning's releases are spread at the rate, not
sent as a burst. A slot that itself falls inside the recipient's quiet hours (a reservation
reaching into the night) is not used: the message is held again until that window ends.

Pure: the executor does the reserving and the writing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from domain.campaigns.model import Throttle
from domain.execution.model import MessageStatus
from domain.execution.timing import next_allowed_instant
from domain.kernel import time_zones

_UTC_ZONE = ZoneInfo("UTC")


class LocalRules:
    """A campaign's quiet hours and weekend rule, applied in recipients' zones (by name; an
    unknown or empty name is UTC). Zones and the answers for one instant are cached: a batch
    asks the same few questions for thousands of recipients."""

    __slots__ = ("_held", "_held_at", "_quiet", "_weekends", "_zones")

    def __init__(self, throttle: Throttle) -> None:
        self._quiet = throttle.quiet_hours
        self._weekends = throttle.exclude_weekends
        self._zones: dict[str, ZoneInfo] = {}
        self._held: dict[str, datetime | None] = {}
        self._held_at: datetime | None = None

    @classmethod
    def of(cls, throttle: Throttle) -> LocalRules | None:
        """None when the campaign has neither rule: local time then defers nothing."""
        if throttle.quiet_hours.enabled or throttle.exclude_weekends:
            return cls(throttle)
        return None

    def zone(self, name: str) -> ZoneInfo:
        found = self._zones.get(name)
        if found is None:
            found = self._zones[name] = time_zones.zone(name) or _UTC_ZONE
        return found

    def allowed(self, at: datetime, zone_name: str) -> datetime:
        """`at` (in UTC) if a message may go then, else the first instant after it that may."""
        return next_allowed_instant(at, self.zone(zone_name), self._quiet, self._weekends)

    def held_until(self, zone_name: str, now: datetime) -> datetime | None:
        """When the window a recipient is in at `now` ends; None if they may be sent to now."""
        if now != self._held_at:
            self._held, self._held_at = {}, now
        if zone_name in self._held:
            return self._held[zone_name]
        allowed = self.allowed(now, zone_name)
        until = allowed if allowed > now else None
        self._held[zone_name] = until
        return until


def place(
    slot: datetime, local: LocalRules | None, zone_name: str, horizon: datetime | None
) -> tuple[datetime, MessageStatus, bool]:
    """(send_after, status, held) of a message given the throttle slot `slot`.

    QUEUED when the slot is within `horizon` (handed over with its batch); DEFERRED to the slot
    when it is later; held (DEFERRED, to the window's end) when the slot falls inside the
    recipient's quiet hours or weekend. `horizon` None: never QUEUED (a released message was
    DEFERRED already and stays so until it is handed over; states only move forward).
    """
    if local is not None:
        allowed = local.allowed(slot, zone_name)
        if allowed > slot:
            return allowed, MessageStatus.DEFERRED, True
        slot = allowed  # the same instant, in UTC
    elif slot.tzinfo is not UTC:
        slot = slot.astimezone(UTC)
    if horizon is not None and slot <= horizon:
        return slot, MessageStatus.QUEUED, False
    return slot, MessageStatus.DEFERRED, False
