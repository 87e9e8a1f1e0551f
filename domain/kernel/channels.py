"""The channels a message can go out on: the vocabulary every context shares."""

from __future__ import annotations

import enum


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    IN_APP = "in_app"
    WEBHOOK = "webhook"
