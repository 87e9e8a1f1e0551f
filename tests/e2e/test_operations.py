"""Running the service: graceful stop, the migrate-first rule for Postgres, CLI tokens.

These tests start processes of their own; everything else shares the session's servers.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc

from tests.e2e.helpers import BACKENDS, CampaignApi, draft_request, mint_token, triggered_request
from tests.support.server_process import (
    SHUTDOWN_GRACE,
    TEST_SECRET,
    ServerProcess,
    backend_env,
    executable,
    migrate,
    server_env,
    start_server,
)

pytestmark = pytest.mark.e2e

# Interpreter teardown after the gRPC server has stopped (closing pools, flushing logs).
EXIT_SLACK_SECONDS = 1.5


@pytest.fixture(params=BACKENDS)
def own_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    with backend_env(request.param, tmp_path) as env:
        yield env


@pytest.fixture
def own_server(own_env: dict[str, str]) -> Iterator[ServerProcess]:
    process = start_server(own_env)
    try:
        yield process
    finally:
        process.stop()


def test_sigterm_exits_with_code_0_within_the_grace_period(own_server: ServerProcess):
    with grpc.insecure_channel(own_server.address) as channel:
        CampaignApi(channel, mint_token("org-ops")).create(draft_request("Before shutdown"))

    started = time.monotonic()
    own_server.process.send_signal(signal.SIGTERM)
    code = own_server.wait(timeout=SHUTDOWN_GRACE + 20)
    elapsed = time.monotonic() - started

    assert code == 0, own_server.log
    assert elapsed < SHUTDOWN_GRACE + EXIT_SLACK_SECONDS, f"took {elapsed:.1f}s"
    assert '"shutting down"' in own_server.log
    assert '"stopped"' in own_server.log


def test_campaigns_survive_a_graceful_restart(own_env: dict[str, str]):
    first = start_server(own_env)
    try:
        with grpc.insecure_channel(first.address) as channel:
            api = CampaignApi(channel, mint_token("org-restart"))
            created = api.create(triggered_request("Durable"))
            active = api.transition("ActivateCampaign", created.campaign_id)
    finally:
        first_exit = first.stop()

    second = start_server(own_env)
    try:
        with grpc.insecure_channel(second.address) as channel:
            after = CampaignApi(channel, mint_token("org-restart")).get(created.campaign_id)
    finally:
        second.stop()

    assert first_exit == 0
    assert after == active
    assert after.status == pb.CAMPAIGN_STATUS_ACTIVE


@pytest.mark.postgres
def test_postgres_without_migrate_refuses_to_start_and_says_how_to_fix_it(tmp_path: Path):
    with backend_env("postgres", tmp_path, migrated=False) as env:
        refused = subprocess.run(
            [executable(), "serve"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        migrate(env)
        server = start_server(env)
        server.stop()

    assert refused.returncode == 2
    assert "campaign-service migrate" in refused.stderr
    assert "listening on" not in refused.stdout + refused.stderr
    assert server.process.returncode == 0


def test_unreachable_database_refuses_to_start_with_a_clear_message(tmp_path: Path):
    closed_port = 9  # discard: nothing listens there on the loopback interface
    env = server_env(
        tmp_path, CAMPAIGN_DATABASE_URL=f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port}/x"
    )

    refused = subprocess.run(
        [executable(), "serve"], env=env, capture_output=True, text=True, check=False, timeout=60
    )

    assert refused.returncode == 2
    assert f"cannot open database 'x' at 127.0.0.1:{closed_port}" in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.mark.postgres
def test_migrate_twice_is_harmless(tmp_path: Path):
    with backend_env("postgres", tmp_path) as env:
        again = migrate(env)

    assert "schema at revision" in again


def test_a_token_printed_by_the_cli_is_accepted_by_the_server(
    server: ServerProcess, channel: grpc.Channel, org: str
):
    token = server.token(org, "admin", ttl=600)

    created = CampaignApi(channel, token).create(draft_request("Via CLI token"))

    assert created.organization_id == org
    assert created.created_by == f"admin@{org}"
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 600
    assert claims["roles"] == ["admin"]


def test_a_cli_token_carries_its_role(server: ServerProcess, channel: grpc.Channel, org: str):
    reader = CampaignApi(channel, server.token(org, "user"))

    refused = reader.fails("CreateCampaign", draft_request("Not allowed"))

    assert reader.list().total_size == 0
    assert refused.code == grpc.StatusCode.PERMISSION_DENIED


def test_the_development_token_in_the_startup_banner_is_accepted(tmp_path: Path):
    # Only the embedded default (no configured secret) prints one: see the test below.
    env = server_env(tmp_path)
    del env["CAMPAIGN_JWT_SECRET"]
    server = start_server(env)
    try:
        lines = server.log.splitlines()
        banner = next(i for i, line in enumerate(lines) if line.startswith("development token"))
        token = lines[banner + 1].strip()
        with grpc.insecure_channel(server.address) as channel:
            created = CampaignApi(channel, token).create(draft_request("With the banner token"))
    finally:
        server.stop()

    assert created.organization_id == "org-dev"
    assert created.created_by == "dev-admin"


def test_a_server_with_a_configured_secret_prints_no_token(server: ServerProcess):
    # The shared servers run with CAMPAIGN_JWT_SECRET (and Postgres in production mode): a token
    # signed with it in the output would give admin rights to whoever reads the logs.
    banner = server.log.split("\n{", 1)[0]

    assert "listening on" in banner
    assert "development token" not in banner
    assert "eyJ" not in server.log
    assert "auth: HS256 with the configured key" in banner


def test_each_rpc_is_access_logged_with_its_final_code(
    server: ServerProcess, channel: grpc.Channel, org: str
):
    api = CampaignApi(channel, mint_token(org))
    campaign_id = api.create(draft_request("Logged")).campaign_id
    api.fails("CancelCampaign", svc.CancelCampaignRequest(campaign_id="missing-" + org))
    api.transition("CancelCampaign", campaign_id, reason="done")
    method = "/campaign.v1.CampaignService/CancelCampaign"

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        entries = [e for e in access_log(server) if e["method"] == method]
        if [e["code"] for e in entries[-2:]] == ["NOT_FOUND", "OK"]:
            break
        time.sleep(0.05)

    assert [e["code"] for e in entries[-2:]] == ["NOT_FOUND", "OK"]
    assert all(e["duration_ms"] >= 0 for e in entries)
    health = [e for e in access_log(server) if e["method"].startswith("/grpc.health.")]
    assert health == []  # probes would drown the log


def access_log(server: ServerProcess) -> list[dict[str, Any]]:
    entries = []
    for line in list(server.output):
        if line.startswith("{") and '"event": "rpc"' in line:
            entries.append(json.loads(line))
    return entries
