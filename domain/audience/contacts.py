"""Contacts of the built-in directory and who can be reached on which channel (BR-CAM-003.2-9).

Validation is per contact so a bulk upload keeps the good rows and reports each bad one with
its reasons, instead of failing the whole stream.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from domain.kernel.channels import Channel
from domain.kernel.errors import shown
from domain.kernel.time_zones import zone

EMAIL = re.compile(
    r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
MAX_USER_ID = 128
MAX_EMAIL = 254
MAX_PHONE = 16  # "+" and at most 15 digits (E.164)
MAX_TIMEZONE = 64  # the longest IANA name has 32 characters
MAX_LOCALE = 35  # BCP 47's recommended longest tag
MAX_ATTRIBUTES_JSON = 16_384
DEFAULT_TIMEZONE = "UTC"


@dataclass(slots=True)
class Contact:
    """A value, not frozen only for speed: a run builds one per recipient (see
    domain.execution.Message)."""

    user_id: str
    email: str = ""
    phone: str = ""
    whatsapp_verified: bool = False
    timezone: str = DEFAULT_TIMEZONE
    locale: str = ""
    email_opted_in: bool = False
    sms_opted_in: bool = False
    whatsapp_opted_in: bool = False
    in_app_opted_in: bool = False
    attributes: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def profile(self) -> dict[str, Any]:
        """Template variables: the attributes plus the contact's own fields (fields win);
        keep OWN_PROFILE_FIELDS in step."""
        return {
            **self.attributes,
            "user_id": self.user_id,
            "email": self.email,
            "phone": self.phone,
            "timezone": self.timezone,
            "locale": self.locale,
            # Filled per message at the hand-over with its signed link (docs/tracking.md).
            UNSUBSCRIBE_URL: UNSUBSCRIBE_URL_PLACEHOLDER,
        }


# `{{ unsubscribe_url }}` renders as this placeholder: the message's id, which its signed link
# needs, is only known later; the hand-over puts the link in its place
# (domain.execution.tracked_content). A reserved name (RFC 2606), so it can never resolve.
UNSUBSCRIBE_URL = "unsubscribe_url"
UNSUBSCRIBE_URL_PLACEHOLDER = "https://unsubscribe.invalid/"
# The contact's own fields in every profile (Contact.profile), whatever its attributes.
OWN_PROFILE_FIELDS = frozenset({"user_id", "email", "phone", "timezone", "locale", UNSUBSCRIBE_URL})


def contact_problems(contact: Contact) -> list[str]:
    """Why a contact cannot be stored; empty when it can."""
    problems = [
        f"{name}: NUL characters are not allowed"
        for name in _TEXT_FIELDS
        if "\x00" in getattr(contact, name)
    ]
    if not contact.user_id.strip() or len(contact.user_id) > MAX_USER_ID:
        problems.append(f"user_id: required, at most {MAX_USER_ID} characters")
    if contact.email and (len(contact.email) > MAX_EMAIL or not EMAIL.match(contact.email)):
        problems.append(f"email: {shown(contact.email)} is not a valid address")
    if contact.phone and not E164.match(contact.phone):
        problems.append(f"phone: {shown(contact.phone)} is not E.164 (e.g. +14155550100)")
    if len(contact.locale) > MAX_LOCALE:
        problems.append(f"locale: at most {MAX_LOCALE} characters (a BCP 47 tag)")
    if len(contact.timezone) > MAX_TIMEZONE or zone(contact.timezone) is None:
        problems.append(f"timezone: {shown(contact.timezone)} is not an IANA time zone")
    if contact.email_opted_in and not contact.email:
        problems.append("email_opted_in: set without an email address")
    if (contact.sms_opted_in or contact.whatsapp_opted_in) and not contact.phone:
        problems.append("sms_opted_in/whatsapp_opted_in: set without a phone number")
    problems += _attribute_problems(contact.attributes)
    return problems


# Every text field of a contact: none may hold a NUL character, which Postgres cannot store (SQLite
# can), so both backends reject the contact alike instead of Postgres failing its whole batch.
_TEXT_FIELDS = tuple(f.name for f in fields(Contact) if f.type in ("str", str))


def _attribute_problems(attributes: Mapping[str, Any]) -> list[str]:
    """Attributes must be plain JSON every database stores alike: no NaN or Infinity, no NUL
    characters (Postgres rejects both), and bounded in size."""
    try:
        text = json.dumps(attributes, allow_nan=False)
    except ValueError:
        return ["attributes: NaN and Infinity are not JSON numbers"]
    except TypeError as exc:
        return [f"attributes: {exc}"]
    if "\\u0000" in text:
        return ["attributes: NUL characters are not allowed"]
    if len(text) > MAX_ATTRIBUTES_JSON:
        return [f"attributes: at most {MAX_ATTRIBUTES_JSON} bytes of JSON"]
    return []


def is_address(value: str) -> bool:
    """A syntactically valid email address or E.164 phone number: what a suppression by
    address may name."""
    if E164.match(value):
        return True
    return len(value) <= MAX_EMAIL and EMAIL.match(value) is not None


def reachable(contact: Contact, channel: Channel) -> bool:
    """Consent and a usable address (suppression is checked separately, per channel)."""
    if channel is Channel.EMAIL:
        return contact.email_opted_in and bool(contact.email)
    if channel is Channel.SMS:
        return contact.sms_opted_in and bool(contact.phone)
    if channel is Channel.WHATSAPP:
        return contact.whatsapp_opted_in and contact.whatsapp_verified and bool(contact.phone)
    if channel is Channel.IN_APP:
        return contact.in_app_opted_in  # delivered on next login if offline (BR-CAM-003.9)
    return True  # webhooks go to the organization's endpoint, not to the person


def address_for(contact: Contact, channel: Channel) -> str:
    if channel is Channel.EMAIL:
        return contact.email
    if channel in (Channel.SMS, Channel.WHATSAPP):
        return contact.phone
    return contact.user_id


def choose_channels(
    contact: Contact, ordered: Iterable[Channel], suppressed: set[Channel], *, all_channels: bool
) -> list[Channel]:
    """Channels to use, in the campaign's order: the first eligible one (fallback) or all."""
    eligible = [c for c in ordered if c not in suppressed and reachable(contact, c)]
    return eligible if all_channels else eligible[:1]
