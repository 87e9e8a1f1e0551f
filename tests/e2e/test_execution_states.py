"""A run's states through the API (issue #11 items 3, 4, 5): messages held by quiet hours read
DEFERRED with their send_after and are counted in `counts.deferred`; pausing the campaign shows
the execution PAUSED, resuming shows it RUNNING; cancelling cancels the held messages, counted
in `counts.cancelled`, with the reason.

The recipients live where it is about midnight now (an `Etc/GMT` zone picked from the clock),
so the default quiet hours (21:00-08:00) hold every message for hours, whenever the test runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import execution_pb2 as xpb
from google.protobuf import json_format

from tests.e2e.engine_helpers import (
    RUN_TIMEOUT,
    AudienceApi,
    ab_campaign_json,
    contact,
    engine_server,
    eventually,
    soon,
)
from tests.e2e.helpers import BACKENDS, CampaignApi, mint_token, new_org, timestamp
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.e2e

RECIPIENTS = 12
STATE_TIMEOUT = 15.0  # seconds for an executor to notice a pause or a resume


@pytest.fixture(scope="module", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    kind: str = request.param
    with engine_server(kind, tmp_path_factory.mktemp(f"states-{kind}")) as process:
        yield process


@pytest.fixture
def channel(engine: ServerProcess) -> Iterator[grpc.Channel]:
    code = engine.process.poll()
    if code is not None:
        pytest.fail(f"the engine server exited with code {code}:\n{engine.log[-5000:]}")
    with grpc.insecure_channel(engine.address) as opened:
        yield opened


def midnight_zone(now: datetime) -> str:
    """An `Etc/GMT` zone where it is between 00:00 and 01:00 now (their signs are inverted:
    `Etc/GMT+5` is UTC-5)."""
    hour = now.astimezone(UTC).hour
    return f"Etc/GMT+{hour}" if hour <= 12 else f"Etc/GMT-{24 - hour}"


def test_held_messages_read_deferred_and_a_run_says_paused_running_and_cancelled(
    channel: grpc.Channel,
):
    token = mint_token(new_org())
    audiences, campaigns = AudienceApi(channel, token), CampaignApi(channel, token)
    zone = midnight_zone(datetime.now(UTC))
    people = [
        contact(f"night-{i:02d}", timezone=zone, attributes={"country": "FR", "first_name": "Ada"})
        for i in range(RECIPIENTS)
    ]
    assert audiences.upsert(*people).upserted_count == RECIPIENTS
    everyone = {
        "query": {
            "conditions": [
                {"field": "country", "operator": "CONDITION_OPERATOR_EQUALS", "value": "FR"}
            ]
        }
    }
    body = ab_campaign_json("Night owls", everyone, holdout=0)
    body["throttle"] = {}  # the default quiet hours: 21:00-08:00 in the recipient's zone
    created = campaigns.create(json_format.ParseDict(body, svc.CreateCampaignRequest()))
    campaign_id = created.campaign_id
    campaigns.transition("ScheduleCampaign", campaign_id, scheduled_at=timestamp(soon()))

    def execution() -> xpb.Execution | None:
        """The campaign's one execution as GetExecution shows it; None before it exists."""
        found = campaigns.call(
            "ListExecutions", svc.ListExecutionsRequest(campaign_id=campaign_id)
        ).executions
        if not found:
            return None
        request = svc.GetExecutionRequest(
            campaign_id=campaign_id, execution_id=found[0].execution_id
        )
        got: xpb.Execution = campaigns.call("GetExecution", request).execution
        return got

    def in_state(status: int) -> xpb.Execution | None:
        found = execution()
        return found if found is not None and found.status == status else None

    def all_deferred() -> xpb.Execution | None:
        found = execution()
        return found if found is not None and found.counts.deferred == RECIPIENTS else None

    # Every message is held until 08:00 in its recipient's zone.
    held = eventually(all_deferred, within=RUN_TIMEOUT, what=f"{RECIPIENTS} deferred messages")
    assert held.status == xpb.EXECUTION_STATUS_RUNNING
    assert held.counts == xpb.MessageCounts(deferred=RECIPIENTS)
    messages = campaigns.call(
        "ListMessages",
        svc.ListMessagesRequest(
            campaign_id=campaign_id, statuses=[xpb.MESSAGE_STATUS_DEFERRED], page_size=100
        ),
    ).messages
    assert len(messages) == RECIPIENTS
    local = ZoneInfo(zone)
    for message in messages:
        send_after = message.send_after.ToDatetime(tzinfo=UTC)
        assert send_after.astimezone(local).time() == time(8, 0)
        assert send_after > datetime.now(UTC) + timedelta(hours=6)

    campaigns.transition("PauseCampaign", campaign_id)
    paused = eventually(
        lambda: in_state(xpb.EXECUTION_STATUS_PAUSED), within=STATE_TIMEOUT, what="PAUSED"
    )
    assert paused.counts == xpb.MessageCounts(deferred=RECIPIENTS)

    campaigns.transition("ResumeCampaign", campaign_id)
    eventually(lambda: in_state(xpb.EXECUTION_STATUS_RUNNING), within=STATE_TIMEOUT, what="RUNNING")

    campaigns.transition("CancelCampaign", campaign_id, reason="wrong audience")
    cancelled = eventually(
        lambda: in_state(xpb.EXECUTION_STATUS_CANCELLED), within=STATE_TIMEOUT, what="CANCELLED"
    )
    assert cancelled.counts == xpb.MessageCounts(cancelled=RECIPIENTS)
    after = campaigns.call(
        "ListMessages", svc.ListMessagesRequest(campaign_id=campaign_id, page_size=100)
    ).messages
    assert {(m.status, m.error) for m in after} == {
        (
            xpb.MESSAGE_STATUS_CANCELLED,
            "campaign cancelled before this message was sent: wrong audience",
        )
    }
