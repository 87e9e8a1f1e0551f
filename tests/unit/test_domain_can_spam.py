"""CAN-SPAM at launch (domain/campaigns/compliance.py): a marketing email needs the
`{{ unsubscribe_url }}` link and a postal address; the error names what each content lacks."""

from __future__ import annotations

import dataclasses

import pytest

from domain.campaigns.campaign import Campaign
from domain.campaigns.compliance import CAN_SPAM, ensure_can_spam
from domain.campaigns.model import CampaignType, ChannelContent, Variant
from domain.campaigns.templates import Template
from domain.kernel.channels import Channel
from domain.kernel.errors import CampaignIncompleteError
from tests.contract.builders import campaign as make

UNSUBSCRIBE = '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'
ADDRESS = "<address>Acme Inc., 1 Main St, Springfield</address>"


def with_channels(campaign: Campaign, *channels: ChannelContent, **spec: object) -> Campaign:
    changed = dataclasses.replace(campaign.spec, channels=channels, **spec)  # type: ignore[arg-type]
    return dataclasses.replace(campaign, spec=changed)


def email(html: str = "", text: str = "", template_id: str | None = None) -> ChannelContent:
    return ChannelContent(
        Channel.EMAIL, template_id=template_id, subject="Hi", html_body=html, text_body=text
    )


@pytest.mark.parametrize(
    "content",
    [
        email(f"<p>Sale</p>{UNSUBSCRIBE}{ADDRESS}"),
        email("<p>Sale</p>", text="Stop: {{ unsubscribe_url }}\nPostal address: 1 Main St"),
        email(f"{UNSUBSCRIBE}<ADDRESS class='x'><b>{{{{ company_address }}}}</b></ADDRESS>"),
    ],
)
def test_an_unsubscribe_link_and_a_postal_address_let_a_marketing_email_launch(
    content: ChannelContent,
) -> None:
    ensure_can_spam(with_channels(make("c-1"), content), {})


def test_each_missing_part_is_named_per_content() -> None:
    campaign = with_channels(
        make("c-1"),
        email(f"<p>Sale</p>{ADDRESS}"),
        ChannelContent(Channel.SMS, body="Sale"),
        email(f"{UNSUBSCRIBE}<address> </address>"),
    )
    with pytest.raises(CampaignIncompleteError) as caught:
        ensure_can_spam(campaign, {})

    found = [(v.type, v.subject, v.description[:20]) for v in caught.value.violations]
    assert found == [
        (CAN_SPAM, "channels[0].email", "no unsubscribe link:"),
        (CAN_SPAM, "channels[2].email", "no postal address: p"),
    ]
    assert "CAN-SPAM" in str(caught.value)


def test_a_template_is_checked_as_sent_and_a_control_variant_or_transactional_is_not() -> None:
    bare = email("<p>Sale</p>")
    templated = with_channels(make("c-1"), email(template_id="t-1"))
    with pytest.raises(CampaignIncompleteError):
        ensure_can_spam(templated, {"t-1": Template("t-1", bare)})
    ensure_can_spam(templated, {"t-1": Template("t-1", email(f"{UNSUBSCRIBE}{ADDRESS}"))})

    control = Variant("v-c", "control", 50, is_control=True, channels=(bare,))
    ensure_can_spam(with_channels(make("c-1"), variants=(control,)), {})
    receipts = with_channels(make("c-1"), bare, campaign_type=CampaignType.TRANSACTIONAL)
    ensure_can_spam(receipts, {})
