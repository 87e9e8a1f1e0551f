"""ContactDirectory and SegmentStore on SQL: upserts as INSERT ... ON CONFLICT on both databases.

An upsert of an unchanged contact does not touch its row (the conflict update has a WHERE that
compares every column): a nightly re-import of a million contacts then leaves updated_at
meaning "last changed", and costs Postgres no dead tuples for the rows that stayed the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, ColumnElement, Insert, RowMapping, Table, and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.audience.connections import chunked, reading, writing
from adapters.sql.audience.erased import restore_erased
from adapters.sql.audience.rows import (
    conditions_to_json,
    contact_from_row,
    contact_row,
    segment_from_row,
)
from adapters.sql.audience.tables import contact_attribute_names, segments
from adapters.sql.audience.tables import contacts as contact_table
from adapters.sql.engine import is_postgres
from adapters.system import SystemClock
from domain.audience.contacts import Contact
from domain.audience.model import Segment
from domain.audience.pseudonyms import Pseudonyms
from domain.kernel.ports import Clock

_KEYS = ("organization_id", "user_id")
_STAMPS = ("created_at", "updated_at")
_CONTENT = [c for c in contact_table.c if c.name not in (*_KEYS, *_STAMPS)]


def _keyed(key_column: Column[Any], organization_id: str, key: str) -> ColumnElement[bool]:
    """The tenant's row whose `key_column` (the second part of its table's key) is `key`."""
    return and_(key_column.table.c.organization_id == organization_id, key_column == key)


async def _get_row(
    engine: AsyncEngine, key_column: Column[Any], organization_id: str, key: str
) -> RowMapping | None:
    statement = select(key_column.table).where(_keyed(key_column, organization_id, key))
    async with reading(engine) as connection:
        row = (await connection.execute(statement)).first()
    return None if row is None else row._mapping


async def _delete_row(
    engine: AsyncEngine, key_column: Column[Any], organization_id: str, key: str
) -> bool:
    statement = delete(key_column.table).where(_keyed(key_column, organization_id, key))
    async with writing(engine) as connection:
        result = await connection.execute(statement)
    return bool(result.rowcount)


def dialect_insert(connection: AsyncConnection, table: Table) -> Any:
    """The dialect's INSERT, the one with `on_conflict_do_update` / `on_conflict_do_nothing`."""
    return postgresql.insert(table) if is_postgres(connection) else sqlite.insert(table)


def _contact_upsert(connection: AsyncConnection) -> Insert:
    statement = dialect_insert(connection, contact_table)
    excluded = statement.excluded
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=[contact_table.c[k] for k in _KEYS],
        set_={c.name: excluded[c.name] for c in [*_CONTENT, contact_table.c.updated_at]},
        where=or_(*(c != excluded[c.name] for c in _CONTENT)),
    )


class SqlContactDirectory:
    """The ContactDirectory port; every call is its own transaction."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock | None = None,
        pseudonyms: Pseudonyms | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()
        self._pseudonyms = pseudonyms  # restores erased suppressions (adapters.sql.audience.erased)

    async def upsert(self, organization_id: str, contacts: Sequence[Contact]) -> int:
        """Creates or replaces; the last of several contacts with one user_id wins. Returns how
        many distinct contacts were accepted (changed or not)."""
        latest = {contact.user_id: contact for contact in contacts}
        if not latest:
            return 0
        now = self._clock.now()
        rows = [contact_row(organization_id, contact, now) for contact in latest.values()]
        names = sorted({name for contact in latest.values() for name in contact.attributes})
        async with writing(self._engine) as connection:
            statement = _contact_upsert(connection)
            for chunk in chunked(rows):
                await connection.execute(statement, list(chunk))
            if names:
                await connection.execute(
                    dialect_insert(connection, contact_attribute_names).on_conflict_do_nothing(),
                    [{"organization_id": organization_id, "name": name} for name in names],
                )
            if self._pseudonyms is not None:
                await restore_erased(
                    connection, organization_id, list(latest.values()), self._pseudonyms
                )
        return len(rows)

    async def get(self, organization_id: str, user_id: str) -> Contact | None:
        row = await _get_row(self._engine, contact_table.c.user_id, organization_id, user_id)
        return None if row is None else contact_from_row(row)

    async def delete(self, organization_id: str, user_id: str) -> bool:
        """Erases the contact row only: suppressions are keyed by value, not by reference."""
        return await _delete_row(self._engine, contact_table.c.user_id, organization_id, user_id)


class SqlSegmentStore:
    """The SegmentStore port. A segment_id is created once: creating it again changes nothing
    (a campaign referencing it must not silently get another audience)."""

    def __init__(self, engine: AsyncEngine, *, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()

    async def create(self, organization_id: str, segment: Segment) -> bool:
        async with writing(self._engine) as connection:
            statement = dialect_insert(connection, segments).values(
                organization_id=organization_id,
                segment_id=segment.segment_id,
                name=segment.name,
                conditions=conditions_to_json(segment.conditions),
                created_at=self._clock.now(),
            )
            result = await connection.execute(
                statement.on_conflict_do_nothing(
                    index_elements=[segments.c.organization_id, segments.c.segment_id]
                )
            )
            return bool(result.rowcount)

    async def get(self, organization_id: str, segment_id: str) -> Segment | None:
        row = await _get_row(self._engine, segments.c.segment_id, organization_id, segment_id)
        return None if row is None else segment_from_row(row)

    async def list(
        self, organization_id: str, *, after: str = "", limit: int = 100
    ) -> Sequence[Segment]:
        """A keyset page of the organization's segments, by segment_id (code point order)."""
        async with reading(self._engine) as connection:
            rows = await connection.execute(
                select(segments)
                .where(segments.c.organization_id == organization_id)
                .where(segments.c.segment_id > after)
                .order_by(segments.c.segment_id)
                .limit(max(limit, 0))
            )
            return [segment_from_row(row._mapping) for row in rows]

    async def delete(self, organization_id: str, segment_id: str) -> bool:
        return await _delete_row(self._engine, segments.c.segment_id, organization_id, segment_id)
