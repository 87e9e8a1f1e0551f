"""Running executions: fan an audience out into messages, exactly once, resumable anywhere.

Each batch of recipients (in user_id order) becomes message rows in ONE transaction that also
moves the execution's cursor past the batch, and only while this executor still holds the lease
at the cursor it started from. So after a crash (kill -9 included) the next executor starts at
the last committed batch: every recipient gets their messages once, never twice, never zero.
The messages table is the delivery outbox. Messages due at once are handed over by the
executor itself right after their batch commits (domain.execution.dispatch); deferred ones, and
any whose direct hand-over failed, by the relay (domain.execution.delivery). Messages held by
quiet hours or weekends reserve no rate slot until their window ends; the executor then gives
them slots through the throttle (domain.execution.slots). Pause and cancel take effect at the
next batch boundary: the run then says PAUSED (RUNNING again once resumed, after the slots
missed meanwhile got new ones), or CANCELLED with its unsent messages cancelled.

A recipient whose content fails to render gets a FAILED message with the reason and the run goes
on (domain.execution.planning); an attempt that raises is retried later with a growing delay and
failed for good after a number of attempts (domain.execution.retries), so one broken run never
holds the executors. Planning a batch (rendering every recipient's content) is CPU work done by
the planner: on a worker thread by default, so the event loop keeps answering while a big batch
renders, or in a process of its own where the server has one (another core for a big run).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from domain.audience.model import Recipient
from domain.audience.ports import AudienceSource
from domain.campaigns import scheduling
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import CampaignStatus
from domain.campaigns.ports import HostResolver
from domain.campaigns.store import save_campaign
from domain.campaigns.templates import TemplateSource, templates_of
from domain.campaigns.webhooks import check_destinations
from domain.execution import run_events
from domain.execution.dispatch import DirectDispatch
from domain.execution.frequency_cap import MarketingCaps, split_by_allowance
from domain.execution.held_release import release_slots
from domain.execution.model import (
    Execution,
    ExecutionCounts,
    ExecutionStatus,
    Message,
    MessageIdFactory,
    MessageIds,
    MessageStatus,
    derived_message_ids,
)
from domain.execution.observer import BatchReport, ExecutionObserver, SilentObserver
from domain.execution.pipeline import OneInFlight, PlannedAhead
from domain.execution.planners import ThreadPlanner
from domain.execution.planning import (
    BatchPlan,
    CampaignPlan,
    ContentRenderFailedError,
    Draft,
    draft_message,
    sent_contents,
)
from domain.execution.ports import (
    BatchPlanner,
    DeliveryPublisher,
    ExecutionUnitOfWork,
    ExecutionUnitOfWorkFactory,
    RateLimiter,
)
from domain.execution.retries import RetryPolicy, describe
from domain.execution.slots import LocalRules, place
from domain.execution.throttling import OrganizationLimits, limits_for
from domain.kernel.channels import Channel
from domain.kernel.errors import FailedPreconditionError, NotFoundError, UpstreamFailedError
from domain.kernel.outbox import record
from domain.kernel.ports import Clock, IdGenerator

DEFAULT_BATCH = 10_000
DEFAULT_LEASE = timedelta(seconds=30)
DEFAULT_RETRIES = RetryPolicy()
DELIVERY_POLL = timedelta(seconds=1)
# Messages whose throttle slot is this close are handed over with their batch: publishing a
# batch takes about as long, so the rate still holds over any window longer than this. Later
# slots are left to the relay, which publishes them when they are due.
DISPATCH_HORIZON = timedelta(milliseconds=100)
CANCELLED_BEFORE_SENDING = "campaign cancelled before this message was sent"
# Messages made between two turns of the event loop: a batch's are tens of milliseconds of CPU,
# which the process's RPCs would otherwise wait for (one organization's run slowing another's
# calls).
MESSAGES_PER_TURN = 1_000


# Errors that make a run impossible rather than late: fail the execution, do not retry it.
UNRUNNABLE = (UpstreamFailedError, NotFoundError, FailedPreconditionError)


class LeaseLostError(Exception):
    """Another executor took the execution over; this one must stop without writing."""


# Told of every failed attempt: the execution, the error, the consecutive failures so far, and
# when the run is tried again (None: it failed for good). The server logs it.
FailureReport = Callable[[Execution, Exception, int, datetime | None], None]


def _no_report(
    _execution: Execution, _error: Exception, _attempts: int, _at: datetime | None
) -> None:
    return None


class Executor:
    def __init__(
        self,
        uow: ExecutionUnitOfWorkFactory,
        audience: AudienceSource,
        limiter: RateLimiter,
        clock: Clock,
        ids: IdGenerator,
        *,
        owner: str,
        templates: TemplateSource | None = None,
        publisher: DeliveryPublisher | None = None,
        organization_limits: Callable[[str], OrganizationLimits] = lambda _org: (
            OrganizationLimits()
        ),
        batch_size: int = DEFAULT_BATCH,
        lease: timedelta = DEFAULT_LEASE,
        message_ids: MessageIdFactory = derived_message_ids,
        fanout_scope: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext,
        resolver: HostResolver | None = None,
        retries: RetryPolicy = DEFAULT_RETRIES,
        on_failure: FailureReport = _no_report,
        marketing_caps: MarketingCaps | None = None,
        observer: ExecutionObserver | None = None,
        planner: BatchPlanner | None = None,
    ) -> None:
        """`message_ids` and `fanout_scope` are the run's machinery, not its rules: the server
        passes faster id hashing and garbage-collector tuning (adapters.runtime), which change
        how fast a fan-out goes, never what it writes. `resolver` checks, before a run fans
        out, where its webhooks point (domain.campaigns.webhooks). `retries` says when a failed
        attempt is tried again; `on_failure` hears of each one. `marketing_caps` holds back
        what the organization's cross-campaign frequency cap does not allow
        (domain.execution.frequency_cap). `observer` hears of each run's start, batches and end
        (logs and metrics; domain.execution.observer). `planner` renders each batch (a worker
        thread by default; the server may give it a process of its own, another core)."""
        self._resolver = resolver
        self._uow = uow
        self._audience = audience
        self._limiter = limiter
        self._clock = clock
        self._ids = ids
        self._owner = owner
        self._templates = templates
        self._publisher = publisher
        self._limits = organization_limits
        self._batch = batch_size
        self._lease = lease
        self._message_ids = message_ids
        self._fanout_scope = fanout_scope
        self._retries = retries
        self._on_failure = on_failure
        self._caps = marketing_caps or MarketingCaps()
        self._observer: ExecutionObserver = observer or SilentObserver()
        self._planner: BatchPlanner = planner or ThreadPlanner()

    async def run_once(self) -> bool:
        """Lease one execution and drive it as far as it can go now; False if none was waiting."""
        now = self._clock.now()
        async with self._uow() as uow:
            execution = await uow.executions.lease(self._owner, now, now + self._lease)
            if execution is not None:
                # Claims left by a holder that died between its commit and its mark.
                await uow.messages.release_claims(execution.execution_id)
            await uow.commit()
        if execution is None:
            return False
        retry_at: datetime | None = None
        attempts, last_error = 0, ""
        try:
            retry_at = await self._drive(execution)
        except LeaseLostError:
            return True  # the new owner carries on; nothing of ours was committed
        except Exception as exc:  # any failure of the attempt: it is retried later
            attempts, last_error = execution.attempts + 1, describe(exc)
            retry_at = self._clock.now() + self._retries.delay(attempts)
            gives_up = self._retries.gives_up(attempts, exc)
            self._on_failure(execution, exc, attempts, None if gives_up else retry_at)
            if gives_up:
                await self._finish(
                    execution,
                    ExecutionStatus.FAILED,
                    reason=f"failed {attempts} attempts in a row; the last: {last_error}",
                )
        finally:
            async with self._uow() as uow:
                await uow.executions.release(
                    execution.execution_id,
                    self._owner,
                    retry_at=retry_at or self._clock.now(),
                    attempts=attempts,
                    last_error=last_error,
                )
                await uow.commit()
        return True

    async def _drive(self, execution: Execution) -> datetime | None:
        campaign = await self._campaign(execution)
        if campaign.status is CampaignStatus.CANCELLED:
            await self._finish(execution, ExecutionStatus.CANCELLED)
            return None
        if campaign.status is CampaignStatus.PAUSED:
            await self._pause(execution)  # paused while waiting for its deferred messages
            return None
        if campaign.status is not CampaignStatus.RUNNING:
            return None
        try:
            if execution.status is not ExecutionStatus.RUNNING:
                await self._start(execution, campaign)
            if not execution.fanned_out and await self._fan_out(execution, campaign):
                return None  # paused or cancelled at a batch boundary
        except UNRUNNABLE as exc:
            # The audience or a template cannot be had (EC-CAM-002, an unknown segment): say
            # why on the execution instead of retrying a run that cannot succeed.
            await self._finish(execution, ExecutionStatus.FAILED, reason=f"{exc.reason}: {exc}")
            return None
        await self._release_held(execution, campaign)
        async with self._uow(read_only=True) as uow:
            pending = await uow.messages.any_pending(execution.execution_id)
        if pending:
            self._observer.run_waiting(execution)
            return self._clock.now() + DELIVERY_POLL  # deferred messages are still waiting
        await self._finish(execution, ExecutionStatus.COMPLETED)
        return None

    async def _campaign(self, execution: Execution) -> Campaign:
        async with self._uow(read_only=True) as uow:
            campaign = await uow.campaigns.get(execution.organization_id, execution.campaign_id)
        if campaign is None:  # deleted campaigns cascade to their executions
            raise LeaseLostError(execution.execution_id)
        return campaign

    async def _start(self, execution: Execution, campaign: Campaign) -> None:
        """Start the run, or resume it: a resumed run's messages whose slots passed while it was
        paused are held for new slots from now on, instead of going out at once (the relay
        leaves a paused run alone until this commits)."""
        previous_cursor = execution.cursor
        first_start = execution.started_at is None
        resumed = execution.status is ExecutionStatus.PAUSED
        execution.status = ExecutionStatus.RUNNING
        execution.started_at = execution.started_at or self._clock.now()
        counts = await self._audience.counts(execution.organization_id, campaign.spec.audiences)
        async with self._uow() as uow:
            if resumed:
                await uow.messages.hold_missed(execution.execution_id, self._clock.now())
            await self._save(uow, execution, previous_cursor)
            if first_start:
                started = run_events.started(
                    execution, counts.after_suppression, campaign.spec.holdout_percentage
                )
                await record(uow.outbox, [started], self._ids, self._clock)
            await uow.commit()
        if first_start:
            self._observer.run_started(
                execution, counts.after_suppression, campaign.spec.holdout_percentage
            )

    async def _fan_out(self, execution: Execution, campaign: Campaign) -> bool:
        """Plan, throttle and persist batch after batch; True if paused or cancelled meanwhile."""
        templates = await templates_of(campaign, self._templates)
        # A forbidden webhook destination is a FailedPreconditionError: the run is unrunnable.
        await check_destinations(sent_contents(campaign, templates), self._resolver)
        plan = CampaignPlan.of(campaign, templates)
        batches = self._audience.recipients(
            execution.organization_id,
            campaign.spec.audiences,
            after_user_id=execution.cursor,
            batch_size=self._batch,
        )
        dispatch = (
            DirectDispatch(self._uow, self._publisher, self._clock, execution.execution_id)
            if self._publisher is not None
            else None
        )
        # A batch is written (and handed over) while the next one is planned, and the one after
        # it fetched and planned (domain.execution.pipeline).
        writes = OneInFlight()
        ahead = PlannedAhead(batches, self._planner, plan)
        try:
            with self._fanout_scope():
                async for planned in ahead:
                    current = await self._campaign(execution)
                    if await self._interrupted(execution, current, writes, dispatch):
                        return True
                    if (current.winner_variant_id or "") != plan.winner_variant_id:
                        # An A/B winner was chosen meanwhile: the remaining batches use it.
                        plan = ahead.plan = CampaignPlan.of(current, templates)
                    batch = planned.batch
                    if planned.plan is not plan:  # planned ahead with the plan it replaced
                        batch = await self._planner.plan(plan, planned.recipients)
                    await self._commit_batch(
                        execution,
                        campaign,
                        planned.recipients,
                        batch,
                        writes=writes,
                        dispatch=dispatch,
                    )
            await writes.settle()
            if dispatch is not None:
                await dispatch.drain()
        finally:  # a no-op unless an error left something in flight
            await ahead.aclose()
            await writes.abandon()
            if dispatch is not None:
                await dispatch.abandon()
        previous = execution.cursor
        execution.fanned_out = True
        async with self._uow() as uow:
            await self._save(uow, execution, previous)
            await uow.commit()
        return False

    async def _interrupted(
        self,
        execution: Execution,
        campaign: Campaign,
        writes: OneInFlight,
        dispatch: DirectDispatch | None,
    ) -> bool:
        """Whether `campaign` (just read again) was paused or cancelled under the run."""
        if campaign.status in (CampaignStatus.CANCELLED, CampaignStatus.PAUSED):
            # The batch being written before the stop is committed and handed over.
            await writes.settle()
            if dispatch is not None:
                await dispatch.drain()
        if campaign.status is CampaignStatus.CANCELLED:
            await self._finish(execution, ExecutionStatus.CANCELLED)
            return True
        if campaign.status is CampaignStatus.PAUSED:
            await self._pause(execution)
            return True
        return False

    async def _pause(self, execution: Execution) -> None:
        """The run stopped for its campaign's pause: it says so until it is resumed."""
        execution.status = ExecutionStatus.PAUSED
        async with self._uow() as uow:
            await self._save(uow, execution, execution.cursor)
            await uow.commit()
        self._observer.run_ended(execution, ExecutionStatus.PAUSED, "")

    async def _release_held(self, execution: Execution, campaign: Campaign) -> None:
        """Held messages whose window has ended get their throttle slots now, batch by batch, as
        a fan-out's would: spread at the rate from the window's end, not sent as a burst. A slot
        that falls into the recipient's next window holds the message again until it ends."""
        organization = self._limits(execution.organization_id)
        while True:
            now = self._clock.now()
            async with self._uow(read_only=True) as uow:
                due = await uow.messages.held_due(execution.execution_id, now, self._batch)
            if not due:
                return
            released = await release_slots(
                self._limiter,
                due,
                organization_id=execution.organization_id,
                campaign_id=campaign.campaign_id,
                throttle=campaign.spec.throttle,
                organization=organization,
                now=now,
            )
            async with self._uow() as uow:
                await self._save(uow, execution, execution.cursor)  # only while it is ours
                await uow.messages.release_held(released)
                await uow.commit()
            if len(due) < self._batch:
                return

    async def _commit_batch(
        self,
        execution: Execution,
        campaign: Campaign,
        recipients: Sequence[Recipient],
        batch: BatchPlan,
        *,
        writes: OneInFlight,
        dispatch: DirectDispatch | None,
    ) -> None:
        """Throttle a planned batch, then start writing it once the previous batch's write is
        done."""
        started = time.perf_counter()
        if _broken_for_everyone(execution, batch):
            # The content fails for every recipient so far: fail the run with the reason rather
            # than write a failed message per recipient of the whole audience.
            first = next(d.error for d in batch.drafts if d.error)
            raise ContentRenderFailedError(f"every recipient of the first batch failed: {first}")
        capped = await self._over_cap(execution, batch)
        messages = await self._messages(execution, campaign, batch.drafts)
        messages += capped
        due: list[Message] = []
        later: list[Message] = []
        if dispatch is not None and dispatch.enabled:
            for m in messages:  # QUEUED: its slot is within DISPATCH_HORIZON
                (due if m.status is MessageStatus.QUEUED else later).append(m)
        else:
            later = messages
        await writes.settle()  # the checkpoint moves on from the previous batch's
        previous = execution.cursor
        execution.cursor = batch.last_user_id or previous
        _add_counts(execution.counts, batch)
        checkpoint = dataclasses.replace(execution, counts=dataclasses.replace(execution.counts))
        report = _batch_report(len(recipients), batch.counts.queued, messages, started)
        writes.start(
            self._write_batch(
                checkpoint,
                previous,
                due,
                later,
                dispatch,
                holdout=batch.holdout_user_ids,
                report=report,
            )
        )

    async def _over_cap(self, execution: Execution, batch: BatchPlan) -> list[Message]:
        """Drafts the organization's marketing frequency cap does not allow are taken out of
        the batch and come back as SUPPRESSED messages with the cap as their reason; one query
        for the batch's users, none when the organization has no cap."""
        cap = self._caps.cap_for(execution.organization_id)
        sendable = [d for d in batch.drafts if not d.error]
        if cap is None or not sendable:
            return []
        now = self._clock.now()
        async with self._uow(read_only=True) as uow:
            allowance = await self._caps.allowed(
                uow.messages,
                execution.organization_id,
                (d.recipient.contact.user_id for d in sendable),
                now,
            )
        if allowance is None:
            return []
        kept, over = split_by_allowance(sendable, lambda d: d.recipient.contact.user_id, allowance)
        if not over:
            return []
        batch.drafts = [d for d in batch.drafts if d.error] + kept
        batch.counts.queued -= len(over)
        batch.counts.suppressed += len(over)
        ids = self._message_ids(execution.execution_id)
        return [
            dataclasses.replace(
                _message(execution, d, now, now, ids),
                status=MessageStatus.SUPPRESSED,
                error=cap.reason,
            )
            for d in over
        ]

    async def _write_batch(
        self,
        checkpoint: Execution,
        previous_cursor: str,
        due: Sequence[Message],
        later: Sequence[Message],
        dispatch: DirectDispatch | None,
        *,
        holdout: Sequence[str] = (),
        report: Callable[[], BatchReport] | None = None,
    ) -> None:
        """The batch's messages, its holdout members (and their count) and the checkpoint past
        it, in one        transaction; then the due messages are handed over."""
        async with self._uow() as uow:
            await self._save(uow, checkpoint, previous_cursor)
            await uow.messages.add_many(due, claimed=True)
            await uow.messages.add_many(later)
            if holdout:
                await uow.holdouts.add(
                    checkpoint.organization_id,
                    checkpoint.campaign_id,
                    checkpoint.execution_id,
                    holdout,
                    self._clock.now(),
                )
                await uow.messages.record_holdouts(
                    checkpoint.organization_id,
                    checkpoint.campaign_id,
                    checkpoint.execution_id,
                    len(holdout),
                )
            await uow.commit()
        if dispatch is not None:
            await dispatch.hand_over(due)
        if report is not None:
            self._observer.batch_written(checkpoint, report())

    async def _messages(
        self, execution: Execution, campaign: Campaign, drafts: Sequence[Draft]
    ) -> list[Message]:
        by_channel: dict[Channel, list[Draft]] = defaultdict(list)
        for draft in drafts:
            by_channel[draft.channel].append(draft)
        now = self._clock.now()
        horizon = now + DISPATCH_HORIZON
        throttle = campaign.spec.throttle
        local = LocalRules.of(throttle)  # None: local time defers nothing
        ids = self._message_ids(execution.execution_id)
        out: list[Message] = []
        for channel, drafts_of_channel in by_channel.items():
            group = [d for d in drafts_of_channel if not d.error]
            if len(group) < len(drafts_of_channel):  # failed to render: nothing to throttle
                out += [
                    _failed_message(execution, d, now, ids) for d in drafts_of_channel if d.error
                ]
            if local is not None:
                # Recipients in quiet hours or a weekend now are held until it ends, without a
                # slot: the others get the whole rate meanwhile.
                sendable = []
                for draft in group:
                    until = local.held_until(draft.recipient.contact.timezone, now)
                    if until is None:
                        sendable.append(draft)
                    else:
                        out.append(_held_message(execution, draft, until, now, ids))
                group = sendable
            if not group:
                continue
            limits = limits_for(
                execution.organization_id,
                campaign.campaign_id,
                channel,
                self._limits(execution.organization_id),
                throttle,
            )
            reservation = await self._limiter.reserve(limits, len(group), now)
            for index, draft in enumerate(group):
                if index % MESSAGES_PER_TURN == MESSAGES_PER_TURN - 1:
                    await asyncio.sleep(0)  # the event loop serves the API meanwhile
                send_after, status, held = place(
                    reservation.slot(index), local, draft.recipient.contact.timezone, horizon
                )
                out.append(
                    _message(execution, draft, send_after, now, ids, status=status, held=held)
                )
        return out

    async def _finish(
        self, execution: Execution, status: ExecutionStatus, *, reason: str = ""
    ) -> None:
        now = self._clock.now()
        previous = execution.cursor
        async with self._uow() as uow:
            campaign = await uow.campaigns.get(execution.organization_id, execution.campaign_id)
            await _close_unsent(uow, execution, status, campaign=campaign, reason=reason, now=now)
            totals = await uow.messages.status_counts(execution.execution_id)
            execution.status = status
            execution.completed_at = now
            execution.failure_reason = reason
            await self._save(uow, execution, previous)
            if campaign is not None and status is not ExecutionStatus.CANCELLED:
                campaign.finish_execution(
                    at=now,
                    next_run_at=_next_firing(campaign, now),
                    outcome=run_events.outcome(execution, status, totals, reason),
                )
                await save_campaign(uow, campaign, self._ids, self._clock)
            await uow.commit()
        self._observer.run_ended(execution, status, reason)

    async def _save(
        self, uow: ExecutionUnitOfWork, execution: Execution, expected_cursor: str
    ) -> None:
        until = self._clock.now() + self._lease
        if not await uow.executions.save(
            execution, owner=self._owner, expected_cursor=expected_cursor, lease_until=until
        ):
            raise LeaseLostError(execution.execution_id)


async def _close_unsent(
    uow: ExecutionUnitOfWork,
    execution: Execution,
    status: ExecutionStatus,
    *,
    campaign: Campaign | None,
    reason: str,
    now: datetime,
) -> None:
    """A cancelled run's unsent messages are cancelled, with the campaign's reason: none of them
    is handed over after. A failed run's held messages fail (nobody would release them); its
    queued and deferred ones keep their slots and go out, as before."""
    if status is ExecutionStatus.CANCELLED:
        why = campaign.cancel_reason if campaign is not None else ""
        error = f"{CANCELLED_BEFORE_SENDING}: {why}" if why else CANCELLED_BEFORE_SENDING
        await uow.messages.close_unsent(
            execution.execution_id, MessageStatus.CANCELLED, error, now, held_only=False
        )
    elif status is ExecutionStatus.FAILED:
        await uow.messages.close_unsent(
            execution.execution_id,
            MessageStatus.FAILED,
            f"the run failed before this message was released: {reason}",
            now,
            held_only=True,
        )


def _batch_report(
    recipients: int, queued: int, messages: Sequence[Message], started: float
) -> Callable[[], BatchReport]:
    """The batch's report, its time taken when called (once the batch is written)."""
    deferred = Counter(m.channel for m in messages if m.status is MessageStatus.DEFERRED)
    return lambda: BatchReport(
        recipients=recipients,
        queued=queued,
        deferred_by_channel=tuple(deferred.items()),
        seconds=time.perf_counter() - started,
    )


def _add_counts(total: ExecutionCounts, batch: BatchPlan) -> None:
    for field in dataclasses.fields(ExecutionCounts):
        setattr(total, field.name, getattr(total, field.name) + getattr(batch.counts, field.name))


def _broken_for_everyone(execution: Execution, batch: BatchPlan) -> bool:
    """Nothing of the run was written yet, and every message of this batch failed to render."""
    done = execution.counts
    return (
        done.queued == 0
        and done.failed == 0
        and batch.counts.failed > 0
        and batch.counts.queued == 0
    )


def _failed_message(execution: Execution, draft: Draft, now: datetime, ids: MessageIds) -> Message:
    """Stored as FAILED with the reason: never throttled, handed over or retried."""
    return dataclasses.replace(
        _message(execution, draft, now, now, ids),
        status=MessageStatus.FAILED,
        failed_at=now,
        error=draft.error,
    )


def _held_message(
    execution: Execution, draft: Draft, until: datetime, now: datetime, ids: MessageIds
) -> Message:
    """DEFERRED until its recipient's window ends, with no throttle slot yet."""
    return _message(execution, draft, until, now, ids, status=MessageStatus.DEFERRED, held=True)


def _message(
    execution: Execution,
    draft: Draft,
    send_after: datetime,
    now: datetime,
    ids: MessageIds,
    *,
    status: MessageStatus = MessageStatus.QUEUED,
    held: bool = False,
) -> Message:
    return draft_message(
        draft,
        message_id=ids(draft.recipient.contact.user_id, draft.channel),
        execution_id=execution.execution_id,
        campaign_id=execution.campaign_id,
        organization_id=execution.organization_id,
        send_after=send_after,
        now=now,
        status=status,
        held=held,
    )


def _next_firing(campaign: Campaign, now: datetime) -> datetime | None:
    schedule = campaign.schedule
    if schedule is None or schedule.cron is None:
        return None
    return scheduling.next_cron_firing(schedule.cron, now)
