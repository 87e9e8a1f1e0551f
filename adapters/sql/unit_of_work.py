"""Units of work over one connection each, and `SqlStore`, what the composition root wires in.

The connection is taken when the block is entered, so a database outage surfaces as one
DependencyUnavailableError (gRPC UNAVAILABLE, retried by clients) before any work is done,
instead of a driver exception from the middle of a use case (INTERNAL). A failure inside the
block is translated by adapters/sql/failures.py (outage, statement timeout, request too big).

Metric counters: the message writes of a unit of work add what they count to its `Deltas`
(domain.metrics.deltas); `commit()` adds them to the ledger in one statement, the last one of the
transaction (so a transaction holds a counter row only while it commits), then tells the
MetricChanges port which campaigns changed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.audience.suppressions import SqlSuppressionList
from adapters.sql.campaigns.inserts import INSERT_CONNECTIONS, RawNewCampaigns
from adapters.sql.campaigns.lookup_statements import raw_statements
from adapters.sql.campaigns.reads import SqlCampaignReads
from adapters.sql.campaigns.repository import SqlCampaignRepository
from adapters.sql.campaigns.spec_cache import SpecCache
from adapters.sql.engine import (
    SQLITE_BEGIN_OPTION,
    is_postgres,
    make_engine,
    statement_timeout_of,
)
from adapters.sql.events.conversions import SqlConversionStore
from adapters.sql.events.ledger import SqlEventLedger
from adapters.sql.events.personal_data import SqlPersonalData
from adapters.sql.events.triggers import SqlTriggerStore
from adapters.sql.execution.delivery_outbox import SqlDeliveryOutbox
from adapters.sql.execution.executions import SqlExecutionRepository
from adapters.sql.execution.holdouts import SqlHoldoutLog
from adapters.sql.execution.messages import SqlMessageRepository
from adapters.sql.execution.reservation_log import SqlReservationLog
from adapters.sql.execution.runs import SqlRunProgress
from adapters.sql.failures import (
    connect_failure,
    database_errors_as_domain_errors,
    domain_error_for,
)
from adapters.sql.metrics.changes import NO_METRIC_CHANGES, ForwardedMetricChanges
from adapters.sql.metrics.ledger import SqlMetricLedger, SqlStoreMetricLedger
from adapters.sql.metrics.segments import CampaignSegments
from adapters.sql.outbox import UNTRACED, SqlOutbox, SqlOutboxStore
from domain.campaigns.ports import NewCampaigns
from domain.campaigns.store import UnitOfWorkNewCampaigns
from domain.kernel.ports import TraceContext
from domain.metrics.deltas import Deltas
from domain.metrics.model import Breakdown, CampaignMetrics, Cell, MetricTotals
from domain.metrics.ports import MetricChanges

HEALTH_TIMEOUT_S = 2.0


class SqlUnitOfWork:
    """One transaction on one connection; leaving the block without `commit()` rolls it back.

    Plain Core connections, not ORM sessions: the repositories speak Core and return dataclasses,
    and a session's bookkeeping cost more per statement than the statement itself.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        read_only: bool = False,
        changes: MetricChanges = NO_METRIC_CHANGES,
        trace: TraceContext = UNTRACED,
        specs: SpecCache | None = None,
    ) -> None:
        self._engine = engine
        self._read_only = read_only
        self._trace = trace
        self._specs = specs if read_only else None  # committed rows only: see spec_cache.py
        self._connection: AsyncConnection | None = None
        self._changes = changes
        self._deltas = Deltas()
        self._segments = CampaignSegments()
        self._metrics: SqlMetricLedger | None = None
        self._on_commit: list[Callable[[], None]] = []

    @property
    def campaigns(self) -> SqlCampaignRepository:
        return SqlCampaignRepository(self._active(), self._specs)

    @property
    def outbox(self) -> SqlOutbox:
        return SqlOutbox(self._active(), self._trace)

    @property
    def executions(self) -> SqlExecutionRepository:
        return SqlExecutionRepository(self._active())

    @property
    def messages(self) -> SqlMessageRepository:
        return SqlMessageRepository(self._active(), self._deltas, self._segments, self._trace)

    @property
    def metrics(self) -> UnitOfWorkMetrics:
        """The metric ledger in this transaction: its adds join the writers' deltas, added at
        commit (one statement, one shard); its reads see this transaction."""
        return UnitOfWorkMetrics(self._deltas, self._ledger)

    @property
    def _ledger(self) -> SqlMetricLedger:
        if self._metrics is None:
            self._metrics = SqlMetricLedger(self._active())
        return self._metrics

    @property
    def holdouts(self) -> SqlHoldoutLog:
        return SqlHoldoutLog(self._active())

    @property
    def runs(self) -> SqlRunProgress:
        return SqlRunProgress(self._active())

    @property
    def ledger(self) -> SqlEventLedger:
        return SqlEventLedger(self._active())

    @property
    def suppressions(self) -> SqlSuppressionList:
        return SqlSuppressionList(self._active())

    @property
    def personal_data(self) -> SqlPersonalData:
        return SqlPersonalData(self._active())

    @property
    def triggers(self) -> SqlTriggerStore:
        return SqlTriggerStore(self._active())

    @property
    def conversions(self) -> SqlConversionStore:
        return SqlConversionStore(self._active())

    async def commit(self) -> None:
        counted = self._deltas.campaigns()
        with database_errors_as_domain_errors():
            if self._deltas:
                await self._ledger.add(self._deltas.take(), datetime.now(UTC))
            await self._active().commit()  # a later statement autobegins a new transaction
        for organization_id, campaign_id in sorted(counted):
            self._changes.changed(organization_id, campaign_id)
        callbacks, self._on_commit = self._on_commit, []
        for callback in callbacks:
            callback()

    def on_commit(self, callback: Callable[[], None]) -> None:
        self._on_commit.append(callback)

    async def __aenter__(self) -> SqlUnitOfWork:
        self._deltas.take()  # a rolled back block's deltas never reach the next one
        self._on_commit = []  # nor its callbacks
        self._metrics = None
        try:
            connection = await self._engine.connect()  # connect now (see the module docstring)
        except (sa_exc.SQLAlchemyError, OSError, TimeoutError) as exc:
            raise connect_failure(exc) from exc
        try:
            if self._read_only and not is_postgres(connection):
                # a deferred BEGIN: a SQLite reader must not take the write lock
                await connection.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN"})
            await connection.begin()
        except BaseException as exc:
            # Cancellation included: the driver finishes a BEGIN IMMEDIATE on its own thread
            # even after the caller gave up, and the forgotten connection would then hold
            # SQLite's write lock until it is garbage collected.
            await _close_quietly(connection)
            if isinstance(exc, sa_exc.SQLAlchemyError | OSError | TimeoutError):
                raise connect_failure(exc) from exc
            raise
        self._connection = connection
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._active(), None
        if exc is None:
            with database_errors_as_domain_errors():
                await connection.close()  # rolls back whatever was not committed
            return
        await _close_quietly(connection)  # the block's own error is the one worth reporting
        translated = domain_error_for(exc)
        if translated is not None:  # an outage, a timeout, a request too big: see failures.py
            raise translated from exc

    def _active(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._connection


class UnitOfWorkMetrics:
    """MetricLedger of a unit of work: `add` defers to the commit, like every writer's deltas."""

    def __init__(self, deltas: Deltas, ledger: SqlMetricLedger) -> None:
        self._deltas = deltas
        self._ledger = ledger

    async def add(self, deltas: Mapping[Cell, MetricTotals], at: datetime) -> None:
        for cell, totals in deltas.items():
            self._deltas.add(cell, totals)

    async def read(
        self,
        organization_id: str,
        campaign_id: str,
        execution_id: str | None,
        breakdowns: Sequence[Breakdown],
    ) -> CampaignMetrics:
        return await self._ledger.read(organization_id, campaign_id, execution_id, breakdowns)


class SqlStore:
    """Everything SQL the service needs from one engine: units of work, the outbox, health."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        health_timeout: float = HEALTH_TIMEOUT_S,
        metric_changes: MetricChanges = NO_METRIC_CHANGES,
        trace: TraceContext = UNTRACED,
    ) -> None:
        """`trace`: what each outbox row records of the work that wrote it (the current span's
        context, when tracing is on; docs/observability-traces.md)."""
        self.engine = engine
        self.health_timeout = health_timeout
        self.trace = trace
        # Told after each commit that changed a campaign's counters: set `metric_changes.target`
        # to the transport to every replica (adapters/sql/metrics/changes.py).
        self.metric_changes = ForwardedMetricChanges(metric_changes)
        # Reads run in autocommit on Postgres: no BEGIN/ROLLBACK round trips around a SELECT.
        # (A list page and its total_size may then come from two snapshots; the total is
        # advisory, AIP-158.) SQLite keeps its transaction: there BEGIN costs no round trip.
        self._reader = (
            make_engine(
                engine.url.render_as_string(hide_password=False),
                autocommit=True,
                statement_timeout_ms=statement_timeout_of(engine),
            )
            if is_postgres(engine)
            else engine
        )
        self._specs = SpecCache()  # the read-only units of work's (spec_cache.py)
        self._reads: SqlCampaignReads | None = None
        self._inserts: RawNewCampaigns | None = None

    @property
    def engines(self) -> tuple[AsyncEngine, ...]:
        """Every engine the store opened (the writer's; on Postgres the readers' too)."""
        return (self.engine,) if self._reader is self.engine else (self.engine, self._reader)

    def unit_of_work(self, *, read_only: bool = False) -> SqlUnitOfWork:
        """The UnitOfWorkFactory port."""
        return SqlUnitOfWork(
            self._reader if read_only else self.engine,
            read_only=read_only,
            changes=self.metric_changes,
            trace=self.trace,
            specs=self._specs,
        )

    def campaign_reads(self) -> SqlCampaignReads:
        """The CampaignReads port: one per store, so concurrent Gets share statements."""
        if self._reads is None:
            self._reads = SqlCampaignReads(self._reader, self._specs, self.unit_of_work)
        return self._reads

    def new_campaigns(self) -> NewCampaigns:
        """The NewCampaigns port: one statement per create on Postgres (inserts.py), a unit
        of work on SQLite."""
        if not is_postgres(self.engine):
            return UnitOfWorkNewCampaigns(self.unit_of_work)
        if self._inserts is None:
            self._inserts = RawNewCampaigns(
                raw_statements(self.engine, connections=INSERT_CONNECTIONS), self.trace
            )
        return self._inserts

    def outbox_store(self) -> SqlOutboxStore:
        return SqlOutboxStore(self.engine)

    def delivery_outbox(self) -> SqlDeliveryOutbox:
        return SqlDeliveryOutbox(self.engine, self.metric_changes)

    def metric_ledger(self) -> SqlStoreMetricLedger:
        """The counters for readers outside a unit of work (live streams, experiments)."""
        return SqlStoreMetricLedger(self.engine, self._reader)

    def reservation_log(self) -> SqlReservationLog:
        return SqlReservationLog(self.engine)

    async def check(self) -> bool:
        """Health probe: can we run a query right now? Never raises."""
        try:
            async with asyncio.timeout(self.health_timeout), self.engine.connect() as connection:
                # A plain BEGIN on SQLite: a probe must not queue behind writers.
                await connection.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN"})
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def close(self) -> None:
        if self._reads is not None:
            await self._reads.close()
        if self._inserts is not None:
            await self._inserts.close()
        await self.engine.dispose()
        if self._reader is not self.engine:
            await self._reader.dispose()


async def _close_quietly(connection: AsyncConnection) -> None:
    # The connection is probably broken already; the caller reports why.
    with contextlib.suppress(Exception):
        await connection.close()
