"""Logs an operator can follow, on the production stack (Postgres, NATS, Redis) in JSON mode at
DEBUG: every line on stderr is one JSON object, whichever library wrote it; a run has its start,
progress and end lines, each naming organization, campaign and execution; the access lines name
the caller; and no recipient's address or phone number appears anywhere in the output.

One server, one run of a few hundred recipients in several batches (docs/observability.md).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import execution_pb2 as xpb

from tests.e2e.engine_helpers import (
    ENGINE_OVERRIDES,
    RUN_TIMEOUT,
    AudienceApi,
    contact,
    eventually,
)
from tests.e2e.helpers import CampaignApi, email, mint_token, new_org, scheduled_request
from tests.integration.nats_support import StreamNames, delete_stream, shared_nats_url
from tests.support.compliance import FOOTER
from tests.support.migrated import migrated_postgres_url
from tests.support.server_process import (
    ADDRESS_LINE,
    STARTUP_TIMEOUT,
    executable,
    server_env,
    wait_until_serving,
)
from tests.support.services import require

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats, pytest.mark.redis]

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
RECIPIENTS = 300
BATCH = 64  # five batches: a first, middle ones and a last
OPERATOR = "campaign-operator"  # the subject of the campaign calls
# The audience calls' subject is an address: the access lines would carry it unless masked.
ADDRESS_SUBJECT = "ops.lead@example.org"


def address(i: int) -> str:
    return f"logged.reader{i:03d}@example.org"


def phone(i: int) -> str:
    return f"+3361234{i:04d}"


@dataclass
class Run:
    org: str
    campaign_id: str
    execution: xpb.Execution
    stderr: list[str]
    stdout: str

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stderr]

    def of_run(self, event: str) -> list[dict[str, Any]]:
        return [
            line
            for line in self.lines
            if line.get("event") == event
            and line.get("execution_id") == self.execution.execution_id
        ]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    require(REDIS_HOST, REDIS_PORT, "Redis")
    nats_url, names = shared_nats_url(), StreamNames.fresh()
    data: Path = tmp_path_factory.mktemp("run-logs")
    with migrated_postgres_url() as database_url:  # as `migrate` leaves it
        env = server_env(
            data / "data",
            **ENGINE_OVERRIDES,
            CAMPAIGN_DATABASE_URL=database_url,
            **names.server_settings(nats_url),
            CAMPAIGN_REDIS_URL=f"redis://{REDIS_HOST}:{REDIS_PORT}/0",
            CAMPAIGN_LOG_FORMAT="json",
            CAMPAIGN_LOG_LEVEL="DEBUG",
            CAMPAIGN_EXECUTOR_BATCH_SIZE=str(BATCH),
        )
        try:
            yield run_campaign(env, data / "stderr.log")
        finally:
            for stream in (names.stream, f"{names.stream}_EVENTS", f"{names.stream}_IN"):
                asyncio.run(delete_stream(nats_url, stream))


def run_campaign(env: dict[str, str], stderr_path: Path) -> Run:
    """Serve with stderr apart from stdout (where the banner goes), run one campaign to its
    end, stop the server and return what it wrote."""
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [executable(), "serve"], env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    stdout: list[str] = []
    listening = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            stdout.append(line)
            if ADDRESS_LINE.search(line):
                listening.set()
        listening.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        assert listening.wait(STARTUP_TIMEOUT), "no banner"
        found = next((m for m in map(ADDRESS_LINE.search, stdout) if m), None)
        assert found is not None, "".join(stdout) + stderr_path.read_text()
        server_address = found.group(1)
        wait_until_serving(server_address)
        org = new_org()
        with grpc.insecure_channel(server_address) as channel:
            campaign_id, execution = one_run(channel, org)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        reader.join(5)
    return Run(org, campaign_id, execution, stderr_path.read_text().splitlines(), "".join(stdout))


def one_run(channel: grpc.Channel, org: str) -> tuple[str, xpb.Execution]:
    audience = AudienceApi(channel, mint_token(org, sub=ADDRESS_SUBJECT))
    upserted = audience.upsert(
        *(
            contact(
                f"reader-{i:03d}",
                email=address(i),
                phone=phone(i),
                attributes={"active": True, "first_name": f"Reader{i}"},
            )
            for i in range(RECIPIENTS)
        )
    )
    assert upserted.upserted_count == RECIPIENTS, upserted.rejected[:3]
    api = CampaignApi(channel, mint_token(org, sub=OPERATOR))
    body = "<p>Hello {{ first_name }}</p>" + FOOTER
    created = api.create(
        scheduled_request(
            name="Followed",
            channels=[email("Hi {{ first_name }}", body)],
            throttle=pb.Throttle(quiet_hours=pb.QuietHours(enabled=False)),
        )
    )
    api.call("SendCampaignNow", svc.SendCampaignNowRequest(campaign_id=created.campaign_id))

    def ended() -> xpb.Execution | None:
        page = api.call(
            "ListExecutions", svc.ListExecutionsRequest(campaign_id=created.campaign_id)
        )
        final = {xpb.EXECUTION_STATUS_COMPLETED, xpb.EXECUTION_STATUS_FAILED}
        done = [e for e in page.executions if e.status in final]
        return done[0] if done else None

    execution = eventually(ended, within=RUN_TIMEOUT, what="the run's end")
    api.fails("GetCampaign", svc.GetCampaignRequest(campaign_id="missing"))  # an error line
    return created.campaign_id, execution


def test_every_line_on_stderr_is_one_json_object(run: Run):
    not_json = []
    for line in run.stderr:
        try:
            parsed = json.loads(line)
        except ValueError:
            not_json.append(line)
            continue
        if not isinstance(parsed, dict) or "event" not in parsed or "level" not in parsed:
            not_json.append(line)

    assert run.execution.status == xpb.EXECUTION_STATUS_COMPLETED, run.execution.failure_reason
    assert not_json == []
    assert {line["logger"] for line in run.lines} > {"campaign.access", "campaign.run"}
    assert any(line["level"] == "debug" for line in run.lines)  # DEBUG lines came through too


def test_a_run_logs_its_start_progress_and_end_with_its_ids(run: Run):
    started, progress, ended = (
        run.of_run(event) for event in ("run started", "run progress", "run ended")
    )
    ids = {
        "organization_id": run.org,
        "campaign_id": run.campaign_id,
        "execution_id": run.execution.execution_id,
    }

    assert len(started) == 1
    assert started[0]["audience"] == RECIPIENTS
    assert len(progress) >= 2  # the first batch and the last
    assert progress[-1]["sent"] == progress[-1]["total"] == RECIPIENTS
    assert progress[-1]["percent"] == 100.0
    assert all(p["rate_per_s"] >= 0 and "eta_s" in p for p in progress)
    assert len(ended) == 1
    assert ended[0]["status"] == "completed"
    assert ended[0]["sent"] == RECIPIENTS
    for line in started + progress + ended:
        assert {k: line[k] for k in ids} == ids


def test_access_lines_name_the_caller_and_the_errors_reason(run: Run):
    rpcs = [line for line in run.lines if line["event"] == "rpc"]
    ours = [line for line in rpcs if line.get("organization_id") == run.org]
    failed = [line for line in ours if line["method"].endswith("/GetCampaign")]

    assert {line["subject"] for line in ours} == {OPERATOR, "[email]"}
    assert all(line["peer"] for line in ours)
    assert failed[-1]["code"] == "NOT_FOUND"
    assert failed[-1]["reason"]
    assert failed[-1]["message"]
    health = [line for line in rpcs if line["method"].startswith("/grpc.health.")]
    assert health
    assert all(line["level"] == "debug" for line in health)


def test_no_recipient_address_or_phone_number_appears_in_the_output(run: Run):
    output = "\n".join(run.stderr) + run.stdout
    leaked = [
        value
        for i in range(RECIPIENTS)
        for value in (address(i), phone(i), phone(i)[1:])
        if value in output
    ]

    assert leaked == []
    assert ADDRESS_SUBJECT not in output
    assert "@example.org" not in output
    assert "+33612" not in output
