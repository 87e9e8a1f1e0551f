"""HttpTemplateSource against a real local creative service: mapping, caching, 404, fallback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adapters.http import (
    HttpTemplateSource,
    RetryPolicy,
    TemplateNotFoundError,
    Timeouts,
    UpstreamBadResponseError,
    UpstreamClient,
)
from domain.campaigns.model import ChannelContent
from domain.campaigns.templates import Template
from domain.kernel.channels import Channel
from domain.kernel.errors import DependencyUnavailableError, NotFoundError
from tests.support.fake_upstreams import (
    ANY_ROUTE,
    SERVICE_UNAVAILABLE,
    TEMPLATES,
    FakeUpstreams,
    Fault,
)

ORG = "org-1"
WELCOME: dict[str, Any] = {
    "template_id": "welcome/v2",  # a slash, to prove the id is escaped into one path segment
    "version": 7,
    "channel": "email",
    "subject": "Hi {{ first_name }}",
    "html_body": "<p>Welcome, {{ first_name }}</p>",
    "text_body": "Welcome, {{ first_name }}",
    "from_name": "Acme",
    "variables": ["first_name"],
}


@pytest.fixture
def fake() -> Iterator[FakeUpstreams]:
    with FakeUpstreams(token="creative-token").running() as upstream:
        upstream.add_template(ORG, WELCOME)
        upstream.add_template(
            ORG,
            {"template_id": "push", "channel": "in_app", "title": "Sale", "body": "50% off",
             "action_url": "https://acme.test/sale"},
        )  # fmt: skip
        yield upstream


@pytest.fixture
async def client(fake: FakeUpstreams) -> AsyncIterator[UpstreamClient]:
    async with UpstreamClient(
        "isA_Creative",
        fake.base_url,
        token="creative-token",
        timeouts=Timeouts(connect=0.5, read=0.5),
        retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02),
    ) as upstream:
        yield upstream


async def test_a_template_is_mapped_to_the_domain(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    template = await HttpTemplateSource(client).get(ORG, "welcome/v2")

    assert template == Template(
        template_id="welcome/v2",
        content=ChannelContent(
            channel=Channel.EMAIL,
            template_id="welcome/v2",
            subject="Hi {{ first_name }}",
            html_body="<p>Welcome, {{ first_name }}</p>",
            text_body="Welcome, {{ first_name }}",
            from_name="Acme",
        ),
        variables=("first_name",),
        version="7",
    )
    (request,) = fake.of(TEMPLATES)
    assert request.path == "/v1/templates/welcome%2Fv2"
    assert request.query == {"organization_id": ORG}
    assert request.headers["authorization"] == "Bearer creative-token"


async def test_a_cached_template_is_served_without_a_request(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    templates = HttpTemplateSource(client, ttl=60)

    first = await templates.get(ORG, "push")
    second = await templates.get(ORG, "push")

    assert first == second
    assert first.content.title == "Sale"
    assert fake.count(TEMPLATES) == 1


async def test_templates_are_cached_per_organization(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    templates = HttpTemplateSource(client)
    await templates.get(ORG, "push")

    with pytest.raises(TemplateNotFoundError):
        await templates.get("org-2", "push")  # another tenant's template does not exist


async def test_a_stale_template_is_refetched(fake: FakeUpstreams, client: UpstreamClient) -> None:
    templates = HttpTemplateSource(client, ttl=0.1)
    await templates.get(ORG, "push")
    fake.add_template(ORG, {"template_id": "push", "channel": "in_app", "title": "New sale"})
    await asyncio.sleep(0.15)

    assert (await templates.get(ORG, "push")).content.title == "New sale"
    assert fake.count(TEMPLATES) == 2


async def test_concurrent_misses_share_one_request(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    fake.fail_next(TEMPLATES, Fault(delay=0.1))
    templates = HttpTemplateSource(client)

    results = await asyncio.gather(*(templates.get(ORG, "push") for _ in range(20)))

    assert len(set(results)) == 1
    assert fake.count(TEMPLATES) == 1


async def test_an_unknown_template_is_template_not_found(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    with pytest.raises(TemplateNotFoundError) as raised:
        await HttpTemplateSource(client).get(ORG, "missing")

    assert isinstance(raised.value, NotFoundError)
    assert raised.value.reason == "TEMPLATE_NOT_FOUND"
    assert raised.value.metadata == {"template_id": "missing"}
    assert fake.count(TEMPLATES) == 1  # a 404 is an answer, not retried


async def test_a_template_deleted_upstream_stops_being_served(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    templates = HttpTemplateSource(client, ttl=0.05)
    await templates.get(ORG, "push")
    del fake.templates[(ORG, "push")]
    await asyncio.sleep(0.1)

    with pytest.raises(TemplateNotFoundError):
        await templates.get(ORG, "push")
    fake.fail_always(ANY_ROUTE, SERVICE_UNAVAILABLE)
    with pytest.raises(DependencyUnavailableError):
        await templates.get(ORG, "push")  # no stale copy resurrected


async def test_a_cached_copy_stands_in_with_a_warning_when_the_service_is_down(
    fake: FakeUpstreams, client: UpstreamClient, caplog: pytest.LogCaptureFixture
) -> None:
    templates = HttpTemplateSource(client, ttl=0.05)
    good = await templates.get(ORG, "welcome/v2")
    await asyncio.sleep(0.1)
    fake.stop()

    with caplog.at_level(logging.WARNING, logger="campaign.http"):
        assert await templates.get(ORG, "welcome/v2") == good

    assert any(
        "isA_Creative unavailable" in r.getMessage() and "welcome/v2" in r.getMessage()
        for r in caplog.records
    )


async def test_nothing_cached_and_the_service_down_is_dependency_unavailable(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    fake.fail_always(ANY_ROUTE, SERVICE_UNAVAILABLE)

    with pytest.raises(DependencyUnavailableError) as raised:
        await HttpTemplateSource(client).get(ORG, "welcome/v2")

    assert raised.value.metadata["upstream"] == "isA_Creative"
    assert fake.count(TEMPLATES) == 2


async def test_a_template_outside_the_contract_is_a_bad_response(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    fake.add_template(ORG, {"template_id": "fax", "channel": "fax"})

    with pytest.raises(UpstreamBadResponseError, match="unknown channel"):
        await HttpTemplateSource(client).get(ORG, "fax")
