"""Channel fallback on outcome (issue #12 item 6, BR-CAM-003.3), on SQLite and Postgres.

A campaign with the fallback strategy sends email first; a failed (or hard-bounced) email report
makes exactly one SMS message, linked to the email, rendered like the run renders, whatever
number of times and under whatever event ids the failure is reported. A soft bounce, and a
campaign that sends on every channel at once, fall back to nothing; the fallback does not count
against the marketing frequency cap.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from adapters.embedded.rate_limiter import MemoryRateLimiter
from domain.audience.contacts import Contact
from domain.campaigns.model import ChannelContent, ChannelStrategy
from domain.events.fallback import FallbackHandler
from domain.events.intake import EventIntake
from domain.events.model import InboundEvent, Outcome
from domain.execution.model import Message, MessageStatus, fallback_message_id
from domain.kernel.channels import Channel
from tests.engine.conftest import HIGH_LIMITS, ORG, EngineRig
from tests.engine.scenario import ExecutionIds, launch, spec
from tests.engine.test_direct_dispatch import RecordingPublisher
from tests.engine.test_message_states import messages
from tests.support.compliance import FOOTER

EMAIL = ChannelContent(
    Channel.EMAIL, subject="Hi {{ first_name }}", html_body="<p>sale</p>" + FOOTER
)
SMS = ChannelContent(Channel.SMS, body="{{ first_name }}, the sale is on")
PEOPLE = [
    Contact(
        user_id=f"p{n}",
        email=f"p{n}@example.test",
        phone=f"+4790000{n:03d}",
        email_opted_in=True,
        sms_opted_in=True,
        attributes={"city": "Oslo", "first_name": f"Per{n}"},
    )
    for n in range(3)
]


def email_then_sms(strategy: ChannelStrategy = ChannelStrategy.FALLBACK):  # type: ignore[no-untyped-def]
    base = spec()
    variants = tuple(replace(v, channels=(EMAIL, SMS)) for v in base.variants)
    return replace(base, variants=variants, holdout_percentage=0, channel_strategy=strategy)


def intake(engine: EngineRig) -> EventIntake:
    handler = FallbackHandler(
        engine.contacts,
        engine.suppressions,
        MemoryRateLimiter(),
        engine.clock,
        organization_limits=lambda _org: HIGH_LIMITS,
    )
    return EventIntake(engine.store.unit_of_work, [handler], engine.clock)


async def report(engine: EngineRig, event_id: str, kind: str, message: Message, **data: str):  # type: ignore[no-untyped-def]
    event = InboundEvent(
        ORG,
        event_id,
        f"notification.{kind}",
        engine.clock.now(),
        properties={"message_id": message.message_id, "status": kind, **data},
    )
    return await intake(engine).take(event)


async def sent_emails(  # type: ignore[no-untyped-def]
    engine: EngineRig,
    strategy: ChannelStrategy = ChannelStrategy.FALLBACK,
    ids: ExecutionIds | None = None,
):
    await engine.contacts.upsert(ORG, PEOPLE)
    campaign = await launch(engine, definition=email_then_sms(strategy), ids=ids)
    await engine.executor("worker", publisher=RecordingPublisher()).run_once()
    found = sorted(await messages(engine, campaign), key=lambda m: m.user_id)
    return campaign, found


async def test_a_failed_email_falls_back_to_one_sms_linked_to_it(engine: EngineRig):
    campaign, emails = await sent_emails(engine)
    assert [(m.channel, m.status) for m in emails] == [(Channel.EMAIL, MessageStatus.SENT)] * 3
    failed = emails[0]

    assert (await report(engine, "n-1", "failed", failed, error="mailbox full")).outcome is (
        Outcome.ACCEPTED
    )
    # The same report again, and the failure reported again under other ids and as a hard bounce.
    assert (await report(engine, "n-1", "failed", failed)).outcome is Outcome.DUPLICATE
    await report(engine, "n-2", "failed", failed)
    await report(engine, "n-3", "bounced", failed, bounce_type="hard")

    found = await messages(engine, campaign)
    fallbacks = [m for m in found if m.fallback_of]
    assert len(found) == 4
    [sms] = fallbacks
    assert sms.message_id == fallback_message_id(failed.message_id, Channel.SMS)
    assert (sms.fallback_of, sms.user_id, sms.channel) == (failed.message_id, "p0", Channel.SMS)
    assert (sms.recipient, sms.content) == ("+4790000000", {"body": "Per0, the sale is on"})
    assert sms.status is MessageStatus.QUEUED
    assert sms.execution_id == failed.execution_id
    # The fallback is the original's stand-in: the frequency cap counts the user once.
    async with engine.store.unit_of_work(read_only=True) as uow:
        counted = await uow.messages.marketing_counts(
            ORG, ["p0"], engine.clock.now() - timedelta(hours=1)
        )
    assert counted == {"p0": 1}
    # A fallback does not fall back again.
    await report(engine, "n-4", "failed", sms)
    assert len(await messages(engine, campaign)) == 4


async def test_a_soft_bounce_or_the_all_strategy_falls_back_to_nothing(engine: EngineRig):
    ids = ExecutionIds()
    campaign, emails = await sent_emails(engine, ids=ids)
    await report(engine, "n-1", "bounced", emails[1], bounce_type="soft")
    assert len(await messages(engine, campaign)) == 3

    everything, sent = await sent_emails(engine, ChannelStrategy.ALL, ids)
    assert {m.channel for m in sent} == {Channel.EMAIL, Channel.SMS}
    email = next(m for m in sent if m.channel is Channel.EMAIL)
    await report(engine, "n-2", "failed", email)
    assert len(await messages(engine, everything)) == len(sent)
