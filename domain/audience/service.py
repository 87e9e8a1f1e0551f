"""AudienceService use cases: the contact directory, suppressions and saved segments.

EstimateAudience lives with execution (domain.execution.estimate): its answer depends on the rate
limits a run will meet."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from domain.audience.conditions import check_conditions
from domain.audience.contacts import (
    MAX_USER_ID,
    Contact,
    contact_problems,
    is_address,
)
from domain.audience.imports import (
    DEFAULT_MAX_CONTACTS_PER_STREAM,
    ContactImport,
    RejectedContact,
    UpsertResult,
)
from domain.audience.lookup import (
    contact_not_found,
    load_contact,
    load_segment,
    segment_not_found,
)
from domain.audience.model import Segment, Suppression, SuppressionReason
from domain.audience.ports import ContactDirectory, SegmentStore, SuppressionStore
from domain.kernel import paging
from domain.kernel.channels import Channel
from domain.kernel.errors import (
    AlreadyExistsError,
    ViolationCollector,
    required,
    shown,
)
from domain.kernel.paging import clamp_page_size
from domain.kernel.ports import Clock
from domain.kernel.principal import Principal

SEGMENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
MAX_SEGMENT_NAME = 255
UPSERT_CHUNK = 1_000
MAX_SUPPRESSIONS_PER_CALL = 10_000
DEFAULT_SUPPRESSION_PAGE = 100
MAX_SUPPRESSION_PAGE = 1_000
DEFAULT_SEGMENT_PAGE = 100
MAX_SEGMENT_PAGE = 500
SEGMENT_PAGES = ("segments",)  # the query a ListSegments page token is cut for


class AudienceService:
    def __init__(
        self,
        *,
        contacts: ContactDirectory,
        segments: SegmentStore,
        suppressions: SuppressionStore,
        clock: Clock,
        max_contacts_per_stream: int = DEFAULT_MAX_CONTACTS_PER_STREAM,
    ) -> None:
        self._contacts = contacts
        self._segments = segments
        self._suppressions = suppressions
        self._clock = clock
        self._max_contacts_per_stream = max_contacts_per_stream

    # --- contacts ----------------------------------------------------------------------------

    def contact_import(self, principal: Principal) -> ContactImport:
        """A bounded UpsertContacts stream for `principal` (see domain.audience.imports)."""
        principal.require_write()

        async def upsert(contacts: Sequence[Contact], first_index: int) -> UpsertResult:
            return await self.upsert_contacts(principal, contacts, first_index=first_index)

        return ContactImport(upsert, max_contacts=self._max_contacts_per_stream)

    async def upsert_contacts(
        self, principal: Principal, contacts: Sequence[Contact], *, first_index: int = 0
    ) -> UpsertResult:
        """Keeps every valid contact and reports each invalid one with its reasons."""
        principal.require_write()
        result = UpsertResult()
        valid: list[Contact] = []
        for offset, contact in enumerate(contacts):
            problems = contact_problems(contact)
            if problems:
                result.rejected.append(
                    RejectedContact(first_index + offset, contact.user_id, tuple(problems))
                )
            else:
                valid.append(contact)
        for start in range(0, len(valid), UPSERT_CHUNK):
            result.upserted += await self._contacts.upsert(
                principal.organization_id, valid[start : start + UPSERT_CHUNK]
            )
        return result

    async def get_contact(self, principal: Principal, user_id: str) -> Contact:
        principal.require_read()
        return await load_contact(self._contacts, principal.organization_id, user_id)

    async def delete_contact(self, principal: Principal, user_id: str) -> None:
        principal.require_write()
        if not await self._contacts.delete(principal.organization_id, required("user_id", user_id)):
            raise contact_not_found(user_id)

    # --- suppressions ------------------------------------------------------------------------

    async def add_suppressions(self, principal: Principal, entries: Sequence[Suppression]) -> int:
        principal.require_write()
        _check_suppressions(entries, adding=True)
        return await self._suppressions.add(principal.organization_id, entries)

    async def remove_suppressions(
        self, principal: Principal, entries: Sequence[Suppression]
    ) -> int:
        principal.require_write()
        _check_suppressions(entries)
        return await self._suppressions.remove(principal.organization_id, entries)

    async def list_suppressions(
        self,
        principal: Principal,
        *,
        channel: Channel | None = None,
        reason: SuppressionReason | None = None,
        page_size: int = 0,
        page_token: str = "",
    ) -> tuple[Sequence[Suppression], str]:
        """A page of the suppression list, filtered on exactly `channel` and on `reason`, and
        the token of the next page ("" at the end)."""
        principal.require_read()
        return await self._suppressions.list(
            principal.organization_id,
            channel=channel,
            reason=reason,
            after=page_token,
            limit=clamp_page_size(
                page_size, default=DEFAULT_SUPPRESSION_PAGE, maximum=MAX_SUPPRESSION_PAGE
            ),
        )

    # --- segments ----------------------------------------------------------------------------

    async def create_segment(self, principal: Principal, segment: Segment) -> Segment:
        principal.require_write()
        v = ViolationCollector()
        if not SEGMENT_ID.match(segment.segment_id):
            v.add("segment.segment_id", "1-128 letters, digits, dot, dash or underscore")
        if len(segment.name) > MAX_SEGMENT_NAME:
            v.add("segment.name", f"must be at most {MAX_SEGMENT_NAME} characters")
        if not segment.conditions:
            v.add("segment.conditions", "at least one condition is required")
        check_conditions(v, "segment.conditions", segment.conditions)
        v.raise_if_any()
        saved = replace(segment, created_at=self._clock.now())
        if not await self._segments.create(principal.organization_id, saved):
            # Replacing it would silently change the audience of every campaign using it.
            raise AlreadyExistsError(
                f"segment {shown(segment.segment_id)} already exists; delete it first or "
                "choose another segment_id",
                metadata={"segment_id": segment.segment_id},
            )
        stored = await self._segments.get(principal.organization_id, segment.segment_id)
        return stored or saved

    async def get_segment(self, principal: Principal, segment_id: str) -> Segment:
        principal.require_read()
        return await load_segment(self._segments, principal.organization_id, segment_id)

    async def list_segments(
        self, principal: Principal, *, page_size: int = 0, page_token: str = ""
    ) -> tuple[Sequence[Segment], str]:
        """A page of the organization's segments by segment_id and the token of the next page
        ("" at the end)."""
        principal.require_read()
        limit = clamp_page_size(page_size, default=DEFAULT_SEGMENT_PAGE, maximum=MAX_SEGMENT_PAGE)
        position = paging.decode_page_token(page_token, SEGMENT_PAGES, size=1)
        found = await self._segments.list(
            principal.organization_id, after=position[0] if position else "", limit=limit + 1
        )
        page = found[:limit]
        last = (page[-1].segment_id,) if page and len(found) > limit else None
        return page, paging.encode_page_token(last, SEGMENT_PAGES)

    async def delete_segment(self, principal: Principal, segment_id: str) -> None:
        principal.require_write()
        if not await self._segments.delete(
            principal.organization_id, required("segment_id", segment_id)
        ):
            raise segment_not_found(segment_id)


def _check_suppressions(entries: Sequence[Suppression], *, adding: bool = False) -> None:
    """Shape of every entry; an entry being added must also name a syntactically valid email
    address or E.164 phone number (the addresses a channel sends to), or a user id. Removal
    only needs the shape, so an entry stored before this check can still be removed."""
    v = ViolationCollector()
    if not entries:
        v.add("entries", "at least one entry is required")
    if len(entries) > MAX_SUPPRESSIONS_PER_CALL:
        v.add("entries", f"at most {MAX_SUPPRESSIONS_PER_CALL} per call (got {len(entries)})")
        v.raise_if_any()
    for i, entry in enumerate(entries):
        if bool(entry.user_id) == bool(entry.address):
            v.add(f"entries[{i}]", "exactly one of user_id or address is required")
        elif len(entry.user_id) > MAX_USER_ID:
            v.add(f"entries[{i}].user_id", f"must be at most {MAX_USER_ID} characters")
        elif adding and entry.address and not is_address(entry.address):
            v.add(
                f"entries[{i}].address",
                f"{shown(entry.address)} is neither an email address nor an E.164 phone number",
            )
    v.raise_if_any()
