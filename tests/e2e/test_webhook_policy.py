"""Webhook URLs and headers through the API (issue #10 item 8, docs/webhooks.md): every address
that is not a public https destination, credentials in the URL, a host templated from contact
data and bad headers are INVALID_ARGUMENT on the exact field, nothing is written; configured
headers show up in the rendered content."""

from __future__ import annotations

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc

from tests.e2e.helpers import CampaignApi, draft_request

pytestmark = pytest.mark.e2e


def hook(url: str, headers: dict[str, str] | None = None) -> pb.ChannelContent:
    return pb.ChannelContent(
        channel=pb.CHANNEL_WEBHOOK,
        webhook=pb.WebhookContent(url=url, body='{"u": "{{ user_id }}"}', headers=headers or {}),
    )


def count(api: CampaignApi) -> int:
    return len(api.list_all(page_size=100))


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x",
        "https://[::1]/x",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.8/x",
        "https://localhost/x",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://2130706433/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://user:pw@hooks.example.com/x",
        "https://{{ host }}/x",
    ],
)
def test_a_forbidden_webhook_url_is_invalid_argument_on_the_url(api: CampaignApi, url: str):
    before = count(api)

    failure = api.fails("CreateCampaign", draft_request("Hook", channels=[hook(url)]))

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["channels[0].webhook.url"]
    assert count(api) == before


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({"X-Evil": "a\r\nHost: attacker"}, "channels[0].webhook.headers['X-Evil']"),
        ({"Host": "attacker.example"}, "channels[0].webhook.headers['Host']"),
        ({f"X-H{i}": "v" for i in range(10_000)}, "channels[0].webhook.headers"),
    ],
)
def test_bad_webhook_headers_are_invalid_argument(
    api: CampaignApi, headers: dict[str, str], field: str
):
    request = draft_request("Hook", channels=[hook("https://hooks.example.com/x", headers)])

    failure = api.fails("CreateCampaign", request)

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == [field]


def test_configured_headers_are_in_the_rendered_content(api: CampaignApi):
    headers = {"Authorization": "Bearer s3cret", "X-Signature": "abc"}
    created = api.create(
        draft_request("Hook", channels=[hook("https://hooks.example.com/u/{{ user_id }}", headers)])
    )
    request = svc.PreviewMessageRequest(campaign_id=created.campaign_id, sample_user_id="")

    reply = api.call("PreviewMessage", request)

    (content,) = reply.contents
    assert dict(content.headers) == headers
    assert content.url == "https://hooks.example.com/u/"
