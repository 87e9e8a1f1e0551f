"""Input no backend can take is INVALID_ARGUMENT naming the field, the same on SQLite and
Postgres, before anything is written: NUL characters, timestamps and durations out of range,
Structs nested too deep, forged page tokens and bytes that are no request at all."""

from __future__ import annotations

import base64
import time
from typing import Any

import grpc
import pytest
from campaign.v1 import audience_pb2 as apb
from campaign.v1 import audience_service_pb2 as asvc
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2

from domain.campaigns import listing
from domain.kernel import paging
from server.page_tokens import PageTokenSealer, derive_key
from tests.e2e.engine_helpers import AudienceApi, contact
from tests.e2e.helpers import (
    RPC_TIMEOUT,
    CampaignApi,
    RpcFailure,
    bearer,
    draft_request,
    mint_token,
    sms,
)
from tests.support.server_process import TEST_SECRET, ServerProcess

pytestmark = pytest.mark.e2e

YEAR_10000 = 253_402_300_800
YEAR_0 = -62_135_596_801


@pytest.fixture
def audience(channel: grpc.Channel, org: str) -> AudienceApi:
    return AudienceApi(channel, mint_token(org, "admin"))


def assert_invalid(failure: RpcFailure, field: str) -> None:
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT, (failure.code, failure.message)
    assert field in failure.fields, failure.fields


# --- item 14: NUL characters ------------------------------------------------------------------

NUL_CREATES: dict[str, tuple[svc.CreateCampaignRequest, str]] = {
    "name": (draft_request("Spring\x00sale"), "name"),
    "description": (draft_request(description="a\x00"), "description"),
    "sms body": (draft_request(channels=[sms("Hi\x00there")]), "channels[0].sms.body"),
    "tag": (draft_request(tags=["ok", "b\x00d"]), "tags[1]"),
    "metadata value": (draft_request(metadata={"k": "v\x00"}), 'metadata["k"]'),
    "metadata key": (draft_request(metadata={"k\x00": "v"}), "metadata"),
}


@pytest.mark.parametrize(("request_", "field"), list(NUL_CREATES.values()), ids=list(NUL_CREATES))
def test_a_nul_character_anywhere_in_a_create_is_invalid_argument_naming_it(
    api: CampaignApi, request_: svc.CreateCampaignRequest, field: str
):
    failure = api.fails("CreateCampaign", request_)

    assert_invalid(failure, field)
    assert "NUL" in failure.message
    assert api.total() == 0


def test_a_nul_character_in_an_id_or_a_filter_is_invalid_argument(
    api: CampaignApi, audience: AudienceApi
):
    assert_invalid(
        api.fails("GetCampaign", svc.GetCampaignRequest(campaign_id="c\x00")), "campaign_id"
    )
    assert_invalid(api.fails("ListCampaigns", svc.ListCampaignsRequest(tags=["\x00"])), "tags[0]")
    assert_invalid(audience.fails("GetContact", asvc.GetContactRequest(user_id="u\x00")), "user_id")
    entry = apb.SuppressionEntry(address="a\x00@example.com")
    failure = audience.fails("AddSuppressions", asvc.AddSuppressionsRequest(entries=[entry]))
    assert_invalid(failure, "entries[0].address")
    assert audience.list_suppressions() == []


def test_a_contact_with_a_nul_character_is_rejected_alone_and_the_others_are_stored(
    audience: AudienceApi,
):
    reply = audience.upsert(contact("ok-1"), contact("bad", locale="en\x00"), contact("ok-2"))

    assert reply.upserted_count == 2
    assert [(r.index, r.user_id) for r in reply.rejected] == [(1, "bad")]
    assert list(reply.rejected[0].reasons) == ["locale: NUL characters are not allowed"]
    assert audience.get_contact("ok-2").user_id == "ok-2"
    assert audience.fails("GetContact", asvc.GetContactRequest(user_id="bad")).code == (
        grpc.StatusCode.NOT_FOUND
    )


# --- item 15: timestamps, durations, Structs, page tokens, undecodable bytes -------------------


def ts(seconds: int, nanos: int = 0) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)


@pytest.mark.parametrize(
    "bad",
    [ts(YEAR_10000), ts(YEAR_0), ts(1_700_000_000, -1), ts(1_700_000_000, 1_000_000_000)],
    ids=["year 10000", "year 0", "negative nanos", "nanos of a second"],
)
def test_a_timestamp_out_of_range_is_invalid_argument_naming_it(
    api: CampaignApi, bad: timestamp_pb2.Timestamp
):
    failure = api.fails("ListCampaigns", svc.ListCampaignsRequest(created_after=bad))
    assert_invalid(failure, "created_after")

    created = api.create(draft_request())
    schedule = svc.ScheduleCampaignRequest(campaign_id=created.campaign_id, scheduled_at=bad)
    assert_invalid(api.fails("ScheduleCampaign", schedule), "scheduled_at")
    assert api.get(created.campaign_id) == created


@pytest.mark.parametrize(
    "bad",
    [
        duration_pb2.Duration(seconds=10**15),
        duration_pb2.Duration(seconds=-(10**15)),
        duration_pb2.Duration(seconds=1, nanos=-5),
        duration_pb2.Duration(nanos=1_000_000_000),
    ],
    ids=["10^15 s", "-10^15 s", "mixed signs", "nanos of a second"],
)
def test_a_duration_out_of_range_is_invalid_argument_naming_it(
    api: CampaignApi, bad: duration_pb2.Duration
):
    trigger = pb.Trigger(event_type="order.completed", delay=bad, frequency_window=bad)
    failure = api.fails("CreateCampaign", draft_request(triggers=[trigger]))

    assert_invalid(failure, "triggers[0].delay")
    assert_invalid(failure, "triggers[0].frequency_window")
    assert api.total() == 0


def nested_struct(depth: int) -> struct_pb2.Struct:
    value: Any = "leaf"
    for _ in range(depth - 1):
        value = {"k": value}
    out = struct_pb2.Struct()
    out.update({"k": value})
    return out


def test_a_struct_nested_too_deep_is_invalid_argument(api: CampaignApi):
    created = api.create(draft_request())
    request = svc.SendTransactionalRequest(
        campaign_id=created.campaign_id, user_id="u-1", context=nested_struct(30)
    )

    failure = api.fails("SendTransactional", request)

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields[0].startswith("context")
    assert "nested more than 10 levels" in failure.message


def forged_token(position: list[str], org: str) -> str:
    """A token for the unfiltered campaign list, written and sealed by the server's own code with
    its key, with a position of our choosing (what someone holding the key could do): the
    server must still refuse what is inside."""
    token = paging.encode_page_token(position, (listing.CampaignFilter(), listing.Ordering()))
    sealer = PageTokenSealer(derive_key(TEST_SECRET.encode()))
    return sealer.seal(token, organization_id=org, rpc="ListCampaigns")


@pytest.mark.parametrize(
    "position",
    [
        ["0001-01-01T00:00:00+05:00", "c-1"],  # before year 1 in UTC
        ["9999-12-31T23:59:59-14:00", "c-1"],  # after year 9999 in UTC
        ["not a date", "c-1"],
        ["2024-01-01T00:00:00+00:00", "c\x00"],
    ],
    ids=["before year 1", "after year 9999", "not a date", "nul in id"],
)
def test_a_forged_page_token_is_invalid_argument_on_page_token(
    api: CampaignApi, org: str, position: list[str]
):
    api.create(draft_request())
    token = forged_token(position, org)

    failure = api.fails("ListCampaigns", svc.ListCampaignsRequest(page_token=token))

    assert_invalid(failure, "page_token")


def test_a_garbled_page_token_is_invalid_argument_on_page_token(api: CampaignApi):
    deep = base64.urlsafe_b64encode(b"[" * 100_000).decode()
    for token in ("%%%", deep, "e30"):  # not base64, nested past the parser, `{}`
        failure = api.fails("ListCampaigns", svc.ListCampaignsRequest(page_token=token))
        assert_invalid(failure, "page_token")


@pytest.mark.parametrize(
    "body",
    [b"\x0a\x02\xff\xfe", b"\x0a\x03\xed\xa0\x80", b"\x0a\x64abc", b"\x0f"],
    ids=["invalid utf-8", "lone surrogate", "truncated", "bad wire type"],
)
def test_bytes_that_are_no_request_are_invalid_argument_not_unknown(
    live_server: ServerProcess, channel: grpc.Channel, org: str, body: bytes
):
    call = channel.unary_unary(
        "/campaign.v1.CampaignService/GetCampaign",
        request_serializer=lambda raw: raw,
        response_deserializer=svc.GetCampaignResponse.FromString,
    )
    with pytest.raises(grpc.RpcError) as caught:
        call(body, metadata=bearer(mint_token(org)), timeout=RPC_TIMEOUT)

    failure = RpcFailure.of(caught.value)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.message == "request is not a valid campaign.v1.GetCampaignRequest"
    assert failure.fields == ["request"]


def test_bytes_that_are_no_request_need_a_token_first(channel: grpc.Channel):
    call = channel.unary_unary(
        "/campaign.v1.CampaignService/GetCampaign",
        request_serializer=lambda raw: raw,
        response_deserializer=svc.GetCampaignResponse.FromString,
    )
    with pytest.raises(grpc.RpcError) as caught:
        call(b"\x0f", timeout=RPC_TIMEOUT)

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_translated_failure_is_logged_with_its_cause(
    api: CampaignApi, org: str, live_server: ServerProcess
):
    token = forged_token(["0001-01-01T00:00:00+05:00", "c-1"], org)

    api.fails("ListCampaigns", svc.ListCampaignsRequest(page_token=token))

    def logged() -> list[str]:
        return [line for line in live_server.log.splitlines() if '"rpc failed"' in line]

    deadline = time.monotonic() + 10  # the log is read from the process by another thread
    while not any("OverflowError" in line for line in logged()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any("OverflowError" in line and "ListCampaigns" in line for line in logged()), logged()[
        -3:
    ]
