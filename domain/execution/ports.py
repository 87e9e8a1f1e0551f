"""Ports of the execution context: runs, messages, rate limits and delivery."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from domain.audience.model import Recipient
from domain.campaigns.ports import UnitOfWork
from domain.execution.feedback import Applied, Report
from domain.execution.model import Execution, Held, Message, MessageStatus
from domain.execution.planning import BatchPlan, CampaignPlan
from domain.execution.throttling import Limit, Reservation


class RateLimiter(Protocol):
    """Shared by every replica (Redis) or local (embedded): GCRA arithmetic of
    domain.execution.throttling.reserve, applied atomically."""

    async def reserve(self, limits: Sequence[Limit], count: int, now: datetime) -> Reservation:
        """Raises DependencyUnavailableError when the limiter cannot be reached: the caller
        defers the batch, never sends it unthrottled."""


class ReseedableRateLimiter(RateLimiter, Protocol):
    """A limiter that can tell it lost its state (domain.execution.reseeding): `reserve` then
    raises LimiterStateLostError until `seed` ran."""

    async def seed(self, arrivals: Mapping[str, datetime], now: datetime) -> None:
        """Raise each key's arrival time to at least the given one (never lower it) and mark
        the state as whole again, atomically."""


class ReservationLog(Protocol):
    """The durable record of the latest arrival time per limit key (the service's database)."""

    async def record(self, arrivals: Mapping[str, datetime]) -> None:
        """Keep, per key, the later of the stored and the given arrival time."""

    async def latest(self, now: datetime) -> dict[str, datetime]:
        """Every recorded arrival time later than `now` (earlier ones mean "free now")."""


class ExecutionRepository(Protocol):
    async def add(self, execution: Execution) -> bool:
        """Insert; False when this campaign already has an execution for the same due_at (a
        second scheduler lost the race for this firing)."""

    async def get(self, organization_id: str, execution_id: str) -> Execution | None: ...

    async def list(
        self, organization_id: str, campaign_id: str, *, after: str = "", limit: int = 50
    ) -> tuple[Sequence[Execution], str]: ...

    async def lease(self, owner: str, now: datetime, until: datetime) -> Execution | None:
        """Take one execution that needs an executor (its campaign running or cancelled, or
        paused while the run does not say so yet; nobody holding a live lease, its next attempt
        due), skipping rows other replicas are taking
        right now. Fair: an organization none of whose runs is leased right now goes first,
        then the earliest next attempt (a released run goes to the back of the queue)."""

    async def save(
        self,
        execution: Execution,
        *,
        owner: str,
        expected_cursor: str,
        lease_until: datetime | None = None,
    ) -> bool:
        """Write progress (and extend the lease) if `owner` still holds the lease and nobody
        moved the cursor; False otherwise: the caller must roll back, another executor owns
        this execution now."""

    async def release(
        self,
        execution_id: str,
        owner: str,
        *,
        retry_at: datetime,
        attempts: int = 0,
        last_error: str = "",
    ) -> None:
        """Give the execution up until `retry_at` (its next attempt: now for a run that yields
        its turn, later while deferred messages wait or after a failure), recording the
        consecutive failed `attempts` so far and the latest failure's reason."""


class MessageRepository(Protocol):
    async def add_many(
        self,
        messages: Sequence[Message],
        idempotency_key: str | None = None,
        *,
        claimed: bool = False,
    ) -> None:
        """Bulk insert (COPY on Postgres). Ids are derived, so a replayed batch collides.
        `idempotency_key` tags a single transactional message. `claimed` messages are queued
        but left out of the delivery relay's claims: their writer hands them over itself right
        after the commit, then marks them (`mark_claimed`) or gives them back (`release_claims`).
        """

    async def record_holdouts(
        self, organization_id: str, campaign_id: str, execution_id: str, count: int
    ) -> None:
        """`count` recipients of the execution were held out (they get no message): counted
        beside its messages' counters, in the caller's transaction (docs/metrics.md)."""

    async def mark_claimed(
        self, message_ids: Sequence[str], status: MessageStatus, at: datetime
    ) -> int:
        """A claimed batch handed over (`sent`); how many of its messages it had. Messages a
        report reached first read their own status already and are left as they are, so the
        mark never moves a message back (domain.execution.feedback). `message_ids` are those
        of one `add_many(claimed=True)`, whole and in order: a batch is marked as one, which is
        what keeps the mark cheap."""

    async def release_claims(self, execution_id: str) -> int:
        """The execution's claimed messages back to the relay: after a failed hand-over, or
        left by an executor that died between its commit and its mark. Only the execution's
        lease holder may call it."""

    async def apply_report(
        self, organization_id: str, message_id: str, report: Report
    ) -> Applied | None:
        """Apply one delivery report (domain.execution.feedback.advance) to the organization's
        message, in the caller's transaction, holding the row until it ends so concurrent
        reports on other replicas apply one after the other; None for a message the
        organization does not have. A message still claimed by its batch (`mark_claimed`) reads
        its own status from then on."""

    async def apply_reports(
        self, reports: Sequence[tuple[str, str, Report]]
    ) -> list[Applied | None]:
        """`apply_report` for each (organization_id, message_id, report), in order, in a few
        statements for the whole list (the sandbox reports a hand-over batch at once)."""

    async def add_fallback(self, message: Message) -> bool:
        """Insert one fallback message (its `fallback_of` set) unless its id exists already;
        whether it was new."""

    async def get(self, organization_id: str, message_id: str) -> Message | None: ...

    async def by_idempotency_key(
        self, organization_id: str, campaign_id: str, key: str
    ) -> Message | None: ...

    async def list(
        self,
        organization_id: str,
        campaign_id: str,
        *,
        execution_id: str = "",
        user_id: str = "",
        statuses: Sequence[MessageStatus] = (),
        after: str = "",
        limit: int = 50,
    ) -> tuple[Sequence[Message], str]: ...

    async def any_pending(self, execution_id: str) -> bool:
        """Whether messages of the execution still wait to be handed to delivery (queued,
        deferred or held)."""

    async def held_due(
        self, execution_id: str, now: datetime, limit: int, *, not_before: datetime | None = None
    ) -> Sequence[Held]:
        """The execution's held messages whose window has ended by `now`, earliest first; with
        `not_before`, only those due from then on (a caller that knows the earlier ones are
        gone skips them: a store's index of held rows keeps the released ones for a while)."""

    async def claim_held_due(
        self,
        execution_id: str,
        now: datetime,
        limit: int,
        *,
        until: datetime,
        not_before: datetime | None = None,
    ) -> Sequence[Held]:
        """Like `held_due`, across every campaign whose messages share `execution_id`, and
        claimed: their `send_after` moves to `until` (still held) in the caller's transaction,
        skipping rows another replica is claiming, so replicas releasing together split the
        work. A claimer that dies leaves them held: due again at `until`."""

    async def release_held(self, released: Sequence[Held]) -> None:
        """Write each held message's new `send_after`: its slot (it is deferred from then on),
        or the end of the next window when `held` is still set. A message no longer held is
        left alone."""

    async def cancel_held(self, message_ids: Sequence[str], error: str) -> int:
        """Cancel these messages, with `error`, if they are still held (the held messages of a
        cancelled campaign's trigger); how many were."""

    async def hold_missed(self, execution_id: str, now: datetime) -> int:
        """Hold (until `now`) the execution's queued and deferred messages whose slot has passed
        unsent (a resumed run's slots missed while paused): they get new slots on release."""

    async def close_unsent(
        self, execution_id: str, status: MessageStatus, error: str, at: datetime, *, held_only: bool
    ) -> int:
        """Give the execution's messages that were not handed over (queued, deferred, held; only
        the held ones with `held_only`) the final `status` (cancelled, failed) and `error`;
        `at` is their failed_at when `status` is failed. How many were closed."""

    async def status_counts(self, execution_id: str) -> dict[MessageStatus, int]: ...

    async def marketing_counts(
        self, organization_id: str, user_ids: Sequence[str], since: datetime
    ) -> dict[str, int]:
        """domain.execution.frequency_cap.MarketingCounter: per user, the marketing messages
        queued since `since` that count against the organization's cap."""


class HoldoutLog(Protocol):
    """The recipients a run held out (they get no message), written with the batch that held
    them out: the baseline a conversion of theirs is counted against (docs/conversions.md)."""

    async def add(
        self,
        organization_id: str,
        campaign_id: str,
        execution_id: str,
        user_ids: Sequence[str],
        at: datetime,
    ) -> None:
        """Record the members in the caller's transaction, in one statement; a member recorded
        already (a batch written again after a restart) is left as it is."""


class ExecutionUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also reaches executions and messages (the SQL adapters)."""

    @property
    def executions(self) -> ExecutionRepository: ...

    @property
    def messages(self) -> MessageRepository: ...

    @property
    def holdouts(self) -> HoldoutLog: ...

    async def __aenter__(self) -> ExecutionUnitOfWork: ...


class ExecutionUnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> ExecutionUnitOfWork: ...


class DeliveryBatch(Protocol):
    @property
    def messages(self) -> Sequence[Message]: ...

    async def mark_handed_over(self, status: MessageStatus) -> None:
        """`sent` after the broker acknowledged; `delivered` for the sandbox."""


class DeliveryOutbox(Protocol):
    def claim_due(self, now: datetime, limit: int) -> AbstractAsyncContextManager[DeliveryBatch]:
        """Queued and deferred (never held) messages whose send_after has come, of campaigns not
        paused or cancelled and of runs not paused (a resumed run's executor gives the slots
        missed while paused new ones first)."""

    def hand_over_held(
        self, due: Sequence[Message], now: datetime, status: MessageStatus
    ) -> AbstractAsyncContextManager[Sequence[Message]]:
        """Those of `due` (messages just stored held, whose slot has come) still held and of a
        campaign neither paused nor cancelled, marked handed over (`status`, counted) and given
        to the block, which publishes them: kept when the block ends, undone when it raises (the
        rows locked meanwhile, as a relay's claim locks them). What a trigger's firing hands
        over right after its commit (domain.events.trigger_handover)."""


class DeliveryPublisher(Protocol):
    """Hands messages to the notification service; at least once, deduplicated by message id."""

    @property
    def handed_over_status(self) -> MessageStatus: ...

    async def publish(self, messages: Sequence[Message]) -> None: ...

    async def handed_over(self, messages: Sequence[Message]) -> None:
        """Called once the published messages' mark (`handed_over_status`) is committed. The
        sandbox reports them delivered here, through the event intake as a provider would
        (adapters/embedded/sandbox_delivery.py); a real broker has nothing to do."""


class BatchPlanner(Protocol):
    """Where a batch of recipients becomes drafts (domain.execution.planning.plan_batch): CPU
    work that must never hold the event loop. In a worker thread by default
    (domain.execution.planners); the server may plan in a process of its own
    (adapters.runtime.planning_process), which is another core for a big run."""

    async def plan(self, plan: CampaignPlan, recipients: Sequence[Recipient]) -> BatchPlan:
        """The same BatchPlan `plan_batch(plan, recipients)` returns, wherever it is made."""


class DeliveryTracker(Protocol):
    """Makes the tracked copies of messages for their hand-over (domain.execution.tracked_content):
    the same copies `tracked` makes, wherever they are made."""

    async def track(self, messages: Sequence[Message]) -> list[Message]: ...
