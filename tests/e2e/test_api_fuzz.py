"""Fuzzing every RPC of the public API with generated requests, on SQLite and on Postgres.

For each RPC of CampaignService, AudienceService, MetricsService and EventService, hypothesis
draws requests from the request message's descriptor (tests/support/proto_strategies.py: NUL and
huge strings, integer extremes, unknown enum values, out-of-range timestamps and durations, deep
Structs) plus bodies that do not decode at all, and sends each with an admin token in a fresh
organization holding one draft campaign (a request's `campaign_id` is that campaign's id half of
the time, so the calls get past the lookup). Whatever the answer, it is never INTERNAL or
UNKNOWN; when it is an error, the organization's visible state is what it was; and health still
says SERVING after each RPC's batch.

Derandomized, so CI draws the same examples every run; a failure prints the request (`note`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from campaign.v1 import (
    audience_service_pb2,
    audience_service_pb2_grpc,
    campaign_service_pb2,
    campaign_service_pb2_grpc,
    event_service_pb2,
    metrics_service_pb2,
)
from campaign.v1 import audience_service_pb2 as asvc
from campaign.v1 import campaign_service_pb2 as svc
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from tests.e2e.helpers import RPC_TIMEOUT, bearer, draft_request, mint_token, new_org
from tests.support.proto_strategies import messages, undecodable_bytes
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.e2e

# FUZZ_EXAMPLES=500 FUZZ_RANDOM=1 for a longer, freshly random exploration by hand.
EXAMPLES_PER_RPC = int(os.environ.get("FUZZ_EXAMPLES", "30"))
DERANDOMIZE = not os.environ.get("FUZZ_RANDOM")
NEVER = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}

SERVICES = [
    module.DESCRIPTOR.services_by_name[name]
    for module, name in (
        (campaign_service_pb2, "CampaignService"),
        (audience_service_pb2, "AudienceService"),
        (metrics_service_pb2, "MetricsService"),
        (event_service_pb2, "EventService"),
    )
]
METHODS = [method for service in SERVICES for method in service.methods]


def _identity(body: bytes) -> bytes:
    return body


@dataclass
class Org:
    """A fresh organization with one draft campaign, and what it looked like then."""

    org: str
    metadata: tuple[tuple[str, str], ...]
    campaign_id: str
    before: tuple[Any, ...]


class Client:
    def __init__(self, channel: grpc.Channel) -> None:
        self.channel = channel
        self.campaigns = campaign_service_pb2_grpc.CampaignServiceStub(channel)
        self.audience = audience_service_pb2_grpc.AudienceServiceStub(channel)

    def fresh_org(self) -> Org:
        org = new_org()
        metadata = bearer(mint_token(org, "admin"))
        created = self.campaigns.CreateCampaign(
            draft_request("Fuzz target"), metadata=metadata, timeout=RPC_TIMEOUT
        ).campaign
        found = Org(org, metadata, created.campaign_id, ())
        found.before = self.visible_state(found, ())
        return found

    def visible_state(self, org: Org, user_ids: tuple[str, ...]) -> tuple[Any, ...]:
        """What the organization can read back: campaigns (with etags), segments,
        suppressions, and whether each of `user_ids` is a stored contact."""
        md, t = org.metadata, RPC_TIMEOUT
        campaigns = self.campaigns.ListCampaigns(
            svc.ListCampaignsRequest(page_size=500), metadata=md, timeout=t
        ).campaigns
        segments = self.audience.ListSegments(asvc.ListSegmentsRequest(), metadata=md, timeout=t)
        suppressions = self.audience.ListSuppressions(
            asvc.ListSuppressionsRequest(page_size=1000), metadata=md, timeout=t
        )
        return (
            sorted((c.campaign_id, c.etag, c.status) for c in campaigns),
            segments.SerializeToString(deterministic=True),
            suppressions.SerializeToString(deterministic=True),
            tuple(self._contact_exists(md, u) for u in user_ids),
        )

    def _contact_exists(self, metadata: Any, user_id: str) -> bool:
        try:
            self.audience.GetContact(
                asvc.GetContactRequest(user_id=user_id), metadata=metadata, timeout=RPC_TIMEOUT
            )
        except grpc.RpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return False
            raise
        return True

    def send(self, method: MethodDescriptor, bodies: list[bytes], org: Org) -> grpc.StatusCode:
        path = f"/{method.containing_service.full_name}/{method.name}"
        response_class = GetMessageClass(method.output_type)
        kwargs = {
            "request_serializer": _identity,
            "response_deserializer": response_class.FromString,
        }
        call_kwargs = {"metadata": org.metadata, "timeout": RPC_TIMEOUT}
        try:
            if method.client_streaming:
                self.channel.stream_unary(path, **kwargs)(iter(bodies), **call_kwargs)
            elif method.server_streaming:
                for _ in self.channel.unary_stream(path, **kwargs)(bodies[0], **call_kwargs):
                    break  # the first answer says enough; leaving cancels the stream
            else:
                self.channel.unary_unary(path, **kwargs)(bodies[0], **call_kwargs)
        except grpc.RpcError as error:
            return error.code()
        return grpc.StatusCode.OK


@dataclass(frozen=True)
class Drawn:
    """One drawn request (or stream of them) before it is aimed at an organization."""

    items: tuple[Message | bytes, ...]
    aim_at_campaign: bool

    def bodies(self, org: Org) -> list[bytes]:
        out = []
        for item in self.items:
            if isinstance(item, bytes):
                out.append(item)
                continue
            if self.aim_at_campaign and "campaign_id" in item.DESCRIPTOR.fields_by_name:
                item.campaign_id = org.campaign_id  # type: ignore[attr-defined]
            out.append(item.SerializeToString())
        return out

    def user_ids(self) -> tuple[str, ...]:
        """The contacts an UpsertContacts stream names, to check none was stored."""
        found = []
        for item in self.items:
            contact = getattr(item, "contact", None)
            if contact is not None and contact.user_id and "\x00" not in contact.user_id:
                found.append(contact.user_id[:128])
        return tuple(found)


def requests_for(method: MethodDescriptor) -> st.SearchStrategy[Drawn]:
    one: st.SearchStrategy[Message | bytes] = st.one_of(
        messages(method.input_type), undecodable_bytes()
    )
    if method.client_streaming:
        items = st.lists(one, min_size=1, max_size=5)
    else:
        items = one.map(lambda item: [item])
    return st.builds(Drawn, items.map(tuple), st.booleans())


@pytest.fixture
def client(live_server: ServerProcess, shared_channel: grpc.Channel) -> Iterator[Client]:
    yield Client(shared_channel)
    code = live_server.process.poll()
    assert code is None, f"the server died during the fuzz run:\n{live_server.log[-5000:]}"


def assert_serving(channel: grpc.Channel) -> None:
    reply = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=""), timeout=5
    )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize(
    "method", METHODS, ids=[f"{m.containing_service.name}.{m.name}" for m in METHODS]
)
def test_no_request_is_answered_internal_or_unknown_and_a_rejected_one_writes_nothing(
    method: MethodDescriptor, client: Client, live_server: ServerProcess
) -> None:
    @settings(
        max_examples=EXAMPLES_PER_RPC,
        deadline=None,
        derandomize=DERANDOMIZE,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(drawn=requests_for(method))
    def run(drawn: Drawn) -> None:
        org = client.fresh_org()
        note(f"request: {drawn.items!r}")
        code = client.send(method, drawn.bodies(org), org)
        assert code not in NEVER, (
            f"{method.full_name} answered {code.name}; server log:\n{live_server.log[-3000:]}"
        )
        if code is not grpc.StatusCode.OK:
            user_ids = drawn.user_ids()
            before = (*org.before[:3], tuple(False for _ in user_ids))
            assert client.visible_state(org, user_ids) == before, (
                f"{method.full_name} answered {code.name} but changed the organization's state"
            )

    run()
    assert_serving(client.channel)
