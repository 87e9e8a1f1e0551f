"""CAN-SPAM at launch: a marketing email must let its recipient unsubscribe and must name the
sender's postal address (docs/tracking.md#compliance). Checked when a campaign is scheduled,
activated or sent now, so a run never mails content that lacks them.

How each is recognised, in the email's html_body or text_body (after its template is resolved):

- the unsubscribe link: the `{{ unsubscribe_url }}` variable, which the hand-over renders as the
  message's signed one-click unsubscribe link;
- the postal address: an HTML `<address>` element with some text in it (`<address>Acme Inc.,
  1 Main St, Springfield</address>`; a variable inside counts), or in the text body a line
  starting with `Postal address:` followed by the address.

Transactional campaigns are not marketing and are not checked; neither are control variants,
which send nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from domain.audience.contacts import UNSUBSCRIBE_URL
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import CampaignType, ChannelContent
from domain.campaigns.rendering import TemplateSyntaxProblem, compile_text, text_mode
from domain.campaigns.templates import Template
from domain.kernel.channels import Channel
from domain.kernel.errors import CampaignIncompleteError, PreconditionViolation

CAN_SPAM = "CAN_SPAM"
NO_UNSUBSCRIBE = "no unsubscribe link: put {{ unsubscribe_url }} in the html_body or text_body"
NO_POSTAL_ADDRESS = (
    "no postal address: put it in an <address>...</address> element of the html_body, or on a "
    "text_body line starting with 'Postal address:'"
)
_ADDRESS_ELEMENT = re.compile(r"<address\b[^>]*>(.*?)</address\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_ADDRESS_LINE = re.compile(r"^\s*postal address:\s*\S", re.IGNORECASE | re.MULTILINE)


def ensure_can_spam(campaign: Campaign, templates: Mapping[str, Template]) -> None:
    """Raises CampaignIncompleteError naming, per marketing email content, what it lacks."""
    if campaign.spec.campaign_type is CampaignType.TRANSACTIONAL:
        return
    violations: list[PreconditionViolation] = []
    for where, content in _sent_emails(campaign, templates):
        if not _has_unsubscribe_link(content):
            violations.append(PreconditionViolation(CAN_SPAM, where, NO_UNSUBSCRIBE))
        if not _has_postal_address(content):
            violations.append(PreconditionViolation(CAN_SPAM, where, NO_POSTAL_ADDRESS))
    if violations:
        missing = "; ".join(f"{v.subject}: {v.description}" for v in violations)
        raise CampaignIncompleteError(
            f"a marketing email needs an unsubscribe link and a postal address (CAN-SPAM): "
            f"{missing}",
            violations=violations,
        )


def _sent_emails(
    campaign: Campaign, templates: Mapping[str, Template]
) -> Iterator[tuple[str, ChannelContent]]:
    spec = campaign.spec
    placed = [(f"channels[{i}]", c) for i, c in enumerate(spec.channels)]
    for v, variant in enumerate(spec.variants):
        if not variant.is_control:
            placed += [(f"variants[{v}].channels[{i}]", c) for i, c in enumerate(variant.channels)]
    for where, content in placed:
        if content.channel is not Channel.EMAIL:
            continue
        if not content.template_id:
            yield f"{where}.email", content
        elif content.template_id in templates:
            yield f"{where}.email", templates[content.template_id].content
        # else: no template source to ask (its content is out of sight until the run)


def _has_unsubscribe_link(content: ChannelContent) -> bool:
    for name in ("html_body", "text_body"):
        text = getattr(content, name)
        if not text:
            continue
        try:
            if UNSUBSCRIBE_URL in compile_text(text, text_mode(content.channel, name)).variables:
                return True
        except TemplateSyntaxProblem:
            continue  # reported by the content checks, which run first
    return False


def _has_postal_address(content: ChannelContent) -> bool:
    for match in _ADDRESS_ELEMENT.finditer(content.html_body):
        if _TAG.sub("", match.group(1)).strip():
            return True
    return bool(_ADDRESS_LINE.search(content.text_body))
