"""AudienceSource over the built-in contact directory: the audience resolved in SQL, in batches.

Segments are looked up once per call (domain.audience.segments). Each batch is its own short
read, keyset-paged on user_id: a run resumes from its checkpoint with `after_user_id`, memory
holds one batch, and no connection is held while the consumer works on a batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.audience.connections import chunked, reading
from adapters.sql.audience.queries import (
    counts_statement,
    member_statement,
    recipients_statement,
)
from adapters.sql.audience.tables import contact_attribute_names
from adapters.sql.documents import decode_document
from domain.audience.contacts import OWN_PROFILE_FIELDS, Contact
from domain.audience.model import Audience, AudienceCounts, Recipient, SegmentType
from domain.audience.ports import SegmentStore
from domain.audience.segments import ResolvedAudience, missing_segments, resolve_audiences
from domain.kernel.channels import Channel


@functools.lru_cache(maxsize=512)
def _member_statement(
    organization_id: str, resolved: tuple[ResolvedAudience, ...], dialect: str
) -> Select[Any]:
    """member_statement, built once per (organization, audience definition): a triggered
    campaign asks about one user per event, and building the statement (the conditions, a
    suppression test per channel) cost more CPU than the lookup itself. Keyed by the resolved
    conditions, so an edited segment gets a new statement."""
    return member_statement(organization_id, resolved, dialect)


class SqlAudienceSource:
    """The AudienceSource port on the contacts, segments and suppressions tables."""

    def __init__(self, engine: AsyncEngine, segments: SegmentStore) -> None:
        self._engine = engine
        self._segments = segments
        self._dialect = engine.dialect.name

    async def missing_segments(
        self, organization_id: str, audiences: Sequence[Audience]
    ) -> Sequence[int]:
        return await missing_segments(self._segments, organization_id, audiences)

    async def counts(self, organization_id: str, audiences: Sequence[Audience]) -> AudienceCounts:
        resolved = await resolve_audiences(self._segments, organization_id, audiences)
        statement = counts_statement(organization_id, resolved, self._dialect)
        async with reading(self._engine) as connection:
            values = [int(value) for value in (await connection.execute(statement)).one()]
        n = len(resolved)
        return AudienceCounts(
            by_segment=tuple(values[:n]),
            after_exclusions=values[n],
            after_suppression=values[n + 1],
            reachable_by_channel=dict(zip(Channel, values[n + 2 :], strict=True)),
        )

    async def profile_fields(self, organization_id: str) -> frozenset[str] | None:
        """None until a contact with attributes was imported: the directory's schema is what
        its contacts carry, and before that it cannot tell a typo from a field to come."""
        async with reading(self._engine) as connection:
            names = frozenset(
                await connection.scalars(
                    select(contact_attribute_names.c.name).where(
                        contact_attribute_names.c.organization_id == organization_id
                    )
                )
            )
        return OWN_PROFILE_FIELDS | names if names else None

    async def member(
        self, organization_id: str, audiences: Sequence[Audience], user_id: str
    ) -> Recipient | None:
        return (await self.members(organization_id, audiences, [user_id])).get(user_id)

    async def members(
        self, organization_id: str, audiences: Sequence[Audience], user_ids: Sequence[str]
    ) -> dict[str, Recipient]:
        resolved = await resolve_audiences(self._segments, organization_id, audiences)
        if not user_ids or not any(kind is SegmentType.INCLUDE for kind, _ in resolved):
            return {}
        statement = _member_statement(
            organization_id,
            tuple((kind, tuple(conditions)) for kind, conditions in resolved),
            self._dialect,
        )
        found: dict[str, Recipient] = {}
        async with reading(self._engine) as connection:
            for chunk in chunked(sorted(set(user_ids))):
                result = await connection.execute(statement, {"user_ids": chunk})
                keys, rows = list(result.keys()), result.all()
                found.update((r.contact.user_id, r) for r in _recipients(keys, rows))
        return found

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
        if not any(kind is SegmentType.INCLUDE for kind, _ in resolved):
            return
        statement = recipients_statement(organization_id, resolved, self._dialect, batch_size)

        async def page(after: str) -> tuple[list[str], Sequence[Row[Any]]]:
            async with reading(self._engine) as connection:
                result = await connection.execute(statement, {"after": after})
                return list(result.keys()), result.all()

        # The next page is read while the caller works on this one: the query is the
        # database's time, the caller's planning is ours, and they overlap.
        upcoming: asyncio.Task[tuple[list[str], Sequence[Row[Any]]]] | None
        upcoming = asyncio.create_task(page(after_user_id))
        try:
            while upcoming is not None:
                keys, rows = await upcoming
                upcoming = None
                if len(rows) == batch_size:
                    last = rows[-1][keys.index("user_id")]
                    upcoming = asyncio.create_task(page(last))
                if rows:
                    yield _recipients(keys, rows)
        finally:
            if upcoming is not None:
                upcoming.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await upcoming


# Contact fields in the statement's columns (a suppressed_<channel> flag per channel follows).
_CONTACT_FIELDS = (
    "user_id",
    "email",
    "phone",
    "whatsapp_verified",
    "timezone",
    "locale",
    "email_opted_in",
    "sms_opted_in",
    "whatsapp_opted_in",
    "in_app_opted_in",
    "attributes",
    "created_at",
    "updated_at",
)
_NOT_SUPPRESSED: frozenset[Channel] = frozenset()


def _recipients(keys: Sequence[str], rows: Sequence[Row[Any]]) -> list[Recipient]:
    """audience_rows.contact_from_row and the suppression flags, by column position: this runs
    once per recipient, and Row._mapping plus a dict lookup per field cost more than the rest."""
    at = {key: index for index, key in enumerate(keys)}
    (uid, email, phone, verified, tz, locale, e_in, s_in, w_in, a_in, attrs, created, updated) = (
        at[name] for name in _CONTACT_FIELDS
    )
    flags = [(channel, at[f"suppressed_{channel.value}"]) for channel in Channel]
    out = []
    for row in rows:
        suppressed = [channel for channel, index in flags if row[index]]
        contact = Contact(
            user_id=row[uid],
            email=row[email],
            phone=row[phone],
            whatsapp_verified=bool(row[verified]),
            timezone=row[tz],
            locale=row[locale],
            email_opted_in=bool(row[e_in]),
            sms_opted_in=bool(row[s_in]),
            whatsapp_opted_in=bool(row[w_in]),
            in_app_opted_in=bool(row[a_in]),
            attributes=decode_document(row[attrs]),
            created_at=row[created],
            updated_at=row[updated],
        )
        out.append(Recipient(contact, frozenset(suppressed) if suppressed else _NOT_SUPPRESSED))
    return out
