"""Composition of the execution engine: audiences, limits, templates, delivery and workers.

Part of the composition root (with server/bootstrap.py): the one place besides it that reads
settings and picks adapters. Each URL that is set swaps in the real technology for its port.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from adapters.embedded.rate_limiter import MemoryRateLimiter
from adapters.embedded.sandbox_delivery import SandboxDelivery
from adapters.http.audience import HttpAudienceSource
from adapters.http.client import UpstreamClient
from adapters.http.templates import HttpTemplateSource
from adapters.nats.delivery import NatsDeliveryPublisher
from adapters.redis.rate_limiter import RedisRateLimiter
from adapters.runtime.gc_tuning import older_objects_left_alone
from adapters.runtime.message_ids import FastMessageIds
from adapters.sql.audience.source import SqlAudienceSource
from adapters.sql.audience.stores import SqlContactDirectory, SqlSegmentStore
from adapters.sql.audience.suppressions import SqlSuppressionStore
from adapters.sql.unit_of_work import SqlStore
from adapters.system import SystemClock, UuidGenerator
from domain.audience.ports import AudienceSource
from domain.audience.service import AudienceService
from domain.campaigns.templates import TemplateSource
from domain.execution.delivery import deliver_once
from domain.execution.estimate import AudienceEstimator
from domain.execution.executor import Executor
from domain.execution.ports import DeliveryPublisher, RateLimiter
from domain.execution.scheduler import fire_due
from domain.execution.service import ExecutionService
from domain.execution.throttling import DEFAULT_CHANNEL_PER_HOUR, OrganizationLimits
from domain.kernel.channels import Channel
from server.settings import Settings
from server.workers.loop import WorkerLoop

Closer = Callable[[], Awaitable[None]]


@dataclass
class Engine:
    audience_service: AudienceService
    estimator: AudienceEstimator
    execution_service: ExecutionService
    workers: list[WorkerLoop]
    templates: TemplateSource | None = None
    audience: AudienceSource | None = None
    closers: list[Closer] = field(default_factory=list)


def organization_limits(settings: Settings) -> OrganizationLimits:
    channels = dict(DEFAULT_CHANNEL_PER_HOUR)
    for name, per_hour in settings.channel_per_hour.items():
        channels[Channel(name)] = per_hour
    return OrganizationLimits(per_hour=settings.organization_per_hour, channel_per_hour=channels)


def build_engine(settings: Settings, store: SqlStore) -> Engine:
    clock, ids = SystemClock(), UuidGenerator()
    closers: list[Closer] = []
    contacts = SqlContactDirectory(store.engine, clock=clock)
    segments = SqlSegmentStore(store.engine, clock=clock)
    suppressions = SqlSuppressionStore(store.engine, clock=clock)
    audience: AudienceSource = SqlAudienceSource(store.engine, segments)
    if settings.data_service_url:
        client = UpstreamClient(
            "data service", settings.data_service_url, token=_secret(settings.data_service_token)
        )
        audience = HttpAudienceSource(client, suppressions)
        closers.append(client.aclose)
    templates: TemplateSource | None = None
    if settings.creative_service_url:
        creative = UpstreamClient(
            "creative service",
            settings.creative_service_url,
            token=_secret(settings.creative_service_token),
        )
        templates = HttpTemplateSource(creative)
        closers.append(creative.aclose)
    limiter: RateLimiter = MemoryRateLimiter()
    if settings.redis_url:
        redis_limiter = RedisRateLimiter(settings.redis_url)
        limiter = redis_limiter
        closers.append(redis_limiter.close)
    delivery: DeliveryPublisher = SandboxDelivery()
    if settings.nats_url:
        nats_delivery = NatsDeliveryPublisher(
            settings.nats_url,
            stream=settings.nats_delivery_stream,
            subject_prefix=settings.nats_subject_prefix,
        )
        delivery = nats_delivery
        closers.append(nats_delivery.close)
    limits = organization_limits(settings)
    executor = Executor(
        store.unit_of_work,
        audience,
        limiter,
        clock,
        ids,
        owner=f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}",
        templates=templates,
        publisher=delivery,
        organization_limits=lambda _org: limits,
        batch_size=settings.executor_batch_size,
        lease=timedelta(seconds=settings.executor_lease_seconds),
        message_ids=FastMessageIds,
        fanout_scope=older_objects_left_alone,
    )
    outbox = store.delivery_outbox()

    async def schedule() -> int:
        return await fire_due(store.unit_of_work, clock, ids)

    async def deliver() -> int:
        return await deliver_once(outbox, delivery, clock, limit=settings.delivery_batch_size)

    interval = settings.worker_interval
    workers = (
        [
            WorkerLoop("scheduler", schedule, idle_interval=interval),
            WorkerLoop("executor", executor.run_once, idle_interval=interval),
            WorkerLoop(
                "delivery",
                deliver,
                idle_interval=interval,
                busy_threshold=settings.delivery_batch_size,
            ),
        ]
        if settings.executor_enabled
        else []
    )
    return Engine(
        audience_service=AudienceService(
            contacts=contacts,
            segments=segments,
            suppressions=suppressions,
            clock=clock,
        ),
        estimator=AudienceEstimator(
            audience=audience,
            campaigns=store.unit_of_work,
            clock=clock,
            organization_limits=limits,
        ),
        execution_service=ExecutionService(store.unit_of_work, contacts, clock, ids, templates),
        templates=templates,
        audience=audience,
        workers=workers,
        closers=closers,
    )


def _secret(value: object) -> str | None:
    getter = getattr(value, "get_secret_value", None)
    return getter() if getter is not None else None
