"""`user.preferences.updated`: the user's consent per channel (docs/erasure.md).

The shape (the obvious variants are accepted alike):

    {"user_id": "u-1", "channels": {"email": false, "sms": true}}

- the map may also be named `opt_ins` or `preferences`, or its keys may sit at the top level;
- a key may be a channel (`email`, `sms`, `whatsapp`, `in_app`; any case, `in-app`, a
  `CHANNEL_` prefix) or `<channel>_opted_in`;
- a value may be a boolean, "true"/"false", "opted_in"/"opted_out", 1/0, or an object with
  `opted_in` or `enabled`;
- a list of {"channel": ..., "opted_in": ...} works as the map.

Keys that name no channel are ignored (the payload may carry other preferences); an event
naming no channel, or a channel with a value that is no yes or no, is rejected. The built-in
directory's contact gets the new opt-ins (an opt-in on a channel without an address stays off, as
the directory always had it), and every send to a channel the user left that is not handed over
yet is cancelled with its reason, whichever audience source planned it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.events.erasure import user_of
from domain.events.intake import RejectedEventError
from domain.events.lifecycle import opted_out_reason
from domain.events.model import USER_PREFERENCES_UPDATED, InboundEvent
from domain.events.ports import EventsUnitOfWork
from domain.kernel.channels import Channel
from domain.kernel.ports import Clock

# Channels a person consents to; webhooks go to the organization's endpoint.
CONSENT_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.WHATSAPP, Channel.IN_APP)
_MAP_NAMES = ("channels", "opt_ins", "preferences")
_YES = frozenset({"true", "yes", "opted_in", "opt_in", "subscribed", "on", "1"})
_NO = frozenset({"false", "no", "opted_out", "opt_out", "unsubscribed", "off", "0"})


def channel_named(key: str) -> Channel | None:
    name = key.strip().lower().replace("-", "_").removeprefix("channel_")
    name = name.removesuffix("_opted_in").removesuffix("_opt_in")
    name = {"inapp": "in_app", "push": "in_app"}.get(name, name)
    return next((c for c in CONSENT_CHANNELS if c.value == name), None)


def _yes_or_no(value: Any) -> bool | None:
    if isinstance(value, Mapping):
        for key in ("opted_in", "enabled", "subscribed"):
            if key in value:
                return _yes_or_no(value[key])
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        return True if text in _YES else False if text in _NO else None
    return None


def opt_ins_of(properties: Mapping[str, Any]) -> dict[Channel, bool]:
    """The channels the payload names, with the consent it gives each."""
    given: Any = next((properties[n] for n in _MAP_NAMES if n in properties), properties)
    if isinstance(given, list):
        pairs = [
            (str(item.get("channel", "")), item) for item in given if isinstance(item, Mapping)
        ]
    elif isinstance(given, Mapping):
        pairs = [(str(k), v) for k, v in given.items()]
    else:
        raise RejectedEventError(f"{USER_PREFERENCES_UPDATED}: channels must be an object")
    opt_ins: dict[Channel, bool] = {}
    for key, value in pairs:
        channel = channel_named(key)
        if channel is None:
            continue
        consent = _yes_or_no(value)
        if consent is None:
            raise RejectedEventError(
                f"{USER_PREFERENCES_UPDATED}: {channel.value}: expected true or false"
            )
        opt_ins[channel] = consent
    if not opt_ins:
        raise RejectedEventError(
            f"{USER_PREFERENCES_UPDATED}: names no channel "
            '(e.g. {"user_id": "u-1", "channels": {"email": false}})'
        )
    return opt_ins


class PreferencesHandler:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def accepts(self, event_type: str) -> bool:
        return event_type == USER_PREFERENCES_UPDATED

    async def handle(self, uow: EventsUnitOfWork, event: InboundEvent) -> None:
        user_id = user_of(event)
        opt_ins = opt_ins_of(event.properties)
        now = self._clock.now()
        data = uow.personal_data
        await data.set_opt_ins(event.organization_id, user_id, opt_ins, now)
        for channel, consent in opt_ins.items():
            if not consent:
                reason = opted_out_reason(channel)
                await data.cancel_pending(event.organization_id, user_id, channel, reason, now)
