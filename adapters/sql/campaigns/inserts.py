"""The NewCampaigns port on Postgres: a new campaign, its facets and its events in one statement.

Through the unit of work a CreateCampaign was six round trips (BEGIN, the campaign, its tags,
its channels, its outbox row, COMMIT), each through SQLAlchemy's execute: most of a Create's
server CPU (docs/performance.md, "The third pass"). Here the inserts are the parts of
one prepared statement, run in autocommit, so the statement is the transaction: all of it is
stored or none. Foreign keys are checked when the whole statement ends, so the facet rows may
name the campaign inserted beside them.

SQLite keeps the unit of work (domain.campaigns.store.UnitOfWorkNewCampaigns): there a round
trip costs nothing. Both write the same rows; the contract tests read them back through both.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import asyncpg

from adapters.sql.campaigns.rows import campaign_row, channel_rows, tag_rows
from adapters.sql.campaigns.tables import campaign_channels, campaign_tags, campaigns
from adapters.sql.failures import domain_error_for
from adapters.sql.raw_statements import RawStatements
from adapters.sql.schema import outbox_events
from domain.campaigns.campaign import Campaign
from domain.kernel.errors import DuplicateRequestError
from domain.kernel.events import DomainEvent
from domain.kernel.ports import TraceContext

# Creates at once on connections of their own; more wait for one. Each statement commits on its
# own, so more connections let more commits share a WAL flush, and put more on 2 cores at once.
INSERT_CONNECTIONS = 4

_COLUMNS = tuple(column.name for column in campaigns.c)
_DOCUMENTS = frozenset({"spec", "schedule"})  # JSON columns: sent as text, stored as jsonb
_EVENT_COLUMNS = (
    "event_id",
    "organization_id",
    "event_type",
    "payload",
    "occurred_at",
    "trace_context",
)
_EVENT_TYPES = ("text", "text", "text", "jsonb", "timestamptz", "text")
assert set(_EVENT_COLUMNS) <= set(outbox_events.c.keys())


def _statement() -> str:
    """The campaign's row from parameters $1..$n (in `_COLUMNS` order), then its tags, its
    channels and its events, each an array parameter unnested into rows."""
    n = len(_COLUMNS)
    campaign_id = f"${_COLUMNS.index('campaign_id') + 1}"
    organization_id = f"${_COLUMNS.index('organization_id') + 1}"
    values = ", ".join(
        f"${i}::jsonb" if name in _DOCUMENTS else f"${i}" for i, name in enumerate(_COLUMNS, 1)
    )
    facets = [
        f"{column}s AS (INSERT INTO {table.name} (campaign_id, organization_id, {column})"
        f" SELECT {campaign_id}, {organization_id}, unnest(${n + i}::text[]))"
        for i, (table, column) in enumerate(
            ((campaign_tags, "tag"), (campaign_channels, "channel")), 1
        )
    ]
    arrays = ", ".join(f"${n + 3 + i}::{kind}[]" for i, kind in enumerate(_EVENT_TYPES))
    return (
        f"WITH campaign AS (INSERT INTO campaigns ({', '.join(_COLUMNS)}) VALUES ({values})), "
        + ", ".join(facets)
        + f" INSERT INTO outbox_events ({', '.join(_EVENT_COLUMNS)})"
        + f" SELECT * FROM unnest({arrays})"
    )


_INSERT = _statement()


class RawNewCampaigns:
    def __init__(self, statements: RawStatements, trace: TraceContext) -> None:
        """`trace`: what each outbox row records of the work that wrote it, as SqlOutbox."""
        self._statements = statements
        self._trace = trace

    async def add(self, campaign: Campaign, events: Sequence[DomainEvent]) -> None:
        try:
            await self._statements.fetch(
                "INSERT campaigns", _INSERT, *self._arguments(campaign, events)
            )
        except asyncpg.UniqueViolationError as exc:
            if "request_id" not in (exc.constraint_name or ""):
                raise
            raise DuplicateRequestError(
                "request_id already used", metadata={"request_id": campaign.request_id or ""}
            ) from exc
        except Exception as exc:
            translated = domain_error_for(exc)
            if translated is None:
                raise
            raise translated from exc

    def _arguments(self, campaign: Campaign, events: Sequence[DomainEvent]) -> list[Any]:
        row = campaign_row(campaign)
        arguments: list[Any] = [
            _document(row[name]) if name in _DOCUMENTS else row[name] for name in _COLUMNS
        ]
        arguments.append([tag["tag"] for tag in tag_rows(campaign)])
        arguments.append([channel["channel"] for channel in channel_rows(campaign)])
        current = self._trace.current() if events else None
        arguments.extend(
            [
                [event.event_id for event in events],
                [event.organization_id for event in events],
                [event.event_type for event in events],
                [json.dumps(event.envelope()) for event in events],
                [event.occurred_at for event in events],
                [event.trace_context or current for event in events],
            ]
        )
        return arguments

    async def close(self) -> None:
        await self._statements.close()


def _document(value: Any) -> str | None:
    """What SQLAlchemy's JSON type would bind: the document as json.dumps writes it, or NULL."""
    return None if value is None else json.dumps(value)
