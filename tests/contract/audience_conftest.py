"""Every adapter of the audience ports behind one object, and the steps the audience suites share.

The fixtures themselves are appended to conftest.py (`audience`, `sql_audience`); this module
holds what they open, so it can import conftest lazily without an import cycle.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.memory.audience import (
    MemoryAudienceSource,
    MemoryContactDirectory,
    MemorySegmentStore,
    MemorySuppressionStore,
)
from adapters.sql.audience.source import SqlAudienceSource
from adapters.sql.audience.stores import SqlContactDirectory, SqlSegmentStore
from adapters.sql.audience.suppressions import SqlSuppressionStore
from domain.audience.conditions import CONTACT_FIELDS
from domain.audience.contacts import Contact
from domain.audience.model import (
    Audience,
    Condition,
    ConditionOperator,
    ConditionValue,
    Recipient,
    SegmentType,
)
from domain.audience.ports import AudienceSource, ContactDirectory, SegmentStore, SuppressionStore
from tests.contract.builders import ORG, FixedClock


@dataclass(frozen=True)
class AudienceBackend:
    name: str
    contacts: ContactDirectory
    segments: SegmentStore
    suppressions: SuppressionStore
    source: AudienceSource
    clock: FixedClock


@asynccontextmanager
async def open_audience_backend(kind: str, data_dir: Path) -> AsyncIterator[AudienceBackend]:
    clock = FixedClock()
    if kind == "memory":
        contacts = MemoryContactDirectory(clock=clock)
        segments = MemorySegmentStore(clock=clock)
        suppressions = MemorySuppressionStore(clock=clock)
        source = MemoryAudienceSource(contacts, segments, suppressions)
        yield AudienceBackend(kind, contacts, segments, suppressions, source, clock)
        return
    from tests.contract.conftest import sql_engine  # conftest imports this module

    async with sql_engine(kind, data_dir, migrated=True) as engine:
        sql_segments = SqlSegmentStore(engine, clock=clock)
        yield AudienceBackend(
            kind,
            SqlContactDirectory(engine, clock=clock),
            sql_segments,
            SqlSuppressionStore(engine, clock=clock),
            SqlAudienceSource(engine, sql_segments),
            clock,
        )


def contact(user_id: str, **fields: Any) -> Contact:
    return Contact(user_id, **fields)


def cond(field: str, operator: str, value: ConditionValue) -> Condition:
    return Condition(field, ConditionOperator(operator), value)


def include(*conditions: Condition, audience_id: str = "inc") -> Audience:
    return Audience(audience_id, SegmentType.INCLUDE, query=conditions)


def exclude(*conditions: Condition, audience_id: str = "exc") -> Audience:
    return Audience(audience_id, SegmentType.EXCLUDE, query=conditions)


def everyone() -> Audience:
    return include(audience_id="everyone")  # no conditions match every contact


async def batches(
    source: AudienceSource,
    audiences: Sequence[Audience],
    *,
    organization_id: str = ORG,
    after_user_id: str = "",
    batch_size: int = 10_000,
) -> list[list[Recipient]]:
    stream = source.recipients(
        organization_id, audiences, after_user_id=after_user_id, batch_size=batch_size
    )
    return [list(batch) async for batch in stream]


async def member_ids(
    source: AudienceSource, audiences: Sequence[Audience], *, organization_id: str = ORG
) -> list[str]:
    found = await batches(source, audiences, organization_id=organization_id)
    return [r.contact.user_id for batch in found for r in batch]


def profile(contact_: Contact) -> dict[str, Any]:
    """What a condition sees, as the brief states it: CONTACT_FIELDS are the contact's own
    fields, every other name is a key of its attributes."""
    return {**contact_.attributes, **{f: getattr(contact_, f) for f in CONTACT_FIELDS}}


def ids(contacts: Iterable[Contact]) -> list[str]:
    return sorted(c.user_id for c in contacts)
