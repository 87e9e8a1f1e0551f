"""The release of held trigger messages (docs/triggers.md, "Delay"): a trigger's delayed message
waits in its row, held until its time; when that time has come this gives it a throttle slot
(domain.execution.held_release, as the executor does for a run's held messages) and the
delivery relay hands it over at the slot. The row is the timer: a restart loses nothing, and a
message released twice is released once (the write only moves a row that is still held).

Replicas split the due messages: each claims a batch (its rows' `send_after` moves ten seconds
ahead, still held, skipping rows another replica is claiming) before reserving slots, so no slot
is reserved twice; a replica that dies after its claim leaves the rows held, due again when the
claim runs out. A paused campaign's held messages stay held (looked at again a minute later); a
cancelled one's are cancelled.

Where to look from: a held row's `send_after` only ever moves forward (a claim, a pause), and a
new one is written due at its creation time or later. So once a pass found no more due rows than
it took, every row due before then (less SCAN_MARGIN, for transactions still open) is gone, and
the next passes look from there: the store's index of held rows keeps every released row's entry
until it is vacuumed, and a scan from the start walked them all, on every pass, which was most of
the database's work at a few hundred events a second (docs/performance.md). Every FULL_RESCAN a
pass looks from the start again, so a row this misses (written by a transaction open longer than
the margin, or by a replica whose clock is behind) waits at most that long.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from domain.campaigns.campaign import Campaign
from domain.campaigns.model import CampaignStatus
from domain.execution.held_release import release_slots
from domain.execution.model import TRIGGERED_EXECUTION, Held
from domain.execution.ports import ExecutionUnitOfWorkFactory, RateLimiter
from domain.execution.throttling import OrganizationLimits
from domain.kernel.ports import Clock

DEFAULT_BATCH = 1_000
PAUSED_RECHECK = timedelta(minutes=1)
CLAIM_LEASE = timedelta(seconds=10)
SCAN_MARGIN = timedelta(seconds=5)
FULL_RESCAN = timedelta(seconds=10)
CANCELLED_BEFORE_SENDING = "campaign cancelled before this triggered message was sent"


class TriggerRelease:
    def __init__(
        self,
        uow: ExecutionUnitOfWorkFactory,
        limiter: RateLimiter,
        clock: Clock,
        *,
        organization_limits: Callable[[str], OrganizationLimits] = lambda _org: (
            OrganizationLimits()
        ),
        batch_size: int = DEFAULT_BATCH,
    ) -> None:
        self._uow = uow
        self._limiter = limiter
        self._clock = clock
        self._limits = organization_limits
        self._batch = batch_size
        # Where passes look from (see the module docstring); None: from the start.
        self._scan_from: datetime | None = None
        self._rescan_at: datetime | None = None

    async def run_once(self) -> int:
        """Release one batch of due held trigger messages; how many were looked at (a worker
        loop polls again at once while batches come full)."""
        now = self._clock.now()
        since = self._since(now)
        # A read first: the claim is a write (on SQLite, the database's one write lock), and
        # most polls find nothing due.
        async with self._uow(read_only=True) as uow:
            if not await uow.messages.held_due(TRIGGERED_EXECUTION, now, 1, not_before=since):
                self._scan_from = now - SCAN_MARGIN
                return 0
        async with self._uow() as uow:
            # Claimed for CLAIM_LEASE (still held): another replica's release skips them, and
            # they come due again if this process dies before writing their slots.
            due = await uow.messages.claim_held_due(
                TRIGGERED_EXECUTION, now, self._batch, until=now + CLAIM_LEASE, not_before=since
            )
            await uow.commit()
        if len(due) < self._batch:  # nothing due is left behind this pass
            self._scan_from = now - SCAN_MARGIN
        if not due:
            return 0
        async with self._uow(read_only=True) as uow:
            groups: dict[tuple[str, str], list[Held]] = defaultdict(list)
            for held in due:
                groups[(held.organization_id, held.campaign_id)].append(held)
            campaigns = {key: await uow.campaigns.get(*key) for key in groups}
        released: list[Held] = []
        cancelled: list[Held] = []
        for key, group in groups.items():
            campaign = campaigns[key]
            if campaign is None or campaign.status is CampaignStatus.CANCELLED:
                cancelled += group
            elif campaign.status is CampaignStatus.PAUSED:
                released += [_again(h, now + PAUSED_RECHECK) for h in group]
            else:
                released += await self._slots(campaign, group, now)
        if released or cancelled:
            async with self._uow() as uow:
                await uow.messages.release_held(released)
                if cancelled:
                    await uow.messages.cancel_held(
                        [h.message_id for h in cancelled], CANCELLED_BEFORE_SENDING
                    )
                await uow.commit()
        return len(due)

    def _since(self, now: datetime) -> datetime | None:
        """Where this pass looks from: the low-water mark, or the start every FULL_RESCAN."""
        if self._rescan_at is None or now >= self._rescan_at:
            self._rescan_at = now + FULL_RESCAN
            return None
        return self._scan_from

    async def _slots(self, campaign: Campaign, group: list[Held], now: datetime) -> list[Held]:
        return await release_slots(
            self._limiter,
            group,
            organization_id=campaign.organization_id,
            campaign_id=campaign.campaign_id,
            throttle=campaign.spec.throttle,
            organization=self._limits(campaign.organization_id),
            now=now,
        )


def _again(held: Held, until: datetime) -> Held:
    return dataclasses.replace(held, send_after=until, held=True)
