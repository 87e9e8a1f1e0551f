"""Building blocks for engine tests: a seeded directory, a launched campaign, and an oracle that
says who must get a message, computed from the spec's rules rather than from the engine's code."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, Sequence
from dataclasses import replace
from datetime import timedelta

from domain.audience.contacts import Contact
from domain.audience.model import (
    Audience,
    Condition,
    ConditionOperator,
    Recipient,
    SegmentType,
    Suppression,
    SuppressionReason,
)
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import (
    CampaignSpec,
    CampaignType,
    ChannelContent,
    QuietHours,
    Schedule,
    Throttle,
    Variant,
)
from domain.execution.delivery import deliver_once
from domain.execution.scheduler import fire_due
from domain.kernel.channels import Channel
from domain.kernel.errors import UpstreamFailedError
from tests.engine.conftest import ADMIN, ORG, EngineRig
from tests.support.compliance import FOOTER

HOLDOUT_BP = 500  # 5 %


def user(n: int) -> str:
    return f"u{n:06d}"


def directory(size: int, *, timezone: str = "UTC") -> list[Contact]:
    """Everyone lives in "Oslo" except every 10th; every 7th has no email consent."""
    return [
        Contact(
            user_id=user(n),
            email=f"{user(n)}@example.test",
            timezone=timezone,
            email_opted_in=n % 7 != 0,
            attributes={"city": "Bergen" if n % 10 == 0 else "Oslo", "first_name": f"N{n}"},
        )
        for n in range(size)
    ]


SUPPRESSED_ALL = {user(n) for n in range(3, 1000, 50)}


async def seed(engine: EngineRig, size: int, *, timezone: str = "UTC") -> list[Contact]:
    contacts = directory(size, timezone=timezone)
    await engine.contacts.upsert(ORG, contacts)
    await engine.suppressions.add(
        ORG, [Suppression(user_id=u, reason=SuppressionReason.UNSUBSCRIBED) for u in SUPPRESSED_ALL]
    )
    return contacts


def spec(*, quiet: QuietHours | None = None) -> CampaignSpec:
    email = ChannelContent(
        Channel.EMAIL, subject="Hi {{ first_name }}", html_body="<p>sale</p>" + FOOTER
    )
    return CampaignSpec(
        name="engine test",
        campaign_type=CampaignType.SCHEDULED,
        audiences=(
            Audience(
                "",
                SegmentType.INCLUDE,
                query=(Condition("city", ConditionOperator.EQUALS, "Oslo"),),
            ),
        ),
        variants=(Variant("", "A", 50, channels=(email,)), Variant("", "B", 50, channels=(email,))),
        holdout_percentage=HOLDOUT_BP / 100,
        throttle=Throttle(quiet_hours=quiet or QuietHours(enabled=False)),
    )


def spec_sending(content: ChannelContent) -> CampaignSpec:
    """`spec()` with `content` as every variant's only channel."""
    base = spec()
    return replace(base, variants=tuple(replace(v, channels=(content,)) for v in base.variants))


async def launch(
    engine: EngineRig,
    *,
    quiet: QuietHours | None = None,
    definition: CampaignSpec | None = None,
    ids: ExecutionIds | None = None,
) -> Campaign:
    """Create and schedule a campaign (`definition`, else `spec(quiet=quiet)`), let time reach
    it, and fire the scheduler once (`ids`: the execution ids, for a test launching twice)."""
    campaign = await engine.campaigns.create_campaign(ADMIN, definition or spec(quiet=quiet))
    due = engine.clock.now() + timedelta(minutes=6)
    await engine.campaigns.schedule_campaign(
        ADMIN, campaign.campaign_id, Schedule(scheduled_at=due)
    )
    engine.clock.advance(timedelta(minutes=6))
    assert await fire_due(engine.store.unit_of_work, engine.clock, ids or ExecutionIds()) == 1
    return campaign


class ExecutionIds:
    """Readable execution ids (`exec-1`, ...) for the scheduler in tests."""

    def __init__(self) -> None:
        self._n = 0

    def new_id(self) -> str:
        self._n += 1
        return f"exec-{self._n}"


def expected_recipients(contacts: Sequence[Contact], campaign_id: str) -> set[str]:
    """Oslo, not suppressed, email consent, and outside the 5 % holdout (md5 bucket)."""
    out = set()
    for c in contacts:
        if c.attributes["city"] != "Oslo" or c.user_id in SUPPRESSED_ALL or not c.email_opted_in:
            continue
        digest = hashlib.md5(f"{c.user_id}:{campaign_id}".encode()).hexdigest()
        if int(digest, 16) % 10_000 >= HOLDOUT_BP:
            out.add(c.user_id)
    return out


async def drain(engine: EngineRig) -> int:
    total = 0
    while handed := await deliver_once(
        engine.store.delivery_outbox(), engine.delivery, engine.clock, limit=1000
    ):
        total += handed
    return total


async def run_until_idle(engine: EngineRig, owner: str = "worker", *, rounds: int = 100) -> None:
    """What the worker loops do in production, with time moving 2 s per round."""
    for _ in range(rounds):
        worked = await engine.executor(owner).run_once()
        delivered = await drain(engine)
        engine.clock.advance(timedelta(seconds=2))
        if not worked and not delivered:
            return
    raise AssertionError(f"the engine was still busy after {rounds} rounds")


async def all_messages(engine: EngineRig, campaign_id: str) -> list[tuple[str, str]]:
    """(user_id, message_id) of every stored message, read page by page through the port."""
    out: list[tuple[str, str]] = []
    after = ""
    while True:
        async with engine.store.unit_of_work(read_only=True) as uow:
            page, after = await uow.messages.list(ORG, campaign_id, after=after, limit=500)
        out += [(m.user_id, m.message_id) for m in page]
        if not after:
            return out


class FailingAudience:
    """Wraps an audience source; raises on the `fail_at`-th batch, as a crash there would."""

    def __init__(self, inner: object, fail_at: int) -> None:
        self._inner = inner
        self._fail_at = fail_at

    async def counts(self, organization_id: str, audiences: Sequence[Audience]) -> object:
        return await self._inner.counts(organization_id, audiences)  # type: ignore[attr-defined]

    async def profile_fields(self, organization_id: str) -> object:
        return await self._inner.profile_fields(organization_id)  # type: ignore[attr-defined]

    async def recipients(
        self,
        organization_id: str,
        audiences: Sequence[Audience],
        *,
        after_user_id: str = "",
        batch_size: int = 10_000,
    ) -> AsyncGenerator[Sequence[Recipient], None]:
        n = 0
        async for batch in self._inner.recipients(  # type: ignore[attr-defined]
            organization_id, audiences, after_user_id=after_user_id, batch_size=batch_size
        ):
            n += 1
            if n == self._fail_at:
                raise RuntimeError("simulated crash while fanning out")
            yield batch


class DownUpstream(FailingAudience):
    """The data service down with nothing cached (EC-CAM-002): the run cannot start."""

    async def counts(self, organization_id: str, audiences: Sequence[Audience]) -> object:
        raise UpstreamFailedError("data service: connection refused, nothing cached")
