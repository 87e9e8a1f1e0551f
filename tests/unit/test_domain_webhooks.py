"""Where a webhook may point and what headers it may carry (issue #10 item 8, docs/webhooks.md):
checked when the campaign is written (as field violations) and before content is sent (with a
stubbed resolver: nothing here connects anywhere)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from domain.campaigns.model import CampaignSpec, CampaignType, ChannelContent
from domain.campaigns.rules import validate_spec
from domain.campaigns.webhooks import (
    MAX_HEADER_VALUE,
    MAX_HEADERS,
    address_problem,
    check_destinations,
    delivery_content,
    split_headers,
    url_problem,
    with_headers,
)
from domain.kernel.channels import Channel
from domain.kernel.errors import FailedPreconditionError, ValidationError


class StubResolver:
    """A fixed DNS answer per host; records what was asked."""

    def __init__(self, answers: dict[str, Sequence[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(self, host: str) -> Sequence[str]:
        self.asked.append(host)
        return self.answers.get(host, [])


def hook(url: str = "https://hooks.example.com/x", **headers: str) -> ChannelContent:
    return ChannelContent(Channel.WEBHOOK, url=url, headers=tuple(headers.items()))


def hook_with(url: str, headers: Sequence[tuple[str, str]]) -> ChannelContent:
    return ChannelContent(Channel.WEBHOOK, url=url, headers=tuple(headers))


def violations(content: ChannelContent) -> list[tuple[str, str]]:
    spec = CampaignSpec(name="n", campaign_type=CampaignType.TRANSACTIONAL, channels=(content,))
    with pytest.raises(ValidationError) as caught:
        validate_spec(spec)
    return [(v.field, v.description) for v in caught.value.violations]


def fields(content: ChannelContent) -> list[str]:
    return [field for field, _ in violations(content)]


# --- URLs at create ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/campaign",
        "https://hooks.example.com:8443/campaign?x=1",
        "https://hooks.example.com/u/{{ user_id }}?ref={{ first_name }}",
        "https://hooks.example.com?u={{ user_id }}",
        "https://93.184.216.34/x",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/x",
        "https://xn--bcher-kva.example/x",
        "HTTPS://HOOKS.EXAMPLE.COM/x".lower(),
    ],
)
def test_public_https_urls_are_accepted(url: str) -> None:
    assert url_problem(url) is None
    assert (
        validate_spec(
            CampaignSpec(name="n", campaign_type=CampaignType.TRANSACTIONAL, channels=(hook(url),))
        )
        is None
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "ftp://hooks.example.com/x",
        "//hooks.example.com/x",
        "https://",
        # loopback, private, link-local (metadata), CGNAT, multicast, reserved, unspecified
        "https://127.0.0.1/x",
        "https://127.8.9.10/x",
        "https://[::1]/x",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/x",
        "https://172.16.0.1/x",
        "https://192.168.1.1/x",
        "https://100.64.0.1/x",
        "https://100.100.100.200/x",  # Alibaba metadata, in the CGNAT range
        "https://224.0.0.1/x",
        "https://240.0.0.1/x",
        "https://255.255.255.255/x",
        "https://0.0.0.0/x",
        "https://[::]/x",
        "https://[fe80::1]/x",
        "https://[fd00:ec2::254]/x",  # AWS metadata over IPv6
        "https://[fc00::1]/x",
        # IPv4 hidden in IPv6
        "https://[::ffff:127.0.0.1]/x",
        "https://[::ffff:7f00:1]/x",
        "https://[::ffff:169.254.169.254]/x",
        "https://[64:ff9b::a00:1]/x",  # NAT64 of 10.0.0.1
        "https://[2002:a00:1::]/x",  # 6to4 of 10.0.0.1
        # IPv4 in forms resolvers accept and ipaddress does not
        "https://2130706433/x",
        "https://0177.0.0.1/x",
        "https://0x7f.0.0.1/x",
        "https://0x7f000001/x",
        "https://127.1/x",
        "https://017700000001/x",
        # names that stay inside a network
        "https://localhost/x",
        "https://LOCALHOST/x",
        "https://localhost./x",
        "https://api.localhost/x",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://metadata/x",
        "https://instance-data/x",
        "https://printer.local/x",
        "https://db.internal/x",
        "https://router.home.arpa/x",
        # credentials, templated hosts, smuggling characters
        "https://user:pw@hooks.example.com/x",
        "https://user@hooks.example.com/x",
        "https://hooks.example.com@127.0.0.1/x",
        "https://{{ host }}/x",
        "https://{{ host }}",
        "https://hooks.{{ domain }}/x",
        "https://hooks.example.com{{ path }}",
        "https://hooks.example.com:{{ port }}/x",
        "https://hooks.example.com{% if x %}.evil.com{% endif %}/x",
        "{{ url }}",
        "https://hooks.example.com/x\r\nHost: evil",
        "https://hooks.example.com/ x",
        "https://hooks.example.com\\@evil.com/x",
        "https://hooks.example.com:99999/x",
        "https://[not-an-ip]/x",
        "https://[::1/x",
        "https://bad_host-.example.com-/x",
        "https://hooks.example.com/" + "a" * 3000,
    ],
)
def test_urls_outside_the_policy_are_rejected_on_the_url_field(url: str) -> None:
    assert url_problem(url) is not None
    assert fields(hook(url)) == ["channels[0].webhook.url"]


def test_the_reason_names_the_problem() -> None:
    assert "loopback" in (url_problem("https://127.0.0.1/") or "")
    assert "link-local" in (url_problem("https://169.254.169.254/") or "")
    assert "user name or password" in (url_problem("https://a:b@hooks.example.com/") or "")
    assert "path and query" in (url_problem("https://{{ host }}/x") or "")
    assert "four decimal numbers" in (url_problem("https://2130706433/") or "")


# --- headers at create ---------------------------------------------------------------------------


def test_ordinary_headers_and_authorization_are_accepted() -> None:
    content = hook(**{"X-Signature": "abc", "Authorization": "Bearer s3cret", "X-Tab": "a\tb"})

    assert (
        validate_spec(
            CampaignSpec(name="n", campaign_type=CampaignType.TRANSACTIONAL, channels=(content,))
        )
        is None
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Evil", "a\r\nHost: attacker"),
        ("X-Evil", "a\nb"),
        ("X-Evil", "a\x00b"),
        ("X Evil", "v"),
        ("X-Evil:", "v"),
        ("", "v"),
        ("X-\u00e9", "v"),
        ("Host", "attacker.example"),
        ("host", "attacker.example"),
        ("Content-Length", "0"),
        ("Transfer-Encoding", "chunked"),
        ("Connection", "close"),
        ("Proxy-Authorization", "x"),
        ("X-Long", "v" * (MAX_HEADER_VALUE + 1)),
        ("X-" + "n" * 100, "v"),
    ],
)
def test_bad_headers_are_rejected_naming_the_header(name: str, value: str) -> None:
    found = fields(hook_with("https://hooks.example.com/x", [(name, value)]))

    assert found == [f"channels[0].webhook.headers[{name[:64]!r}]"]


def test_at_most_20_headers() -> None:
    many = [(f"X-H{i}", "v") for i in range(10_000)]

    assert fields(hook_with("https://hooks.example.com/x", many)) == ["channels[0].webhook.headers"]
    assert (
        validate_spec(
            CampaignSpec(
                name="n",
                campaign_type=CampaignType.TRANSACTIONAL,
                channels=(hook_with("https://hooks.example.com/x", many[:MAX_HEADERS]),),
            )
        )
        is None
    )


def test_names_differing_only_in_case_are_one_header() -> None:
    found = fields(hook_with("https://hooks.example.com/x", [("X-A", "1"), ("x-a", "2")]))

    assert found == ["channels[0].webhook.headers['x-a']"]


# --- destinations before sending -----------------------------------------------------------------


async def test_a_host_resolving_to_public_addresses_passes() -> None:
    resolver = StubResolver({"hooks.example.com": ["93.184.216.34", "2606:2800:220:1::1"]})

    await check_destinations([hook(), hook("https://hooks.example.com/other")], resolver)

    assert resolver.asked == ["hooks.example.com"]  # once per host


@pytest.mark.parametrize(
    "answer",
    [
        ["127.0.0.1"],
        ["93.184.216.34", "10.0.0.7"],  # one bad address is enough: the client may pick it
        ["169.254.169.254"],
        ["::ffff:192.168.0.1"],
        ["fe80::1%eth0"],
        [],  # does not resolve
        ["not an address"],
    ],
)
async def test_a_host_resolving_to_a_forbidden_address_is_refused(answer: list[str]) -> None:
    resolver = StubResolver({"hooks.example.com": answer})

    with pytest.raises(FailedPreconditionError) as caught:
        await check_destinations([hook()], resolver)

    assert [v.type for v in caught.value.violations] == ["WEBHOOK_DESTINATION"]
    assert "hooks.example.com" in caught.value.message


async def test_content_that_skipped_create_checks_is_checked_before_sending() -> None:
    """A creative-service template is only seen at run time."""
    templated = hook("https://{{ host }}/x", Host="evil")

    with pytest.raises(FailedPreconditionError) as caught:
        await check_destinations([templated], StubResolver({}))

    assert {v.subject for v in caught.value.violations} == {
        "webhook.url",
        "webhook.headers['Host']",
    }


async def test_other_channels_are_not_resolved() -> None:
    resolver = StubResolver({})

    await check_destinations([ChannelContent(Channel.EMAIL, subject="s", text_body="b")], resolver)

    assert resolver.asked == []


def test_address_problem_accepts_public_and_rejects_private() -> None:
    assert address_problem("8.8.8.8") is None
    assert address_problem("2001:4860:4860::8888") is None
    assert address_problem("192.168.0.1") is not None


# --- headers travel with the message -------------------------------------------------------------


def test_headers_are_carried_in_the_rendered_content_and_delivered_as_an_object() -> None:
    content = with_headers({"url": "https://h.example.com/x", "body": "{}"}, [("X-Sig", "abc")])

    assert split_headers(content) == (
        {"url": "https://h.example.com/x", "body": "{}"},
        {"X-Sig": "abc"},
    )
    assert delivery_content(content) == {
        "url": "https://h.example.com/x",
        "body": "{}",
        "headers": {"X-Sig": "abc"},
    }
    assert delivery_content({"subject": "s"}) == {"subject": "s"}
