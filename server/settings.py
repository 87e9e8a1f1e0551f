"""Typed configuration from CAMPAIGN_* environment variables (and a `.env` file if present).

Every setting is optional: with none set the service runs embedded (SQLite, in-process bus) so
`make run` works on a laptop; each URL that is set swaps in the real technology for that port.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

URL_SCHEMES = {"redis_url": ("redis", "rediss", "unix"), "nats_url": ("nats", "tls", "ws", "wss")}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAMPAIGN_", env_file=".env", extra="ignore")

    grpc_address: str = Field("127.0.0.1:50051", description="host:port the gRPC server binds")
    http_address: str = Field(
        "127.0.0.1:8080",
        description="host:port of the HTTP server: tracking links, /healthz, /metrics",
    )
    tracking_base_url: str | None = Field(
        None,
        description="public base URL of the tracking links in emails (default: "
        "http://<CAMPAIGN_HTTP_ADDRESS>)",
    )
    tracking_keys: SecretStr | None = Field(
        None,
        description="comma-separated keys signing tracking links: the first signs, all verify "
        "(default: derived from the JWT / page-token secret, or the embedded local secret)",
    )
    tracking_unsubscribe_mailto: str | None = Field(
        None, description="an address List-Unsubscribe also names as mailto: (optional)"
    )
    data_dir: Path = Field(Path(".campaign"), description="embedded database and local secret")
    database_url: str | None = Field(
        None, description="postgresql+asyncpg://... (default: SQLite file in data_dir)"
    )
    auto_migrate: bool | None = Field(
        None, description="apply migrations on start (default: only for the embedded SQLite)"
    )
    redis_url: str | None = Field(None, description="redis://... shared rate limits")
    nats_url: str | None = Field(None, description="nats://... enables JetStream events")
    nats_stream: str = Field("CAMPAIGN_EVENTS", description="JetStream stream for our events")
    nats_subject_prefix: str = Field("", description="prefix for every published subject")
    nats_delivery_stream: str = Field(
        "CAMPAIGN_DELIVERIES", description="JetStream stream for notification.send.<channel>"
    )
    nats_inbound_enabled: bool = Field(
        True, description="with nats_url: consume the subscribed subjects (inbound events)"
    )
    nats_inbound_stream: str = Field(
        "CAMPAIGN_INBOUND",
        description="stream we create for subscribed subjects no other stream captures",
    )
    nats_inbound_max_deliver: int = Field(
        5,
        ge=1,
        description="deliveries of an inbound event whose handler fails before it is "
        "parked on the dead-letter subject (an outage does not count)",
    )
    nats_inbound_retry_seconds: float = Field(
        1.0, gt=0, description="redelivery delay after a failed inbound event; doubles per try"
    )
    nats_inbound_batch: int = Field(512, ge=1, le=10_000, description="messages per fetch")
    nats_inbound_concurrency: int = Field(
        8,
        ge=1,
        description="inbound events taken at a time, all subjects together, per server (split "
        "over its worker processes)",
    )
    nats_inbound_ack_wait_seconds: float = Field(
        30.0, gt=0, description="redelivery of an inbound event whose consumer went silent"
    )
    data_service_url: str | None = Field(None, description="isA_Data base URL (audiences)")
    data_service_token: SecretStr | None = Field(None, description="bearer token for it")
    creative_service_url: str | None = Field(None, description="isA_Creative base URL")
    creative_service_token: SecretStr | None = Field(None, description="bearer token for it")
    organization_per_hour: int = Field(
        10_000, gt=0, description="default organization-wide send limit per hour"
    )
    channel_per_hour: dict[str, int] = Field(
        default_factory=dict, description='per-channel limits per hour, e.g. {"email": 50000}'
    )
    marketing_cap: int = Field(
        0,
        ge=0,
        description="most marketing messages per user per window across all campaigns "
        "(0 = no cap; transactional sends are exempt)",
    )
    marketing_cap_window_hours: float = Field(
        24.0, gt=0, description="the rolling window of CAMPAIGN_MARKETING_CAP, in hours"
    )
    marketing_cap_by_organization: dict[str, int] = Field(
        default_factory=dict,
        description='per-organization CAMPAIGN_MARKETING_CAP, e.g. {"acme": 3} (0 = no cap)',
    )
    schedule_min_lead_seconds: float = Field(
        300.0, ge=0, description="how far ahead a one-time schedule must be (BR-CAM-001.3)"
    )
    cron_min_interval_seconds: float = Field(
        3600.0, ge=0, description="shortest allowed time between two firings of a cron schedule"
    )
    executor_batch_size: int = Field(10_000, gt=0, description="recipients per batch")
    planning_process: bool | None = Field(
        None,
        description="render a run's big batches and sign their tracking links in a child "
        "process of the server (default: on a machine of two cores or more; off: a worker "
        "thread of the server; docs/performance.md)",
    )
    executor_lease_seconds: float = Field(
        30.0, gt=0, description="how long a crashed executor's lease blocks a takeover"
    )
    executor_retry_base_seconds: float = Field(
        5.0, gt=0, description="delay before retrying a failed run; doubles per failure"
    )
    executor_retry_max_seconds: float = Field(
        300.0, gt=0, description="the longest delay between retries of a failed run"
    )
    executor_max_attempts: int = Field(
        8, ge=1, description="consecutive failed attempts after which a run fails for good"
    )
    executor_enabled: bool = Field(True, description="run scheduler, executor and delivery")
    worker_interval: float = Field(0.5, gt=0, description="seconds between idle worker polls")
    delivery_batch_size: int = Field(5_000, gt=0, description="messages per hand-over")
    auto_winner_interval: float = Field(
        30.0, gt=0, description="seconds between rounds of the automatic A/B winner rule"
    )
    auto_winner_page: int = Field(
        100, gt=0, description="campaigns the automatic winner rule judges per step"
    )
    template_render_ms: float = Field(
        500.0, gt=0, description="CPU milliseconds one template render may take"
    )
    template_max_output_chars: int = Field(
        1_000_000, gt=0, description="characters one rendered template text may have"
    )
    template_max_loop_iterations: int = Field(
        100_000, gt=0, description="loop iterations, in all, one template render may run"
    )
    upsert_max_contacts: int = Field(
        100_000, gt=0, description="most contacts one UpsertContacts stream may send"
    )
    statement_timeout_ms: int = Field(
        30_000,
        ge=0,
        description="longest a single SQL statement may run (0 = no limit); Postgres "
        "statement_timeout, a progress-handler budget on SQLite",
    )
    jwt_secret: SecretStr | None = Field(None, description="HS256 shared secret")
    jwt_public_key: str | None = Field(None, description="RS256 public key (PEM text or path)")
    jwt_private_key: str | None = Field(
        None, description="RS256 private key, only for `campaign-service token`"
    )
    jwt_issuer: str | None = Field(None, description="required `iss` claim, if set")
    jwt_audience: str | None = Field(None, description="required `aud` claim, if set")
    page_token_secret: SecretStr | None = Field(
        None,
        description="key material for page tokens (default: the JWT secret or private key)",
    )
    erasure_secret: SecretStr | None = Field(
        None,
        description="key of the pseudonyms user.deleted leaves (default: the page-token or JWT "
        "secret); never change it once users were erased (docs/erasure.md)",
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING, ERROR")
    log_format: Literal["json", "console"] = Field("console", description="log renderer")
    log_progress_seconds: float = Field(
        10.0,
        gt=0,
        description="least seconds between two progress lines of one run (its first and last "
        "batch are always logged), and between two of its 'waiting for deferred' lines",
    )
    otel_exporter: Literal["none", "console", "otlp"] = Field("none", description="tracing")
    otel_endpoint: str | None = Field(None, description="OTLP/gRPC collector endpoint")
    outbox_poll_interval: float = Field(0.5, gt=0, description="seconds between outbox polls")
    health_probe_interval: float = Field(2.0, gt=0, description="seconds between DB probes")
    metrics_sample_seconds: float = Field(
        5.0, gt=0, description="seconds between reads of the store's figures for /metrics"
    )
    shutdown_grace: float = Field(10.0, ge=0, description="seconds in-flight RPCs get on stop")
    server_workers: int | None = Field(
        None,
        ge=1,
        description="worker processes sharing the gRPC and HTTP ports (default: the number of "
        "cores in production mode with NATS and Redis, else 1; docs/worker-processes.md)",
    )

    @field_validator("redis_url", "nats_url")
    @classmethod
    def _broker_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A mistyped URL never fixes itself: refuse it at start, before anything connects."""
        if not value:
            return value
        schemes = URL_SCHEMES[info.field_name or ""]
        for url in value.split(",") if info.field_name == "nats_url" else [value]:
            try:
                parts = urlsplit(url.strip())
                parts.port  # noqa: B018 - raises ValueError for a port that is not a number
            except ValueError as exc:
                raise ValueError(f"not a URL ({exc})") from None
            if parts.scheme not in schemes:
                raise ValueError("must start with " + " or ".join(f"{s}://" for s in schemes))
            if parts.scheme != "unix" and not parts.hostname:
                raise ValueError("names no host")
        return value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'campaign.db').resolve()}"

    @property
    def is_embedded_database(self) -> bool:
        return not self.database_url or self.database_url.startswith("sqlite")

    @property
    def migrate_on_start(self) -> bool:
        return self.is_embedded_database if self.auto_migrate is None else self.auto_migrate

    @property
    def shared_settings(self) -> list[str]:
        """The settings naming something shared with other replicas (a database server, a
        broker, a rate-limit store, the data service): any of them means production mode."""
        shared = {
            "CAMPAIGN_DATABASE_URL": not self.is_embedded_database,
            "CAMPAIGN_NATS_URL": bool(self.nats_url),
            "CAMPAIGN_REDIS_URL": bool(self.redis_url),
            "CAMPAIGN_DATA_SERVICE_URL": bool(self.data_service_url),
        }
        return [name for name, is_set in shared.items() if is_set]

    @property
    def is_production(self) -> bool:
        """Replicas share state, so they must all verify tokens with one configured key."""
        return bool(self.shared_settings)

    @property
    def missing_for_workers(self) -> list[str]:
        """The settings several worker processes need, as replicas do: NATS carries the live
        metric signals between processes, Redis holds the rate limits they all reserve from."""
        shared = {
            "CAMPAIGN_NATS_URL": bool(self.nats_url),
            "CAMPAIGN_REDIS_URL": bool(self.redis_url),
        }
        return [name for name, is_set in shared.items() if not is_set]

    def describe_mode(self) -> str:
        parts = [
            "database=" + ("sqlite (embedded)" if self.is_embedded_database else "postgres"),
            "events=" + ("nats jetstream" if self.nats_url else "in-process bus"),
            "delivery=" + ("nats jetstream" if self.nats_url else "sandbox"),
            "rate limits=" + ("redis" if self.redis_url else "in-process"),
            "audiences=" + ("data service" if self.data_service_url else "built-in directory"),
        ]
        return ("production" if self.is_production else "embedded") + " (" + ", ".join(parts) + ")"
