"""Structure of the deployment files: docker-compose.yml, Dockerfile, .dockerignore, and the
Makefile's install from the lockfile.

No Docker engine is involved: the files are parsed (YAML with PyYAML, the Dockerfile as text) and
their wiring is checked against what the service expects.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

# Every setting the service reads from the environment (pydantic-settings, prefix CAMPAIGN_).
KNOWN_SETTINGS = frozenset(
    {
        "CAMPAIGN_GRPC_ADDRESS",
        "CAMPAIGN_HTTP_ADDRESS",
        "CAMPAIGN_TRACKING_BASE_URL",
        "CAMPAIGN_DATA_DIR",
        "CAMPAIGN_DATABASE_URL",
        "CAMPAIGN_REDIS_URL",
        "CAMPAIGN_NATS_URL",
        "CAMPAIGN_JWT_SECRET",
        "CAMPAIGN_JWT_PUBLIC_KEY",
        "CAMPAIGN_LOG_FORMAT",
        "CAMPAIGN_LOG_LEVEL",
        "CAMPAIGN_OTEL_EXPORTER",
        "CAMPAIGN_OTEL_ENDPOINT",
    }
)
REQUIRED_SETTINGS = frozenset(
    {
        "CAMPAIGN_GRPC_ADDRESS",
        "CAMPAIGN_DATABASE_URL",
        "CAMPAIGN_REDIS_URL",
        "CAMPAIGN_NATS_URL",
        "CAMPAIGN_JWT_SECRET",
    }
)
INFRASTRUCTURE = ("postgres", "redis", "nats")
SERVICES = frozenset({*INFRASTRUCTURE, "migrate", "campaign"})
GRPC_PORT = 50051


# --------------------------------------------------------------------------------- helpers


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping, whichever of the two compose forms it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        key_values = (str(item).partition("=") for item in env)
        return {key: value for key, _, value in key_values}
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def command_args(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]


def published_ports(service: dict[str, Any]) -> set[tuple[int, int]]:
    """(published, target) pairs from the short ("50051:50051") and the long port syntax."""
    pairs: set[tuple[int, int]] = set()
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            if port.get("published") is not None:
                pairs.add((int(port["published"]), int(port["target"])))
            continue
        spec = str(port).split("/", 1)[0]
        parts = spec.split(":")
        if len(parts) >= 2:
            pairs.add((int(parts[-2]), int(parts[-1])))
    return pairs


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    return instructions


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert starts, "the Dockerfile has no FROM"
    return instructions[starts[-1] :]


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"expected the exec (JSON array) form, got {args!r}"
    return value


# --------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def campaign_env(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    return environment_of(services["campaign"])


@pytest.fixture(scope="module")
def runtime_stage() -> list[tuple[str, str]]:
    return final_stage(dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8")))


# --------------------------------------------------------------------------------- compose


def test_compose_file_follows_the_compose_spec_without_a_version_key(
    compose: dict[str, Any],
) -> None:
    assert "version" not in compose


def test_compose_defines_the_five_services(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == SERVICES


def test_campaign_waits_for_healthy_infrastructure(services: dict[str, dict[str, Any]]) -> None:
    depends_on = services["campaign"]["depends_on"]
    for name in INFRASTRUCTURE:
        assert depends_on[name]["condition"] == "service_healthy", name


def test_campaign_starts_only_after_migrations_completed(
    services: dict[str, dict[str, Any]],
) -> None:
    depends_on = services["campaign"]["depends_on"]
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"


def test_migrate_runs_once_after_postgres_is_healthy(services: dict[str, dict[str, Any]]) -> None:
    migrate = services["migrate"]
    assert migrate["build"] == "."
    assert command_args(migrate) == ["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["restart"] == "no"  # a quoted "no": bare `no` is YAML's false


def test_migrate_uses_the_same_database_as_the_service(
    services: dict[str, dict[str, Any]], campaign_env: dict[str, str]
) -> None:
    migrate_env = environment_of(services["migrate"])
    assert migrate_env["CAMPAIGN_DATABASE_URL"] == campaign_env["CAMPAIGN_DATABASE_URL"]


def test_campaign_serves_from_the_local_build(services: dict[str, dict[str, Any]]) -> None:
    campaign = services["campaign"]
    assert campaign["build"] == "."
    assert command_args(campaign) == ["serve"]


@pytest.mark.parametrize("service", ["campaign", "migrate"])
def test_service_environment_names_only_known_settings(
    services: dict[str, dict[str, Any]], service: str
) -> None:
    env = environment_of(services[service])
    campaign_keys = {key for key in env if key.startswith("CAMPAIGN_")}
    assert campaign_keys, f"{service} sets no CAMPAIGN_* variable"
    assert campaign_keys <= KNOWN_SETTINGS, campaign_keys - KNOWN_SETTINGS


def test_campaign_environment_sets_every_required_setting(campaign_env: dict[str, str]) -> None:
    missing = REQUIRED_SETTINGS - campaign_env.keys()
    assert not missing, f"the campaign service does not set {sorted(missing)}"


def test_campaign_listens_on_all_interfaces_in_the_container(campaign_env: dict[str, str]) -> None:
    assert campaign_env["CAMPAIGN_GRPC_ADDRESS"] == f"0.0.0.0:{GRPC_PORT}"


def test_database_url_uses_asyncpg_and_the_postgres_service(campaign_env: dict[str, str]) -> None:
    url = urlsplit(campaign_env["CAMPAIGN_DATABASE_URL"])
    assert url.scheme == "postgresql+asyncpg"
    assert url.hostname == "postgres"
    assert url.port in (None, 5432)
    assert url.path.lstrip("/")


@pytest.mark.parametrize(
    ("setting", "scheme", "host", "port"),
    [
        ("CAMPAIGN_REDIS_URL", "redis", "redis", 6379),
        ("CAMPAIGN_NATS_URL", "nats", "nats", 4222),
    ],
)
def test_broker_urls_point_at_compose_services(
    campaign_env: dict[str, str], setting: str, scheme: str, host: str, port: int
) -> None:
    url = urlsplit(campaign_env[setting])
    assert (url.scheme, url.hostname, url.port) == (scheme, host, port)


def test_jwt_secret_must_come_from_the_operator(campaign_env: dict[str, str]) -> None:
    # ${VAR:?message} makes compose refuse to start instead of running with an empty secret.
    assert campaign_env["CAMPAIGN_JWT_SECRET"].startswith("${CAMPAIGN_JWT_SECRET:?")
    assert campaign_env["CAMPAIGN_JWT_SECRET"].endswith("}")


def test_grpc_port_is_published(services: dict[str, dict[str, Any]]) -> None:
    assert (GRPC_PORT, GRPC_PORT) in published_ports(services["campaign"])


def test_only_the_grpc_service_publishes_ports(services: dict[str, dict[str, Any]]) -> None:
    publishing = {name for name, service in services.items() if service.get("ports")}
    assert publishing == {"campaign"}


def test_nats_enables_jetstream_with_a_store_dir_on_a_volume(
    services: dict[str, dict[str, Any]],
) -> None:
    nats = services["nats"]
    args = command_args(nats)
    assert "-js" in args
    store_dir = args[args.index("-sd") + 1]
    mounts = [str(volume).split(":")[1] for volume in nats["volumes"]]
    assert any(store_dir == mount or store_dir.startswith(mount + "/") for mount in mounts)


def test_nats_serves_the_monitoring_port_its_healthcheck_probes(
    services: dict[str, dict[str, Any]],
) -> None:
    nats = services["nats"]
    args = command_args(nats)
    monitor_port = args[args.index("-m") + 1]
    probe = " ".join(nats["healthcheck"]["test"])
    assert monitor_port == "8222"
    assert f":{monitor_port}/healthz" in probe


@pytest.mark.parametrize(
    ("service", "probe"),
    [("postgres", "pg_isready"), ("redis", "redis-cli"), ("nats", "/healthz")],
)
def test_each_infrastructure_service_has_a_healthcheck(
    services: dict[str, dict[str, Any]], service: str, probe: str
) -> None:
    healthcheck = services[service]["healthcheck"]
    test = healthcheck["test"]
    assert not healthcheck.get("disable", False)
    assert test[0] in ("CMD", "CMD-SHELL")
    assert probe in " ".join(test[1:])


def test_campaign_healthcheck_probes_grpc_health_with_valid_python(
    services: dict[str, dict[str, Any]],
) -> None:
    test = services["campaign"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    code = test[3]
    assert "grpc_health.v1" in code
    assert f"127.0.0.1:{GRPC_PORT}" in code
    assert "$" not in code  # compose would try to interpolate it
    compile(code, "<campaign healthcheck>", "exec")


def test_data_lives_on_named_volumes(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    named = set(compose["volumes"])
    for name in ("postgres", "redis", "nats", "campaign"):
        sources = {str(volume).split(":")[0] for volume in services[name].get("volumes") or []}
        assert sources, f"{name} mounts no volume"
        assert sources <= named, f"{name} mounts {sources - named}, not named volumes"


# --------------------------------------------------------------------------------- Dockerfile


def test_dockerfile_builds_in_a_separate_stage_from_python_slim() -> None:
    instructions = dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))
    stages = [args for keyword, args in instructions if keyword == "FROM"]
    assert len(stages) >= 2
    assert any(keyword == "COPY" and "--from=" in args for keyword, args in instructions)
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "python:3.11-slim" in text


def test_dockerfile_runs_as_a_non_root_user(runtime_stage: list[tuple[str, str]]) -> None:
    users = [args for keyword, args in runtime_stage if keyword == "USER"]
    assert users, "the runtime stage never switches away from root"
    user = users[-1].split(":", 1)[0]
    assert user not in ("root", "0")


def test_dockerfile_exposes_the_grpc_port(runtime_stage: list[tuple[str, str]]) -> None:
    exposed = {
        port for keyword, args in runtime_stage if keyword == "EXPOSE" for port in args.split()
    }
    assert str(GRPC_PORT) in exposed or f"{GRPC_PORT}/tcp" in exposed


def test_dockerfile_binds_grpc_to_all_interfaces(runtime_stage: list[tuple[str, str]]) -> None:
    env_lines = " ".join(args for keyword, args in runtime_stage if keyword == "ENV")
    assert f"CAMPAIGN_GRPC_ADDRESS=0.0.0.0:{GRPC_PORT}" in env_lines.split()


def test_dockerfile_entrypoint_is_campaign_service(runtime_stage: list[tuple[str, str]]) -> None:
    entrypoints = [args for keyword, args in runtime_stage if keyword == "ENTRYPOINT"]
    assert entrypoints
    assert exec_form(entrypoints[-1]) == ["campaign-service"]


def test_dockerfile_serves_by_default(runtime_stage: list[tuple[str, str]]) -> None:
    commands = [args for keyword, args in runtime_stage if keyword == "CMD"]
    assert commands
    assert exec_form(commands[-1]) == ["serve"]


def test_dockerfile_installs_the_locked_runtime_dependencies_then_the_project_alone() -> None:
    """Reproducible images: the versions come from requirements-runtime.lock (`make lock`), the
    project's wheel adds no resolution of its own (--no-deps)."""
    runs = [
        shlex.split(args)
        for keyword, args in dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))
        if keyword == "RUN"
    ]
    installs = [
        command[command.index("install") + 1 :]
        for run in runs
        for command in _commands(run)
        if command[:2] == ["pip", "install"]
    ]
    assert ["-r", "requirements-runtime.lock"] in installs
    project_installs = [args for args in installs if any(a.endswith(".whl") for a in args)]
    assert project_installs
    assert all("--no-deps" in args for args in project_installs)
    assert (ROOT / "requirements-runtime.lock").is_file()


def test_make_venv_installs_from_the_lockfile() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    assert "$(LOCK)" in recipe.splitlines()[0]  # a re-lock reinstalls
    assert "pip install --quiet -r $(LOCK)" in recipe
    assert "pip install --quiet --no-deps -e ." in recipe
    assert "LOCK := requirements.lock" in makefile


def _commands(words: list[str]) -> list[list[str]]:
    """A RUN line's shell words split at && into commands."""
    commands: list[list[str]] = [[]]
    for word in words:
        if word == "&&":
            commands.append([])
        else:
            commands[-1].append(word)
    return commands


# --------------------------------------------------------------------------------- .dockerignore


@pytest.mark.parametrize("pattern", [".venv", ".git", ".campaign", "bench/results"])
def test_dockerignore_keeps_local_state_out_of_the_image(pattern: str) -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert pattern in patterns


def test_dockerignore_keeps_what_the_build_needs() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert not patterns & {
        "generated",
        "pyproject.toml",
        "README.md",
        "*.md",
        "*",
        "**",
        "requirements-runtime.lock",
        "*.lock",
    }
