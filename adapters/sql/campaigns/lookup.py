"""GetCampaign's reads, coalesced: the reads asked while one statement runs share the next one.

A Get is one primary-key read, and its fixed cost (a pooled connection, SQLAlchemy's execute,
the round trip and the wake-ups around it) was about half of a Get's server CPU, more than the
row it returns (docs/performance.md, "Where a Get's CPU goes"). Under load calls arrive faster
than one statement returns, so the reads that queue up behind a running statement go out
together as the next one: `organization_id = ANY(...) AND campaign_id = ANY(...)`, each answer
then matched to its exact (organization, campaign) pair, so a read never sees another tenant's
row. With no other read running, a read starts at once: coalescing costs an idle server nothing.
Under load (reads queued behind the last statement) such a read waits up to GATHER_S for others
to share its statement, or until the batch is full; a read that found no company that way ends
the waiting. At 50 Gets in flight this cut Get's server CPU from about 400 to 260-285 us per
call (docs/performance.md, "The third pass").

- Read-your-writes holds as for a statement of its own: a statement starts after every read it
  answers was asked, in autocommit, so it sees every commit made before the caller asked.
- Each caller gets a Campaign of its own (decoded definitions are shared, as spec_cache.py
  allows for committed rows).
- At most MAX_BATCH reads a statement. A statement that fails for any reason but an outage is
  retried one read at a time, so one caller's bad input never fails another's call; an outage
  fails them all at once, each with an error of its own.
- A caller that leaves (its deadline, a cancelled call) is dropped from the statement.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.campaigns.lookup_statements import campaign_rows
from adapters.sql.campaigns.rows import campaign_from_row
from adapters.sql.campaigns.spec_cache import SpecCache
from adapters.sql.failures import domain_error_for
from domain.campaigns.campaign import Campaign
from domain.kernel.errors import DependencyUnavailableError, DomainError

MAX_BATCH = 64  # reads in one statement
IN_FLIGHT = 1  # statements running at once: the rest wait to go out together
# Under load, how long a read that finds no statement running waits for others to share its
# statement with (fewer round trips per read: more reads a second, shorter queues).
GATHER_S = 0.002

_Key = tuple[str, str]


@dataclass(slots=True)
class _Read:
    key: _Key
    answer: asyncio.Future[Campaign | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class CoalescedCampaignLookup:
    """The CampaignReads port on a reader engine (autocommit on Postgres): see the module."""

    def __init__(
        self,
        engine: AsyncEngine,
        specs: SpecCache,
        *,
        max_batch: int = MAX_BATCH,
        in_flight: int = IN_FLIGHT,
        gather_s: float = GATHER_S,
    ) -> None:
        """`gather_s`: see GATHER_S (0: a read that finds none running always starts at once)."""
        self._specs = specs
        self._max_batch = max_batch
        self._in_flight = in_flight
        self._gather_s = gather_s
        # Whether reads are arriving together: reads queued behind a statement, or a gathered
        # statement found company. A read alone with none after it ends it.
        self._crowded = False
        self._gathering: asyncio.TimerHandle | None = None
        self._source = campaign_rows(engine, connections=in_flight)
        self._waiting: list[_Read] = []
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.statements = 0  # statements run so far (what the tests and the docs count)

    @property
    def crowded(self) -> bool:
        """Whether the next read that finds no statement running waits for company."""
        return self._crowded and self._gather_s > 0

    async def campaign(self, organization_id: str, campaign_id: str) -> Campaign | None:
        key = (organization_id, campaign_id)
        if not self._waiting and self._running < self._in_flight:
            if not self.crowded:
                return await self._alone(key)
            # Crowded: others will ask within moments; wait for them, not for the database.
            self._gathering = asyncio.get_running_loop().call_later(self._gather_s, self._gathered)
        read = _Read(key)
        self._waiting.append(read)
        if self._gathering is None or len(self._waiting) >= self._max_batch:
            self._start()
        return await read.answer

    async def _alone(self, key: _Key) -> Campaign | None:
        """A read with none running: its statement runs in the caller's own task, with no
        future or task of the lookup's around it; reads asked meanwhile queue for the next."""
        self._running += 1
        try:
            rows = await self._rows({key})
        except Exception as exc:
            translated = _translated(exc)
            if translated is None or translated is exc:  # a bug, or a domain error already
                raise
            raise translated from exc
        finally:
            self._running -= 1
            self._crowded = bool(self._waiting)
            self._start()
        row = rows.get(key)
        return None if row is None else campaign_from_row(row, self._specs)

    def _gathered(self) -> None:
        self._gathering = None
        self._crowded = len(self._waiting) > 1  # nobody came: the load is over
        self._start()

    def _start(self) -> None:
        if self._gathering is not None:
            self._gathering.cancel()
            self._gathering = None
        while self._waiting and self._running < self._in_flight:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            self._running += 1
            task = asyncio.get_running_loop().create_task(self._answer(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _answer(self, batch: list[_Read]) -> None:
        try:
            live = [read for read in batch if not read.answer.done()]
            if len(live) > 1:
                try:
                    self._resolve(live, await self._rows({r.key for r in live}))
                except Exception as exc:
                    if isinstance(_translated(exc), DependencyUnavailableError):
                        _fail(live, exc)
                    else:  # one read may be the cause: each on its own, so only it fails
                        await self._one_by_one(live)
            elif live:
                await self._one_by_one(live)
        except BaseException as exc:  # cancelled (the server stops): nobody waits in vain
            _fail([r for r in batch if not r.answer.done()], exc)
            raise
        finally:
            self._running -= 1
            self._crowded = self._crowded or bool(self._waiting)
            self._start()

    async def _one_by_one(self, reads: Sequence[_Read]) -> None:
        for read in reads:
            if read.answer.done():
                continue
            try:
                rows = await self._rows({read.key})
            except Exception as exc:
                _fail([read], exc)
            else:
                self._resolve([read], rows)

    async def _rows(self, keys: set[_Key]) -> dict[_Key, Mapping[str, Any]]:
        self.statements += 1
        rows = await self._source.rows(
            sorted({organization for organization, _ in keys}),
            sorted({campaign_id for _, campaign_id in keys}),
        )
        found = {(row["organization_id"], row["campaign_id"]): row for row in rows}
        return {key: row for key, row in found.items() if key in keys}

    async def close(self) -> None:
        self._start()  # reads still gathering go out now, not after the source closed
        await self._source.close()

    def _resolve(self, reads: Sequence[_Read], rows: dict[_Key, Mapping[str, Any]]) -> None:
        for read in reads:
            if read.answer.done():
                continue
            row = rows.get(read.key)
            try:
                read.answer.set_result(None if row is None else campaign_from_row(row, self._specs))
            except Exception as exc:  # a row that does not decode is a bug: its caller's INTERNAL
                read.answer.set_exception(exc)


def _translated(error: BaseException) -> BaseException | None:
    return error if isinstance(error, DomainError) else domain_error_for(error)


def _fail(reads: Sequence[_Read], cause: BaseException) -> None:
    """Each waiting caller gets an error object of its own (a shared one would collect every
    caller's traceback): the domain error the failure stands for."""
    for read in reads:
        if read.answer.done():
            continue
        if isinstance(cause, asyncio.CancelledError):
            read.answer.cancel()
            continue
        # None: a bug, which only one read at a time meets (see _answer): INTERNAL, logged
        read.answer.set_exception(_copy(cause) or cause)


def error_for_each(cause: BaseException, count: int) -> list[BaseException]:
    """What `count` callers that shared a failed statement each raise: an error of their own
    where the failure is one a caller can be told of, the failure itself for a bug."""
    return [_copy(cause) or cause for _ in range(count)]


def _copy(cause: BaseException) -> BaseException | None:
    """A new error saying what `cause` says to a caller: its domain error (a connect failure is
    one already), or the one a database failure stands for; None for a bug."""
    if isinstance(cause, DependencyUnavailableError):
        copy = DependencyUnavailableError(cause.message, metadata=dict(cause.metadata))
        copy.__cause__ = cause.__cause__  # the driver's failure, which the error log names
        return copy
    if isinstance(cause, DomainError):
        return cause
    translated = domain_error_for(cause)
    if translated is not None:
        translated.__cause__ = cause
    return translated
