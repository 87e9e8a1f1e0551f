"""Ports of the audience context: the contact directory, segments, suppressions and the
source that resolves an audience into recipients."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Protocol

from domain.audience.contacts import Contact
from domain.audience.model import (
    Audience,
    AudienceCounts,
    Recipient,
    Segment,
    Suppression,
    SuppressionReason,
)
from domain.kernel.channels import Channel


class ContactDirectory(Protocol):
    """The built-in contact directory of the embedded default (and of organizations without a
    data service). Each call is its own transaction."""

    async def upsert(self, organization_id: str, contacts: Sequence[Contact]) -> int:
        """Insert or replace whole contacts (last write wins); returns how many were written."""

    async def get(self, organization_id: str, user_id: str) -> Contact | None: ...

    async def delete(self, organization_id: str, user_id: str) -> bool:
        """GDPR erasure of the contact's data. Suppressions stay: an unsubscribe must outlive
        the profile, or a re-imported contact would be mailed again."""


class SegmentStore(Protocol):
    async def create(self, organization_id: str, segment: Segment) -> bool:
        """Stores a new segment; False (and nothing changed) when its segment_id exists."""

    async def get(self, organization_id: str, segment_id: str) -> Segment | None: ...

    async def list(
        self, organization_id: str, *, after: str = "", limit: int = 100
    ) -> Sequence[Segment]:
        """At most `limit` segments whose segment_id follows `after` (code point order), in
        that order: one keyset page ("" starts at the first segment)."""

    async def delete(self, organization_id: str, segment_id: str) -> bool: ...


class SuppressionStore(Protocol):
    async def add(self, organization_id: str, entries: Sequence[Suppression]) -> int:
        """Adds the entries not present yet; returns how many were new."""

    async def remove(self, organization_id: str, entries: Sequence[Suppression]) -> int: ...

    async def list(
        self,
        organization_id: str,
        *,
        channel: Channel | None = None,
        reason: SuppressionReason | None = None,
        after: str = "",
        limit: int = 100,
    ) -> tuple[Sequence[Suppression], str]:
        """A page of entries in (kind, target, channel) order and the page token of the next
        page ("" at the end). `after` is such a token from a call with the same `channel` and
        `reason` (domain.audience.model.encode_suppression_page_token); another one is an
        InvalidArgumentError."""

    async def suppressed_channels(
        self, organization_id: str, contacts: Sequence[Contact]
    ) -> dict[str, frozenset[Channel] | None]:
        """Per user_id, the suppressed channels; None means every channel. Users without any
        suppression are absent."""

    async def entries_for(self, organization_id: str, contact: Contact) -> Sequence[Suppression]:
        """The entries naming the contact's user_id, email or phone (addresses compared by
        address_key), with their reasons: what a transactional send weighs one by one
        (domain.audience.model.suppression_reasons)."""


class AudienceSource(Protocol):
    """Resolves campaign audiences at run time (BR-CAM-002.1): includes intersect (AND),
    excludes union (OR), fully suppressed members dropped."""

    async def counts(
        self, organization_id: str, audiences: Sequence[Audience]
    ) -> AudienceCounts: ...

    def recipients(
        self,
        organization_id: str,
        audiences: Sequence[Audience],
        *,
        after_user_id: str = "",
        batch_size: int = 10_000,
    ) -> AsyncGenerator[Sequence[Recipient], None]:
        """Batches in ascending user_id order, starting after `after_user_id`, so a run can
        resume from its checkpoint; never the whole audience in memory."""

    async def member(
        self, organization_id: str, audiences: Sequence[Audience], user_id: str
    ) -> Recipient | None:
        """One user's membership right now, as `recipients` would see them: None when they are
        not a member (no contact, not in every include, in some exclude); else the Recipient,
        whose `suppressed_channels` is every Channel when they are suppressed everywhere (a
        stream drops such a member; a trigger says why it sent nothing). Raises like
        `recipients` for an unknown segment or an unreachable upstream."""

    async def members(
        self, organization_id: str, audiences: Sequence[Audience], user_ids: Sequence[str]
    ) -> Mapping[str, Recipient]:
        """`member` for many users at once (the trigger handler asks for a whole batch of
        events'): the members among `user_ids`, by user_id; a user absent is not a member."""

    async def missing_segments(
        self, organization_id: str, audiences: Sequence[Audience]
    ) -> Sequence[int]:
        """The indexes of the audiences (include and exclude) that name a saved segment the
        source does not have; the launch checks ask it (domain.campaigns.service), so a campaign
        whose segment is gone fails at ScheduleCampaign, not at run time. counts() and
        recipients() raise domain.audience.segments.unknown_segment for the first one."""

    async def profile_fields(self, organization_id: str) -> frozenset[str] | None:
        """What a template may name for the organization's recipients (BR-CAM-008.2, checked
        at launch): the contact's own fields (domain.audience.contacts.OWN_PROFILE_FIELDS) plus the
        attribute names known for the organization; None when the source cannot tell, which
        leaves variables unchecked rather than blocking every launch."""
