"""Tracking links (BR-CAM-005.6/005.7): what a signed open, click or unsubscribe link says, and
the port that signs and reads them (adapters/tracking/links.py; docs/tracking.md).

The domain decides what a link carries and what it may do; how it is signed (itsdangerous, keys,
rotation) is the adapter's. A link that does not read (forged, altered, signed for another
purpose or with a key no longer kept) is None: the HTTP edge answers 404 and nothing changes.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from typing import Protocol


class Purpose(enum.StrEnum):
    """What a token is for: each purpose signs with its own salt, so an open token is never
    accepted as a click or an unsubscribe."""

    OPEN = "open"
    CLICK = "click"
    UNSUBSCRIBE = "unsubscribe"


@dataclass(frozen=True, slots=True)
class TrackedLink:
    """What a token carries: whose message, and for a click which link of its HTML body
    (`index`, counted by domain.execution.tracked_content.links_in) and a digest of that URL,
    so a token can only ever lead to the URL it was made for."""

    organization_id: str
    message_id: str
    index: int = -1
    digest: str = ""


def link_digest(url: str) -> str:
    """A short fingerprint of a link's URL (48 bits: enough to tell URLs of one message apart,
    short enough to keep the token short; the signature is what makes the token unforgeable)."""
    return hashlib.blake2b(url.encode(), digest_size=6).hexdigest()


class TrackingLinks(Protocol):
    """Signs and reads tracking links."""

    def url(self, purpose: Purpose, link: TrackedLink) -> str:
        """The public URL of a signed link (the base URL, the purpose's path, the token)."""

    def read(self, purpose: Purpose, token: str) -> TrackedLink | None:
        """The link a token signed for `purpose` carries; None when it does not verify with
        any key kept, or is malformed."""

    @property
    def unsubscribe_mailto(self) -> str:
        """The `mailto:` address List-Unsubscribe also names; "" when none is configured."""
