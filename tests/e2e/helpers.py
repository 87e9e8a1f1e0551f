"""What an e2e test needs besides the server: tokens, a typed client, rich-error parsing, grpcurl
and request builders. Everything talks to the server the way a client would, never to its code."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import jwt
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import campaign_service_pb2_grpc as svc_grpc
from google.protobuf import field_mask_pb2, timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.support.compliance import FOOTER
from tests.support.server_process import TEST_SECRET, with_tools_on_path

RPC_TIMEOUT = 15.0
GRPCURL_TIMEOUT = 30.0
# Every e2e test that needs a store runs once per backend.
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


# --- identities -------------------------------------------------------------------------------


def new_org() -> str:
    return f"org-{uuid.uuid4().hex[:12]}"


def mint_token(
    org: str,
    role: str = "admin",
    *,
    secret: str | None = TEST_SECRET,
    algorithm: str = "HS256",
    expires_in: int = 3600,
    **claims: Any,
) -> str:
    """A JWT shaped like the ones `campaign-service token` prints, minted with PyJWT.

    `claims` override the standard ones; a claim given as None is left out.
    """
    now = int(time.time())
    body: dict[str, Any] = {
        "sub": f"{role}@{org}",
        "org_id": org,
        "roles": [role],
        "iat": now,
        "exp": now + expires_in,
        **claims,
    }
    return jwt.encode({k: v for k, v in body.items() if v is not None}, secret, algorithm=algorithm)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


# --- rich errors ------------------------------------------------------------------------------


@dataclass
class RpcFailure:
    """A failed call with its google.rpc.Status details unpacked."""

    code: grpc.StatusCode
    message: str
    reason: str = ""
    error_metadata: dict[str, str] = field(default_factory=dict)
    field_violations: list[error_details_pb2.BadRequest.FieldViolation] = field(
        default_factory=list
    )
    precondition_violations: list[error_details_pb2.PreconditionFailure.Violation] = field(
        default_factory=list
    )

    @classmethod
    def of(cls, error: grpc.RpcError) -> RpcFailure:
        failure = cls(code=error.code(), message=error.details() or "")
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
        for detail in status.details if status is not None else ():
            info = error_details_pb2.ErrorInfo()
            bad_request = error_details_pb2.BadRequest()
            precondition = error_details_pb2.PreconditionFailure()
            if detail.Unpack(info):
                failure.reason = info.reason
                failure.error_metadata = dict(info.metadata)
            elif detail.Unpack(bad_request):
                failure.field_violations.extend(bad_request.field_violations)
            elif detail.Unpack(precondition):
                failure.precondition_violations.extend(precondition.violations)
        return failure

    @property
    def fields(self) -> list[str]:
        return [v.field for v in self.field_violations]

    @property
    def subjects(self) -> list[str]:
        return [v.subject for v in self.precondition_violations]


# --- typed client -----------------------------------------------------------------------------


class CampaignApi:
    """CampaignService stub bound to one caller's credentials (or none)."""

    def __init__(self, channel: grpc.Channel, token: str | None) -> None:
        self.stub = svc_grpc.CampaignServiceStub(channel)
        self.metadata = bearer(token) if token else ()

    def call(self, rpc: str, request: Any) -> Any:
        return getattr(self.stub, rpc)(request, metadata=self.metadata, timeout=RPC_TIMEOUT)

    def fails(self, rpc: str, request: Any) -> RpcFailure:
        with pytest.raises(grpc.RpcError) as caught:
            self.call(rpc, request)
        return RpcFailure.of(caught.value)

    def create(self, request: svc.CreateCampaignRequest) -> pb.Campaign:
        return self.stub.CreateCampaign(
            request, metadata=self.metadata, timeout=RPC_TIMEOUT
        ).campaign

    def get(self, campaign_id: str) -> pb.Campaign:
        return self.stub.GetCampaign(
            svc.GetCampaignRequest(campaign_id=campaign_id),
            metadata=self.metadata,
            timeout=RPC_TIMEOUT,
        ).campaign

    def list(self, **fields: Any) -> svc.ListCampaignsResponse:
        return self.stub.ListCampaigns(
            svc.ListCampaignsRequest(**fields), metadata=self.metadata, timeout=RPC_TIMEOUT
        )

    def list_all(self, page_size: int = 2, **filters: Any) -> list[pb.Campaign]:
        """Every campaign matching `filters`, following next_page_token to the end."""
        found: list[pb.Campaign] = []
        token = ""
        for _ in range(1000):
            page = self.list(page_size=page_size, page_token=token, **filters)
            found.extend(page.campaigns)
            token = page.next_page_token
            if not token:
                return found
        raise AssertionError("paging never ended")

    def total(self, **filters: Any) -> int:
        return self.list(**filters).total_size

    def update(
        self, campaign: pb.Campaign, paths: list[str], etag: str | None = None
    ) -> pb.Campaign:
        return self.stub.UpdateCampaign(
            update_request(campaign, paths, etag), metadata=self.metadata, timeout=RPC_TIMEOUT
        ).campaign

    def transition(self, rpc: str, campaign_id: str, **fields: Any) -> pb.Campaign:
        """ScheduleCampaign, ActivateCampaign, PauseCampaign, ... by name."""
        request = getattr(svc, f"{rpc}Request")(campaign_id=campaign_id, **fields)
        return self.call(rpc, request).campaign


def update_request(
    campaign: pb.Campaign, paths: list[str], etag: str | None = None
) -> svc.UpdateCampaignRequest:
    return svc.UpdateCampaignRequest(
        campaign=campaign,
        update_mask=field_mask_pb2.FieldMask(paths=paths),
        etag=campaign.etag if etag is None else etag,
    )


# --- grpcurl ----------------------------------------------------------------------------------


@dataclass
class GrpcurlResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.returncode == 0, f"grpcurl failed ({self.returncode}):\n{self.output}"
        return json.loads(self.stdout)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def status(self) -> dict[str, Any]:
        """The google.rpc.Status that `-format-error` prints (to stderr) for a failed call."""
        assert self.returncode != 0, f"grpcurl unexpectedly succeeded:\n{self.stdout}"
        return json.loads(self.stderr)

    def details(self, type_name: str) -> list[dict[str, Any]]:
        suffix = f"/{type_name}"
        return [d for d in self.status.get("details", []) if d["@type"].endswith(suffix)]


class Grpcurl:
    """The real grpcurl binary against one server, through reflection, JSON in and out."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.env = with_tools_on_path(dict(os.environ))

    def run(
        self,
        *args: str,
        body: Any = None,
        token: str | None = None,
        format_error: bool = True,
    ) -> GrpcurlResult:
        command = ["grpcurl", "-plaintext", "-max-time", str(GRPCURL_TIMEOUT)]
        if format_error:
            command.append("-format-error")
        if token:
            command += ["-H", f"authorization: Bearer {token}"]
        if body is not None:
            command += ["-d", json.dumps(body)]
        command += [self.address, *args]
        result = subprocess.run(
            command,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=GRPCURL_TIMEOUT + 10,
        )
        return GrpcurlResult(result.returncode, result.stdout, result.stderr)

    def invoke(self, method: str, body: Any, token: str | None = None) -> Any:
        return self.run(method, body=body, token=token).json()


# --- request builders -------------------------------------------------------------------------


def sms(body: str = "Hi {{ first_name }}, 20% off today") -> pb.ChannelContent:
    return pb.ChannelContent(channel=pb.CHANNEL_SMS, sms=pb.SmsContent(body=body))


def email(
    subject: str = "Welcome aboard", html_body: str = "<p>Hello</p>" + FOOTER
) -> pb.ChannelContent:
    return pb.ChannelContent(
        channel=pb.CHANNEL_EMAIL, email=pb.EmailContent(subject=subject, html_body=html_body)
    )


def webhook(url: str) -> pb.ChannelContent:
    return pb.ChannelContent(channel=pb.CHANNEL_WEBHOOK, webhook=pb.WebhookContent(url=url))


def segment(segment_id: str = "seg-active-users") -> pb.Audience:
    """An include audience naming a saved segment: launching it needs the segment to exist."""
    return pb.Audience(segment_type=pb.SEGMENT_TYPE_INCLUDE, segment_id=segment_id)


def active_users() -> pb.Audience:
    """An include audience by inline query: launchable in a fresh organization (a campaign
    naming a segment that does not exist fails the launch checks)."""
    active = pb.Condition(field="active", operator=pb.CONDITION_OPERATOR_EQUALS)
    active.value.bool_value = True
    return pb.Audience(
        segment_type=pb.SEGMENT_TYPE_INCLUDE, query=pb.SegmentQuery(conditions=[active])
    )


def in_country(code: str) -> pb.Audience:
    """An include audience by inline query: the contacts whose `country` attribute is `code`."""
    country = pb.Condition(field="country", operator=pb.CONDITION_OPERATOR_EQUALS)
    country.value.string_value = code
    return pb.Audience(
        segment_type=pb.SEGMENT_TYPE_INCLUDE, query=pb.SegmentQuery(conditions=[country])
    )


def _request(defaults: dict[str, Any], fields: dict[str, Any]) -> svc.CreateCampaignRequest:
    return svc.CreateCampaignRequest(**{**defaults, **fields})


def draft_request(name: str = "Spring sale", **fields: Any) -> svc.CreateCampaignRequest:
    """Valid but incomplete: no audience, no content. Fine as a draft, not launchable."""
    return _request({"name": name, "campaign_type": pb.CAMPAIGN_TYPE_SCHEDULED}, fields)


def scheduled_request(name: str = "Spring sale", **fields: Any) -> svc.CreateCampaignRequest:
    """A complete one-time campaign: include segment and email content."""
    return _request(
        {
            "name": name,
            "campaign_type": pb.CAMPAIGN_TYPE_SCHEDULED,
            "audiences": [active_users()],
            "channels": [email()],
        },
        fields,
    )


def triggered_request(name: str = "Thank you", **fields: Any) -> svc.CreateCampaignRequest:
    """A complete triggered campaign: include segment, SMS content, one trigger."""
    return _request(
        {
            "name": name,
            "campaign_type": pb.CAMPAIGN_TYPE_TRIGGERED,
            "audiences": [active_users()],
            "channels": [sms()],
            "triggers": [pb.Trigger(event_type="order.completed")],
        },
        fields,
    )


def timestamp(at: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(at)
    return ts


def in_minutes(minutes: float) -> datetime:
    """A whole-second UTC instant `minutes` from now (whole seconds compare exactly everywhere)."""
    return (datetime.now(UTC) + timedelta(minutes=minutes)).replace(microsecond=0)
