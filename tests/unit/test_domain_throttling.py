"""Which limits bind a send and how a batch is spread (BR-CAM-006.1-006.5; defaults in
docs/assignment-and-throttling.md).

The limiters (memory, Redis) are checked against `reserve` in the contract suite; here is the
arithmetic itself, so a wrong default or a throttle that raises a limit fails without any I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.campaigns.model import Throttle
from domain.execution.throttling import (
    DEFAULT_CHANNEL_PER_HOUR,
    DEFAULT_ORGANIZATION_PER_HOUR,
    Limit,
    OrganizationLimits,
    Reservation,
    limits_for,
    reserve,
)
from domain.kernel.channels import Channel

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DEFAULTS = OrganizationLimits()


def after(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def spacing(limits: list[Limit] | tuple[Limit, ...]) -> float:
    return max(limit.spacing_seconds for limit in limits)


def test_design_defaults() -> None:
    assert DEFAULT_ORGANIZATION_PER_HOUR == 10_000
    assert dict(DEFAULT_CHANNEL_PER_HOUR) == {
        Channel.EMAIL: 10_000,
        Channel.SMS: 1_000,
        Channel.WHATSAPP: 5_000,
        Channel.IN_APP: 50_000,
        Channel.WEBHOOK: 10_000,
    }
    assert set(DEFAULT_CHANNEL_PER_HOUR) == set(Channel)


@pytest.mark.parametrize(
    ("channel", "channel_spacing"),
    [
        (Channel.EMAIL, 0.36),
        (Channel.SMS, 3.6),
        (Channel.WHATSAPP, 0.72),
        (Channel.IN_APP, 0.072),
        (Channel.WEBHOOK, 0.36),
    ],
)
def test_without_a_throttle_the_organization_and_channel_limits_apply(
    channel: Channel, channel_spacing: float
) -> None:
    limits = limits_for("acme", "c1", channel, DEFAULTS, Throttle())

    assert list(limits) == [
        Limit("org:acme", 0.36),
        Limit(f"org:acme:{channel.value}", channel_spacing),
    ]
    assert spacing(list(limits)) == max(0.36, channel_spacing)  # in_app: the org's 10,000/h binds


@pytest.mark.parametrize(
    ("throttle", "campaign_spacing", "binding"),
    [
        (Throttle(per_minute=10), 6.0, 6.0),  # 600/h
        (Throttle(per_hour=600), 6.0, 6.0),
        (Throttle(per_minute=10, per_hour=60), 60.0, 60.0),  # the lower rate binds
        (Throttle(per_minute=60, per_hour=6_000), 1.0, 1.0),
        (Throttle(per_minute=1_000), 0.06, 0.36),  # 60,000/h cannot raise email's 10,000/h
        (Throttle(per_hour=100_000), 0.036, 0.36),
    ],
)
def test_a_campaign_throttle_adds_a_limit_that_can_only_slow_the_campaign(
    throttle: Throttle, campaign_spacing: float, binding: float
) -> None:
    limits = list(limits_for("acme", "c1", Channel.EMAIL, DEFAULTS, throttle))

    assert len(limits) == 3
    assert limits[-1].key == "campaign:c1"
    assert limits[-1].spacing_seconds == pytest.approx(campaign_spacing)
    assert spacing(limits) == pytest.approx(binding)


def test_organization_limits_are_configurable_and_fall_back_per_channel() -> None:
    fast = OrganizationLimits(per_hour=6_000_000, channel_per_hour={Channel.EMAIL: 6_000_000})

    email = limits_for("acme", "c1", Channel.EMAIL, fast, Throttle())
    sms = limits_for("acme", "c1", Channel.SMS, fast, Throttle())

    assert spacing(list(email)) == pytest.approx(60 / 100_000)  # 100,000 messages a minute
    assert spacing(list(sms)) == 3.6  # not configured: the default 1,000/h


def test_reserve_starts_now_on_fresh_limits_and_moves_every_limit_to_the_end() -> None:
    limits = limits_for("acme", "c1", Channel.SMS, DEFAULTS, Throttle())

    reservation, arrivals = reserve({}, limits, 10, NOW)

    assert reservation == Reservation(NOW, 3.6)
    assert arrivals == {"org:acme": after(36), "org:acme:sms": after(36)}


def test_reserve_queues_behind_the_latest_arrival_of_its_own_limits_only() -> None:
    limits = [Limit("a", 1.0), Limit("b", 2.0)]
    arrivals = {"a": after(5), "b": after(9), "z": after(86_400)}

    reservation, ends = reserve(arrivals, limits, 3, NOW)

    assert reservation.start == after(9)
    assert reservation.spacing_seconds == 2.0
    assert ends == {"a": after(15), "b": after(15)}  # "z" belongs to someone else


def test_past_arrivals_start_at_now() -> None:
    reservation, _ = reserve({"a": NOW - timedelta(hours=1)}, [Limit("a", 1.0)], 1, NOW)

    assert reservation.start == NOW


def test_an_empty_batch_reserves_nothing() -> None:
    reservation, ends = reserve({"a": NOW + timedelta(seconds=4)}, [Limit("a", 1.0)], 0, NOW)

    assert ends == {"a": reservation.start} == {"a": after(4)}


def test_chunks_spread_exactly_like_one_batch() -> None:
    """BR-CAM-006.4: 1,000 messages at 60/min take 1,000 s, one per second, however chunked."""
    limits = limits_for("acme", "c1", Channel.EMAIL, DEFAULTS, Throttle(per_minute=60))
    arrivals: dict[str, datetime] = {}
    slots: list[datetime] = []
    for _ in range(10):
        reservation, ends = reserve(arrivals, limits, 100, NOW)
        arrivals.update(ends)
        slots += [reservation.slot(i) for i in range(100)]

    assert slots == [after(i) for i in range(1000)]
    assert set(arrivals.values()) == {after(1000)}


def test_slot_offsets_from_the_start() -> None:
    reservation = Reservation(NOW, 0.36)

    assert reservation.slot(0) == NOW
    assert reservation.slot(10_000) == NOW + timedelta(hours=1)
