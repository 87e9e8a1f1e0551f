"""`campaign-service serve | migrate | token | watch`: the console entry point."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import sys
from collections.abc import Coroutine
from typing import Any

import structlog
from pydantic import ValidationError

from domain.kernel.principal import Role
from server.composition import SchemaOutOfDateError, build_application, migrate_database
from server.logging_setup import configure_logging
from server.processes.count import worker_count
from server.processes.supervisor import supervise
from server.processes.worker import WorkerRole, end_with_supervisor
from server.settings import Settings
from server.startup import StartupError
from server.tokens import issue_token, load_keys
from server.tracing import shutdown_tracing

DEV_ORG = "org-dev"
DEV_TOKEN_TTL = 24 * 3600
log = structlog.get_logger("campaign")


def _run(coro: Coroutine[Any, Any, int]) -> int:
    try:
        import uvloop  # noqa: PLC0415 - optional: absent on platforms without it
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def banner(settings: Settings, address: str, http_address: str = "") -> str:
    """What the server prints once listening. A development token only with the embedded
    default's local secret: a token signed with a configured secret would hand admin rights to
    everyone who reads the output (logs), so production and configured keys get none."""
    keys = load_keys(settings)
    lines = [f"campaign-service listening on {address}", f"mode: {settings.describe_mode()}"]
    if http_address:  # first: whoever waits for "listening on" has this line by then
        lines.insert(0, f"http on {http_address} (tracking links, /healthz, /metrics)")
    if not keys.local_default:
        lines.append(
            f"auth: {keys.algorithm} with the configured key "
            "(mint tokens with `campaign-service token`)"
        )
        return "\n".join(lines)
    token = issue_token(
        keys,
        organization_id=DEV_ORG,
        subject="dev-admin",
        roles=[Role.ADMIN.value],
        ttl_seconds=DEV_TOKEN_TTL,
    )
    lines += [
        f"development token (org {DEV_ORG}, role admin, 24h):",
        f"  {token}",
        "try:",
        f"  {grpcurl_command()} -plaintext -H 'authorization: Bearer {token}' \\",
        f"    -d '{{\"page_size\": 10}}' {address} campaign.v1.CampaignService/ListCampaigns",
        "a first campaign in two minutes: README.md, 'A first campaign in two minutes'",
    ]
    return "\n".join(lines)


def grpcurl_command() -> str:
    """`grpcurl` when it is on PATH; else the one the dev tools put beside this interpreter (as
    `.venv/bin/grpcurl` when run from the checkout), so the banner's command works as pasted."""
    if shutil.which("grpcurl"):
        return "grpcurl"
    beside = os.path.join(sys.prefix, "bin", "grpcurl")
    if not os.path.exists(beside):
        return "grpcurl"
    relative = os.path.relpath(beside)
    return beside if relative.startswith("..") else relative


def refuse(reason: object) -> int:
    """Why a command cannot run, as one line on stderr; exit code 2."""
    text = " ".join(str(reason).split())  # one line, whatever the cause's text held
    print(f"error: {text}", file=sys.stderr)
    return 2


async def serve(settings: Settings, role: WorkerRole | None = None) -> int:
    """The single process (`role` None), or one worker process of a supervisor."""
    try:
        app = await build_application(
            settings,
            shared_port=role is not None,
            background=role is None or role.background,
        )
    except (StartupError, SchemaOutOfDateError) as exc:
        return refuse(exc)
    await app.start()
    if role is None:
        print(banner(settings, app.address, app.http_address), flush=True)
    else:  # the supervisor prints the banner once every worker serves
        log.info("worker started", worker=role.index, pid=os.getpid(), background=role.background)
        role.announce_ready()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down", grace_seconds=settings.shutdown_grace)
    await app.stop()
    shutdown_tracing()
    log.info("stopped")
    return 0


async def serve_with_workers(settings: Settings, count: int) -> int:
    """A supervisor and `count` worker processes (docs/worker-processes.md)."""

    def announce(address: str, http_address: str) -> None:
        lines = banner(settings, address, http_address)
        print(f"{lines}\nworkers: {count} processes (supervisor pid {os.getpid()})", flush=True)

    try:
        return await supervise(settings, count, announce)
    except (StartupError, SchemaOutOfDateError) as exc:
        return refuse(exc)


def start_serving(settings: Settings, args: argparse.Namespace) -> Coroutine[Any, Any, int] | int:
    """What `serve` runs: a worker process when the supervisor started this one, else the
    supervisor when CAMPAIGN_SERVER_WORKERS (or its default) asks for more than one, else the
    single process of before."""
    if args.worker_index is not None:
        end_with_supervisor()
        return serve(settings, WorkerRole(args.worker_index, args.ready_fd))
    try:
        count = worker_count(settings)
    except StartupError as exc:
        return refuse(exc)
    return serve_with_workers(settings, count) if count > 1 else serve(settings)


async def migrate(settings: Settings) -> int:
    try:
        revision = await migrate_database(settings)
    except StartupError as exc:
        return refuse(exc)
    print(f"schema at revision {revision}")
    return 0


def token(settings: Settings, args: argparse.Namespace) -> int:
    try:
        keys = load_keys(settings)
    except StartupError as exc:
        return refuse(exc)
    if keys.signing_key is None:
        return refuse("RS256 is configured; set CAMPAIGN_JWT_PRIVATE_KEY to issue tokens")
    if args.ttl <= 0:
        return refuse("--ttl must be a positive number of seconds")
    print(
        issue_token(
            keys,
            organization_id=args.org,
            subject=args.sub or f"{args.role}@{args.org}",
            roles=[args.role],
            ttl_seconds=args.ttl,
        )
    )
    return 0


def watch_token(settings: Settings, args: argparse.Namespace) -> str | None:
    """--token, else CAMPAIGN_TOKEN, else a short-lived reader token minted with the running
    configuration's key (as `campaign-service token` would); None when there is no key."""
    given = args.token or os.environ.get("CAMPAIGN_TOKEN")
    if given:
        return str(given)
    try:
        keys = load_keys(settings)
    except StartupError:
        return None
    if keys.signing_key is None:
        return None
    return issue_token(
        keys,
        organization_id=args.org,
        subject=f"watch@{args.org}",
        roles=[Role.USER.value],
        ttl_seconds=DEV_TOKEN_TTL,
    )


def watch(settings: Settings, args: argparse.Namespace) -> int:
    from rich.console import Console  # noqa: PLC0415 - only this command draws

    from server.dashboard.watch import WatchOptions  # noqa: PLC0415
    from server.dashboard.watch import watch as follow  # noqa: PLC0415

    if args.interval < 0.1:
        return refuse("--interval must be at least 0.1 seconds")
    token_value = watch_token(settings, args)
    if token_value is None:
        return refuse("pass --token or set CAMPAIGN_TOKEN (no key here to mint one)")
    options = WatchOptions(
        address=args.address or settings.grpc_address,
        token=token_value,
        campaign_id=args.campaign_id,
        min_interval=args.interval,
    )
    return _run(follow(options, Console()))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="campaign-service", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="run the gRPC server")
    # Internal: how the supervisor starts its worker processes (server/processes/worker.py).
    run.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    run.add_argument("--ready-fd", type=int, default=-1, help=argparse.SUPPRESS)
    commands.add_parser("migrate", help="bring the database schema to the latest revision")
    tok = commands.add_parser("token", help="print a JWT valid for the running configuration")
    tok.add_argument("--org", required=True, help="organization id (org_id claim)")
    tok.add_argument("--role", required=True, choices=[r.value for r in Role])
    tok.add_argument("--sub", default="", help="subject (default: ROLE@ORG)")
    tok.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    see = commands.add_parser("watch", help="live terminal dashboard of a campaign's metrics")
    see.add_argument("campaign_id", help="the campaign to watch")
    see.add_argument(
        "--address", default="", help="server host:port (default: CAMPAIGN_GRPC_ADDRESS)"
    )
    see.add_argument(
        "--token",
        default="",
        help="bearer token (default: CAMPAIGN_TOKEN, else one minted with the local key)",
    )
    see.add_argument(
        "--org", default=DEV_ORG, help=f"organization of a minted token (default {DEV_ORG})"
    )
    see.add_argument(
        "--interval", type=float, default=1.0, help="least seconds between updates (>= 0.1)"
    )
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        return refuse(configuration_problems(exc))
    configure_logging(
        settings.log_level, settings.log_format, tracing=settings.otel_exporter != "none"
    )
    if args.command == "token":
        return token(settings, args)
    if args.command == "watch":
        return watch(settings, args)
    work = start_serving(settings, args) if args.command == "serve" else migrate(settings)
    if isinstance(work, int):
        return work
    with contextlib.suppress(KeyboardInterrupt):
        return _run(work)
    return 130


def configuration_problems(error: ValidationError) -> str:
    """`invalid configuration: CAMPAIGN_X: why; ...`, naming each variable but never its value
    (it may be a URL with a password in it)."""
    problems = [
        f"CAMPAIGN_{'_'.join(str(part) for part in e['loc']).upper()}: "
        + e["msg"].removeprefix("Value error, ")
        for e in error.errors(include_url=False, include_input=False)
    ]
    return "invalid configuration: " + "; ".join(problems)


if __name__ == "__main__":
    raise SystemExit(main())
