"""A real execution engine on SQLite or a fresh Postgres database, with a hand-driven clock.

Everything is the production code (SQL stores, audience source, executor, scheduler, delivery
relay); only time is fake, so schedules, leases, throttles and quiet hours can be stepped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.embedded.rate_limiter import MemoryRateLimiter
from adapters.embedded.sandbox_delivery import SandboxDelivery
from adapters.runtime.gc_tuning import older_objects_left_alone
from adapters.runtime.message_ids import FastMessageIds
from adapters.sql import SqlStore, make_engine
from adapters.sql.audience.source import SqlAudienceSource
from adapters.sql.audience.stores import SqlContactDirectory, SqlSegmentStore
from adapters.sql.audience.suppressions import SqlSuppressionStore
from adapters.system import UuidGenerator
from domain.audience.ports import AudienceSource
from domain.campaigns.service import CampaignService
from domain.events.feedback import FeedbackHandler
from domain.events.intake import EventIntake
from domain.execution.executor import DEFAULT_RETRIES, Executor
from domain.execution.frequency_cap import MarketingCaps
from domain.execution.ports import DeliveryPublisher, RateLimiter
from domain.execution.retries import RetryPolicy
from domain.execution.throttling import OrganizationLimits
from domain.kernel.channels import Channel
from domain.kernel.principal import Principal, Role
from tests.support.metric_recount import mismatches
from tests.support.migrated import migrated_postgres_database, migrated_sqlite_file
from tests.support.services import require

ORG = "org-engine"
ADMIN = Principal(ORG, "admin@engine", frozenset({Role.ADMIN}))
# A Wednesday 12:00 UTC: inside allowed hours in UTC and in New York.
T0 = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)
# Limits so high that one batch is due at once; throttling itself has its own tests.
HIGH_LIMITS = OrganizationLimits(
    per_hour=3_600_000_000, channel_per_hour=dict.fromkeys(Channel, 3_600_000_000)
)


@dataclass
class FakeClock:
    current: datetime = T0

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@dataclass
class EngineRig:
    store: SqlStore
    clock: FakeClock
    campaigns: CampaignService
    contacts: SqlContactDirectory
    segments: SqlSegmentStore
    suppressions: SqlSuppressionStore
    audience: AudienceSource
    limiter: RateLimiter
    delivery: SandboxDelivery = field(default_factory=SandboxDelivery)

    def executor(
        self,
        owner: str,
        *,
        audience: AudienceSource | None = None,
        limiter: RateLimiter | None = None,
        batch_size: int = 500,
        limits: OrganizationLimits = HIGH_LIMITS,
        direct: bool = True,
        publisher: DeliveryPublisher | None = None,
        retries: RetryPolicy = DEFAULT_RETRIES,
        marketing_caps: MarketingCaps | None = None,
    ) -> Executor:
        """`direct`: hand due messages over itself (the production wiring), to `publisher` or
        else the sandbox; without it every message goes through the relay."""
        return Executor(
            self.store.unit_of_work,
            audience or self.audience,
            limiter or self.limiter,
            self.clock,
            UuidGenerator(),
            owner=owner,
            publisher=(publisher or self.delivery) if direct else None,
            organization_limits=lambda _org: limits,
            batch_size=batch_size,
            message_ids=FastMessageIds,
            fanout_scope=older_objects_left_alone,
            retries=retries,
            marketing_caps=marketing_caps,
        )


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EngineRig]:
    if request.param == "postgres":
        require("127.0.0.1", 5432, "PostgreSQL")
        async with migrated_postgres_database() as url:
            async for built in _engine(url):
                yield built
    else:
        async for built in _engine(await migrated_sqlite_file(tmp_path / "engine.db")):
            yield built


async def _engine(url: str) -> AsyncIterator[EngineRig]:
    sql = make_engine(url)  # already migrated (tests.support.migrated)
    store = SqlStore(sql)
    clock = FakeClock()
    ids = UuidGenerator()
    segments = SqlSegmentStore(sql, clock=clock)
    # The sandbox reports delivery through the event intake, as the embedded server wires it.
    delivery = SandboxDelivery(clock=clock)
    delivery.report_to(EventIntake(store.unit_of_work, [FeedbackHandler(ids, clock)], clock))
    try:
        rig = EngineRig(
            store=store,
            clock=clock,
            campaigns=CampaignService(store.unit_of_work, clock, ids),
            contacts=SqlContactDirectory(sql, clock=clock),
            segments=segments,
            suppressions=SqlSuppressionStore(sql, clock=clock),
            audience=SqlAudienceSource(sql, segments),
            limiter=MemoryRateLimiter(),
            delivery=delivery,
        )
        yield rig
        # Whatever the test did, the metric counters equal a recount of its messages.
        assert await mismatches(sql) == []
    finally:
        await store.close()
