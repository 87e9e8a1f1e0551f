"""What a run tells subscribers (docs/events.md): `campaign.started` with the
audience and the expected holdout, `campaign.completed` with the totals and the exact holdout,
and a failed run says that it failed, and why."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

from tests.engine.conftest import EngineRig
from tests.engine.scenario import (
    HOLDOUT_BP,
    SUPPRESSED_ALL,
    DownUpstream,
    expected_recipients,
    launch,
    run_until_idle,
    seed,
)


async def published(engine: EngineRig) -> dict[str, list[dict[str, Any]]]:
    """The run's events as the outbox holds them for the relay (read, not consumed)."""
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    async with engine.store.outbox_store().claim(10_000) as batch:
        for event in batch.events:
            by_type[event.event_type].append(dict(event.data))
    return by_type


def in_holdout(user_id: str, campaign_id: str) -> bool:
    digest = hashlib.md5(f"{user_id}:{campaign_id}".encode()).hexdigest()
    return int(digest, 16) % 10_000 < HOLDOUT_BP


async def test_a_run_publishes_started_and_completed_with_its_audience_holdout_and_totals(
    engine: EngineRig,
):
    contacts = await seed(engine, 1_200)
    campaign = await launch(engine)

    await run_until_idle(engine)

    events = await published(engine)
    audience = [
        c.user_id
        for c in contacts
        if c.attributes["city"] == "Oslo" and c.user_id not in SUPPRESSED_ALL
    ]
    holdout = [u for u in audience if in_holdout(u, campaign.campaign_id)]
    recipients = expected_recipients(contacts, campaign.campaign_id)
    [started] = events["campaign.started"]
    [completed] = events["campaign.completed"]
    assert started == {
        "campaign_id": campaign.campaign_id,
        "execution_id": completed["execution_id"],
        "audience_size": len(audience),
        "holdout_size": round(len(audience) * HOLDOUT_BP / 10_000),  # expected, before hashing
        "missed_firing": False,
        "trigger": "schedule",
    }
    assert completed == {
        "campaign_id": campaign.campaign_id,
        "execution_id": started["execution_id"],
        "total_sent": len(recipients),
        "total_delivered": len(recipients),  # the sandbox reports every message delivered
        "holdout": len(holdout),  # exact: every member was hashed
        "audience_size": len(audience),
        "execution_status": "completed",
        "failure_reason": "",
    }


async def test_a_failed_run_completes_its_campaign_with_the_failure_in_the_event(engine: EngineRig):
    await seed(engine, 300)
    campaign = await launch(engine)

    await engine.executor("a", audience=DownUpstream(engine.audience, 0)).run_once()

    [completed] = (await published(engine))["campaign.completed"]
    assert completed["campaign_id"] == campaign.campaign_id
    assert completed["execution_status"] == "failed"
    assert "connection refused" in completed["failure_reason"]
    assert completed["total_sent"] == 0
