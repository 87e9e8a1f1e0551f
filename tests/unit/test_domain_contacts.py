"""Contact validation and channel eligibility (BR-CAM-003.2-003.9).

Validation decides which rows of a bulk upload are stored; eligibility decides who is messaged on
which channel, so both are checked at their boundaries (address syntax, E.164 length, consent).
"""

from __future__ import annotations

from typing import Any

import pytest

from domain.audience.contacts import Contact, choose_channels, contact_problems, reachable
from domain.kernel.channels import Channel
from domain.kernel.errors import shown

PHONE = "+14155550100"


def problems_of(**fields: Any) -> list[str]:
    return contact_problems(Contact("u1", **fields))


def test_a_minimal_contact_is_valid() -> None:
    assert contact_problems(Contact("u1")) == []


@pytest.mark.parametrize(
    "email",
    [
        "a@b.co",
        "first.last+tag@mail.example.com",
        "o'brien@example.ie",
        f"{'x' * 64}@example.com",
        "a@xn--bcher-kva.example",
        f"a@{'d' * 63}.com",
    ],
)
def test_valid_email_addresses(email: str) -> None:
    assert problems_of(email=email) == []


@pytest.mark.parametrize(
    "email",
    [
        "plainaddress",
        "a@b",  # no dot in the domain
        "@example.com",
        "a b@example.com",
        "a@@example.com",
        "a@-example.com",
        "a@example-.com",
        "a@example..com",
        "a@.example.com",
        f"{'x' * 65}@example.com",  # local part over 64
        f"a@{'d' * 64}.com",  # label over 63
        f"{'x' * 60}@{'.'.join(['d' * 60] * 4)}.com",  # over 254 in total
    ],
)
def test_invalid_email_addresses(email: str) -> None:
    assert problems_of(email=email) == [f"email: {shown(email)} is not a valid address"]


@pytest.mark.parametrize("phone", ["+12", "+14155550100", "+" + "9" * 15, "+447911123456"])
def test_valid_e164_numbers(phone: str) -> None:
    assert problems_of(phone=phone) == []


@pytest.mark.parametrize(
    "phone",
    [
        "+1",  # country code alone: E.164 needs at least one more digit
        "+" + "9" * 16,  # over 15 digits
        "+04155550100",  # no country code starts with 0
        "14155550100",  # no plus
        "+1 415 555 0100",
        "+1-415-555-0100",
        "+",
    ],
)
def test_invalid_e164_numbers(phone: str) -> None:
    assert problems_of(phone=phone) == [f"phone: {phone!r} is not E.164 (e.g. +14155550100)"]


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Kolkata", "Europe/Berlin"])
def test_valid_time_zones(tz: str) -> None:
    assert problems_of(timezone=tz) == []


@pytest.mark.parametrize("tz", ["", "Mars/Olympus_Mons", "EST+5", "../../etc/passwd", "UTC "])
def test_invalid_time_zones(tz: str) -> None:
    assert problems_of(timezone=tz) == [f"timezone: {tz!r} is not an IANA time zone"]


@pytest.mark.parametrize("user_id", ["", "   ", "x" * 129])
def test_user_id_is_required_and_bounded(user_id: str) -> None:
    assert contact_problems(Contact(user_id)) == ["user_id: required, at most 128 characters"]
    assert contact_problems(Contact("x" * 128)) == []


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"email_opted_in": True}, "email_opted_in: set without an email address"),
        ({"sms_opted_in": True}, "sms_opted_in/whatsapp_opted_in: set without a phone number"),
        ({"whatsapp_opted_in": True}, "sms_opted_in/whatsapp_opted_in: set without a phone number"),
    ],
)
def test_consent_without_an_address_is_rejected(fields: dict[str, bool], problem: str) -> None:
    assert problems_of(**fields) == [problem]


def test_in_app_consent_needs_no_address_and_every_problem_is_reported() -> None:
    assert problems_of(in_app_opted_in=True) == []
    assert len(problems_of(email="nope", phone="123", timezone="Nowhere", sms_opted_in=True)) == 3


EVERYONE = Contact(
    "u1",
    email="a@example.com",
    phone=PHONE,
    whatsapp_verified=True,
    email_opted_in=True,
    sms_opted_in=True,
    whatsapp_opted_in=True,
    in_app_opted_in=True,
)


@pytest.mark.parametrize(
    ("contact", "channel", "expected"),
    [
        (EVERYONE, Channel.EMAIL, True),
        (Contact("u", email="a@example.com"), Channel.EMAIL, False),  # no consent
        (Contact("u", email_opted_in=True), Channel.EMAIL, False),  # no address
        (Contact("u", phone=PHONE, sms_opted_in=True), Channel.SMS, True),
        (Contact("u", phone=PHONE), Channel.SMS, False),
        (Contact("u", sms_opted_in=True), Channel.SMS, False),
        (EVERYONE, Channel.WHATSAPP, True),
        (Contact("u", phone=PHONE, whatsapp_opted_in=True), Channel.WHATSAPP, False),  # unverified
        (Contact("u", phone=PHONE, whatsapp_verified=True), Channel.WHATSAPP, False),
        (Contact("u", whatsapp_verified=True, whatsapp_opted_in=True), Channel.WHATSAPP, False),
        (Contact("u", in_app_opted_in=True), Channel.IN_APP, True),
        (Contact("u"), Channel.IN_APP, False),
        (Contact("u"), Channel.WEBHOOK, True),  # goes to the organization, not the person
    ],
)
def test_reachable(contact: Contact, channel: Channel, expected: bool) -> None:
    assert reachable(contact, channel) is expected


FALLBACK_ORDER = [Channel.WHATSAPP, Channel.SMS, Channel.EMAIL]
SMS_AND_EMAIL = Contact(
    "u", email="a@example.com", phone=PHONE, email_opted_in=True, sms_opted_in=True
)


def test_fallback_takes_the_first_eligible_channel_in_the_campaign_order() -> None:
    assert choose_channels(SMS_AND_EMAIL, FALLBACK_ORDER, set(), all_channels=False) == [
        Channel.SMS
    ]
    assert choose_channels(EVERYONE, FALLBACK_ORDER, set(), all_channels=False) == [
        Channel.WHATSAPP
    ]


def test_all_takes_every_eligible_channel_in_order() -> None:
    assert choose_channels(EVERYONE, FALLBACK_ORDER, set(), all_channels=True) == FALLBACK_ORDER
    assert choose_channels(SMS_AND_EMAIL, FALLBACK_ORDER, set(), all_channels=True) == [
        Channel.SMS,
        Channel.EMAIL,
    ]


def test_a_suppressed_channel_falls_back_to_the_next_one() -> None:
    assert choose_channels(EVERYONE, FALLBACK_ORDER, {Channel.WHATSAPP}, all_channels=False) == [
        Channel.SMS
    ]
    assert choose_channels(
        EVERYONE, FALLBACK_ORDER, {Channel.SMS, Channel.EMAIL}, all_channels=True
    ) == [Channel.WHATSAPP]


def test_nobody_reachable_means_no_channel() -> None:
    assert choose_channels(Contact("u"), FALLBACK_ORDER, set(), all_channels=True) == []
    assert choose_channels(EVERYONE, FALLBACK_ORDER, set(FALLBACK_ORDER), all_channels=False) == []
    assert choose_channels(EVERYONE, [], set(), all_channels=True) == []


@pytest.mark.parametrize(
    ("attributes", "problem"),
    [
        ({"score": float("nan")}, "NaN and Infinity"),
        ({"score": float("inf")}, "NaN and Infinity"),
        ({"note": "a\x00b"}, "NUL characters"),
        ({"note": "x" * 20_000}, "at most 16384 bytes"),
    ],
)
def test_attributes_every_database_cannot_store_alike_are_rejected(attributes, problem):
    assert any(problem in p for p in contact_problems(Contact("u-1", attributes=attributes)))


def test_ordinary_attributes_pass():
    assert contact_problems(Contact("u-1", attributes={"tier": "gold", "age": 41})) == []
