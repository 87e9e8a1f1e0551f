"""SuppressionStore on SQL: the suppression list, keyed by (organization, kind, target, channel).

Adding is INSERT ... ON CONFLICT DO NOTHING RETURNING, so "how many were new" is counted by the
database in the same statement that inserts them: two concurrent adds of one entry report it
once, and an existing entry keeps its original reason and created_at.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, delete, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.audience.connections import chunked, reading, writing
from adapters.sql.audience.erased import has_erased, pseudonyms_of
from adapters.sql.audience.rows import suppression_from_row
from adapters.sql.audience.stores import dialect_insert
from adapters.sql.audience.tables import ADDRESS, USER, suppressions
from adapters.system import SystemClock
from domain.audience.contacts import Contact
from domain.audience.model import (
    Suppression,
    SuppressionKey,
    SuppressionReason,
    address_key,
    decode_suppression_page_token,
    encode_suppression_page_token,
    suppressed_channels,
    suppression_key,
)
from domain.audience.pseudonyms import Pseudonyms
from domain.kernel.channels import Channel
from domain.kernel.ports import Clock

_entry_key = tuple_(suppressions.c.kind, suppressions.c.target, suppressions.c.channel)


async def insert_suppressions(
    connection: AsyncConnection,
    organization_id: str,
    entries: Sequence[Suppression],
    now: datetime,
) -> int:
    """Insert the entries not present yet, created `now`, in the caller's transaction; how many
    were new."""
    new: dict[SuppressionKey, Suppression] = {}
    for entry in entries:
        new.setdefault(suppression_key(entry), entry)
    rows = [
        {
            "organization_id": organization_id,
            "kind": kind,
            "target": target,
            "channel": channel,
            "reason": entry.reason.value,
            "created_at": now,
        }
        for (kind, target, channel), entry in new.items()
    ]
    # A list of parameters with RETURNING: SQLAlchemy sends it as multi-row INSERTs
    # ("insertmanyvalues"), cheaper than a VALUES list per chunk (docs/performance.md).
    statement = (
        dialect_insert(connection, suppressions)
        .on_conflict_do_nothing()
        .returning(suppressions.c.target)
    )
    added = 0
    for chunk in chunked(rows):
        added += len((await connection.execute(statement, list(chunk))).all())
    return added


class SqlSuppressionList:
    """Suppressions added in a unit of work's transaction (the event intake's): committed with
    the report that caused them, and no second writer waiting on SQLite's write lock."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def add(self, organization_id: str, entries: Sequence[Suppression], at: datetime) -> int:
        return await insert_suppressions(self._c, organization_id, entries, at)


class SqlSuppressionStore:
    """The SuppressionStore port; every call is its own transaction."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock | None = None,
        pseudonyms: Pseudonyms | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()
        # Erased users' entries are stored under pseudonyms (docs/erasure.md): with the key,
        # lookups find them too; without it (tests of the store alone) they are not looked for.
        self._pseudonyms = pseudonyms

    async def add(self, organization_id: str, entries: Sequence[Suppression]) -> int:
        """Adds the entries not present yet (the first of duplicates in `entries` counts)."""
        async with writing(self._engine) as connection:
            return await insert_suppressions(
                connection, organization_id, entries, self._clock.now()
            )

    async def remove(self, organization_id: str, entries: Sequence[Suppression]) -> int:
        """Removes entries matched by target and channel (the reason is ignored)."""
        keys = {suppression_key(entry) for entry in entries}
        if self._pseudonyms is not None:
            keys |= {
                (kind, self._pseudonym(organization_id, kind, target), channel)
                for kind, target, channel in keys
            }
        removed = 0
        async with writing(self._engine) as connection:
            for chunk in chunked(sorted(keys)):
                result = await connection.execute(
                    delete(suppressions).where(
                        suppressions.c.organization_id == organization_id, _entry_key.in_(chunk)
                    )
                )
                removed += result.rowcount
        return removed

    async def list(
        self,
        organization_id: str,
        *,
        channel: Channel | None = None,
        reason: SuppressionReason | None = None,
        after: str = "",
        limit: int = 100,
    ) -> tuple[Sequence[Suppression], str]:
        """Entries in (kind, target, channel) order; `channel` filters on exactly that channel,
        so entries for every channel are listed only without a channel filter."""
        statement = select(suppressions).where(suppressions.c.organization_id == organization_id)
        if channel is not None:
            statement = statement.where(suppressions.c.channel == channel.value)
        if reason is not None:
            statement = statement.where(suppressions.c.reason == reason.value)
        cursor = decode_suppression_page_token(after, channel=channel, reason=reason)
        if cursor is not None:
            statement = statement.where(_entry_key > tuple_(*cursor))
        limit = max(limit, 1)
        statement = statement.order_by(*_entry_key.clauses).limit(
            limit + 1
        )  # one more: is there a next?
        async with reading(self._engine) as connection:
            rows = [row._mapping for row in await connection.execute(statement)]
        page = rows[:limit]
        if len(rows) <= limit:
            return [suppression_from_row(row) for row in page], ""
        last = page[-1]
        next_token = encode_suppression_page_token(
            (last["kind"], last["target"], last["channel"]), channel=channel, reason=reason
        )
        return [suppression_from_row(row) for row in page], next_token

    async def entries_for(self, organization_id: str, contact: Contact) -> Sequence[Suppression]:
        """Entries under a pseudonym of the contact's user id or address are reported as the
        clear entry they stand for."""
        addresses = {address_key(a) for a in (contact.email, contact.phone) if a}
        async with reading(self._engine) as connection:
            clear = await self._pseudonymized(
                connection, organization_id, {USER: {contact.user_id}, ADDRESS: addresses}
            )
            users = {contact.user_id} | {p for (k, p) in clear if k == USER}
            statement = (
                select(suppressions)
                .where(
                    suppressions.c.organization_id == organization_id,
                    or_(
                        and_(suppressions.c.kind == USER, suppressions.c.target.in_(sorted(users))),
                        and_(
                            suppressions.c.kind == ADDRESS,
                            suppressions.c.target.in_(
                                sorted(addresses | {p for (k, p) in clear if k == ADDRESS})
                            ),
                        ),
                    ),
                )
                .order_by(*_entry_key.clauses)
            )
            rows = [dict(row._mapping) for row in await connection.execute(statement)]
        for row in rows:
            row["target"] = clear.get((row["kind"], row["target"]), row["target"])
        return [suppression_from_row(row) for row in rows]

    def _pseudonym(self, organization_id: str, kind: str, target: str) -> str:
        assert self._pseudonyms is not None
        if kind == USER:
            return self._pseudonyms.user(organization_id, target)
        return self._pseudonyms.address(organization_id, target)

    async def _pseudonymized(
        self, connection: AsyncConnection, organization_id: str, targets: dict[str, set[str]]
    ) -> dict[tuple[str, str], str]:
        """(kind, pseudonym) -> the clear target it stands for, for the given targets; empty
        (and no hashing) when the organization has no erased entries, the usual case."""
        if self._pseudonyms is None or not await has_erased(connection, organization_id):
            return {}
        return pseudonyms_of(self._pseudonyms, organization_id, targets)

    async def suppressed_channels(
        self, organization_id: str, contacts: Sequence[Contact]
    ) -> dict[str, frozenset[Channel] | None]:
        """Entries of the contacts' user_ids and of their email and phone addresses, looked up
        through the primary key, then applied per contact (audience_rows.suppressed_channels)."""
        targets = {
            USER: {contact.user_id for contact in contacts},
            ADDRESS: {
                address_key(a) for contact in contacts for a in (contact.email, contact.phone) if a
            },
        }
        found: defaultdict[tuple[str, str], list[SuppressionKey]] = defaultdict(list)
        async with reading(self._engine) as connection:
            clear = await self._pseudonymized(connection, organization_id, targets)
            for kind, pseudonym in clear:
                targets[kind].add(pseudonym)
            for kind, values in targets.items():
                for chunk in chunked(sorted(values)):
                    rows = await connection.execute(
                        select(*_entry_key.clauses).where(
                            and_(
                                suppressions.c.organization_id == organization_id,
                                suppressions.c.kind == kind,
                                suppressions.c.target.in_(chunk),
                            )
                        )
                    )
                    for row in rows:
                        target = clear.get((row.kind, row.target), row.target)
                        found[row.kind, target].append((row.kind, target, row.channel))
        result: dict[str, frozenset[Channel] | None] = {}
        for contact in contacts:
            keys = [
                *found.get((USER, contact.user_id), ()),
                *found.get((ADDRESS, address_key(contact.email)), ()),
                *found.get((ADDRESS, address_key(contact.phone)), ()),
            ]
            channels = suppressed_channels(contact, keys)
            if channels is None or channels:
                result[contact.user_id] = channels
        return result
