"""The NewCampaigns port on Postgres: a new campaign, its facets and its events in one statement.

Through the unit of work a CreateCampaign was six round trips (BEGIN, the campaign, its tags,
its channels, its outbox row, COMMIT), each through SQLAlchemy's execute: most of a Create's
server CPU (docs/performance.md, "The third pass"). Here the inserts are the parts of
one prepared statement, run in autocommit, so the statement is the transaction: all of it is
stored or none. Foreign keys are checked when the whole statement ends, so the facet rows may
name the campaign inserted beside them.

Under load, creates asked while a statement runs share the next one, as GetCampaign's reads do
(lookup.py): every column is an array parameter, so one statement writes one campaign or
sixty-four, and a crowded writer's create waits up to GATHER_S for company. A shared statement
that fails for any reason but an outage (one create's taken request_id, one value Postgres
cannot store) is retried create by create, so each caller gets its own answer and one bad
create never fails another.

SQLite keeps the unit of work (domain.campaigns.store.UnitOfWorkNewCampaigns): there a round
trip costs nothing. Both write the same rows; the contract tests read them back through both.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy import Column, Integer

from adapters.sql.campaigns.lookup import GATHER_S, error_for_each
from adapters.sql.campaigns.rows import campaign_row, channel_rows, tag_rows
from adapters.sql.campaigns.tables import campaign_channels, campaign_tags, campaigns
from adapters.sql.failures import domain_error_for
from adapters.sql.raw_statements import RawStatements
from adapters.sql.schema import UtcDateTime, outbox_events
from domain.campaigns.campaign import Campaign
from domain.kernel.errors import DependencyUnavailableError, DuplicateRequestError
from domain.kernel.events import DomainEvent
from domain.kernel.ports import TraceContext

# Statements at once on connections of their own; creates asked while they all run wait and go
# out together in the next one (docs/performance.md, "The third pass").
INSERT_CONNECTIONS = 2
MAX_BATCH = 64  # creates in one statement

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


def _array_type(column: Column[Any]) -> str:
    if column.name in _DOCUMENTS:
        return "jsonb"
    if isinstance(column.type, UtcDateTime):
        return "timestamptz"
    if isinstance(column.type, Integer):
        return "int4"
    return "text"


_COLUMNS = tuple((column.name, _array_type(column)) for column in campaigns.c)


def _statement() -> str:
    """Every campaign column as an array parameter ($1..$n in `_COLUMNS` order), then the tags,
    the channels (campaign id, organization, value: three arrays each) and the events, each
    unnested into rows."""
    arrays = iter(range(1, 1_000))

    def unnest(kinds: Sequence[str]) -> str:
        return "unnest(" + ", ".join(f"${next(arrays)}::{kind}[]" for kind in kinds) + ")"

    rows = unnest([kind for _, kind in _COLUMNS])
    names = ", ".join(name for name, _ in _COLUMNS)
    facets = [
        f"{column}s AS (INSERT INTO {table.name} (campaign_id, organization_id, {column})"
        f" SELECT * FROM {unnest(('text', 'text', 'text'))})"
        for table, column in ((campaign_tags, "tag"), (campaign_channels, "channel"))
    ]
    return (
        f"WITH campaign AS (INSERT INTO campaigns ({names}) SELECT * FROM {rows}), "
        + ", ".join(facets)
        + f" INSERT INTO outbox_events ({', '.join(_EVENT_COLUMNS)})"
        + f" SELECT * FROM {unnest(_EVENT_TYPES)}"
    )


_INSERT = _statement()


@dataclass(slots=True)
class _Create:
    campaign: Campaign
    events: Sequence[DomainEvent]
    trace_context: str | None  # the caller's, for its events that carry none
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class RawNewCampaigns:
    def __init__(
        self,
        statements: RawStatements,
        trace: TraceContext,
        *,
        in_flight: int = INSERT_CONNECTIONS,
        max_batch: int = MAX_BATCH,
        gather_s: float = GATHER_S,
    ) -> None:
        """`statements` with at least `in_flight` connections; `trace`: what each outbox row
        records of the work that wrote it, as SqlOutbox."""
        self._statements = statements
        self._trace = trace
        self._in_flight = in_flight
        self._max_batch = max_batch
        self._gather_s = gather_s
        self._waiting: list[_Create] = []
        self._running = 0
        self._crowded = False  # as in lookup.py: creates queued behind the last statement
        self._gathering: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.statements = 0  # statements run so far (what the tests count)

    @property
    def crowded(self) -> bool:
        """Whether the next create that finds a connection free waits for company."""
        return self._crowded and self._gather_s > 0

    async def add(self, campaign: Campaign, events: Sequence[DomainEvent]) -> None:
        create = _Create(campaign, events, self._trace.current() if events else None)
        if not self._waiting and self._running < self._in_flight:
            if not self.crowded:
                await self._alone(create)
                return
            self._gathering = asyncio.get_running_loop().call_later(self._gather_s, self._gathered)
        self._waiting.append(create)
        if self._gathering is None or len(self._waiting) >= self._max_batch:
            self._start()
        await create.done

    async def _alone(self, create: _Create) -> None:
        """With a connection free and no crowd: the statement runs in the caller's own task."""
        self._running += 1
        try:
            await self._insert([create])
        finally:
            self._running -= 1
            self._crowded = bool(self._waiting)
            self._start()

    def _gathered(self) -> None:
        self._gathering = None
        self._crowded = len(self._waiting) > 1  # nobody came: the load is over
        self._start()

    def _start(self) -> None:
        if self._gathering is not None:
            self._gathering.cancel()
            self._gathering = None
        while self._waiting and self._running < self._in_flight:
            batch = [c for c in self._waiting[: self._max_batch] if not c.done.done()]
            del self._waiting[: self._max_batch]
            if not batch:  # every caller left before it started
                continue
            self._running += 1
            task = asyncio.get_running_loop().create_task(self._shared(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _shared(self, batch: list[_Create]) -> None:
        try:
            try:
                await self._insert(batch)
            except Exception as exc:
                if len(batch) > 1 and not isinstance(exc, DependencyUnavailableError):
                    await self._one_by_one(batch)  # one create may be the cause: each alone
                else:
                    _fail(batch, exc)
            else:
                for create in batch:
                    if not create.done.done():
                        create.done.set_result(None)
        except BaseException as exc:  # cancelled (the server stops): nobody waits in vain
            _fail([c for c in batch if not c.done.done()], exc)
            raise
        finally:
            self._running -= 1
            self._crowded = self._crowded or bool(self._waiting)
            self._start()

    async def _one_by_one(self, batch: list[_Create]) -> None:
        for create in batch:
            try:
                await self._insert([create])
            except Exception as exc:
                _fail([create], exc)
            else:
                if not create.done.done():
                    create.done.set_result(None)

    async def _insert(self, batch: list[_Create]) -> None:
        """One statement for `batch`; its failure as the domain error it stands for."""
        self.statements += 1
        try:
            await self._statements.fetch("INSERT campaigns", _INSERT, *_arguments(batch))
        except asyncpg.UniqueViolationError as exc:
            if "request_id" not in (exc.constraint_name or ""):
                raise
            raise DuplicateRequestError(
                "request_id already used",
                metadata={"request_id": batch[0].campaign.request_id or ""}
                if len(batch) == 1
                else {},
            ) from exc
        except Exception as exc:
            translated = domain_error_for(exc)
            if translated is None:
                raise
            raise translated from exc

    async def close(self) -> None:
        self._start()  # creates still gathering go out now, not after the connections closed
        await self._statements.close()


def _arguments(batch: list[_Create]) -> list[Any]:
    """The statement's arrays: one entry per campaign, per facet value, per event."""
    rows = [campaign_row(create.campaign) for create in batch]
    arguments: list[Any] = [
        [_document(row[name]) if name in _DOCUMENTS else row[name] for row in rows]
        for name, _ in _COLUMNS
    ]
    for facets, column in ((tag_rows, "tag"), (channel_rows, "channel")):
        values = [value for create in batch for value in facets(create.campaign)]
        arguments.extend(
            [[value[key] for value in values] for key in ("campaign_id", "organization_id", column)]
        )
    events = [(event, create.trace_context) for create in batch for event in create.events]
    arguments.extend(
        [
            [event.event_id for event, _ in events],
            [event.organization_id for event, _ in events],
            [event.event_type for event, _ in events],
            [json.dumps(event.envelope()) for event, _ in events],
            [event.occurred_at for event, _ in events],
            [event.trace_context or current for event, current in events],
        ]
    )
    return arguments


def _fail(batch: Sequence[_Create], cause: BaseException) -> None:
    """Each waiting caller gets an error of its own (see lookup.error_for_each)."""
    waiting = [create for create in batch if not create.done.done()]
    if isinstance(cause, asyncio.CancelledError):
        for create in waiting:
            create.done.cancel()
        return
    for create, error in zip(waiting, error_for_each(cause, len(waiting)), strict=True):
        create.done.set_exception(error)


def _document(value: Any) -> str | None:
    """What SQLAlchemy's JSON type would bind: the document as json.dumps writes it, or NULL."""
    return None if value is None else json.dumps(value)
