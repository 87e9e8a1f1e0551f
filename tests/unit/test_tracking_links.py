"""Signed tracking links (adapters/tracking/links.py) and the content a marketing email is
handed over with (domain/execution/tracked_content.py): purposes never mix, an altered token or
one signed with a key no longer kept does not read, rotation keeps the previous key's links
alive, and only marketing emails are rewritten and get List-Unsubscribe."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime

import pytest
from itsdangerous import URLSafeSerializer

from adapters.embedded.sandbox_delivery import SandboxDelivery
from adapters.tracking.links import SALT_PREFIX, SignedTrackingLinks
from domain.audience.contacts import UNSUBSCRIBE_URL_PLACEHOLDER
from domain.execution.model import TRANSACTIONAL_EXECUTION, Message, with_content
from domain.execution.tracked_content import links_in, tracked
from domain.execution.tracked_delivery import TrackedDelivery
from domain.execution.tracking import Purpose, TrackedLink, link_digest
from domain.kernel.channels import Channel

NEW, OLD, GONE = b"n" * 32, b"o" * 32, b"g" * 32
BASE = "https://t.example.com"
LINK = TrackedLink("acme", "m-1", 1, link_digest("https://shop.example.com/"))
T = datetime(2030, 1, 1, tzinfo=UTC)


def links(*keys: bytes, mailto: str = "") -> SignedTrackingLinks:
    return SignedTrackingLinks(list(keys), BASE, unsubscribe_mailto=mailto)


@pytest.mark.parametrize("purpose", list(Purpose))
def test_a_token_reads_back_for_its_own_purpose_only(purpose: Purpose) -> None:
    signer = links(NEW)
    link = LINK if purpose is Purpose.CLICK else TrackedLink("acme", "m-1")
    token = signer.token(purpose, link)

    assert signer.read(purpose, token) == link
    assert [p for p in Purpose if signer.read(p, token) is not None] == [purpose]
    assert signer.url(purpose, link) == f"{BASE}/{purpose.value[0]}/{token}"
    assert len(token) < 160  # short: it sits in every link of every email


@pytest.mark.parametrize("purpose", list(Purpose))
def test_tokens_are_itsdangerous_tokens_both_ways(purpose: Purpose) -> None:
    """Made without compression and with a signer built once (the hot path), a token is still
    what itsdangerous' URLSafeSerializer reads; and one it made (compressed or not) reads here:
    links already sent keep working."""
    link = LINK if purpose is Purpose.CLICK else TrackedLink("acme", "m-1")
    fields = [link.organization_id, link.message_id]
    if purpose is Purpose.CLICK:
        fields += [link.index, link.digest]
    stock = URLSafeSerializer([NEW], salt=SALT_PREFIX + purpose.value)

    assert stock.loads(links(NEW).token(purpose, link)) == fields
    assert links(NEW).read(purpose, stock.dumps(fields)) == link


@pytest.mark.parametrize("purpose", list(Purpose))
def test_tokens_are_byte_for_byte_the_stock_signers_with_every_key_order(purpose: Purpose) -> None:
    """Our signer keeps each derived key and uses the one-shot HMAC: the signature must be
    exactly the one itsdangerous' own signer makes (newest key signing after a rotation)."""
    link = LINK if purpose is Purpose.CLICK else TrackedLink("acme", "m-1")
    fields = [link.organization_id, link.message_id]
    if purpose is Purpose.CLICK:
        fields += [link.index, link.digest]
    for keys in ([NEW], [NEW, OLD], [OLD, NEW, GONE]):
        signer = links(*keys)
        stock = URLSafeSerializer(list(reversed(keys)), salt=SALT_PREFIX + purpose.value)
        for _ in range(2):  # the second token comes from the kept derived key
            assert signer.token(purpose, link) == stock.dumps(fields)


def test_the_hand_over_copy_is_the_message_with_only_its_content_changed() -> None:
    message = Message(
        "m-1", "e-1", "c-1", "acme", "u-1", "A", Channel.EMAIL, "a@example.com",
        {"subject": "Hi", "html_body": "<p>x</p>"}, T, T, error="e", timezone="Europe/Paris",
        segment_id="s", trace_context="tp",
    )  # fmt: skip
    content = {"subject": "other"}

    copy = with_content(message, content)

    assert copy == dataclasses.replace(message, content=content)
    assert copy is not message
    assert message.content["subject"] == "Hi"


def test_an_altered_token_does_not_read() -> None:
    signer = links(NEW)
    token = signer.token(Purpose.CLICK, LINK)
    payload, _, signature = token.rpartition(".")
    forged = signer.token(Purpose.CLICK, dataclasses.replace(LINK, index=0)).rpartition(".")[0]
    for bad in (
        f"{forged}.{signature}",  # another link's payload under this signature
        f"{payload}.{signature[:-2]}AA",
        payload,
        "",
        "x" * 5_000,
    ):
        assert signer.read(Purpose.CLICK, bad) is None, bad


def test_rotation_the_first_key_signs_every_kept_key_verifies_a_dropped_one_does_not() -> None:
    before = links(OLD).token(Purpose.OPEN, TrackedLink("acme", "m-1"))
    rotated = links(NEW, OLD)
    after = rotated.token(Purpose.OPEN, TrackedLink("acme", "m-1"))

    assert rotated.read(Purpose.OPEN, before) is not None  # the grace of the kept key
    assert links(NEW).read(Purpose.OPEN, after) is not None  # signed with the new one
    assert links(NEW).read(Purpose.OPEN, before) is None  # OLD dropped: its links are gone
    assert links(GONE).read(Purpose.OPEN, after) is None


def message(content: dict[str, str], **fields: object) -> Message:
    base = Message(
        message_id="m-1",
        execution_id="e-1",
        campaign_id="c-1",
        organization_id="acme",
        user_id="u-1",
        variant_id="v",
        channel=Channel.EMAIL,
        recipient="u1@example.com",
        content=content,
        send_after=T,
        queued_at=T,
    )
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


BODY = (
    '<html><body><a href="https://shop.example.com/?a=1&amp;b=2">Shop</a>'
    "<a href='#top'>top</a> <a href=\"mailto:x@example.com\">mail</a>"
    '<A HREF="https://blog.example.com/">Blog</A>'
    f'<a href="{UNSUBSCRIBE_URL_PLACEHOLDER}">Unsubscribe</a></body></html>'
)


def test_the_trackable_links_are_the_http_links_in_order_without_the_unsubscribe_link() -> None:
    assert links_in(BODY) == ["https://shop.example.com/?a=1&b=2", "https://blog.example.com/"]


def test_a_marketing_email_goes_out_with_click_links_a_pixel_and_list_unsubscribe() -> None:
    signer = links(NEW, mailto="unsub@example.com")
    original = message({"subject": "Hi", "html_body": BODY, "text_body": "Bye"})

    sent = tracked(original, signer)

    html = sent.content["html_body"]
    unsubscribe = signer.url(Purpose.UNSUBSCRIBE, TrackedLink("acme", "m-1"))
    clicks = re.findall(rf'{BASE}/c/([^"\']+)', html)
    assert [signer.read(Purpose.CLICK, t) for t in clicks] == [
        TrackedLink("acme", "m-1", 0, link_digest("https://shop.example.com/?a=1&b=2")),
        TrackedLink("acme", "m-1", 1, link_digest("https://blog.example.com/")),
    ]
    assert "#top" in html
    assert "mailto:x@example.com" in html
    assert f'href="{unsubscribe}"' in html
    assert UNSUBSCRIBE_URL_PLACEHOLDER not in html
    pixel = signer.url(Purpose.OPEN, TrackedLink("acme", "m-1"))
    assert html.endswith(
        f'<img src="{pixel}" width="1" height="1" alt="" style="display:none" /></body></html>'
    )
    assert sent.content["header:List-Unsubscribe"] == f"<{unsubscribe}>, <mailto:unsub@example.com>"
    assert sent.content["header:List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (sent.content["subject"], sent.content["text_body"]) == ("Hi", "Bye")
    assert original.content["html_body"] == BODY  # the stored message keeps its links


def test_a_transactional_email_or_another_channel_only_gets_its_unsubscribe_link() -> None:
    signer = links(NEW)
    unsubscribe = signer.url(Purpose.UNSUBSCRIBE, TrackedLink("acme", "m-1"))
    receipt = message({"html_body": BODY}, execution_id=TRANSACTIONAL_EXECUTION)
    sms = message({"body": f"Stop: {UNSUBSCRIBE_URL_PLACEHOLDER}"}, channel=Channel.SMS)
    plain = message({"body": "Hi"}, channel=Channel.SMS)

    assert tracked(receipt, signer).content == {
        "html_body": BODY.replace(UNSUBSCRIBE_URL_PLACEHOLDER, unsubscribe)
    }
    assert tracked(sms, signer).content == {"body": f"Stop: {unsubscribe}"}
    assert tracked(plain, signer) is plain


async def test_the_tracked_publisher_hands_the_tracked_copy_to_the_delivery_adapter() -> None:
    sandbox = SandboxDelivery()
    delivery = TrackedDelivery(sandbox, links(NEW))

    await delivery.publish([message({"html_body": BODY})])

    (request,) = sandbox.recent
    assert request.content["header:List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"{BASE}/o/" in request.content["html_body"]
