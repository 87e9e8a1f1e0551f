"""Every BatchPlanner and DeliveryTracker (domain.execution.ports) returns what the pure
functions return: the default worker thread and inline tracking, and the planning process
(adapters.runtime.planning_process), whose batches cross to a child process and back."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.runtime.planning_process import PlanningProcess
from adapters.tracking.links import SignedTrackingLinks
from domain.audience.contacts import UNSUBSCRIBE_URL_PLACEHOLDER, Contact
from domain.audience.model import Recipient
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import (
    CampaignSpec,
    CampaignStatus,
    CampaignType,
    ChannelContent,
    Variant,
)
from domain.campaigns.templates import Template
from domain.execution.model import TRANSACTIONAL_EXECUTION, Message
from domain.execution.planners import InlineTracker, ThreadPlanner
from domain.execution.planning import CampaignPlan, plan_batch
from domain.execution.ports import BatchPlanner, DeliveryTracker
from domain.execution.tracked_content import tracked
from domain.execution.tracking import Purpose, TrackedLink
from domain.kernel.channels import Channel

T0 = datetime(2030, 1, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
LINKS = SignedTrackingLinks([b"k" * 32, b"o" * 32], "https://t.example", unsubscribe_mailto="u@x")
HTML = (
    '<html><body><p>Hi {{ first_name }}</p><a href="https://shop.example.com/?c={{ code }}">'
    'Shop</a><a href="{{ unsubscribe_url }}">Unsubscribe</a></body></html>'
)
# 1 / n fails for the recipients whose n is 0: their drafts carry the render error.
SMS = ChannelContent(Channel.SMS, body="{{ first_name }}: {{ 100 // n }}% off {{ nickname }}")
TEMPLATED = ChannelContent(Channel.EMAIL, template_id="tpl-1")
TEMPLATES = {
    "tpl-1": Template(
        "tpl-1", ChannelContent(Channel.EMAIL, subject="B {{ first_name }}", html_body=HTML)
    )
}


def campaign() -> Campaign:
    email = ChannelContent(Channel.EMAIL, subject="A {{ first_name }}", html_body=HTML)
    return Campaign(
        "c1",
        "org",
        CampaignSpec(
            "Spring",
            CampaignType.SCHEDULED,
            channels=(email, SMS),
            variants=(
                Variant("va", "A", 45.0, channels=(email, SMS)),
                Variant("vb", "B", 45.0, channels=(TEMPLATED, SMS)),
                Variant("vc", "control", 10.0, is_control=True),
            ),
            holdout_percentage=5.0,
        ),
        created_by="alice",
        created_at=T0,
        updated_at=T0,
        status=CampaignStatus.RUNNING,
    )


def recipients(count: int) -> list[Recipient]:
    out = []
    for i in range(count):
        contact = Contact(
            f"u{i:05d}",
            email=f"u{i}@example.test" if i % 7 else "",
            phone=f"+1555{i:07d}" if i % 3 == 0 else "",
            timezone="Europe/Berlin" if i % 2 else "UTC",
            email_opted_in=i % 11 != 0,
            sms_opted_in=True,
            attributes={
                "first_name": f"Ana{i}",
                "code": f"C{i}",
                "n": i % 13,
                **({"nickname": f"nick{i}"} if i % 5 else {}),
            },
            created_at=T0,
            updated_at=T0,
        )
        suppressed = frozenset({Channel.SMS}) if i % 17 == 0 else frozenset()
        out.append(Recipient(contact, suppressed))
    return out


def messages(count: int) -> list[Message]:
    out = []
    for i in range(count):
        channel = Channel.SMS if i % 4 == 3 else Channel.EMAIL
        content = (
            {"body": f"Stop: {UNSUBSCRIBE_URL_PLACEHOLDER}" if i % 8 == 3 else "Hi"}
            if channel is Channel.SMS
            else {"subject": f"Hi {i}", "html_body": HTML.replace("{{ code }}", str(i))}
        )
        out.append(
            Message(
                message_id=f"m-{i}",
                execution_id=TRANSACTIONAL_EXECUTION if i % 10 == 1 else "e-1",
                campaign_id="c1",
                organization_id="org",
                user_id=f"u{i}",
                variant_id="va",
                channel=channel,
                recipient=f"u{i}@example.test",
                content=content,
                send_after=T0,
                queued_at=T0,
            )
        )
    return out


@pytest.fixture
async def process() -> AsyncIterator[PlanningProcess]:
    planning = PlanningProcess(LINKS, offload_from=50)
    assert await planning.warm()
    yield planning
    await planning.close()


@pytest.fixture(params=["thread", "process"])
async def planner(request: pytest.FixtureRequest) -> AsyncIterator[BatchPlanner]:
    if request.param == "thread":
        yield ThreadPlanner()
        return
    planning = PlanningProcess(LINKS, offload_from=50)
    assert await planning.warm()
    yield planning
    assert planning.offloaded > 0  # the child planned, not the fallback
    await planning.close()


@pytest.fixture(params=["inline", "process"])
async def tracker(request: pytest.FixtureRequest) -> AsyncIterator[DeliveryTracker]:
    if request.param == "inline":
        yield InlineTracker(LINKS)
        return
    planning = PlanningProcess(LINKS, offload_from=50)
    assert await planning.warm()
    yield planning
    assert planning.offloaded > 0
    await planning.close()


async def test_a_batch_plans_as_plan_batch_does(planner: BatchPlanner) -> None:
    plan = CampaignPlan.of(campaign(), TEMPLATES)
    batch = recipients(400)

    planned = await planner.plan(plan, batch)

    expected = plan_batch(plan, batch)
    assert planned == expected
    assert all(
        a.recipient is b.recipient for a, b in zip(planned.drafts, expected.drafts, strict=True)
    )
    # The batch has every kind of outcome, so the comparison covers each.
    counts = planned.counts
    assert min(counts.holdout, counts.control, counts.unreachable, counts.failed) > 0
    assert {d.variant_id for d in planned.drafts} == {"va", "vb"}
    assert {d.channel for d in planned.drafts} == {Channel.EMAIL, Channel.SMS}
    assert any(d.missing_variables for d in planned.drafts)
    assert all(d.digest for d in planned.drafts if not d.error)


async def test_a_changed_plan_is_planned_from_its_own_campaign(planner: BatchPlanner) -> None:
    first = CampaignPlan.of(campaign(), TEMPLATES)
    winner = CampaignPlan.of(dataclasses.replace(campaign(), winner_variant_id="vb"), TEMPLATES)
    batch = recipients(200)

    await planner.plan(first, batch)
    planned = await planner.plan(winner, batch)

    assert planned == plan_batch(winner, batch)
    assert {d.variant_id for d in planned.drafts} == {"vb"}


async def test_messages_are_tracked_as_tracked_does(tracker: DeliveryTracker) -> None:
    batch = messages(200)

    handed = await tracker.track(batch)

    assert handed == [tracked(m, LINKS) for m in batch]
    assert handed[1].content == batch[1].content  # a transactional email: no unsubscribe link
    assert handed[0].content["header:List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = LINKS.url(Purpose.UNSUBSCRIBE, TrackedLink("org", "m-3"))
    assert handed[3].content == {"body": f"Stop: {unsubscribe}"}


async def test_small_batches_stay_in_the_server_process(process: PlanningProcess) -> None:
    plan = CampaignPlan.of(campaign(), TEMPLATES)

    assert await process.plan(plan, recipients(49)) == plan_batch(plan, recipients(49))
    assert await process.track(messages(10)) == [tracked(m, LINKS) for m in messages(10)]

    assert process.offloaded == 0


async def test_a_killed_child_costs_one_batch_done_here_never_a_wrong_answer(
    process: PlanningProcess,
) -> None:
    plan = CampaignPlan.of(campaign(), TEMPLATES)
    batch = recipients(300)
    await process.plan(plan, batch)
    assert process.offloaded == 1

    for pid in child_pids(process):
        os.kill(pid, signal.SIGKILL)
    await asyncio.sleep(0.2)

    assert await process.plan(plan, batch) == plan_batch(plan, batch)  # done here
    assert await process.warm()  # a new child
    assert await process.plan(plan, batch) == plan_batch(plan, batch)
    assert process.offloaded == 2


async def test_a_child_ends_with_its_server_process(process: PlanningProcess) -> None:
    [pid] = child_pids(process)
    await process.close()

    assert await ended(pid)


async def test_a_child_ends_when_its_server_process_is_killed() -> None:
    """Killed, the server cannot stop its child: the child reads the end of its input."""
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        KILLED_SERVER,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert server.stdout is not None
    child = int(await asyncio.wait_for(server.stdout.readline(), 30))
    assert alive(child)

    server.kill()
    await server.wait()

    assert await ended(child)


KILLED_SERVER = """
import asyncio, time
from adapters.runtime.planning_process import PlanningProcess
from adapters.tracking.links import SignedTrackingLinks

async def main():
    planning = PlanningProcess(SignedTrackingLinks([b"k" * 32], "https://t.example"))
    assert await planning.warm()
    print(planning._child.process.pid, flush=True)
    time.sleep(60)

asyncio.run(main())
"""


def test_the_tracking_links_pickle_as_their_settings() -> None:
    import pickle

    copy = pickle.loads(pickle.dumps(LINKS))

    link = TrackedLink("org", "m-1", 2, "d")
    assert copy.url(Purpose.CLICK, link) == LINKS.url(Purpose.CLICK, link)
    assert copy.unsubscribe_mailto == "u@x"


def child_pids(process: PlanningProcess) -> list[int]:
    child = process._child  # the test kills the child it reads the pid of
    assert child is not None
    return [child.process.pid]


async def ended(pid: int, seconds: float = 5.0) -> bool:
    """Whether `pid` ends within `seconds`."""
    for _ in range(int(seconds / 0.05)):
        if not alive(pid):
            return True
        await asyncio.sleep(0.05)
    return not alive(pid)


def alive(pid: int) -> bool:
    """Whether `pid` runs (a child of ours that ended is reaped first, not counted)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
