"""A content that fails to render fails that recipient's message, not the run; a run that keeps
failing backs off, lets other organizations' runs go first, and fails for good in the end."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from domain.audience.contacts import UNSUBSCRIBE_URL_PLACEHOLDER, Contact
from domain.audience.model import Audience, Recipient, Suppression, SuppressionReason
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import CampaignSpec, CampaignStatus, ChannelContent, Schedule
from domain.execution.model import ExecutionStatus, MessageStatus
from domain.execution.retries import RetryPolicy
from domain.execution.scheduler import fire_due
from domain.kernel.channels import Channel
from domain.kernel.principal import Principal, Role
from tests.engine.conftest import ADMIN, ORG, EngineRig
from tests.engine.scenario import (
    SUPPRESSED_ALL,
    ExecutionIds,
    all_messages,
    directory,
    drain,
    expected_recipients,
    run_until_idle,
    seed,
    spec,
    spec_sending,
)
from tests.support.compliance import FOOTER

OTHER_ORG = "org-engine-other"
OTHER_ADMIN = Principal(OTHER_ORG, "admin@other", frozenset({Role.ADMIN}))
DIVIDES = ChannelContent(
    Channel.EMAIL,
    subject="Hi {{ first_name }}",
    html_body="<p>{{ 100 // count }}% off</p>" + FOOTER,
)

MODULO_BY_ZERO = "ZeroDivisionError: integer division or modulo by zero"


def dividing_spec() -> CampaignSpec:
    return spec_sending(DIVIDES)


async def launch_as(engine: EngineRig, principal: Principal, definition: CampaignSpec) -> Campaign:
    campaign = await engine.campaigns.create_campaign(principal, definition)
    await engine.campaigns.schedule_campaign(
        principal,
        campaign.campaign_id,
        Schedule(scheduled_at=engine.clock.now() + timedelta(minutes=6)),
    )
    return campaign


async def fire(engine: EngineRig) -> None:
    engine.clock.advance(timedelta(minutes=6))
    assert await fire_due(engine.store.unit_of_work, engine.clock, ExecutionIds()) >= 1


def with_count(contacts: Sequence[Contact], count: dict[str, int], default: int) -> list[Contact]:
    return [
        replace(c, attributes={**c.attributes, "count": count.get(c.user_id, default)})
        for c in contacts
    ]


async def only_execution(engine: EngineRig, organization_id: str, campaign_id: str):  # type: ignore[no-untyped-def]
    async with engine.store.unit_of_work(read_only=True) as uow:
        [execution], _ = await uow.executions.list(organization_id, campaign_id)
        return execution, await uow.messages.status_counts(execution.execution_id)


async def test_a_recipient_whose_content_fails_to_render_gets_a_failed_message_the_rest_are_sent(
    engine: EngineRig,
):
    contacts = await seed(engine, 600)
    campaign = await launch_as(engine, ADMIN, dividing_spec())
    expected = expected_recipients(contacts, campaign.campaign_id)
    victim = sorted(expected)[7]  # `100 // 0` for this one recipient only
    await engine.contacts.upsert(ORG, with_count(contacts, {victim: 0}, default=4))
    await fire(engine)

    await run_until_idle(engine, "a")

    async with engine.store.unit_of_work(read_only=True) as uow:
        page, _ = await uow.messages.list(ORG, campaign.campaign_id, limit=1_000)
    by_user = {m.user_id: m for m in page}
    assert set(by_user) == expected
    failed = by_user.pop(victim)
    assert failed.status is MessageStatus.FAILED
    assert failed.error == f"template failed to render: email.html_body: {MODULO_BY_ZERO}"
    assert failed.failed_at == failed.queued_at
    assert {m.status for m in by_user.values()} == {MessageStatus.DELIVERED}
    stored = "<p>25% off</p>" + FOOTER.replace("{{ unsubscribe_url }}", UNSUBSCRIBE_URL_PLACEHOLDER)
    assert {m.content["html_body"] for m in by_user.values()} == {stored}
    execution, statuses = await only_execution(engine, ORG, campaign.campaign_id)
    assert execution.status is ExecutionStatus.COMPLETED
    assert (execution.counts.failed, execution.counts.queued) == (1, len(expected) - 1)
    assert statuses == {MessageStatus.FAILED: 1, MessageStatus.DELIVERED: len(expected) - 1}


async def test_a_content_that_fails_for_every_recipient_fails_the_run_with_the_reason(
    engine: EngineRig,
):
    contacts = await seed(engine, 300)
    campaign = await launch_as(engine, ADMIN, dividing_spec())
    await engine.contacts.upsert(ORG, with_count(contacts, {}, default=0))
    await fire(engine)

    await run_until_idle(engine, "a")

    execution, statuses = await only_execution(engine, ORG, campaign.campaign_id)
    assert execution.status is ExecutionStatus.FAILED
    assert execution.failure_reason == (
        "TEMPLATE_RENDER_FAILED: every recipient of the first batch failed: "
        f"template failed to render: email.html_body: {MODULO_BY_ZERO}"
    )
    assert statuses == {}
    assert await all_messages(engine, campaign.campaign_id) == []
    final = await engine.campaigns.get_campaign(ADMIN, campaign.campaign_id)
    assert final.status is CampaignStatus.COMPLETED


class BrokenForOneOrganization:
    """The audience of `broken` cannot be read (a bug, a corrupt row): every attempt raises."""

    def __init__(self, inner: object, clock: object, broken: str) -> None:
        self._inner = inner
        self._clock = clock
        self._broken = broken
        self.attempts: list[datetime] = []

    async def counts(self, organization_id: str, audiences: Sequence[Audience]) -> object:
        if organization_id == self._broken:
            self.attempts.append(self._clock.now())  # type: ignore[attr-defined]
            raise RuntimeError("corrupt audience row")
        return await self._inner.counts(organization_id, audiences)  # type: ignore[attr-defined]

    async def profile_fields(self, organization_id: str) -> object:
        return await self._inner.profile_fields(organization_id)  # type: ignore[attr-defined]

    def recipients(
        self,
        organization_id: str,
        audiences: Sequence[Audience],
        *,
        after_user_id: str = "",
        batch_size: int = 10_000,
    ) -> AsyncGenerator[Sequence[Recipient], None]:
        return self._inner.recipients(  # type: ignore[attr-defined, no-any-return]
            organization_id, audiences, after_user_id=after_user_id, batch_size=batch_size
        )


async def test_a_run_that_keeps_failing_backs_off_while_another_organizations_run_goes_ahead(
    engine: EngineRig,
):
    await seed(engine, 300)
    others = directory(200)
    await engine.contacts.upsert(OTHER_ORG, others)
    await engine.suppressions.add(
        OTHER_ORG,
        [Suppression(user_id=u, reason=SuppressionReason.UNSUBSCRIBED) for u in SUPPRESSED_ALL],
    )
    broken = await launch_as(engine, ADMIN, spec())  # due first: the oldest run in the queue
    engine.clock.advance(timedelta(seconds=30))
    healthy = await launch_as(engine, OTHER_ADMIN, spec())
    await fire(engine)
    audience = BrokenForOneOrganization(engine.audience, engine.clock, ORG)
    retries = RetryPolicy(
        base_delay=timedelta(seconds=10), max_delay=timedelta(seconds=30), max_attempts=4
    )

    def executor():  # type: ignore[no-untyped-def]
        return engine.executor("a", audience=audience, retries=retries)

    assert await executor().run_once()  # the broken run: its first attempt fails
    assert await executor().run_once()  # the other organization's run, not the broken one again
    await drain(engine)
    async with engine.store.unit_of_work(read_only=True) as uow:
        sent, _ = await uow.messages.list(OTHER_ORG, healthy.campaign_id, limit=1_000)
    assert {m.user_id for m in sent} == expected_recipients(others, healthy.campaign_id)
    assert {m.status for m in sent} == {MessageStatus.DELIVERED}
    assert len(audience.attempts) == 1

    for _ in range(200):  # the worker loop, one second at a time
        await executor().run_once()
        engine.clock.advance(timedelta(seconds=1))

    tried = audience.attempts
    gaps = [later - earlier for earlier, later in itertools.pairwise(tried)]
    assert gaps == [timedelta(seconds=s) for s in (10, 20, 30)]  # doubling, capped at 30 s
    execution, _ = await only_execution(engine, ORG, broken.campaign_id)
    assert execution.status is ExecutionStatus.FAILED
    assert execution.attempts == 4
    assert execution.failure_reason == (
        "failed 4 attempts in a row; the last: RuntimeError: corrupt audience row"
    )
    assert execution.last_error == "RuntimeError: corrupt audience row"
    final = await engine.campaigns.get_campaign(ADMIN, broken.campaign_id)
    assert final.status is CampaignStatus.COMPLETED
    other, _ = await only_execution(engine, OTHER_ORG, healthy.campaign_id)
    assert other.status is ExecutionStatus.COMPLETED
