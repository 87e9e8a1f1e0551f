"""In-process contact directory, segments, suppression list and audience source.

The reference semantics of the audience ports, written straight from the domain's wording
(domain.audience.conditions.matches_all, domain.audience.contacts.reachable) and checked against the
SQL adapter by the same contract suite. Contacts pass through JSON on the way in, like a JSON
column, so a test sees the same attributes from every adapter.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from adapters.system import SystemClock
from domain.audience.conditions import CONTACT_FIELDS, matches_all
from domain.audience.contacts import OWN_PROFILE_FIELDS, Contact, reachable
from domain.audience.model import (
    ADDRESS,
    USER,
    Audience,
    AudienceCounts,
    Recipient,
    Segment,
    SegmentType,
    Suppression,
    SuppressionKey,
    SuppressionReason,
    address_key,
    decode_suppression_page_token,
    encode_suppression_page_token,
    suppressed_channels,
    suppression_key,
)
from domain.audience.ports import SegmentStore, SuppressionStore
from domain.audience.segments import ResolvedAudience, missing_segments, resolve_audiences
from domain.kernel.channels import Channel
from domain.kernel.ports import Clock


def condition_profile(contact: Contact) -> dict[str, Any]:
    """What conditions see: the contact's own fields (CONTACT_FIELDS) over its attributes."""
    return {**contact.attributes, **{name: getattr(contact, name) for name in CONTACT_FIELDS}}


def _as_stored(attributes: Mapping[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(attributes))
    return loaded


class MemoryContactDirectory:
    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._contacts: dict[str, dict[str, Contact]] = {}
        self._attribute_names: dict[str, set[str]] = {}

    async def upsert(self, organization_id: str, contacts: Sequence[Contact]) -> int:
        """Last write wins; an unchanged contact keeps its updated_at (as on SQL)."""
        latest = {contact.user_id: contact for contact in contacts}
        now = self._clock.now()
        stored = self._contacts.setdefault(organization_id, {})
        names = self._attribute_names.setdefault(organization_id, set())
        for user_id, contact in latest.items():
            names.update(contact.attributes)
            fresh = replace(
                contact, attributes=_as_stored(contact.attributes), created_at=now, updated_at=now
            )
            old = stored.get(user_id)
            if old is None:
                stored[user_id] = fresh
            elif replace(old, created_at=None, updated_at=None) != replace(
                fresh, created_at=None, updated_at=None
            ):
                stored[user_id] = replace(fresh, created_at=old.created_at)
        return len(latest)

    async def get(self, organization_id: str, user_id: str) -> Contact | None:
        return copy.deepcopy(self._contacts.get(organization_id, {}).get(user_id))

    async def delete(self, organization_id: str, user_id: str) -> bool:
        return self._contacts.get(organization_id, {}).pop(user_id, None) is not None

    def attribute_names(self, organization_id: str) -> frozenset[str]:
        """Every attribute name the organization's contacts have had (never shrinks, as on SQL)."""
        return frozenset(self._attribute_names.get(organization_id, ()))

    def all(self, organization_id: str) -> list[Contact]:
        """Every contact of the organization in user_id order (for the audience source)."""
        stored = self._contacts.get(organization_id, {})
        return [copy.deepcopy(stored[user_id]) for user_id in sorted(stored)]


class MemorySegmentStore:
    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._segments: dict[str, dict[str, Segment]] = {}

    async def create(self, organization_id: str, segment: Segment) -> bool:
        """Stores a new segment; an existing segment_id is left as it is (False)."""
        stored = self._segments.setdefault(organization_id, {})
        if segment.segment_id in stored:
            return False
        conditions = tuple(segment.conditions)
        stored[segment.segment_id] = replace(
            segment, conditions=conditions, created_at=self._clock.now()
        )
        return True

    async def get(self, organization_id: str, segment_id: str) -> Segment | None:
        return self._segments.get(organization_id, {}).get(segment_id)

    async def list(
        self, organization_id: str, *, after: str = "", limit: int = 100
    ) -> Sequence[Segment]:
        stored = self._segments.get(organization_id, {})
        following = [segment_id for segment_id in sorted(stored) if segment_id > after]
        return [stored[segment_id] for segment_id in following[: max(limit, 0)]]

    async def delete(self, organization_id: str, segment_id: str) -> bool:
        return self._segments.get(organization_id, {}).pop(segment_id, None) is not None


class MemorySuppressionStore:
    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._entries: dict[str, dict[SuppressionKey, Suppression]] = {}

    async def add(self, organization_id: str, entries: Sequence[Suppression]) -> int:
        stored = self._entries.setdefault(organization_id, {})
        now, added = self._clock.now(), 0
        for entry in entries:
            key = suppression_key(entry)
            if key not in stored:
                # Stored as the SQL store keeps it: the address folded (domain.audience.model).
                stored[key] = replace(entry, address=address_key(entry.address), created_at=now)
                added += 1
        return added

    async def remove(self, organization_id: str, entries: Sequence[Suppression]) -> int:
        stored = self._entries.get(organization_id, {})
        keys = {suppression_key(entry) for entry in entries}
        return sum(stored.pop(key, None) is not None for key in keys)

    async def list(
        self,
        organization_id: str,
        *,
        channel: Channel | None = None,
        reason: SuppressionReason | None = None,
        after: str = "",
        limit: int = 100,
    ) -> tuple[Sequence[Suppression], str]:
        start = decode_suppression_page_token(after, channel=channel, reason=reason)
        matching = [
            (key, entry)
            for key, entry in sorted(self._entries.get(organization_id, {}).items())
            if (channel is None or entry.channel is channel)
            and (reason is None or entry.reason is reason)
            and (start is None or key > start)
        ]
        limit = max(limit, 1)
        page = matching[:limit]
        more = len(matching) > limit
        last = page[-1][0] if more else None
        return [entry for _, entry in page], encode_suppression_page_token(
            last, channel=channel, reason=reason
        )

    async def suppressed_channels(
        self, organization_id: str, contacts: Sequence[Contact]
    ) -> dict[str, frozenset[Channel] | None]:
        """An entry for every channel covers them all, whatever its target; an entry for one
        channel covers it if its target is the user or an address that channel sends to."""
        # By target, so each contact weighs only the entries naming it, not every entry.
        by_target: dict[str, list[SuppressionKey]] = {}
        for key in self._entries.get(organization_id, {}):
            by_target.setdefault(key[1], []).append(key)
        result: dict[str, frozenset[Channel] | None] = {}
        for contact in contacts:
            targets = {
                contact.user_id,
                contact.phone,
                *(address_key(a) for a in (contact.email, contact.phone) if a),
            }
            candidates = [key for target in targets for key in by_target.get(target, ())]
            channels = suppressed_channels(contact, candidates)
            if channels is None or channels:
                result[contact.user_id] = channels
        return result

    async def entries_for(self, organization_id: str, contact: Contact) -> Sequence[Suppression]:
        targets = {
            (USER, contact.user_id),
            *((ADDRESS, address_key(a)) for a in (contact.email, contact.phone) if a),
        }
        entries = self._entries.get(organization_id, {})
        return [entry for key, entry in sorted(entries.items()) if key[:2] in targets]


class MemoryAudienceSource:
    """Resolves audiences over a MemoryContactDirectory, with any segment and suppression store."""

    def __init__(
        self,
        contacts: MemoryContactDirectory,
        segments: SegmentStore,
        suppressions: SuppressionStore,
    ) -> None:
        self._contacts = contacts
        self._segments = segments
        self._suppressions = suppressions

    async def profile_fields(self, organization_id: str) -> frozenset[str] | None:
        """None until a contact with attributes was imported (see SqlAudienceSource)."""
        names = self._contacts.attribute_names(organization_id)
        return OWN_PROFILE_FIELDS | names if names else None

    async def missing_segments(
        self, organization_id: str, audiences: Sequence[Audience]
    ) -> Sequence[int]:
        return await missing_segments(self._segments, organization_id, audiences)

    async def counts(self, organization_id: str, audiences: Sequence[Audience]) -> AudienceCounts:
        resolved = await resolve_audiences(self._segments, organization_id, audiences)
        profiles = [(c, condition_profile(c)) for c in self._contacts.all(organization_id)]
        by_segment = tuple(sum(matches_all(q, p) for _, p in profiles) for _, q in resolved)
        members = [contact for contact, profile in profiles if _is_member(resolved, profile)]
        recipients = await self._recipients(organization_id, members)
        return AudienceCounts(
            by_segment=by_segment,
            after_exclusions=len(members),
            after_suppression=len(recipients),
            reachable_by_channel={
                channel: sum(
                    reachable(r.contact, channel) and channel not in r.suppressed_channels
                    for r in recipients
                )
                for channel in Channel
            },
        )

    async def recipients(
        self,
        organization_id: str,
        audiences: Sequence[Audience],
        *,
        after_user_id: str = "",
        batch_size: int = 10_000,
    ) -> AsyncGenerator[Sequence[Recipient], None]:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        resolved = await resolve_audiences(self._segments, organization_id, audiences)
        members = [
            contact
            for contact in self._contacts.all(organization_id)
            if contact.user_id > after_user_id and _is_member(resolved, condition_profile(contact))
        ]
        recipients = await self._recipients(organization_id, members)
        for start in range(0, len(recipients), batch_size):
            yield recipients[start : start + batch_size]

    async def member(
        self, organization_id: str, audiences: Sequence[Audience], user_id: str
    ) -> Recipient | None:
        resolved = await resolve_audiences(self._segments, organization_id, audiences)
        contact = await self._contacts.get(organization_id, user_id)
        if contact is None or not _is_member(resolved, condition_profile(contact)):
            return None
        suppressed = await self._suppressions.suppressed_channels(organization_id, [contact])
        if user_id not in suppressed:
            return Recipient(contact)
        channels = suppressed[user_id]
        return Recipient(contact, EVERY_CHANNEL if channels is None else channels)

    async def members(
        self, organization_id: str, audiences: Sequence[Audience], user_ids: Sequence[str]
    ) -> dict[str, Recipient]:
        found = {u: await self.member(organization_id, audiences, u) for u in set(user_ids)}
        return {u: r for u, r in found.items() if r is not None}

    async def _recipients(self, organization_id: str, members: list[Contact]) -> list[Recipient]:
        """Members with their suppressed channels; those suppressed on every channel dropped."""
        suppressed = await self._suppressions.suppressed_channels(organization_id, members)
        return [
            Recipient(contact, suppressed.get(contact.user_id) or frozenset())
            for contact in members
            if contact.user_id not in suppressed or suppressed[contact.user_id] is not None
        ]


EVERY_CHANNEL = frozenset(Channel)


def _is_member(resolved: Sequence[ResolvedAudience], profile: Any) -> bool:
    """Every include (AND) and no exclude (OR); no include audience means nobody."""
    includes = [q for kind, q in resolved if kind is SegmentType.INCLUDE]
    excludes = [q for kind, q in resolved if kind is SegmentType.EXCLUDE]
    return (
        bool(includes)
        and all(matches_all(q, profile) for q in includes)
        and not any(matches_all(q, profile) for q in excludes)
    )
