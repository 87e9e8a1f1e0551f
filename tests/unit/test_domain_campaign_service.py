"""Campaign use cases on the in-memory store: what is stored, what is recorded in the outbox, and
that a refused call writes nothing."""

from __future__ import annotations

import copy
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from adapters.memory.campaigns import MemoryStore
from domain.audience.model import Audience, SegmentType
from domain.campaigns.campaign import Campaign
from domain.campaigns.listing import CampaignQuery
from domain.campaigns.model import CampaignSpec, CampaignStatus, CronSchedule, Schedule, Variant
from domain.campaigns.service import CampaignService
from domain.kernel.errors import (
    CampaignIncompleteError,
    CampaignNotEditableError,
    CampaignNotFoundError,
    FailedPreconditionError,
    InvalidArgumentError,
    InvalidTransitionError,
    PermissionDeniedError,
    RequestIdReusedError,
    StaleEtagError,
    ValidationError,
)
from domain.kernel.events import DomainEvent
from domain.kernel.principal import Principal, Role

if TYPE_CHECKING:
    from tests.unit.conftest import FakeClock

S = CampaignStatus


def events(store: MemoryStore) -> list[DomainEvent]:
    return [event for _, event, _ in store.state.outbox]


def event_types(store: MemoryStore) -> list[str]:
    return [event.event_type for event in events(store)]


def last_event(store: MemoryStore) -> DomainEvent:
    return events(store)[-1]


def in_five_minutes(clock: FakeClock) -> Schedule:
    return Schedule(scheduled_at=clock.now() + timedelta(minutes=5))


def force_status(store: MemoryStore, campaign: Campaign, status: CampaignStatus) -> None:
    """Put a stored campaign in a state no CampaignService call reaches (e.g. running)."""
    store.state.campaigns[campaign.campaign_id].status = status


def with_ab_test(spec: CampaignSpec) -> CampaignSpec:
    return replace(spec, variants=(Variant("", "a", 50), Variant("", "b", 50)))


# --- create --------------------------------------------------------------------------------------


async def test_create_stores_a_draft_version_1(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)

    assert campaign.status is S.DRAFT
    assert (campaign.version, campaign.etag) == (1, 'W/"1"')
    assert (campaign.organization_id, campaign.created_by, campaign.updated_by) == (
        "org-1",
        "alice",
        "alice",
    )
    assert store.state.campaigns == {campaign.campaign_id: campaign}


async def test_create_records_campaign_created_with_the_envelope_fields(
    service: CampaignService,
    store: MemoryStore,
    clock: FakeClock,
    admin: Principal,
    scheduled_spec: CampaignSpec,
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)

    [(_, event, published)] = store.state.outbox
    assert published is False
    assert uuid.UUID(event.event_id)
    assert event.envelope() == {
        "event_id": event.event_id,
        "event_type": "campaign.created",
        "source": "campaign_service",
        "organization_id": "org-1",
        "occurred_at": clock.now().isoformat(),
        "data": {
            "campaign_id": campaign.campaign_id,
            "name": "Spring sale",
            "type": "scheduled",
            "status": "draft",
            "created_by": "alice",
            "cloned_from_id": None,
        },
    }


async def test_create_gives_every_audience_variant_and_trigger_a_fresh_id(
    service: CampaignService, admin: Principal, triggered_spec: CampaignSpec
) -> None:
    spec = with_ab_test(triggered_spec)
    spec = replace(spec, audiences=(*spec.audiences, replace(spec.audiences[0], audience_id="x")))

    campaign = await service.create_campaign(admin, spec)

    ids = [a.audience_id for a in campaign.spec.audiences]
    ids += [v.variant_id for v in campaign.spec.variants]
    ids += [t.trigger_id for t in campaign.spec.triggers]
    assert len(ids) == 5
    assert len(set(ids)) == 5
    assert "" not in ids
    assert "x" not in ids


async def test_invalid_create_writes_nothing(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    with pytest.raises(ValidationError) as caught:
        await service.create_campaign(admin, replace(scheduled_spec, name=""))

    assert [v.field for v in caught.value.violations] == ["name"]
    assert store.state.campaigns == {}
    assert store.state.outbox == []


async def test_create_with_a_request_id_of_129_characters_is_rejected(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        await service.create_campaign(admin, scheduled_spec, request_id="r" * 129)

    assert [v.field for v in caught.value.violations] == ["request_id"]
    assert store.state.campaigns == {}


async def test_create_with_a_request_id_of_128_characters_is_accepted(
    service: CampaignService, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec, request_id="r" * 128)

    assert campaign.request_id == "r" * 128


# --- idempotent create ---------------------------------------------------------------------------


async def test_repeated_create_with_the_same_request_id_returns_the_same_campaign(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    first = await service.create_campaign(admin, scheduled_spec, request_id="req-1")

    again = await service.create_campaign(admin, scheduled_spec, request_id="req-1")

    assert again.campaign_id == first.campaign_id
    assert list(store.state.campaigns) == [first.campaign_id]
    assert event_types(store) == ["campaign.created"]


async def test_metadata_order_does_not_change_an_idempotent_create(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    first = await service.create_campaign(admin, scheduled_spec, request_id="req-1")
    reordered = replace(scheduled_spec, metadata=tuple(reversed(scheduled_spec.metadata)))

    again = await service.create_campaign(admin, reordered, request_id="req-1")

    assert again.campaign_id == first.campaign_id
    assert len(store.state.campaigns) == 1


async def test_request_id_reused_with_a_different_payload_is_rejected(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    first = await service.create_campaign(admin, scheduled_spec, request_id="req-1")
    before = copy.deepcopy(store.state)

    with pytest.raises(RequestIdReusedError) as caught:
        await service.create_campaign(
            admin, replace(scheduled_spec, name="Other"), request_id="req-1"
        )

    assert caught.value.metadata == {"request_id": "req-1", "campaign_id": first.campaign_id}
    assert store.state == before


async def test_same_request_id_in_another_organization_creates_its_own_campaign(
    service: CampaignService,
    store: MemoryStore,
    admin: Principal,
    outsider: Principal,
    scheduled_spec: CampaignSpec,
) -> None:
    mine = await service.create_campaign(admin, scheduled_spec, request_id="req-1")

    theirs = await service.create_campaign(outsider, scheduled_spec, request_id="req-1")

    assert theirs.campaign_id != mine.campaign_id
    assert len(store.state.campaigns) == 2


async def test_creates_without_a_request_id_are_never_merged(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    await service.create_campaign(admin, scheduled_spec)

    await service.create_campaign(admin, scheduled_spec)

    assert len(store.state.campaigns) == 2


# --- roles and tenancy ---------------------------------------------------------------------------


async def test_user_role_cannot_create(
    service: CampaignService, store: MemoryStore, reader: Principal, scheduled_spec: CampaignSpec
) -> None:
    with pytest.raises(PermissionDeniedError):
        await service.create_campaign(reader, scheduled_spec)

    assert store.state.campaigns == {}
    assert store.state.outbox == []


async def test_user_role_cannot_change_a_campaign(
    service: CampaignService,
    store: MemoryStore,
    admin: Principal,
    reader: Principal,
    triggered_spec: CampaignSpec,
) -> None:
    campaign = await service.create_campaign(admin, triggered_spec)
    cid = campaign.campaign_id
    before = copy.deepcopy(store.state)
    calls = [
        service.update_campaign(reader, cid, triggered_spec, frozenset({"name"})),
        service.delete_campaign(reader, cid),
        service.clone_campaign(reader, cid),
        service.activate_campaign(reader, cid),
        service.cancel_campaign(reader, cid),
    ]

    for call in calls:
        with pytest.raises(PermissionDeniedError):
            await call

    assert store.state == before


async def test_user_role_can_read(
    service: CampaignService, admin: Principal, reader: Principal, scheduled_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)

    fetched = await service.get_campaign(reader, campaign.campaign_id)
    page = await service.list_campaigns(reader, CampaignQuery())

    assert fetched == campaign
    assert [c.campaign_id for c in page.campaigns] == [campaign.campaign_id]


async def test_principal_without_roles_cannot_read(
    service: CampaignService, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    nobody = Principal("org-1", "eve", frozenset())

    with pytest.raises(PermissionDeniedError):
        await service.get_campaign(nobody, campaign.campaign_id)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SERVICE, Role.SYSTEM])
async def test_admin_service_and_system_roles_can_write(
    service: CampaignService, role: Role, scheduled_spec: CampaignSpec
) -> None:
    caller = Principal("org-1", "svc", frozenset({role}))

    campaign = await service.create_campaign(caller, scheduled_spec)

    assert campaign.created_by == "svc"


async def test_another_organization_cannot_see_or_touch_a_campaign(
    service: CampaignService,
    store: MemoryStore,
    admin: Principal,
    outsider: Principal,
    scheduled_spec: CampaignSpec,
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    cid = campaign.campaign_id
    before = copy.deepcopy(store.state)
    calls = [
        service.get_campaign(outsider, cid),
        service.update_campaign(outsider, cid, scheduled_spec, frozenset({"name"})),
        service.delete_campaign(outsider, cid),
        service.schedule_campaign(outsider, cid, Schedule(scheduled_at=campaign.created_at)),
        service.clone_campaign(outsider, cid),
        service.cancel_campaign(outsider, cid),
    ]

    for call in calls:
        with pytest.raises(CampaignNotFoundError) as caught:
            await call
        assert caught.value.metadata == {"campaign_id": cid}

    assert store.state == before
    assert (await service.list_campaigns(outsider, CampaignQuery())).campaigns == []


async def test_missing_campaign_is_not_found(service: CampaignService, admin: Principal) -> None:
    with pytest.raises(CampaignNotFoundError):
        await service.get_campaign(admin, "does-not-exist")


async def test_empty_campaign_id_is_invalid(service: CampaignService, admin: Principal) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        await service.get_campaign(admin, "")

    assert [v.field for v in caught.value.violations] == ["campaign_id"]


# --- update --------------------------------------------------------------------------------------


async def test_update_changes_only_the_paths_in_the_mask(
    service: CampaignService,
    store: MemoryStore,
    clock: FakeClock,
    admin: Principal,
    scheduled_spec: CampaignSpec,
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    clock.advance(timedelta(minutes=1))
    edited = replace(scheduled_spec, name="Renamed", description="New text", tags=("x",))

    updated = await service.update_campaign(
        admin, campaign.campaign_id, edited, frozenset({"description"})
    )

    assert updated.spec == replace(campaign.spec, description="New text")
    assert (updated.version, updated.etag) == (2, 'W/"2"')
    assert updated.updated_at == clock.now()
    assert store.state.campaigns[campaign.campaign_id] == updated


async def test_update_records_campaign_updated_with_the_changed_fields(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    edited = replace(scheduled_spec, name="Renamed", description="New text")

    await service.update_campaign(
        admin, campaign.campaign_id, edited, frozenset({"name", "description"})
    )

    assert event_types(store) == ["campaign.created", "campaign.updated"]
    assert last_event(store).data == {
        "campaign_id": campaign.campaign_id,
        "changed_fields": ["description", "name"],
        "updated_by": "alice",
    }


@pytest.mark.parametrize(
    "paths", [frozenset({"status"}), frozenset({"name", "campaign_type"}), frozenset({"etag"})]
)
async def test_update_mask_with_a_path_that_cannot_be_updated_is_rejected(
    service: CampaignService,
    store: MemoryStore,
    admin: Principal,
    scheduled_spec: CampaignSpec,
    paths: frozenset[str],
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    before = copy.deepcopy(store.state)

    with pytest.raises(InvalidArgumentError) as caught:
        await service.update_campaign(admin, campaign.campaign_id, scheduled_spec, paths)

    assert [v.field for v in caught.value.violations] == ["update_mask"]
    assert store.state == before


async def test_empty_update_mask_is_rejected(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    before = copy.deepcopy(store.state)

    with pytest.raises(InvalidArgumentError) as caught:
        await service.update_campaign(admin, campaign.campaign_id, scheduled_spec, frozenset())

    assert [v.field for v in caught.value.violations] == ["update_mask"]
    assert store.state == before


async def test_update_with_a_stale_etag_is_rejected(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    renamed = replace(scheduled_spec, name="Renamed")
    await service.update_campaign(admin, campaign.campaign_id, renamed, frozenset({"name"}))
    before = copy.deepcopy(store.state)

    with pytest.raises(StaleEtagError) as caught:
        await service.update_campaign(
            admin, campaign.campaign_id, scheduled_spec, frozenset({"name"}), etag=campaign.etag
        )

    assert caught.value.metadata == {"current_etag": 'W/"2"'}
    assert store.state == before


async def test_update_with_the_current_etag_is_accepted(
    service: CampaignService, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)

    updated = await service.update_campaign(
        admin,
        campaign.campaign_id,
        replace(scheduled_spec, name="Renamed"),
        frozenset({"name"}),
        etag='W/"1"',
    )

    assert updated.spec.name == "Renamed"
    assert updated.etag == 'W/"2"'


async def test_invalid_update_writes_nothing(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    before = copy.deepcopy(store.state)

    with pytest.raises(ValidationError) as caught:
        await service.update_campaign(
            admin, campaign.campaign_id, replace(scheduled_spec, name=""), frozenset({"name"})
        )

    assert [v.field for v in caught.value.violations] == ["name"]
    assert store.state == before


async def test_update_keeps_the_ids_of_existing_audiences_and_gives_new_ones_ids(
    service: CampaignService, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    [kept] = campaign.spec.audiences
    added = Audience("client-chosen", SegmentType.EXCLUDE, segment_id="seg-churned")

    updated = await service.update_campaign(
        admin,
        campaign.campaign_id,
        replace(scheduled_spec, audiences=(kept, added)),
        frozenset({"audiences"}),
    )

    first, second = updated.spec.audiences
    assert first.audience_id == kept.audience_id
    assert second.audience_id not in {"", "client-chosen", kept.audience_id}


async def test_running_campaign_cannot_be_updated(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    force_status(store, campaign, S.RUNNING)
    before = copy.deepcopy(store.state)

    with pytest.raises(CampaignNotEditableError):
        await service.update_campaign(
            admin, campaign.campaign_id, replace(scheduled_spec, name="X"), frozenset({"name"})
        )

    assert store.state == before


# --- delete --------------------------------------------------------------------------------------


async def test_delete_removes_the_campaign(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)

    await service.delete_campaign(admin, campaign.campaign_id, etag='W/"1"')

    assert store.state.campaigns == {}
    with pytest.raises(CampaignNotFoundError):
        await service.get_campaign(admin, campaign.campaign_id)


async def test_running_campaign_cannot_be_deleted(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    force_status(store, campaign, S.RUNNING)

    with pytest.raises(FailedPreconditionError):
        await service.delete_campaign(admin, campaign.campaign_id)

    assert campaign.campaign_id in store.state.campaigns


async def test_delete_with_a_stale_etag_is_rejected(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)

    with pytest.raises(StaleEtagError):
        await service.delete_campaign(admin, campaign.campaign_id, etag='W/"7"')

    assert campaign.campaign_id in store.state.campaigns


async def test_request_id_of_a_deleted_campaign_can_be_used_again(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    first = await service.create_campaign(admin, scheduled_spec, request_id="req-1")
    await service.delete_campaign(admin, first.campaign_id)

    second = await service.create_campaign(
        admin, replace(scheduled_spec, name="Other"), request_id="req-1"
    )

    assert second.campaign_id != first.campaign_id
    assert list(store.state.campaigns) == [second.campaign_id]


# --- clone ---------------------------------------------------------------------------------------


async def test_clone_is_a_new_draft_with_new_child_ids(
    service: CampaignService, store: MemoryStore, admin: Principal, triggered_spec: CampaignSpec
) -> None:
    source = await service.create_campaign(admin, with_ab_test(triggered_spec))
    await service.activate_campaign(admin, source.campaign_id)
    source = await service.get_campaign(admin, source.campaign_id)

    clone = await service.clone_campaign(admin, source.campaign_id)

    def child_ids(c: Campaign) -> set[str]:
        return (
            {a.audience_id for a in c.spec.audiences}
            | {v.variant_id for v in c.spec.variants}
            | {t.trigger_id for t in c.spec.triggers}
        )

    assert clone.campaign_id != source.campaign_id
    assert len(child_ids(clone)) == 4
    assert child_ids(clone).isdisjoint(child_ids(source))
    assert "" not in child_ids(clone)
    assert clone.status is S.DRAFT
    assert (clone.version, clone.cloned_from_id) == (1, source.campaign_id)
    assert clone.spec.name == "Copy of Upgrade thank-you"
    assert [v.name for v in clone.spec.variants] == ["a", "b"]
    assert clone.spec.triggers[0].event_type == "subscription.upgraded"
    assert store.state.campaigns[source.campaign_id] == source


async def test_clone_of_a_scheduled_campaign_drops_the_schedule(
    service: CampaignService,
    clock: FakeClock,
    admin: Principal,
    scheduled_spec: CampaignSpec,
) -> None:
    source = await service.create_campaign(admin, scheduled_spec)
    await service.schedule_campaign(admin, source.campaign_id, in_five_minutes(clock))

    clone = await service.clone_campaign(admin, source.campaign_id)

    assert clone.status is S.DRAFT
    assert (clone.schedule, clone.next_run_at) == (None, None)
    assert (await service.get_campaign(admin, source.campaign_id)).status is S.SCHEDULED


async def test_clone_takes_the_given_name(
    service: CampaignService, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    source = await service.create_campaign(admin, scheduled_spec)

    clone = await service.clone_campaign(admin, source.campaign_id, name="  Autumn sale  ")

    assert clone.spec.name == "Autumn sale"


async def test_clone_of_a_255_character_name_is_cut_to_255_characters(
    service: CampaignService, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    source = await service.create_campaign(admin, replace(scheduled_spec, name="n" * 255))

    clone = await service.clone_campaign(admin, source.campaign_id)

    assert clone.spec.name == ("Copy of " + "n" * 255)[:255]


async def test_completed_campaign_can_be_cloned(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    source = await service.create_campaign(admin, scheduled_spec)
    force_status(store, source, S.COMPLETED)

    clone = await service.clone_campaign(admin, source.campaign_id)

    assert clone.status is S.DRAFT
    assert clone.request_id is None


async def test_clone_records_campaign_created_naming_its_source(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    source = await service.create_campaign(admin, scheduled_spec)

    clone = await service.clone_campaign(admin, source.campaign_id)

    assert event_types(store) == ["campaign.created", "campaign.created"]
    assert last_event(store).data["campaign_id"] == clone.campaign_id
    assert last_event(store).data["cloned_from_id"] == source.campaign_id


async def test_clones_whose_name_is_taken_get_the_first_free_suffix(
    service: CampaignService, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    source = await service.create_campaign(admin, replace(scheduled_spec, name="Spring"))

    names = [(await service.clone_campaign(admin, source.campaign_id)).spec.name for _ in range(3)]
    await service.create_campaign(admin, replace(scheduled_spec, name="Autumn"))
    chosen = await service.clone_campaign(admin, source.campaign_id, name="Autumn")
    other_case = await service.create_campaign(admin, replace(scheduled_spec, name="copy of x"))
    exact = await service.clone_campaign(admin, other_case.campaign_id, name="Copy of X")

    assert names == ["Copy of Spring", "Copy of Spring (2)", "Copy of Spring (3)"]
    assert chosen.spec.name == "Autumn (2)"
    assert exact.spec.name == "Copy of X"  # names differ by case: no collision


async def test_a_suffix_fills_the_first_gap_and_fits_the_name_limit(
    service: CampaignService, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    for name in ("Copy of A", "Copy of A (3)", "Copy of " + "n" * 247):
        await service.create_campaign(admin, replace(scheduled_spec, name=name))
    short = await service.create_campaign(admin, replace(scheduled_spec, name="A"))
    long = await service.create_campaign(admin, replace(scheduled_spec, name="n" * 255))

    gap = await service.clone_campaign(admin, short.campaign_id)
    cut = await service.clone_campaign(admin, long.campaign_id)

    assert gap.spec.name == "Copy of A (2)"
    assert cut.spec.name == ("Copy of " + "n" * 255)[: 255 - 4] + " (2)"
    assert len(cut.spec.name) == 255


async def test_clone_with_a_request_id_twice_returns_the_same_copy(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    source = await service.create_campaign(admin, scheduled_spec)

    first = await service.clone_campaign(admin, source.campaign_id, request_id="clone-1")
    second = await service.clone_campaign(admin, source.campaign_id, request_id="clone-1")

    assert second == first
    assert first.request_id == "clone-1"
    assert len(store.state.campaigns) == 2
    assert event_types(store) == ["campaign.created", "campaign.created"]


async def test_clone_request_id_reused_for_another_request_is_refused(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    source = await service.create_campaign(admin, scheduled_spec, request_id="create-1")
    other = await service.create_campaign(admin, replace(scheduled_spec, name="Other"))
    first = await service.clone_campaign(admin, source.campaign_id, request_id="clone-1")

    with pytest.raises(RequestIdReusedError) as renamed:
        await service.clone_campaign(admin, source.campaign_id, name="X", request_id="clone-1")
    with pytest.raises(RequestIdReusedError):
        await service.clone_campaign(admin, other.campaign_id, request_id="clone-1")
    with pytest.raises(RequestIdReusedError):  # the organization's keys are shared with create
        await service.clone_campaign(admin, source.campaign_id, request_id="create-1")
    with pytest.raises(RequestIdReusedError):
        await service.create_campaign(admin, scheduled_spec, request_id="clone-1")

    assert renamed.value.metadata["campaign_id"] == first.campaign_id
    assert len(store.state.campaigns) == 3


async def test_a_clone_replay_outlives_its_deleted_source(
    service: CampaignService, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    source = await service.create_campaign(admin, scheduled_spec)
    first = await service.clone_campaign(admin, source.campaign_id, request_id="clone-1")
    await service.delete_campaign(admin, source.campaign_id)

    again = await service.clone_campaign(admin, source.campaign_id, request_id="clone-1")

    assert again.campaign_id == first.campaign_id


async def test_a_too_long_clone_request_id_is_invalid(
    service: CampaignService, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    source = await service.create_campaign(admin, scheduled_spec)

    with pytest.raises(InvalidArgumentError) as caught:
        await service.clone_campaign(admin, source.campaign_id, request_id="k" * 129)

    assert [v.field for v in caught.value.violations] == ["request_id"]


# --- schedule ------------------------------------------------------------------------------------


async def test_schedule_moves_a_ready_campaign_to_scheduled(
    service: CampaignService,
    store: MemoryStore,
    clock: FakeClock,
    admin: Principal,
    scheduled_spec: CampaignSpec,
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    schedule = in_five_minutes(clock)

    scheduled = await service.schedule_campaign(admin, campaign.campaign_id, schedule)

    assert scheduled.status is S.SCHEDULED
    assert scheduled.schedule == schedule
    assert scheduled.next_run_at == schedule.scheduled_at
    assert scheduled.version == 2
    assert store.state.campaigns[campaign.campaign_id] == scheduled


async def test_schedule_records_campaign_scheduled(
    service: CampaignService,
    store: MemoryStore,
    clock: FakeClock,
    admin: Principal,
    scheduled_spec: CampaignSpec,
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    schedule = in_five_minutes(clock)

    await service.schedule_campaign(admin, campaign.campaign_id, schedule)

    assert event_types(store) == ["campaign.created", "campaign.scheduled"]
    assert last_event(store).data == {
        "campaign_id": campaign.campaign_id,
        "scheduled_at": (clock.now() + timedelta(minutes=5)).isoformat(),
        "task_id": None,
        "cron": None,
    }


async def test_schedule_with_cron_sets_the_first_firing(
    service: CampaignService,
    store: MemoryStore,
    clock: FakeClock,
    admin: Principal,
    scheduled_spec: CampaignSpec,
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    cron = CronSchedule("0 9 * * *", timezone="Europe/Berlin")

    scheduled = await service.schedule_campaign(admin, campaign.campaign_id, Schedule(cron=cron))

    assert scheduled.next_run_at is not None
    assert scheduled.next_run_at.isoformat() == "2026-03-03T08:00:00+00:00"
    assert last_event(store).data["cron"] == "0 9 * * *"


async def test_schedule_of_an_incomplete_campaign_lists_what_is_missing(
    service: CampaignService,
    store: MemoryStore,
    clock: FakeClock,
    admin: Principal,
    scheduled_spec: CampaignSpec,
) -> None:
    incomplete = replace(scheduled_spec, audiences=(), channels=())
    campaign = await service.create_campaign(admin, incomplete)
    before = copy.deepcopy(store.state)

    with pytest.raises(CampaignIncompleteError) as caught:
        await service.schedule_campaign(admin, campaign.campaign_id, in_five_minutes(clock))

    assert caught.value.reason == "CAMPAIGN_INCOMPLETE"
    assert [(v.type, v.subject) for v in caught.value.violations] == [
        ("INCOMPLETE", "audiences"),
        ("INCOMPLETE", "channels"),
    ]
    assert "audiences" in caught.value.message
    assert "channels" in caught.value.message
    assert store.state == before


async def test_schedule_less_than_five_minutes_ahead_writes_nothing(
    service: CampaignService,
    store: MemoryStore,
    clock: FakeClock,
    admin: Principal,
    scheduled_spec: CampaignSpec,
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    before = copy.deepcopy(store.state)
    too_soon = Schedule(scheduled_at=clock.now() + timedelta(minutes=5, seconds=-1))

    with pytest.raises(ValidationError) as caught:
        await service.schedule_campaign(admin, campaign.campaign_id, too_soon)

    assert [v.field for v in caught.value.violations] == ["scheduled_at"]
    assert store.state == before


async def test_schedule_of_a_triggered_campaign_is_refused(
    service: CampaignService,
    store: MemoryStore,
    clock: FakeClock,
    admin: Principal,
    triggered_spec: CampaignSpec,
) -> None:
    campaign = await service.create_campaign(admin, triggered_spec)
    before = copy.deepcopy(store.state)

    with pytest.raises(FailedPreconditionError):
        await service.schedule_campaign(admin, campaign.campaign_id, in_five_minutes(clock))

    assert store.state == before


async def test_scheduled_campaign_cannot_be_scheduled_again(
    service: CampaignService,
    store: MemoryStore,
    clock: FakeClock,
    admin: Principal,
    scheduled_spec: CampaignSpec,
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    await service.schedule_campaign(admin, campaign.campaign_id, in_five_minutes(clock))
    before = copy.deepcopy(store.state)

    with pytest.raises(InvalidTransitionError):
        await service.schedule_campaign(admin, campaign.campaign_id, in_five_minutes(clock))

    assert store.state == before


async def test_unschedule_returns_to_draft_and_records_campaign_updated(
    service: CampaignService,
    store: MemoryStore,
    clock: FakeClock,
    admin: Principal,
    scheduled_spec: CampaignSpec,
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    await service.schedule_campaign(admin, campaign.campaign_id, in_five_minutes(clock))

    draft = await service.unschedule_campaign(admin, campaign.campaign_id)

    assert draft.status is S.DRAFT
    assert (draft.schedule, draft.next_run_at, draft.version) == (None, None, 3)
    assert last_event(store).event_type == "campaign.updated"
    assert last_event(store).data == {
        "campaign_id": campaign.campaign_id,
        "changed_fields": ["schedule", "status"],
        "updated_by": "alice",
    }


# --- activate, pause, resume, cancel -------------------------------------------------------------


async def test_activate_moves_a_ready_triggered_campaign_to_active(
    service: CampaignService,
    store: MemoryStore,
    clock: FakeClock,
    admin: Principal,
    triggered_spec: CampaignSpec,
) -> None:
    campaign = await service.create_campaign(admin, triggered_spec)
    clock.advance(timedelta(hours=1))

    active = await service.activate_campaign(admin, campaign.campaign_id)

    assert active.status is S.ACTIVE
    assert active.activated_at == clock.now()
    assert store.state.campaigns[campaign.campaign_id] == active
    assert last_event(store).event_type == "campaign.activated"
    assert last_event(store).data == {
        "campaign_id": campaign.campaign_id,
        "activated_at": clock.now().isoformat(),
    }
    assert last_event(store).occurred_at == clock.now()


async def test_activate_of_a_triggered_campaign_without_triggers_is_refused(
    service: CampaignService, store: MemoryStore, admin: Principal, triggered_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, replace(triggered_spec, triggers=()))
    before = copy.deepcopy(store.state)

    with pytest.raises(CampaignIncompleteError) as caught:
        await service.activate_campaign(admin, campaign.campaign_id)

    assert [v.subject for v in caught.value.violations] == ["triggers"]
    assert store.state == before


async def test_activate_of_a_scheduled_type_campaign_is_refused(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    before = copy.deepcopy(store.state)

    with pytest.raises(FailedPreconditionError):
        await service.activate_campaign(admin, campaign.campaign_id)

    assert store.state == before


async def test_pause_records_campaign_paused(
    service: CampaignService, store: MemoryStore, admin: Principal, triggered_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, triggered_spec)
    await service.activate_campaign(admin, campaign.campaign_id)

    paused = await service.pause_campaign(admin, campaign.campaign_id)

    assert paused.status is S.PAUSED
    assert paused.paused_from is S.ACTIVE
    assert last_event(store).event_type == "campaign.paused"
    assert last_event(store).data == {
        "campaign_id": campaign.campaign_id,
        "paused_by": "alice",
        "messages_sent": 0,
    }


async def test_resume_records_campaign_resumed_and_returns_to_active(
    service: CampaignService, store: MemoryStore, admin: Principal, triggered_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, triggered_spec)
    await service.activate_campaign(admin, campaign.campaign_id)
    await service.pause_campaign(admin, campaign.campaign_id)

    resumed = await service.resume_campaign(admin, campaign.campaign_id)

    assert resumed.status is S.ACTIVE
    assert resumed.version == 4
    assert last_event(store).event_type == "campaign.resumed"
    assert last_event(store).data == {"campaign_id": campaign.campaign_id, "resumed_by": "alice"}


async def test_cancel_records_campaign_cancelled_with_the_reason(
    service: CampaignService, store: MemoryStore, admin: Principal, triggered_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, triggered_spec)
    await service.activate_campaign(admin, campaign.campaign_id)

    cancelled = await service.cancel_campaign(admin, campaign.campaign_id, "budget cut")

    assert cancelled.status is S.CANCELLED
    assert cancelled.cancel_reason == "budget cut"
    assert event_types(store) == ["campaign.created", "campaign.activated", "campaign.cancelled"]
    assert last_event(store).data == {
        "campaign_id": campaign.campaign_id,
        "cancelled_by": "alice",
        "reason": "budget cut",
    }


async def test_cancel_reason_of_500_characters_is_accepted(
    service: CampaignService, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)

    cancelled = await service.cancel_campaign(admin, campaign.campaign_id, "r" * 500)

    assert cancelled.cancel_reason == "r" * 500


async def test_cancel_reason_of_501_characters_is_rejected(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    before = copy.deepcopy(store.state)

    with pytest.raises(InvalidArgumentError) as caught:
        await service.cancel_campaign(admin, campaign.campaign_id, "r" * 501)

    assert [v.field for v in caught.value.violations] == ["reason"]
    assert store.state == before


async def test_cancelled_campaign_cannot_be_resumed(
    service: CampaignService, store: MemoryStore, admin: Principal, triggered_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, triggered_spec)
    await service.activate_campaign(admin, campaign.campaign_id)
    await service.pause_campaign(admin, campaign.campaign_id)
    await service.cancel_campaign(admin, campaign.campaign_id)
    before = copy.deepcopy(store.state)

    with pytest.raises(InvalidTransitionError):
        await service.resume_campaign(admin, campaign.campaign_id)

    assert store.state == before


async def test_draft_cannot_be_paused(
    service: CampaignService, store: MemoryStore, admin: Principal, triggered_spec: CampaignSpec
) -> None:
    campaign = await service.create_campaign(admin, triggered_spec)
    before = copy.deepcopy(store.state)

    with pytest.raises(InvalidTransitionError):
        await service.pause_campaign(admin, campaign.campaign_id)

    assert store.state == before


async def test_events_are_stamped_with_the_clock_of_each_change(
    service: CampaignService,
    store: MemoryStore,
    clock: FakeClock,
    admin: Principal,
    triggered_spec: CampaignSpec,
) -> None:
    campaign = await service.create_campaign(admin, triggered_spec)
    created_at = clock.now()
    clock.advance(timedelta(minutes=10))

    await service.activate_campaign(admin, campaign.campaign_id)

    assert [e.occurred_at for e in events(store)] == [created_at, clock.now()]
    assert len({e.event_id for e in events(store)}) == 2
