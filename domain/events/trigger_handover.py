"""The direct hand-over of a trigger's messages that are due at once (docs/triggers.md,
"Hand-over"): from the intake's commit straight to delivery, in this process.

Through the trigger release and the relay, such a message took four more transactions after the
one that stored it (the release's read, its claim, its write of the slot; the relay's claim and
mark), two of them scans of the held and due indexes, each started when the worker before it
woke: most of an event's latency, and at a few hundred events a second the database's busiest
work (docs/performance.md). Here the firing stores the message held under a claim of
CLAIM_LEASE (as the release claims), tells this hand-over after its commit (EventsUnitOfWork.
on_commit), and the hand-over reserves its throttle slot and, if the slot has come, marks it
handed over and publishes it in one transaction (DeliveryOutbox.hand_over_held), from memory.

Nothing depends on it. A message it never gets to (the process died, the queue was full, the
limiter failed) is still held: the trigger release takes it when the claim runs out, at most
CLAIM_LEASE late, exactly as before. A slot within DISPATCH_HORIZON goes at once, as a run's
batch does (the rate holds over any longer window); a later one, or one that falls into quiet
hours, is written as the release writes it, and the relay hands it over at its time. A failed
publish gives the messages their slots for the relay to retry with its backoff (the mark is
undone with it). The mark only takes rows still held of a campaign neither paused nor cancelled,
under the row locks a cancel waits for, so a cancelled campaign's message is not handed over;
and a message handed over twice (this hand-over and a release after a lost commit) is one
delivery request, the broker dropping the repeat by message id.

Submissions queue up while a hand-over is in flight and go together in the next: the busier
the intake, the fewer transactions per message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime

from domain.campaigns.campaign import Campaign
from domain.execution.executor import DISPATCH_HORIZON
from domain.execution.held_release import release_slots
from domain.execution.model import Held, Message, MessageStatus
from domain.execution.ports import (
    DeliveryOutbox,
    DeliveryPublisher,
    ExecutionUnitOfWorkFactory,
    RateLimiter,
)
from domain.execution.throttling import OrganizationLimits
from domain.kernel.errors import DependencyUnavailableError
from domain.kernel.ports import Clock

MAX_WAITING = 10_000  # messages queued for a hand-over; beyond, the release takes them


class TriggerHandOver:
    def __init__(
        self,
        uow: ExecutionUnitOfWorkFactory,
        outbox: DeliveryOutbox,
        publisher: DeliveryPublisher,
        limiter: RateLimiter,
        clock: Clock,
        *,
        organization_limits: Callable[[str], OrganizationLimits] = lambda _org: (
            OrganizationLimits()
        ),
        on_slotted: Callable[[], None] = lambda: None,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        """`on_slotted` is told when messages got a slot the relay hands over (a later one,
        or after a failed publish): the server wakes the relay."""
        self._uow = uow
        self._outbox = outbox
        self._publisher = publisher
        self._limiter = limiter
        self._clock = clock
        self._limits = organization_limits
        self._on_slotted = on_slotted
        self._max_waiting = max_waiting
        self._waiting: list[tuple[Campaign, Sequence[Message]]] = []
        self._count = 0

    def submit(self, campaign: Campaign, messages: Sequence[Message]) -> bool:
        """Queue one campaign's just-committed messages (stored held under a claim); False when
        the queue is full, and they are left to the trigger release."""
        if not messages or self._count + len(messages) > self._max_waiting:
            return False
        self._waiting.append((campaign, messages))
        self._count += len(messages)
        return True

    async def run_once(self) -> int:
        """Hand over everything queued so far; how many messages were taken."""
        waiting, self._waiting, self._count = self._waiting, [], 0
        if not waiting:
            return 0
        now = self._clock.now()
        horizon = now + DISPATCH_HORIZON  # as a run hands over its batch's near slots
        due: list[Message] = []
        later: list[Held] = []
        for campaign, group in _by_campaign(waiting):
            slotted = await release_slots(
                self._limiter,
                [_held(m) for m in group],
                organization_id=campaign.organization_id,
                campaign_id=campaign.campaign_id,
                throttle=campaign.spec.throttle,
                organization=self._limits(campaign.organization_id),
                now=now,
            )
            by_id = {m.message_id: m for m in group}  # the slots come grouped by channel
            for held in slotted:
                if held.held or held.send_after > horizon:
                    later.append(held)
                else:
                    due.append(_queued(by_id[held.message_id], held.send_after))
        await self._release(later)
        if due:
            await self._hand_over(due, now)
        return sum(len(group) for _, group in waiting)

    async def _hand_over(self, due: Sequence[Message], now: datetime) -> None:
        status = self._publisher.handed_over_status
        try:
            async with self._outbox.hand_over_held(due, now, status) as handed:
                if handed:
                    await self._publisher.publish(handed)
        except DependencyUnavailableError:
            # The broker (or the database) failed: the relay retries with its backoff. If the
            # release fails too, the rows stay held and the trigger release takes them.
            await self._release([_held(m, held=False) for m in due])
            raise
        if handed:
            await self._publisher.handed_over(handed)  # after the commit, as the relay does

    async def _release(self, slotted: Sequence[Held]) -> None:
        if not slotted:
            return
        async with self._uow() as uow:
            await uow.messages.release_held(slotted)
            await uow.commit()
        if any(not h.held for h in slotted):
            self._on_slotted()


def _by_campaign(
    waiting: Sequence[tuple[Campaign, Sequence[Message]]],
) -> list[tuple[Campaign, list[Message]]]:
    """One group per campaign (its throttle's slots are reserved together), first come first."""
    groups: dict[str, tuple[Campaign, list[Message]]] = {}
    for campaign, messages in waiting:
        groups.setdefault(campaign.campaign_id, (campaign, []))[1].extend(messages)
    return list(groups.values())


def _held(message: Message, *, held: bool = True) -> Held:
    return Held(
        message_id=message.message_id,
        channel=message.channel,
        timezone=message.timezone,
        send_after=message.send_after,
        held=held,
        organization_id=message.organization_id,
        campaign_id=message.campaign_id,
    )


def _queued(message: Message, slot: datetime) -> Message:
    """The message as handed over: queued at its slot, as the relay would read it back."""
    return dataclasses.replace(message, status=MessageStatus.QUEUED, held=False, send_after=slot)
