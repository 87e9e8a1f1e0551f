"""`campaign-service serve | migrate | token` that cannot run say why in one line on stderr and
exit with code 2: no traceback, the host and port they tried, never the password."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.support.server_process import (
    CLI_TIMEOUT,
    ServerProcess,
    executable,
    run_cli,
    server_env,
    start_listening,
    start_server,
    wait_until_serving,
)
from tests.support.services import free_port

pytestmark = pytest.mark.e2e

PASSWORD = "hunter2-never-printed"


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused command printed, checked for the shape every refusal has."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stdout + result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert "listening on" not in result.stdout
    return lines[0]


def database_cases() -> list[tuple[str, str, list[str]]]:
    port = free_port()
    return [
        (
            "unknown-database",
            "postgresql+asyncpg://postgres@127.0.0.1:5432/does_not_exist_x",
            ["127.0.0.1:5432", "does_not_exist_x", "does not exist"],
        ),
        ("unparsable", "this is not :// a url", ["CAMPAIGN_DATABASE_URL", "postgresql+asyncpg://"]),
        ("port-not-a-number", "postgresql+asyncpg://u@127.0.0.1:abc/x", ["CAMPAIGN_DATABASE_URL"]),
        ("unsupported", "mysql://root@127.0.0.1/x", ["mysql", "postgresql+asyncpg://"]),
        (
            "unreachable",
            f"postgresql+asyncpg://postgres:{PASSWORD}@127.0.0.1:{port}/x",
            [f"127.0.0.1:{port}", "refused"],
        ),
    ]


@pytest.mark.parametrize("command", ["serve", "migrate"])
@pytest.mark.parametrize(
    ("url", "expected"),
    [(url, expected) for _, url, expected in database_cases()],
    ids=[name for name, _, _ in database_cases()],
)
def test_a_database_that_cannot_be_opened_is_one_line_and_exit_code_2(
    tmp_path: Path, command: str, url: str, expected: list[str]
):
    env = server_env(tmp_path, CAMPAIGN_DATABASE_URL=url)

    line = refused(run_cli(env, command))

    for text in expected:
        assert text in line, line


@pytest.mark.parametrize("command", [["serve"], ["token", "--org", "o", "--role", "admin"]])
@pytest.mark.parametrize(
    "shared",
    [
        {"CAMPAIGN_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"},
        {"CAMPAIGN_NATS_URL": "nats://127.0.0.1:4222"},
    ],
    ids=["database", "nats"],
)
def test_production_mode_without_a_secret_refuses_to_serve_or_mint(
    tmp_path: Path, command: list[str], shared: dict[str, str]
):
    env = server_env(tmp_path / "data", **shared)
    del env["CAMPAIGN_JWT_SECRET"]

    result = run_cli(env, *command)
    line = refused(result)

    assert "CAMPAIGN_JWT_SECRET" in line
    assert next(iter(shared)) in line
    assert result.stdout == ""  # no token
    assert not (tmp_path / "data" / "jwt-secret").exists()


def test_a_short_secret_is_refused(tmp_path: Path):
    env = server_env(tmp_path, CAMPAIGN_JWT_SECRET="short")

    assert "at least 32" in refused(run_cli(env, "token", "--org", "o", "--role", "admin"))


@pytest.mark.parametrize(
    ("name", "value", "command"),
    [
        ("CAMPAIGN_REDIS_URL", "127.0.0.1:6379", ["serve"]),
        ("CAMPAIGN_NATS_URL", f"nats://user:{PASSWORD}@127.0.0.1:port", ["serve"]),
        ("CAMPAIGN_ORGANIZATION_PER_HOUR", "many", ["migrate"]),
        ("CAMPAIGN_REDIS_URL", "127.0.0.1:6379", ["token", "--org", "o", "--role", "user"]),
    ],
)
def test_an_invalid_setting_is_named_in_one_line(
    tmp_path: Path, name: str, value: str, command: list[str]
):
    env = server_env(tmp_path, **{name: value})

    line = refused(run_cli(env, *command))

    assert line.startswith("error: invalid configuration: " + name), line


def test_unreachable_redis_and_nats_do_not_stop_the_start_and_are_reported(tmp_path: Path):
    # The choice documented in docs/security.md: the outbox holds events and sends wait, so the
    # service serves (health SERVING) and logs each unreachable dependency once at start.
    redis_port, nats_port = free_port(), free_port()
    env = server_env(
        tmp_path,
        CAMPAIGN_REDIS_URL=f"redis://:{PASSWORD}@127.0.0.1:{redis_port}/0",
        CAMPAIGN_NATS_URL=f"nats://127.0.0.1:{nats_port}",
    )

    server = start_server(env)  # waits for SERVING
    try:
        reported = wait_for_log(server, "CAMPAIGN_REDIS_URL")
    finally:
        server.stop()

    assert f"127.0.0.1:{redis_port}" in reported
    assert PASSWORD not in server.log
    assert "Traceback" not in server.log


def wait_for_log(server: ServerProcess, text: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(server.output):
            if text in line and "unreachable" in line:
                return line
        time.sleep(0.1)
    raise AssertionError(f"no report naming {text}:\n{server.log}")


def test_a_second_server_on_a_port_in_use_refuses_to_start(live_server: ServerProcess):
    # A second `make run` beside the first: same configuration (same data dir or database), the
    # port the first one listens on. It must not bind beside it (SO_REUSEPORT) and split the
    # callers between the two; it says so in one line and exits with code 2.
    env = dict(live_server.env, CAMPAIGN_GRPC_ADDRESS=live_server.address)

    process, address, output, reader = start_listening([executable(), "serve"], env)
    if address is not None:
        process.kill()
        process.wait(10)
        pytest.fail(f"a second server started on {address} beside the first")
    code = process.wait(CLI_TIMEOUT)
    reader.join(5)  # its last lines

    assert code == 2, "".join(output)
    assert len(output) == 1, "".join(output)
    line = output[0]
    assert line.startswith("error: cannot listen on " + live_server.address)
    assert "CAMPAIGN_GRPC_ADDRESS" in line
    assert "in use" in line
    assert "Traceback" not in line
    wait_until_serving(live_server.address, timeout=5)  # the first one is untouched
