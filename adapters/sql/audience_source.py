"""AudienceSource over the built-in contact directory: the audience resolved in SQL, in batches.

Segments are looked up once per call, so a run streams one consistent definition even if a
segment is edited meanwhile. Each batch is its own short read, keyset-paged on user_id: a run
resumes from its checkpoint with `after_user_id`, memory holds one batch, and no connection is
held while the consumer works on a batch.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.audience_connections import reading
from adapters.sql.audience_queries import Resolved, counts_statement, recipients_statement
from adapters.sql.audience_rows import contact_from_row
from domain.audience import AudienceCounts, Recipient
from domain.errors import FailedPreconditionError, PreconditionViolation
from domain.model import Audience, Channel, SegmentType
from domain.ports import SegmentStore


class SqlAudienceSource:
    """The AudienceSource port on the contacts, segments and suppressions tables."""

    def __init__(self, engine: AsyncEngine, segments: SegmentStore) -> None:
        self._engine = engine
        self._segments = segments
        self._dialect = engine.dialect.name

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

    async def recipients(
        self,
        organization_id: str,
        audiences: Sequence[Audience],
        *,
        after_user_id: str = "",
        batch_size: int = 10_000,
    ) -> AsyncIterator[Sequence[Recipient]]:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        resolved = await resolve_audiences(self._segments, organization_id, audiences)
        if not any(kind is SegmentType.INCLUDE for kind, _ in resolved):
            return
        statement = recipients_statement(organization_id, resolved, self._dialect, batch_size)
        after = after_user_id
        while True:
            async with reading(self._engine) as connection:
                result = await connection.execute(statement, {"after": after})
                rows = [row._mapping for row in result]
            if rows:
                yield [_recipient(row) for row in rows]
            if len(rows) < batch_size:
                return
            after = rows[-1]["user_id"]


async def resolve_audiences(
    segments: SegmentStore, organization_id: str, audiences: Sequence[Audience]
) -> Resolved:
    """Each audience's type and conditions: a saved segment's, or the inline query."""
    resolved = []
    for index, audience in enumerate(audiences):
        if not audience.segment_id:
            resolved.append((audience.segment_type, audience.query))
            continue
        segment = await segments.get(organization_id, audience.segment_id)
        if segment is None:
            raise _unknown_segment(index, audience)
        resolved.append((audience.segment_type, segment.conditions))
    return resolved


def _unknown_segment(index: int, audience: Audience) -> FailedPreconditionError:
    segment_id = audience.segment_id or ""
    description = f"segment {segment_id!r} does not exist (deleted, or never saved)"
    return FailedPreconditionError(
        f"audience {audience.name or audience.audience_id!r} cannot be resolved: {description}",
        violations=[
            PreconditionViolation(
                "SEGMENT_NOT_FOUND", f"audiences[{index}].segment_id", description
            )
        ],
        metadata={"segment_id": segment_id, "audience_id": audience.audience_id},
    )


def _recipient(row: RowMapping) -> Recipient:
    suppressed = frozenset(c for c in Channel if row[f"suppressed_{c.value}"])
    return Recipient(contact_from_row(row), suppressed)
