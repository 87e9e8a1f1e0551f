"""A message's content as it is handed over with tracking (docs/tracking.md).

At the hand-over, not at planning: a link is signed for a message id, which planning does not
know yet (runs, triggers and fallbacks each mint their ids afterwards), and every message passes
through the hand-over once, whichever path made it. So the stored content keeps the marketer's
links, which is what a click is checked against (`links_in`), and the delivery request carries
the tracked copy:

- every message: the `{{ unsubscribe_url }}` placeholder becomes its signed unsubscribe link;
- a marketing email (not a transactional send): each http(s) link of the HTML body becomes a
  click link naming its position, a 1x1 open pixel closes the body, and the request carries
  `List-Unsubscribe` (https, and mailto when configured) and `List-Unsubscribe-Post:
  List-Unsubscribe=One-Click` (RFC 8058).

Transactional sends are not tracked and get no List-Unsubscribe: they are not marketing (a
receipt, a password reset) and the recipient cannot opt out of them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

from domain.audience.contacts import UNSUBSCRIBE_URL_PLACEHOLDER
from domain.campaigns.webhooks import HEADER_KEY_PREFIX
from domain.execution.model import TRANSACTIONAL_EXECUTION, Message, with_content
from domain.execution.tracking import Purpose, TrackedLink, TrackingLinks, link_digest
from domain.kernel.channels import Channel

HTML_BODY = "html_body"
LIST_UNSUBSCRIBE = "List-Unsubscribe"
LIST_UNSUBSCRIBE_POST = "List-Unsubscribe-Post"
ONE_CLICK = "List-Unsubscribe=One-Click"
# An <a> tag's href: group 1 is everything up to the opening quote, 2 the quote, 3 the value.
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_PIXEL = '<img src="{}" width="1" height="1" alt="" style="display:none" />'


def is_marketing_email(message: Message) -> bool:
    return message.channel is Channel.EMAIL and message.execution_id != TRANSACTIONAL_EXECUTION


def _trackable(url: str) -> bool:
    return url.lower().startswith(("http://", "https://")) and url != UNSUBSCRIBE_URL_PLACEHOLDER


def links_in(html_body: str) -> list[str]:
    """The trackable links of an HTML body, in order: the http(s) `href`s of its `<a>` tags
    (HTML entities decoded), except the unsubscribe link. A click link names its position
    here; the same function reads the stored body when the click comes."""
    return [
        url
        for url in (html.unescape(m.group(3)).strip() for m in _HREF.finditer(html_body))
        if _trackable(url)
    ]


def tracked(message: Message, links: TrackingLinks) -> Message:
    """The message as handed over (see the module docstring); the message itself is untouched."""
    content = tracked_content(
        message.organization_id,
        message.message_id,
        is_marketing_email(message),
        message.content,
        links,
    )
    return message if content is None else with_content(message, content)


def tracked_content(
    organization_id: str,
    message_id: str,
    marketing: bool,
    content: Mapping[str, str],
    links: TrackingLinks,
) -> dict[str, str] | None:
    """A message's content as handed over, from what `tracked` reads of it; None when it
    goes as it is. Plain values in and out, so it can be made in another process
    (domain.execution.ports.DeliveryTracker)."""
    if not marketing and not any(UNSUBSCRIBE_URL_PLACEHOLDER in text for text in content.values()):
        return None
    own = TrackedLink(organization_id, message_id)
    unsubscribe = links.url(Purpose.UNSUBSCRIBE, own)
    out = {
        key: text.replace(UNSUBSCRIBE_URL_PLACEHOLDER, unsubscribe) for key, text in content.items()
    }
    if marketing:
        body = content.get(HTML_BODY)
        if body:
            out[HTML_BODY] = _with_pixel(
                _with_click_links(body, own, links), links.url(Purpose.OPEN, own)
            ).replace(UNSUBSCRIBE_URL_PLACEHOLDER, unsubscribe)
        mailto = links.unsubscribe_mailto
        listed = f"<{unsubscribe}>" + (f", <mailto:{mailto}>" if mailto else "")
        out[HEADER_KEY_PREFIX + LIST_UNSUBSCRIBE] = listed
        out[HEADER_KEY_PREFIX + LIST_UNSUBSCRIBE_POST] = ONE_CLICK
    return out


def _with_click_links(body: str, own: TrackedLink, links: TrackingLinks) -> str:
    count = 0

    def rewrite(match: re.Match[str]) -> str:
        nonlocal count
        url = html.unescape(match.group(3)).strip()
        if not _trackable(url):
            return match.group(0)
        link = TrackedLink(own.organization_id, own.message_id, count, link_digest(url))
        count += 1
        return f"{match.group(1)}{match.group(2)}{links.url(Purpose.CLICK, link)}{match.group(2)}"

    return _HREF.sub(rewrite, body)


def _with_pixel(body: str, open_url: str) -> str:
    pixel = _PIXEL.format(open_url)
    ends = list(_BODY_END.finditer(body))
    if not ends:
        return body + pixel
    at = ends[-1].start()
    return body[:at] + pixel + body[at:]
