"""The payload shapes `user.preferences.updated` accepts, and the erasure's pseudonyms."""

from __future__ import annotations

from typing import Any

import pytest

from domain.audience.pseudonyms import Pseudonyms, is_pseudonym
from domain.events.intake import RejectedEventError
from domain.events.preferences import opt_ins_of
from domain.kernel.channels import Channel

EMAIL_OFF_SMS_ON = {Channel.EMAIL: False, Channel.SMS: True}


@pytest.mark.parametrize(
    "payload",
    [
        {"user_id": "u", "channels": {"email": False, "sms": True}},
        {"user_id": "u", "opt_ins": {"EMAIL": "false", "sms": "true"}},
        {"user_id": "u", "preferences": {"CHANNEL_EMAIL": 0, "channel_sms": 1}},
        {"user_id": "u", "email": False, "sms": True, "language": "nb"},
        {"user_id": "u", "email_opted_in": "opted_out", "sms_opted_in": "opted_in"},
        {"channels": {"email": {"opted_in": False}, "sms": {"enabled": True}}},
        {"channels": [{"channel": "email", "opted_in": False}, {"channel": "sms", "opted_in": 1}]},
    ],
)
def test_the_obvious_shapes_mean_the_same(payload: dict[str, Any]):
    assert opt_ins_of(payload) == EMAIL_OFF_SMS_ON


def test_in_app_spellings():
    assert opt_ins_of({"channels": {"in-app": True, "inapp": False}}) == {Channel.IN_APP: False}


@pytest.mark.parametrize(
    "payload",
    [
        {"user_id": "u"},
        {"channels": {"fax": True}},
        {"channels": {"email": "maybe"}},
        {"channels": "email"},
    ],
)
def test_a_payload_naming_no_usable_channel_is_rejected(payload: dict[str, Any]):
    with pytest.raises(RejectedEventError):
        opt_ins_of(payload)


def test_pseudonyms_are_stable_keyed_per_organization_and_case_blind_for_addresses():
    one, other = Pseudonyms(b"a" * 32), Pseudonyms(b"b" * 32)
    assert one.user("org", "u-1") == one.user("org", "u-1")
    assert is_pseudonym(one.user("org", "u-1"))
    assert "u-1" not in one.user("org", "u-1")
    assert one.user("org", "u-1") != one.user("org-2", "u-1")
    assert one.user("org", "u-1") != other.user("org", "u-1")
    assert one.address("org", "Ana@Example.test") == one.address("org", "ana@example.test")
