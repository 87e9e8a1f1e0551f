"""User lifecycle (issue #12 item 5): `user.deleted` erases the user from everything this
service stores, on SQLite and Postgres, and `user.preferences.updated` moves their consent and
skips pending sends to a channel they left.

The GDPR test seeds a person into every place a user can leave data (contact, suppressions, sent
and pending messages with rendered content, the events ledger, a lifecycle event in the outbox),
erases them through the intake, then reads EVERY column of EVERY table from the database's
catalog and finds none of their email, phone, name or user id, while the run's counts are the
same as before.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select, update

from adapters.sql.audience.stores import SqlContactDirectory
from adapters.sql.audience.suppressions import SqlSuppressionStore
from adapters.sql.audience.tables import suppressions
from adapters.sql.execution.tables import messages as messages_table
from domain.audience.contacts import Contact
from domain.audience.model import Suppression, SuppressionReason
from domain.events.erasure import USER_ERASED
from domain.events.lifecycle import ERASED_REASON
from domain.events.model import Outcome
from domain.execution.model import MessageStatus
from domain.execution.throttling import OrganizationLimits
from domain.kernel.channels import Channel
from domain.kernel.events import DomainEvent
from tests.engine.conftest import ORG, EngineRig
from tests.engine.lifecycle_support import PSEUDONYMS, sweep, take
from tests.engine.scenario import ExecutionIds, drain, launch, seed, spec
from tests.engine.test_message_states import counts, execution_of, messages
from tests.engine.test_run_events import published

ANA = Contact(
    user_id="x-gdpr-ana-4711",  # after every u0000nn: a later slot
    email="Ana.Gdprsson@example.test",
    phone="+4799887766",
    email_opted_in=True,
    sms_opted_in=True,
    attributes={"city": "Oslo", "first_name": "Anastasia", "last_name": "Gdprsson"},
)
PERSONAL = [ANA.user_id, ANA.email, ANA.phone, "Anastasia", "Gdprsson"]
SLOW = OrganizationLimits(per_hour=60, channel_per_hour=dict.fromkeys(Channel, 3_600_000_000))


def no_holdout():  # type: ignore[no-untyped-def]
    return replace(spec(), holdout_percentage=0)


async def test_user_deleted_leaves_no_personal_data_in_any_column_and_the_counts_unchanged(
    engine: EngineRig,
):
    await seed(engine, 20)
    await engine.contacts.upsert(ORG, [ANA])
    await engine.suppressions.add(
        ORG,
        [
            Suppression(address=ANA.phone, channel=Channel.SMS, reason=SuppressionReason.BOUNCED),
            Suppression(user_id=ANA.user_id, channel=Channel.WHATSAPP),
        ],
    )
    # A run that sent to everyone, and one whose sends wait for their rate-limit slot.
    ids = ExecutionIds()
    sent_campaign = await launch(engine, definition=no_holdout(), ids=ids)
    await engine.executor("worker").run_once()
    await drain(engine)
    pending_campaign = await launch(engine, definition=no_holdout(), ids=ids)
    await engine.executor("worker", limits=SLOW).run_once()
    # A lifecycle event naming her, as message feedback publishes them.
    async with engine.store.unit_of_work() as uow:
        await uow.outbox.add(
            [
                DomainEvent(
                    "evt-msg-1",
                    "campaign.message.delivered",
                    ORG,
                    engine.clock.now(),
                    {"user_id": ANA.user_id, "recipient": ANA.email.lower()},
                )
            ]
        )
        await uow.commit()
    # A provider's error text naming her address, as message feedback stores it.
    async with engine.store.engine.begin() as connection:
        await connection.execute(
            update(messages_table)
            .where(
                messages_table.c.user_id == ANA.user_id,
                messages_table.c.campaign_id == sent_campaign.campaign_id,
            )
            .values(error=f"550 5.1.1 <{ANA.email.lower()}>: mailbox unavailable")
        )
    assert (await take(engine, "order-1", "order.completed", user_id=ANA.user_id)).outcome is (
        Outcome.ACCEPTED
    )
    sent_run = await execution_of(engine, sent_campaign)
    before = await counts(engine, sent_run)
    # 20 seeded: 2 in Bergen, 3 without email consent, 1 suppressed; and Ana
    assert before == {MessageStatus.DELIVERED: 16}
    ana_pending = [m for m in await messages(engine, pending_campaign) if m.user_id == ANA.user_id]
    assert [m.status for m in ana_pending] == [MessageStatus.DEFERRED]
    assert set(await sweep(engine, PERSONAL)) >= {("messages", "recipient", ANA.email)}

    taken = await take(engine, "delete-1", "user.deleted", user_id=ANA.user_id)

    assert taken.outcome is Outcome.ACCEPTED
    assert await sweep(engine, PERSONAL) == [], await sweep(engine, PERSONAL)
    assert await counts(engine, sent_run) == before
    pseudonym = PSEUDONYMS.user(ORG, ANA.user_id)
    pending_now = [m for m in await messages(engine, pending_campaign) if m.user_id == pseudonym]
    assert [(m.status, m.error) for m in pending_now] == [(MessageStatus.CANCELLED, ERASED_REASON)]
    [audit] = (await published(engine))[USER_ERASED]
    assert audit["user_pseudonym"] == pseudonym
    assert audit["contacts_deleted"] == 1
    assert audit["messages_pseudonymized"] == 2
    assert audit["pending_cancelled"] == 1
    assert audit["suppressions_pseudonymized"] == 2
    # The ledger's rows naming her: order.completed, user.deleted itself, and the sandbox's
    # delivery report of the sent run's message.
    assert audit["history_pseudonymized"] == 3
    # Still in the outbox and naming her: the one added above, and the campaign.message.delivered
    # the sandbox's report published.
    assert audit["events_rewritten"] == 2
    [erased_sent] = [m for m in await messages(engine, sent_campaign) if m.user_id == pseudonym]
    assert (
        erased_sent.error
        == f"550 5.1.1 <{PSEUDONYMS.address(ORG, ANA.email)}>: mailbox unavailable"
    )
    assert (erased_sent.recipient, erased_sent.content) == ("", {})
    # Once is enough: the same event again changes nothing.
    assert (await take(engine, "delete-1", "user.deleted", user_id=ANA.user_id)).outcome is (
        Outcome.DUPLICATE
    )


async def test_an_erased_users_suppressions_still_block_their_address(engine: EngineRig):
    await engine.contacts.upsert(ORG, [ANA])
    await engine.suppressions.add(
        ORG,
        [Suppression(address=ANA.phone, channel=Channel.SMS, reason=SuppressionReason.BOUNCED)],
    )
    await take(engine, "delete-1", "user.deleted", user_id=ANA.user_id)
    # The data service's audience: the same person comes back from upstream with the number.
    store = SqlSuppressionStore(engine.store.engine, clock=engine.clock, pseudonyms=PSEUDONYMS)
    again = replace(ANA, user_id="ana-reborn")
    assert await store.suppressed_channels(ORG, [again]) == {"ana-reborn": frozenset({Channel.SMS})}
    [entry] = await store.entries_for(ORG, again)
    assert (entry.address, entry.reason) == (ANA.phone, SuppressionReason.BOUNCED)

    # The built-in directory: re-importing the number brings the entry back in clear, so the
    # audience queries (plain SQL) see it as before.
    directory = SqlContactDirectory(engine.store.engine, clock=engine.clock, pseudonyms=PSEUDONYMS)
    await directory.upsert(ORG, [again])
    async with engine.store.engine.connect() as connection:
        targets = (await connection.execute(select(suppressions.c.target))).scalars().all()
    assert targets == [ANA.phone]


async def test_preferences_update_moves_consent_and_cancels_pending_sends_on_the_channel_left(
    engine: EngineRig,
):
    await seed(engine, 5)
    await engine.contacts.upsert(ORG, [ANA])
    campaign = await launch(engine, definition=no_holdout())
    await engine.executor("worker", limits=SLOW).run_once()  # one sent, the rest deferred
    before = {m.user_id: m.status for m in await messages(engine, campaign)}
    assert before[ANA.user_id] is MessageStatus.DEFERRED

    taken = await take(
        engine,
        "prefs-1",
        "user.preferences.updated",
        user_id=ANA.user_id,
        channels={"email": False, "sms": True},
    )

    assert taken.outcome is Outcome.ACCEPTED
    contact = await engine.contacts.get(ORG, ANA.user_id)
    assert contact is not None
    assert (contact.email_opted_in, contact.sms_opted_in) == (False, True)
    after = {m.user_id: (m.status, m.error) for m in await messages(engine, campaign)}
    assert after.pop(ANA.user_id) == (
        MessageStatus.CANCELLED,
        "opted_out: the user left the email channel (user.preferences.updated); nothing sent",
    )
    assert {u: s for u, (s, _) in after.items()} == {
        u: s for u, s in before.items() if u != ANA.user_id
    }
    # The variants: top-level keys and `<channel>_opted_in`.
    assert (
        await take(engine, "prefs-2", "user.preferences.updated", user_id=ANA.user_id, email=True)
    ).outcome is Outcome.ACCEPTED
    contact = await engine.contacts.get(ORG, ANA.user_id)
    assert contact is not None
    assert contact.email_opted_in
    # An event naming no channel is no use to anyone: rejected, nothing changed.
    rejected = await take(engine, "prefs-3", "user.preferences.updated", user_id=ANA.user_id)
    assert rejected.outcome is Outcome.REJECTED
