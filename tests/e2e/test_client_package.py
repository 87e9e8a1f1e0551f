"""The client distribution (clients/python: campaign-service-api) as another service would use it.

Its wheel is built from this checkout and installed into a fresh virtualenv (once per module):
that venv holds grpcio and protobuf (plus the typing extra's stubs) and none of the server's
libraries; `mypy --strict` passes on examples/typed_client.py there, and rejects a wrongly typed
call. Against one real server publishing to NATS (SQLite, streams and a subject prefix of this
run), the typed client, run by the fresh venv's Python, creates, sends and watches a run to
completion, or schedules a campaign; examples/nats_consumer.py then prints the run's lifecycle
events and one delivery request per recipient.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import mint_token, new_org
from tests.integration.nats_support import StreamNames, delete_stream, shared_nats_url
from tests.support.server_process import ServerProcess, server_env, start_server

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CLIENT_PROJECT = ROOT / "clients" / "python"
TYPED_CLIENT = ROOT / "examples" / "typed_client.py"
NATS_CONSUMER = ROOT / "examples" / "nats_consumer.py"
OUTER_BIN = Path(sys.executable).parent
STEP_TIMEOUT = 180.0
CONTACTS = 4
# The fresh venv may hold the package, its two dependencies, the typing extra and what they need.
ALLOWED_DISTRIBUTIONS = {
    "campaign-service-api",
    "grpcio",
    "protobuf",
    "types-grpcio",
    "types-protobuf",
    "typing-extensions",
}
SERVER_LIBRARIES = ("sqlalchemy", "nats", "redis", "asyncpg", "pydantic", "server", "domain")


def run(*command: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in command],
        capture_output=True,
        text=True,
        check=False,
        timeout=STEP_TIMEOUT,
        **kwargs,  # type: ignore[call-overload]
    )


def succeeded(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def client_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a new virtualenv holding only the client wheel (with its typing extra)."""
    base = tmp_path_factory.mktemp("client-package")
    dist, venv = base / "dist", base / "venv"
    # As the README builds it (make client-wheel), into this test's own folder.
    succeeded(run("make", "-s", "-C", ROOT, "client-wheel", f"CLIENT_DIST={dist}"))
    (wheel,) = dist.glob("campaign_service_api-*.whl")
    succeeded(run(sys.executable, "-m", "venv", "--without-pip", venv))
    python = venv / "bin" / "python"
    succeeded(
        run(
            *(sys.executable, "-m", "pip", "--python", python, "install", "--quiet"),
            f"{wheel}[typing]",
        )
    )
    return python


@pytest.fixture(scope="module")
def nats_backed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    url, names = shared_nats_url(), StreamNames.fresh()
    env = server_env(
        tmp_path_factory.mktemp("client-package-server"),
        **names.server_settings(url),
        CAMPAIGN_NATS_INBOUND_ENABLED="false",
    )
    server = start_server(env)
    try:
        yield server
    finally:
        server.stop()
        for stream in (names.stream, f"{names.stream}_EVENTS"):
            asyncio.run(delete_stream(url, stream))


def typed_client(
    python: Path, server: ServerProcess, org: str, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {
        "CAMPAIGN_GRPC_ADDRESS": server.address,
        "CAMPAIGN_TOKEN": mint_token(org),
        "PATH": "/usr/bin:/bin",
    }
    return run(python, "-I", TYPED_CLIENT, *args, env=env)


# --- the package --------------------------------------------------------------------------------


def test_the_venv_holds_the_contract_and_none_of_the_server_libraries(client_python: Path):
    probe = (
        "import importlib.util, importlib.metadata, json, sys\n"
        "import campaign.v1.campaign_service_pb2_grpc\n"
        f"missing = [m for m in {SERVER_LIBRARIES!r} if importlib.util.find_spec(m) is None]\n"
        "names = sorted(d.metadata['Name'] for d in importlib.metadata.distributions())\n"
        "print(json.dumps({'missing': missing, 'distributions': names}))\n"
    )
    found = json.loads(succeeded(run(client_python, "-I", "-c", probe)))

    assert found["missing"] == list(SERVER_LIBRARIES)
    names = {name.lower().replace("_", "-") for name in found["distributions"]}
    assert "campaign-service-api" in names
    assert names <= ALLOWED_DISTRIBUTIONS, names - ALLOWED_DISTRIBUTIONS


def test_mypy_strict_passes_on_the_typed_client_and_catches_a_wrong_request(
    client_python: Path, tmp_path: Path
):
    """The outer venv's mypy, resolving imports in the fresh venv only (--python-executable):
    the types come from the package's .pyi files, not from this checkout."""
    (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\n", encoding="utf-8")
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        "import grpc\n"
        "from campaign.v1 import campaign_service_pb2, campaign_service_pb2_grpc\n\n\n"
        "def get(channel: grpc.Channel) -> str:\n"
        "    stub = campaign_service_pb2_grpc.CampaignServiceStub(channel)\n"
        "    reply = stub.GetCampaign(campaign_service_pb2.ListCampaignsRequest())\n"
        "    return reply.campaign.campaign_id\n",
        encoding="utf-8",
    )

    def mypy(path: Path) -> subprocess.CompletedProcess[str]:
        return run(
            *(OUTER_BIN / "mypy", "--config-file", tmp_path / "mypy.ini"),
            *("--python-executable", client_python, "--cache-dir", tmp_path / "cache", path),
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin"},
        )

    good, bad = mypy(TYPED_CLIENT), mypy(wrong)

    assert good.returncode == 0, good.stdout + good.stderr
    assert "Success: no issues found" in good.stdout
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert '"ListCampaignsRequest"; expected "GetCampaignRequest"' in bad.stdout


# --- the examples against a real server ----------------------------------------------------------


@pytest.mark.nats
def test_typed_client_runs_a_campaign_and_the_nats_consumer_sees_it(
    client_python: Path, nats_backed_server: ServerProcess
):
    org = new_org()

    client = typed_client(client_python, nats_backed_server, org, "--contacts", str(CONTACTS))

    lines = succeeded(client).splitlines()
    assert lines[0].startswith(f"upserted {CONTACTS} contacts in cohort ")
    cohort = lines[0].split()[-1]
    assert lines[1].startswith("created campaign ")
    campaign_id = lines[1].split()[-1]
    assert " COMPLETED " in lines[-1], lines
    assert f"audience={CONTACTS} " in lines[-1]

    env = dict(nats_backed_server.env, NATS_URL=nats_backed_server.env["CAMPAIGN_NATS_URL"])
    consumer = run(OUTER_BIN / "python", NATS_CONSUMER, "--from-start", "--idle-exit", "3", env=env)

    received = succeeded(consumer).splitlines()
    prefix = nats_backed_server.env["CAMPAIGN_NATS_SUBJECT_PREFIX"]
    events = [line for line in received if f"campaign_id={campaign_id}" in line]
    event_types = {line.split()[0].removeprefix(prefix) for line in events}
    assert {"campaign.created", "campaign.started", "campaign.completed"} <= event_types
    assert all(f"organization_id={org}" in line for line in events if "event_id=" in line)
    deliveries = [line for line in events if line.startswith(f"{prefix}notification.send.email")]
    recipients = {line.split("recipient=")[1] for line in deliveries}
    assert recipients == {f"{cohort}-{i}@example.com" for i in range(CONTACTS)}


@pytest.mark.nats
def test_typed_client_schedules_a_campaign(client_python: Path, nats_backed_server: ServerProcess):
    client = typed_client(client_python, nats_backed_server, new_org(), "--schedule-in", "900")

    lines = succeeded(client).splitlines()
    assert lines[-1].startswith("campaign ")
    assert " CAMPAIGN_STATUS_SCHEDULED at " in lines[-1]
