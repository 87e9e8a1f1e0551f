"""NATS killed mid-run: the service keeps running, messages wait in the database, queued or
deferred to their slots (none lost, none marked sent without an ack), and go out once the
broker is back, each exactly once.

The broker is this test's own nats-server, killed with SIGKILL and started again on the same
port and store directory; the shared one is never touched.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.faults.conftest import Rig, assert_ran_exactly_once, eventually, expected_recipients

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

SIZE = 5_000
PER_MINUTE = 20_000  # ~3,600 messages spread over ~11 s: the outage lands mid-delivery
DOWN_FOR = 4.0  # seconds the broker stays down after the relay has noticed


async def test_messages_wait_while_nats_is_down_and_go_out_once_it_is_back(
    rig: Rig, report: list[str]
) -> None:
    server = await rig.start_server()
    await rig.seed(server, SIZE)
    campaign_id = await rig.launch(server, lead=1.0, per_minute=PER_MINUTE)
    expected = expected_recipients(SIZE, campaign_id)

    async def some_sent() -> bool:
        return (await rig.progress(campaign_id)).by_status.get("sent", 0) >= 200

    await eventually(some_sent, within=30, what="first messages sent", server=server)
    await rig.nats.kill()
    await asyncio.sleep(1.0)  # a publish in flight at the kill fails within its timeouts
    at_outage = await rig.progress(campaign_id)
    await asyncio.sleep(DOWN_FOR)
    during = await rig.progress(campaign_id)
    report += [f"when NATS went down: {at_outage}", f"{DOWN_FOR} s later: {during}"]

    assert server.process.poll() is None, f"the server died with NATS:\n{server.log[-4000:]}"
    assert during.status == "running", "the execution must wait for its messages"
    assert during.by_status.get("sent", 0) == at_outage.by_status.get("sent", 0), (
        "messages were marked sent while the broker was down"
    )
    assert 0 < during.queued < len(expected), "the outage must land mid-delivery"
    assert during.fanned_out, "the fan-out does not need the broker and must have finished"
    assert during.written == len(expected), "no message may be lost while NATS is down"

    await rig.nats.start()
    execution = await assert_ran_exactly_once(rig, server, campaign_id, SIZE)
    assert server.process.poll() is None
    report += [
        f"completed after the outage: {execution.counts}".replace("\n", " "),
        f"failed worker steps: {dict(rig.failed_steps().most_common(5))}",
    ]
