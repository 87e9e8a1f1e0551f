"""Fakes and fixtures for the domain unit tests: a settable clock, the in-memory store, callers
and campaign definitions that are complete enough to launch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.memory.campaigns import MemoryStore
from adapters.system import UuidGenerator
from domain.audience.model import Audience, SegmentType
from domain.campaigns.model import CampaignSpec, CampaignType, ChannelContent, Trigger
from domain.campaigns.service import CampaignService
from domain.kernel.channels import Channel
from domain.kernel.principal import Principal, Role
from tests.support.compliance import FOOTER

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock that only moves when a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def service(store: MemoryStore, clock: FakeClock) -> CampaignService:
    return CampaignService(store.unit_of_work, clock, UuidGenerator())


@pytest.fixture
def admin() -> Principal:
    return Principal("org-1", "alice", frozenset({Role.ADMIN}))


@pytest.fixture
def reader() -> Principal:
    return Principal("org-1", "bob", frozenset({Role.USER}))


@pytest.fixture
def outsider() -> Principal:
    return Principal("org-2", "mallory", frozenset({Role.ADMIN}))


@pytest.fixture
def scheduled_spec() -> CampaignSpec:
    """A scheduled campaign with everything it needs to be scheduled."""
    return CampaignSpec(
        name="Spring sale",
        campaign_type=CampaignType.SCHEDULED,
        description="Ten percent off everything",
        audiences=(Audience("", SegmentType.INCLUDE, segment_id="seg-premium"),),
        channels=(
            ChannelContent(Channel.EMAIL, subject="Spring", html_body="<p>10% off</p>" + FOOTER),
        ),
        tags=("spring",),
        metadata=(("owner", "growth"), ("budget", "small")),
    )


@pytest.fixture
def triggered_spec() -> CampaignSpec:
    """A triggered campaign with everything it needs to be activated."""
    return CampaignSpec(
        name="Upgrade thank-you",
        campaign_type=CampaignType.TRIGGERED,
        audiences=(Audience("", SegmentType.INCLUDE, segment_id="seg-all"),),
        channels=(ChannelContent(Channel.SMS, body="Thanks for upgrading!"),),
        triggers=(Trigger("subscription.upgraded", ""),),
    )
