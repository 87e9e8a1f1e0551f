"""The domain services the servicers call and the background workers that run campaigns, built
on the ports the settings chose."""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from domain.audience.service import AudienceService
from domain.campaigns.rendering import RenderBudget, configure_budget
from domain.campaigns.service import CampaignService
from domain.events.intake import EventIntake
from domain.events.tracking import EventTracking
from domain.events.tracking_hits import TrackingHits
from domain.events.trigger_handover import TriggerHandOver
from domain.events.trigger_queries import TriggerEvaluations
from domain.events.trigger_release import TriggerRelease
from domain.execution.delivery import deliver_once
from domain.execution.estimate import AudienceEstimator
from domain.execution.executor import Executor
from domain.execution.model import Execution
from domain.execution.observer import ExecutionObserver, ObserverFanOut
from domain.execution.retries import RetryPolicy, describe
from domain.execution.scheduler import fire_due
from domain.execution.send_now import SendNow
from domain.execution.service import ExecutionService
from domain.execution.throttling import OrganizationLimits
from domain.metrics.experiment_service import ExperimentService
from domain.metrics.reading import CampaignMetricsReader
from domain.metrics.streams import LiveMetrics
from server.composition.events import event_intake, inbound_workers
from server.composition.factories import Ports, report_sandbox_deliveries
from server.composition.limits import marketing_caps, organization_limits
from server.composition.live_metrics import live_metrics
from server.observability.execution_metrics import ExecutionMetrics
from server.observability.prometheus import ServiceMetrics
from server.observability.run_log import RunLog
from server.settings import Settings
from server.workers.loop import WorkerLoop
from server.workers.outbox_relay import OutboxRelayWorker
from server.workers.spans import ExecutionSpans, traced
from server.workers.trigger_handover import TriggerHandOverLoop

log = structlog.get_logger("campaign.executor")
TRIGGER_RELEASE = "trigger-release"
DELIVERY = "delivery"
# In a worker process other than worker 0, the trigger hand-over runs when this process's intake
# took an event, and otherwise only this seldom: polling is worker 0's job.
HANDOVER_POLL_SECONDS = 60.0


@dataclass(frozen=True)
class Services:
    campaigns: CampaignService
    audiences: AudienceService
    estimator: AudienceEstimator
    executions: ExecutionService
    send_now: SendNow
    evaluations: TriggerEvaluations  # ListTriggerEvaluations
    experiments: ExperimentService  # GetExperimentResults and the automatic winner rule
    relay: OutboxRelayWorker
    # One set per server (worker 0): scheduler, executor, delivery, trigger release,
    # auto-winner (none when the executor is off)
    workers: list[WorkerLoop]
    intake: EventIntake
    tracking: EventTracking
    live_metrics: LiveMetrics
    metrics: CampaignMetricsReader  # GetCampaignMetrics
    hits: TrackingHits | None = None  # the tracking links' hits (server/http/routes.py)
    # Run by every process, worker processes included (docs/worker-processes.md): the NATS
    # consumers, and outside worker 0 the hand-over of the triggers its own intake fired.
    per_process: tuple[WorkerLoop, ...] = ()


def render_budget(settings: Settings) -> RenderBudget:
    return RenderBudget(
        cpu_ms=settings.template_render_ms,
        max_output_chars=settings.template_max_output_chars,
        max_loop_iterations=settings.template_max_loop_iterations,
    )


def build_services(
    settings: Settings,
    ports: Ports,
    *,
    metrics: ServiceMetrics | None = None,
    background: bool = True,
) -> Services:
    """`metrics`: where the engine's runs are counted (/metrics); none in tests that skip it.
    `background`: False in every worker process but worker 0, which has no engine of its own,
    only the hand-over of the triggers its intake fires (`trigger_handover`)."""
    limits = organization_limits(settings)
    configure_budget(render_budget(settings))
    # Each run's story for operators (logs), a span per fan-out batch
    # (docs/observability-traces.md) and its figures (metrics).
    observers: list[ExecutionObserver] = [
        RunLog(interval=settings.log_progress_seconds),
        ExecutionSpans(),
    ]
    if metrics is not None:
        observers.append(ExecutionMetrics(metrics))
    engine: list[WorkerLoop] = []
    handover: list[WorkerLoop] = []
    if settings.executor_enabled and background:
        engine = execution_workers(settings, ports, limits, ObserverFanOut(observers))
    elif settings.executor_enabled:
        handover = trigger_handover(settings, ports, limits, poll=HANDOVER_POLL_SECONDS)
    direct = next((w for w in engine + handover if isinstance(w, TriggerHandOverLoop)), None)
    # A trigger's messages due at once go from the intake's commit straight to delivery; the
    # release only takes those the hand-over never got to (docs/triggers.md, "Hand-over").
    intake = event_intake(settings, ports, hand_over=direct.submit if direct else None)
    report_sandbox_deliveries(ports.delivery, intake)
    campaigns = CampaignService(
        ports.unit_of_work,
        ports.clock,
        ports.ids,
        min_schedule_lead=timedelta(seconds=settings.schedule_min_lead_seconds),
        min_cron_interval=timedelta(seconds=settings.cron_min_interval_seconds),
        templates=ports.templates,
        audience=ports.audience,
        reads=ports.campaign_reads,
        new_campaigns=ports.new_campaigns,
    )
    experiments = ExperimentService(ports.unit_of_work, ports.metric_ledger, ports.clock, ports.ids)
    if engine:
        engine.append(auto_winner_worker(settings, experiments))
    relay = OutboxRelayWorker(
        ports.event_outbox, ports.events, poll_interval=settings.outbox_poll_interval
    )
    return Services(
        campaigns=campaigns,
        audiences=AudienceService(
            contacts=ports.contacts,
            segments=ports.segments,
            suppressions=ports.suppressions,
            clock=ports.clock,
            max_contacts_per_stream=settings.upsert_max_contacts,
        ),
        estimator=AudienceEstimator(
            audience=ports.audience,
            campaigns=ports.unit_of_work,
            clock=ports.clock,
            organization_limits=limits,
        ),
        executions=ExecutionService(
            ports.unit_of_work,
            ports.contacts,
            ports.clock,
            ports.ids,
            ports.templates,
            resolver=ports.resolver,
            suppressions=ports.suppressions,
        ),
        send_now=SendNow(ports.unit_of_work, campaigns, ports.clock, ports.ids),
        evaluations=TriggerEvaluations(ports.unit_of_work),
        experiments=experiments,
        relay=relay,
        workers=engine,
        intake=intake,
        tracking=EventTracking(intake, ports.clock),
        live_metrics=live_metrics(ports, ports.metric_ledger),
        metrics=CampaignMetricsReader(ports.unit_of_work),
        hits=TrackingHits(
            intake,
            ports.tracking,
            ports.unit_of_work,
            ports.clock,
            ports.ids,
            # campaign.message.unsubscribed goes out now, not at the relay's next poll
            on_unsubscribed=relay.wake,
        )
        if ports.tracking is not None
        else None,
        per_process=(*inbound_workers(ports, intake), *handover),
    )


def auto_winner_worker(settings: Settings, experiments: ExperimentService) -> WorkerLoop:
    """The automatic A/B winner rule (docs/experiments.md): a page of waiting campaigns per step,
    pages back to back through a round, then a pause of CAMPAIGN_AUTO_WINNER_INTERVAL."""
    page = settings.auto_winner_page

    async def decide() -> int:
        return await experiments.decide_waiting(page)

    return WorkerLoop(
        "auto-winner",
        traced("auto-winner step", decide),
        idle_interval=settings.auto_winner_interval,
        busy_threshold=page,
    )


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        base_delay=timedelta(seconds=settings.executor_retry_base_seconds),
        max_delay=timedelta(seconds=settings.executor_retry_max_seconds),
        max_attempts=settings.executor_max_attempts,
    )


def log_failed_attempt(
    execution: Execution, error: Exception, attempts: int, retry_at: datetime | None
) -> None:
    log.warning(
        "execution attempt failed" if retry_at else "execution failed for good",
        execution_id=execution.execution_id,
        campaign_id=execution.campaign_id,
        organization_id=execution.organization_id,
        attempts=attempts,
        retry_at=retry_at.isoformat() if retry_at else None,
        error=describe(error),
        exc_info=error,
    )


def execution_workers(
    settings: Settings,
    ports: Ports,
    limits: OrganizationLimits,
    observer: ExecutionObserver | None = None,
) -> list[WorkerLoop]:
    executor = Executor(
        ports.unit_of_work,
        ports.audience,
        ports.limiter,
        ports.clock,
        ports.ids,
        owner=f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}",
        templates=ports.templates,
        publisher=ports.delivery,
        organization_limits=lambda _org: limits,
        batch_size=settings.executor_batch_size,
        lease=timedelta(seconds=settings.executor_lease_seconds),
        message_ids=ports.message_ids,
        fanout_scope=ports.fanout_scope,
        resolver=ports.resolver,
        retries=retry_policy(settings),
        on_failure=log_failed_attempt,
        marketing_caps=marketing_caps(settings),
        observer=observer,
        planner=ports.planner,
    )

    async def schedule() -> int:
        return await fire_due(ports.unit_of_work, ports.clock, ports.ids)

    interval = settings.worker_interval
    return [
        WorkerLoop("scheduler", traced("scheduler tick", schedule), idle_interval=interval),
        WorkerLoop("executor", traced("executor step", executor.run_once), idle_interval=interval),
        *trigger_handover(settings, ports, limits, poll=interval),
    ]


def trigger_handover(
    settings: Settings, ports: Ports, limits: OrganizationLimits, *, poll: float
) -> list[WorkerLoop]:
    """The delivery relay and the trigger release, polling every `poll` seconds, and the direct
    hand-over of what this process's intake fired, run when the intake's commit submits it; the
    release and the hand-over wake the relay when they gave slots. Worker 0 (or the single
    process) polls at CAMPAIGN_WORKER_INTERVAL; every other worker process rarely (its hand-over
    is what sends its triggers' messages at once). All are safe to run in several processes, as
    in several replicas: a release claims its rows (SKIP LOCKED on Postgres, the one writer on
    SQLite), a hand-over too, and JetStream drops a repeated delivery request by its message
    id."""

    async def deliver() -> int:
        return await deliver_once(
            ports.delivery_outbox, ports.delivery, ports.clock, limit=settings.delivery_batch_size
        )

    release = TriggerRelease(
        ports.unit_of_work,
        ports.limiter,
        ports.clock,
        organization_limits=lambda _org: limits,
        batch_size=settings.delivery_batch_size,
    )
    delivery = WorkerLoop(
        DELIVERY,
        traced("delivery relay", deliver),
        idle_interval=poll,
        busy_threshold=settings.delivery_batch_size,
    )

    async def release_held() -> int:
        released = await release.run_once()
        if released:
            delivery.wake()  # slots that are due now go out without waiting for a poll
        return released

    direct = TriggerHandOver(
        ports.unit_of_work,
        ports.delivery_outbox,
        ports.delivery,
        ports.limiter,
        ports.clock,
        organization_limits=lambda _org: limits,
        on_slotted=delivery.wake,
    )
    return [
        delivery,
        TriggerHandOverLoop(direct, idle_interval=poll),
        # Held trigger messages whose delay (or quiet hours) ended get their throttle slots.
        WorkerLoop(
            TRIGGER_RELEASE,
            traced("trigger release", release_held),
            idle_interval=poll,
            busy_threshold=settings.delivery_batch_size,
        ),
    ]
