"""What the audience, execution and transactional e2e tests share besides `helpers`: an
AudienceService client, a server whose engine runs a campaign within seconds, grpcurl with a
client stream on stdin, the holdout rule, and the seeded directory of the A/B run.

Like `helpers`, everything talks to the server the way a client would, never to its code.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from campaign.v1 import audience_pb2 as apb
from campaign.v1 import audience_service_pb2 as asvc
from campaign.v1 import audience_service_pb2_grpc as asvc_grpc
from google.protobuf import json_format, struct_pb2

from tests.e2e.helpers import (
    GRPCURL_TIMEOUT,
    RPC_TIMEOUT,
    Grpcurl,
    GrpcurlResult,
    RpcFailure,
    bearer,
)
from tests.support.compliance import FOOTER
from tests.support.server_process import ServerProcess, backend_env, start_server

T = TypeVar("T")

# A server whose engine is quick enough for a test to watch a run: a one-time schedule may be a
# second ahead, limits are so high that a few hundred messages are due at once, and idle workers
# poll every 0.1 s. Nothing else differs from the shared server.
HIGH_RATE = 3_600_000  # per hour: one message per millisecond
ENGINE_OVERRIDES = {
    "CAMPAIGN_SCHEDULE_MIN_LEAD_SECONDS": "1",
    "CAMPAIGN_ORGANIZATION_PER_HOUR": str(HIGH_RATE),
    "CAMPAIGN_CHANNEL_PER_HOUR": json.dumps(
        dict.fromkeys(("email", "sms", "whatsapp", "in_app", "webhook"), HIGH_RATE)
    ),
    "CAMPAIGN_WORKER_INTERVAL": "0.1",
}
SCHEDULE_LEAD = timedelta(seconds=2)
RUN_TIMEOUT = 60.0  # seconds a scheduled run of a few hundred recipients may take, at most
HOLDOUT_BASIS_POINTS = 10_000


@contextmanager
def engine_server(kind: str, data_dir: Path) -> Iterator[ServerProcess]:
    """`campaign-service serve` on an empty store of that backend, with ENGINE_OVERRIDES."""
    with backend_env(kind, data_dir) as env:
        process = start_server({**env, **ENGINE_OVERRIDES})
        try:
            yield process
        finally:
            process.stop()


# --- AudienceService --------------------------------------------------------------------------


class AudienceApi:
    """AudienceService stub bound to one caller's credentials."""

    def __init__(self, channel: grpc.Channel, token: str | None) -> None:
        self.stub = asvc_grpc.AudienceServiceStub(channel)
        self.metadata = bearer(token) if token else ()

    def call(self, rpc: str, request: Any) -> Any:
        """Any RPC by name; for UpsertContacts `request` is an iterable of requests."""
        return getattr(self.stub, rpc)(request, metadata=self.metadata, timeout=RPC_TIMEOUT)

    def fails(self, rpc: str, request: Any) -> RpcFailure:
        with pytest.raises(grpc.RpcError) as caught:
            self.call(rpc, request)
        return RpcFailure.of(caught.value)

    def upsert(self, *contacts: apb.Contact) -> asvc.UpsertContactsResponse:
        return self.call("UpsertContacts", upsert_stream(contacts))

    def get_contact(self, user_id: str) -> apb.Contact:
        return self.call("GetContact", asvc.GetContactRequest(user_id=user_id)).contact

    def estimate(self, **fields: Any) -> asvc.EstimateAudienceResponse:
        return self.call("EstimateAudience", asvc.EstimateAudienceRequest(**fields))

    def suppress(self, *entries: apb.SuppressionEntry) -> int:
        request = asvc.AddSuppressionsRequest(entries=entries)
        return int(self.call("AddSuppressions", request).added_count)

    def list_suppressions(self, page_size: int = 0, **filters: Any) -> list[apb.SuppressionEntry]:
        """Every entry matching `filters`, following next_page_token to the end."""
        found: list[apb.SuppressionEntry] = []
        token = ""
        for _ in range(1000):
            page = self.call(
                "ListSuppressions",
                asvc.ListSuppressionsRequest(page_size=page_size, page_token=token, **filters),
            )
            found.extend(page.entries)
            token = page.next_page_token
            if not token:
                return found
        raise AssertionError("paging never ended")


def upsert_stream(contacts: Iterable[apb.Contact]) -> Iterator[asvc.UpsertContactsRequest]:
    return (asvc.UpsertContactsRequest(contact=c) for c in contacts)


def contact(user_id: str, **fields: Any) -> apb.Contact:
    """A contact reachable by email unless `fields` say otherwise; `attributes` may be a dict."""
    attributes = fields.pop("attributes", None)
    values: dict[str, Any] = {
        "email": f"{user_id}@example.com",
        "email_opted_in": True,
        **fields,
    }
    if isinstance(attributes, dict):
        values["attributes"] = struct(attributes)
    elif attributes is not None:
        values["attributes"] = attributes
    return apb.Contact(user_id=user_id, **values)


def struct(values: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(values)
    return out


# --- grpcurl with a client stream -------------------------------------------------------------


def grpcurl_stream(
    grpcurl: Grpcurl, method: str, messages: Iterable[Any], token: str | None = None
) -> GrpcurlResult:
    """`grpcurl -d @ ... < stdin` with one JSON message per line: a client-streaming call."""
    command = ["grpcurl", "-plaintext", "-max-time", str(GRPCURL_TIMEOUT), "-format-error"]
    if token:
        command += ["-H", f"authorization: Bearer {token}"]
    command += ["-d", "@", grpcurl.address, method]
    result = subprocess.run(
        command,
        input="\n".join(json.dumps(m) for m in messages) + "\n",
        env=grpcurl.env,
        capture_output=True,
        text=True,
        check=False,
        timeout=GRPCURL_TIMEOUT + 10,
    )
    return GrpcurlResult(result.returncode, result.stdout, result.stderr)


# --- assignment and time ----------------------------------------------------------------------


def holdout_bucket(user_id: str, campaign_id: str) -> int:
    """The documented hash: int(md5(f"{user_id}:{campaign_id}").hexdigest(), 16) % 10000."""
    digest = hashlib.md5(f"{user_id}:{campaign_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest, 16) % HOLDOUT_BASIS_POINTS


def in_holdout(user_id: str, campaign_id: str, percentage: float) -> bool:
    return holdout_bucket(user_id, campaign_id) < round(percentage * 100)


def without_holdout(count: int, percentage: float) -> int:
    """What an estimate reports after a holdout: the share removed, rounded."""
    return count - round(count * percentage / 100)


def soon(lead: timedelta = SCHEDULE_LEAD) -> datetime:
    return datetime.now(UTC) + lead


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def eventually(check: Callable[[], T | None], *, within: float, what: str) -> T:
    """The first truthy result of `check`, polled until `within` seconds have passed."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within:g} s")
        time.sleep(0.2)


# --- the seeded directory of the A/B run ------------------------------------------------------

ZONES = ("Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC")


@dataclass(frozen=True)
class Seed:
    """N valid contacts with known traits, plus invalid rows at known stream positions.

    Contact i: email always; opted in to email unless i % 25 == 7; a phone (and SMS opt-in when
    i % 4 == 0) for even i; country "DE" when i % 10 == 0, else "FR"; score i.
    """

    size: int = 200
    prefix: str = "flow"
    # users suppressed on every channel: one by user id, one by email address
    suppressed_user: int = 3
    suppressed_address: int = 5
    invalid: tuple[tuple[int, dict[str, Any], tuple[str, ...]], ...] = field(
        default=(
            (0, {"user_id": "bad-email", "email": "not-an-email"}, ("email:",)),
            (101, {"user_id": "bad-phone", "phone": "0612345678"}, ("phone:",)),
            (
                202,
                {"user_id": "bad-zone", "timezone": "Mars/Olympus_Mons", "email": "x@"},
                ("email:", "timezone:"),
            ),
        )
    )

    def user(self, i: int) -> str:
        return f"{self.prefix}-{i:03d}"

    def email(self, i: int) -> str:
        return f"{self.user(i)}@example.com"

    def contact_json(self, i: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "user_id": self.user(i),
            "email": self.email(i),
            "email_opted_in": i % 25 != 7,
            "timezone": ZONES[i % len(ZONES)],
            "locale": "fr-FR",
            "attributes": {
                "first_name": f"Ada{i}",
                "country": "DE" if i % 10 == 0 else "FR",
                "score": i,
            },
        }
        if i % 2 == 0:
            out["phone"] = f"+33612{i:06d}"
            out["sms_opted_in"] = i % 4 == 0
        return out

    def stream(self) -> list[dict[str, Any]]:
        """UpsertContacts messages in stream order, the invalid rows at their positions."""
        valid = iter(range(self.size))
        bad = {position: row for position, row, _ in self.invalid}
        total = self.size + len(self.invalid)
        return [
            {"contact": bad[p] if p in bad else self.contact_json(next(valid))}
            for p in range(total)
        ]

    def contacts(self) -> list[apb.Contact]:
        return [json_format.ParseDict(m["contact"], apb.Contact()) for m in self.stream()]

    # who is who

    @property
    def users(self) -> list[int]:
        return list(range(self.size))

    def excluded(self, i: int) -> bool:
        return i % 10 == 0

    def suppressed(self, i: int) -> bool:
        return i in (self.suppressed_user, self.suppressed_address)

    def email_reachable(self, i: int) -> bool:
        return i % 25 != 7

    def sms_reachable(self, i: int) -> bool:
        return i % 4 == 0

    @property
    def members(self) -> list[int]:
        """The run's audience: included, not excluded, not suppressed on every channel."""
        return [i for i in self.users if not self.excluded(i) and not self.suppressed(i)]

    def suppressions_json(self) -> list[dict[str, Any]]:
        return [
            {
                "user_id": self.user(self.suppressed_user),
                "reason": "SUPPRESSION_REASON_UNSUBSCRIBED",
            },
            {
                "address": self.email(self.suppressed_address),
                "reason": "SUPPRESSION_REASON_BOUNCED",
            },
        ]


def ab_campaign_json(name: str, include: dict[str, Any], holdout: float = 5) -> dict[str, Any]:
    """An A/B email campaign: A personalised with first_name, B the same for everyone; the
    "DE" country excluded; quiet hours off so the run never waits for the recipients' morning."""
    return {
        "name": name,
        "campaign_type": "CAMPAIGN_TYPE_SCHEDULED",
        "audiences": [
            {"segment_type": "SEGMENT_TYPE_INCLUDE", "name": "scored", **include},
            {
                "segment_type": "SEGMENT_TYPE_EXCLUDE",
                "name": "germany",
                "query": {
                    "conditions": [
                        {"field": "country", "operator": "CONDITION_OPERATOR_EQUALS", "value": "DE"}
                    ]
                },
            },
        ],
        "variants": [
            {
                "name": "A",
                "allocation_percentage": 50,
                "channels": [
                    {
                        "channel": "CHANNEL_EMAIL",
                        "email": {
                            "subject": "Spring is here, {{ first_name }}",
                            "html_body": "<p>Hello {{ first_name }}</p>" + FOOTER,
                        },
                    }
                ],
            },
            {
                "name": "B",
                "allocation_percentage": 50,
                "channels": [
                    {
                        "channel": "CHANNEL_EMAIL",
                        "email": {
                            "subject": "20% off this week",
                            "html_body": "<p>Hello</p>" + FOOTER,
                        },
                    }
                ],
            },
        ],
        "holdout_percentage": holdout,
        "throttle": {"quiet_hours": {"enabled": False}},
    }


SCORED_QUERY = {
    "query": {
        "conditions": [
            {"field": "score", "operator": "CONDITION_OPERATOR_LESS_THAN", "value": 1000}
        ]
    }
}
