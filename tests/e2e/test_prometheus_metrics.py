"""/metrics on the real server and stack (Postgres, NATS, Redis): scraped before and after a
small campaign runs to completion, it parses clean with the Prometheus text parser and its
figures match the run: messages by channel and status equal the execution's counts, the RPCs
made are counted by method and code, the completed execution and the batches written show,
and the NATS connections and inbound consumers are reported. One server for the module, on a
fresh database, so the store-wide figures are this run's."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import execution_pb2 as xpb
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.engine_helpers import ENGINE_OVERRIDES, AudienceApi, contact, eventually
from tests.e2e.helpers import CampaignApi, email, mint_token, new_org, scheduled_request
from tests.integration.nats_support import StreamNames, delete_stream, shared_nats_url
from tests.support.compliance import FOOTER
from tests.support.migrated import migrated_postgres_url
from tests.support.server_process import (
    ServerProcess,
    server_env,
    start_server,
)
from tests.support.services import require

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats, pytest.mark.redis]

USERS = [f"user-{i:02d}" for i in range(12)]
WAIT = 60.0
CAMPAIGNS = "/campaign.v1.CampaignService/"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass
class Stack:
    server: ServerProcess
    api: CampaignApi
    audience: AudienceApi

    def scrape(self) -> Samples:
        """Every sample of /metrics, by name and labels; the text must parse clean."""
        with httpx.Client(timeout=10) as client:
            answer = client.get(f"http://{self.server.http_address}/metrics")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.text)
            for s in family.samples
        }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def labelled(samples: Samples, name: str, label: str) -> dict[str, float]:
    return {dict(key)[label]: v for (n, key), v in samples.items() if n == name}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require("127.0.0.1", 6379, "Redis")
    url, names = shared_nats_url(), StreamNames.fresh()
    data: Path = tmp_path_factory.mktemp("prometheus")
    with migrated_postgres_url() as database_url:  # as `migrate` leaves it
        env = server_env(
            data / "data",
            CAMPAIGN_DATABASE_URL=database_url,
            **names.server_settings(url),
            CAMPAIGN_REDIS_URL="redis://127.0.0.1:6379/0",
            CAMPAIGN_METRICS_SAMPLE_SECONDS="0.2",
            **ENGINE_OVERRIDES,
        )
        server = start_server(env)
        try:
            token = mint_token(new_org())
            with grpc.insecure_channel(server.address) as channel:
                yield Stack(server, CampaignApi(channel, token), AudienceApi(channel, token))
        finally:
            server.stop()
            for stream in (names.stream, f"{names.stream}_EVENTS", f"{names.stream}_IN"):
                asyncio.run(delete_stream(url, stream))


def test_metrics_parse_clean_and_match_a_completed_run(stack: Stack) -> None:
    before = stack.scrape()
    assert value(before, "campaign_executions", status="completed") == 0
    assert value(before, "campaign_messages", channel="email", status="queued") == 0

    during: list[Samples] = []
    run, rpcs = complete_a_run(stack, during)

    def sampled_after_the_run() -> Samples | None:
        found = stack.scrape()
        done = value(found, "campaign_executions", status="completed") == 1
        idle = value(found, "campaign_delivery_backlog_rows") == 0
        return found if done and idle else None

    after = eventually(sampled_after_the_run, within=WAIT, what="the run's figures sampled")

    # Messages by channel and status: the execution's counts (nothing else ran on this store).
    handed_over = run.counts.sent
    assert handed_over == len(USERS)
    assert value(after, "campaign_messages", channel="email", status="queued") == len(USERS)
    assert value(after, "campaign_messages", channel="email", status="sent") == handed_over
    assert value(after, "campaign_messages", channel="email", status="delivered") == 0
    assert value(after, "campaign_messages", channel="sms", status="queued") == 0
    # Executions by status, and the executor's own reports of the run.
    assert labelled(after, "campaign_executions", "status") == {
        "pending": 0,
        "running": 0,
        "paused": 0,
        "completed": 1,
        "cancelled": 0,
        "failed": 0,
    }
    assert value(after, "campaign_execution_runs_started_total") == 1
    assert value(after, "campaign_execution_runs_ended_total", status="completed") == 1
    assert value(after, "campaign_fanout_batch_duration_seconds_count") > 0
    assert value(after, "campaign_fanout_messages_queued_total") == len(USERS)
    assert value(after, "campaign_fanout_recipients_total") == len(USERS)
    # RPCs: each call this test made, by method and code (and no more than the server saw).
    for (method, code), count in rpcs.items():
        handled = value(after, "campaign_rpc_handled_total", method=method, code=code)
        assert handled == count, (method, code)
        timed = value(after, "campaign_rpc_duration_seconds_count", method=method, code=code)
        assert timed == count, (method, code)
    # The backlogs drained; NATS connections are up and the inbound consumers report.
    assert value(after, "campaign_delivery_backlog_oldest_age_seconds") == 0
    connected = labelled(after, "campaign_nats_connected", "connection")
    assert connected["events"] == 1
    assert connected["deliveries"] == 1
    pending = labelled(after, "campaign_nats_consumer_pending", "subject")
    assert "notification.delivered" in pending, sorted(pending)
    # Counters only grow from scrape to scrape.
    queued = [
        value(found, "campaign_messages", channel="email", status="queued")
        for found in (before, *during, after)
    ]
    assert queued == sorted(queued)
    # Bounded labels: no organization, campaign or execution id anywhere.
    labels = {v for (_, key) in after for _, v in key}
    assert run.campaign_id not in labels
    assert run.execution_id not in labels


def complete_a_run(
    stack: Stack, during: list[Samples]
) -> tuple[xpb.Execution, dict[tuple[str, str], int]]:
    """A campaign of USERS sent now and polled to completion, /metrics scraped at each poll
    into `during`; the RPCs made, by (method, code)."""
    api = stack.api
    made: dict[tuple[str, str], int] = {}

    def counted(rpc: str, code: str = "OK") -> None:
        key = (CAMPAIGNS + rpc, code)
        made[key] = made.get(key, 0) + 1

    stack.audience.upsert(*(contact(u, attributes={"active": True}) for u in USERS))
    body = f"<p>Spring is here</p>{FOOTER}"
    created = api.create(
        scheduled_request(
            channels=[email("Spring", body)],
            name="Observed",
            throttle=pb.Throttle(quiet_hours=pb.QuietHours(enabled=False)),
        )
    )
    counted("CreateCampaign")
    missing = api.fails("GetCampaign", svc.GetCampaignRequest(campaign_id="no-such-campaign"))
    assert missing.code == grpc.StatusCode.NOT_FOUND
    counted("GetCampaign", "NOT_FOUND")
    started = api.call(
        "SendCampaignNow", svc.SendCampaignNowRequest(campaign_id=created.campaign_id)
    ).execution
    counted("SendCampaignNow")

    def finished() -> xpb.Execution | None:
        found: xpb.Execution = api.call(
            "GetExecution",
            svc.GetExecutionRequest(
                campaign_id=created.campaign_id, execution_id=started.execution_id
            ),
        ).execution
        counted("GetExecution")
        during.append(stack.scrape())  # parses clean while the run goes on too
        return found if found.status == xpb.EXECUTION_STATUS_COMPLETED else None

    return eventually(finished, within=WAIT, what="the run to complete"), made
