"""Tracking links on the real server and stack (Postgres, NATS): the delivery request of a
marketing email carries List-Unsubscribe and its tracked links; the HTTP server beside gRPC
takes opens, clicks and one-click unsubscribes through the event intake, refuses every bad
token with 404 and no effect, never redirects anywhere the message did not link to, and serves
/healthz and /metrics. Also the CAN-SPAM launch check. One server for the module."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx
import orjson
import pytest
from campaign.v1 import audience_pb2 as apb
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import execution_pb2 as xpb
from nats.js.errors import NotFoundError
from prometheus_client.parser import text_string_to_metric_families

from adapters.tracking.links import SignedTrackingLinks
from domain.execution.tracking import Purpose, TrackedLink, link_digest
from tests.e2e.engine_helpers import AudienceApi, contact, eventually
from tests.e2e.helpers import CampaignApi, email, mint_token, new_org, scheduled_request
from tests.integration.nats_support import (
    StreamNames,
    connection,
    delete_stream,
    shared_nats_url,
)
from tests.support.compliance import FOOTER
from tests.support.migrated import migrated_postgres_url
from tests.support.server_process import (
    ServerProcess,
    server_env,
    start_server,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats]

CURRENT_KEY = "tracking-key-current-" + "c" * 32
OLD_KEY = "tracking-key-old-" + "o" * 32  # still verifies: the rotation's grace
RETIRED_KEY = "tracking-key-retired-" + "r" * 32  # dropped: its links are 404
SHOP = "https://shop.example.com/sale?utm=mail&x=1"
BLOG = "https://blog.example.com/spring"
BODY = (
    f'<html><body><p>Sale! <a href="{SHOP.replace("&", "&amp;")}">Shop</a> '
    f'<a href="{BLOG}">Read</a> <a href="mailto:help@example.com">Help</a></p>'
    + FOOTER
    + "</body></html>"
)
USERS = ("ann", "bob", "cy")
WAIT = 20.0


@dataclass
class Stack:
    server: ServerProcess
    url: str
    names: StreamNames
    org: str
    api: CampaignApi
    audience: AudienceApi
    campaign_id: str
    requests: dict[str, dict[str, Any]]  # user -> its delivery request (notification.send.email)

    @property
    def http(self) -> str:
        return f"http://{self.server.http_address}"

    def message(self, user: str) -> xpb.Message:
        request = svc.GetMessageRequest(
            campaign_id=self.campaign_id, message_id=self.requests[user]["message_id"]
        )
        return self.api.call("GetMessage", request).message


async def delivery_requests(url: str, subject: str, count: int) -> list[dict[str, Any]]:
    """The first `count` delivery requests, once the delivery stream exists (made by the first
    hand-over)."""
    async with connection(url) as nc:
        js = nc.jetstream(timeout=5)
        deadline = time.monotonic() + WAIT
        while True:
            try:
                sub = await js.subscribe(subject, ordered_consumer=True)
                break
            except NotFoundError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        try:
            return [orjson.loads((await sub.next_msg(timeout=WAIT)).data) for _ in range(count)]
        finally:
            await sub.unsubscribe()


async def announcements(url: str, subject: str, *, within: float) -> list[dict[str, Any]]:
    """Every event on `subject` in our events stream, waiting up to `within` for the next; each
    with `stored_at`, when the stream took it."""
    async with connection(url) as nc:
        sub = await nc.jetstream(timeout=5).subscribe(subject, ordered_consumer=True)
        found: list[dict[str, Any]] = []
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=within)
                except TimeoutError:
                    return found
                found.append({**orjson.loads(msg.data), "stored_at": msg.metadata.timestamp})
        finally:
            await sub.unsubscribe()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    url, names = shared_nats_url(), StreamNames.fresh()
    data: Path = tmp_path_factory.mktemp("tracking")
    with migrated_postgres_url() as database_url:  # as `migrate` leaves it
        env = server_env(
            data / "data",
            CAMPAIGN_DATABASE_URL=database_url,
            **names.server_settings(url),
            CAMPAIGN_TRACKING_KEYS=f"{CURRENT_KEY},{OLD_KEY}",
            CAMPAIGN_TRACKING_UNSUBSCRIBE_MAILTO="unsubscribe@example.com",
            CAMPAIGN_OUTBOX_POLL_INTERVAL="5",  # an unsubscribe must not wait for the poll
        )
        server = start_server(env)
        try:
            org = new_org()
            with grpc.insecure_channel(server.address) as channel:
                audience = AudienceApi(channel, mint_token(org))
                audience.upsert(*(contact(u, attributes={"active": True}) for u in USERS))
                api = CampaignApi(channel, mint_token(org))
                created = api.create(
                    scheduled_request(
                        channels=[email("Spring", BODY)],
                        name="Tracked",
                        throttle=pb.Throttle(quiet_hours=pb.QuietHours(enabled=False)),
                    )
                )
                api.call(
                    "SendCampaignNow", svc.SendCampaignNowRequest(campaign_id=created.campaign_id)
                )
                sent = asyncio.run(
                    delivery_requests(url, f"{names.prefix}notification.send.email", len(USERS))
                )
                requests = {r["user_id"]: r for r in sent}
                yield Stack(server, url, names, org, api, audience, created.campaign_id, requests)
        finally:
            server.stop()
            for stream in (names.stream, f"{names.stream}_EVENTS", f"{names.stream}_IN"):
                asyncio.run(delete_stream(url, stream))


def links_of(request: dict[str, Any]) -> dict[str, list[str]]:
    html = request["content"]["html_body"]
    found = re.findall(r'(?:href|src)="(http://[^"]+)"', html)
    return {kind: [u for u in found if f"/{kind}/" in u] for kind in ("o", "c", "u")}


def click_link(stack: Stack, index: int, url: str) -> TrackedLink:
    message_id = stack.requests["cy"]["message_id"]
    return TrackedLink(stack.org, message_id, index, link_digest(url))


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_a_marketing_emails_delivery_request_carries_list_unsubscribe_and_tracked_links(
    stack: Stack,
):
    request = stack.requests["ann"]
    headers = request["content"]["headers"]
    links = links_of(request)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"] == (f"<{links['u'][0]}>, <mailto:unsubscribe@example.com>")
    assert links["u"][0].startswith(stack.http + "/u/")
    assert len(links["c"]) == 2
    assert len(links["o"]) == 1
    html = request["content"]["html_body"]
    assert SHOP.replace("&", "&amp;") not in html
    assert BLOG not in html
    assert 'href="mailto:help@example.com"' in html  # only http(s) links are tracked
    assert "unsubscribe.invalid" not in html
    assert html.index(links["o"][0]) < html.index("</body>")


def test_opens_and_clicks_move_the_message_once_and_redirect_only_to_its_links(stack: Stack):
    links = links_of(stack.requests["ann"])
    with httpx.Client(timeout=10) as client:
        pixel = client.get(links["o"][0])
        assert pixel.status_code == 200
        assert pixel.headers["content-type"] == "image/gif"
        assert "no-store" in pixel.headers["cache-control"]
        assert pixel.content.startswith(b"GIF89a")
        assert stack.message("ann").status == xpb.MESSAGE_STATUS_OPENED

        clicks = [client.get(links["c"][i % 2]) for i in range(3)]
    assert [c.status_code for c in clicks] == [302, 302, 302]
    assert [c.headers["location"] for c in clicks] == [SHOP, BLOG, SHOP]
    message = stack.message("ann")
    assert message.status == xpb.MESSAGE_STATUS_CLICKED
    clicked = eventually(
        lambda: asyncio.run(
            announcements(stack.url, f"{stack.names.prefix}campaign.message.clicked", within=0.5)
        ),
        within=WAIT,
        what="campaign.message.clicked",
    )
    # Three hits, one unique click: announced once, with the first link clicked.
    assert [e["data"]["link_url"] for e in clicked if e["organization_id"] == stack.org] == [SHOP]


def test_forged_altered_wrong_purpose_and_rotated_out_tokens_get_404_and_change_nothing(
    stack: Stack,
):
    links = links_of(stack.requests["cy"])
    message_id = stack.requests["cy"]["message_id"]
    click = token_of(links["c"][0])
    payload, _, signature = click.rpartition(".")  # (a compressed payload starts with ".")
    current = SignedTrackingLinks([CURRENT_KEY.encode()], stack.http)
    retired = SignedTrackingLinks([RETIRED_KEY.encode()], stack.http)
    old = SignedTrackingLinks([OLD_KEY.encode()], stack.http)
    own = TrackedLink(stack.org, message_id)
    evil = "https://evil.example.com/"
    refused = [
        f"/c/{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}",
        # The first character of the signature: its last one carries unused bits in base64,
        # and a change there alone may decode to the same signature.
        f"/c/{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}",
        f"/c/{payload}",
        "/c/not-a-token",
        f"/o/{click}",  # a click token is no open
        f"/u/{click}",  # ...nor an unsubscribe
        f"/c/{token_of(links['o'][0])}",  # an open token is no click
        f"/c/{retired.token(Purpose.CLICK, click_link(stack, 0, SHOP))}",
        f"/o/{retired.token(Purpose.OPEN, own)}",
        f"/u/{retired.token(Purpose.UNSUBSCRIBE, own)}",
        # Validly signed, but no link of the message: another URL, an index past its links.
        f"/c/{current.token(Purpose.CLICK, click_link(stack, 0, evil))}",
        f"/c/{current.token(Purpose.CLICK, click_link(stack, 9, SHOP))}",
        # Another organization's token for this message.
        f"/o/{current.token(Purpose.OPEN, TrackedLink('org-other', message_id))}",
        f"/o/{current.token(Purpose.OPEN, TrackedLink(stack.org, 'no-such-message'))}",
    ]
    with httpx.Client(base_url=stack.http, timeout=10) as client:
        answers = {path: client.get(path).status_code for path in refused}
        answers[f"POST /u/{click}"] = client.post(f"/u/{click}").status_code
        answers["POST retired"] = client.post(
            f"/u/{retired.token(Purpose.UNSUBSCRIBE, own)}"
        ).status_code
        # The key kept for rotation still verifies (and this one open is cy's only change).
        assert client.get(f"/o/{old.token(Purpose.OPEN, own)}").status_code == 200
    assert set(answers.values()) == {404}, answers
    message = stack.message("cy")
    assert message.status == xpb.MESSAGE_STATUS_OPENED  # the rotated key's open, nothing else
    assert not message.HasField("clicked_at")
    assert not message.HasField("unsubscribed_at")
    assert stack.audience.list_suppressions() == []


def test_get_confirms_and_post_unsubscribes_once_and_announces_within_a_second(stack: Stack):
    unsubscribe = links_of(stack.requests["bob"])["u"][0]
    subject = f"{stack.names.prefix}campaign.message.unsubscribed"
    with httpx.Client(timeout=10) as client:
        page = client.get(unsubscribe)
        assert page.status_code == 200
        assert 'method="post"' in page.text
        assert "b***@example.com" in page.text
        assert stack.message("bob").status != xpb.MESSAGE_STATUS_UNSUBSCRIBED  # GET changes nothing

        posted_at = datetime.now(UTC)
        first = client.post(
            unsubscribe,
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert first.status_code == 200
        announced = eventually(
            lambda: asyncio.run(announcements(stack.url, subject, within=0.5)),
            within=WAIT,
            what="campaign.message.unsubscribed",
        )
        again = client.post(unsubscribe)
    assert again.status_code == 200
    assert [e["data"]["user_id"] for e in announced] == ["bob"], announced
    # Published within one second of the POST (the relay polls only every 5 s here: woken).
    assert announced[0]["stored_at"] - posted_at < timedelta(seconds=1), announced
    assert stack.message("bob").status == xpb.MESSAGE_STATUS_UNSUBSCRIBED
    entries = stack.audience.list_suppressions()
    assert [(e.address, e.channel, e.reason) for e in entries] == [
        ("bob@example.com", pb.CHANNEL_EMAIL, apb.SUPPRESSION_REASON_UNSUBSCRIBED)
    ]
    later = asyncio.run(announcements(stack.url, subject, within=1.0))
    assert len(later) == 1  # the second POST changed nothing


def test_healthz_and_metrics(stack: Stack):
    with httpx.Client(base_url=stack.http, timeout=10) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/o/forged").status_code == 404
        assert client.get(links_of(stack.requests["ann"])["c"][1]).status_code == 302
        exposition = client.get("/metrics")
    assert exposition.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(exposition.text)}
    hits = {
        (s.labels["kind"], s.labels["outcome"]): s.value
        for s in families["campaign_tracking_hits"].samples
        if s.name.endswith("_total")
    }
    assert hits[("click", "taken")] >= 1
    assert hits[("open", "refused")] >= 1


def test_a_marketing_email_without_unsubscribe_link_or_postal_address_is_refused(
    stack: Stack,
):
    created = stack.api.create(
        scheduled_request(channels=[email("Spring", "<p>Sale</p>")], name="Not compliant")
    )
    failure = stack.api.fails(
        "SendCampaignNow", svc.SendCampaignNowRequest(campaign_id=created.campaign_id)
    )
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert [(v.type, v.subject) for v in failure.precondition_violations] == [
        ("CAN_SPAM", "channels[0].email"),
        ("CAN_SPAM", "channels[0].email"),
    ]
    assert "unsubscribe" in failure.message
    assert "postal address" in failure.message
    descriptions = " ".join(v.description for v in failure.precondition_violations)
    assert "{{ unsubscribe_url }}" in descriptions
    assert "<address>" in descriptions
