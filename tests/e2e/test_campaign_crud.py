"""Create, read, update, delete and clone campaigns through the typed stubs."""

from __future__ import annotations

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc

from tests.e2e.helpers import (
    CampaignApi,
    draft_request,
    email,
    new_org,
    scheduled_request,
    segment,
    sms,
    update_request,
)

pytestmark = pytest.mark.e2e


def test_create_returns_a_draft_owned_by_the_callers_organization(api: CampaignApi, org: str):
    campaign = api.create(
        scheduled_request(
            "Welcome series",
            description="first touch",
            holdout_percentage=12.5,
            tags=["onboarding"],
            metadata={"team": "growth"},
        )
    )

    assert campaign.campaign_id
    assert campaign.organization_id == org
    assert campaign.status == pb.CAMPAIGN_STATUS_DRAFT
    assert campaign.campaign_type == pb.CAMPAIGN_TYPE_SCHEDULED
    assert campaign.name == "Welcome series"
    assert campaign.description == "first touch"
    assert campaign.holdout_percentage == 12.5
    assert list(campaign.tags) == ["onboarding"]
    assert dict(campaign.metadata) == {"team": "growth"}
    assert campaign.channels[0].email.subject == "Welcome aboard"
    assert campaign.audiences[0].audience_id
    assert campaign.created_by == f"admin@{org}"
    assert campaign.etag
    assert campaign.created_at.seconds > 0
    assert campaign.updated_at == campaign.created_at


def test_get_returns_exactly_what_create_returned(api: CampaignApi):
    created = api.create(scheduled_request("Round trip", tags=["a", "b"]))

    assert api.get(created.campaign_id) == created


def test_get_of_an_unknown_id_is_not_found(api: CampaignApi):
    failure = api.fails("GetCampaign", svc.GetCampaignRequest(campaign_id="no-such-campaign"))

    assert failure.code == grpc.StatusCode.NOT_FOUND
    assert failure.reason == "CAMPAIGN_NOT_FOUND"
    assert "no-such-campaign" in failure.message


def test_get_without_an_id_is_invalid_argument(api: CampaignApi):
    failure = api.fails("GetCampaign", svc.GetCampaignRequest())

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["campaign_id"]


def test_update_changes_only_the_masked_fields_and_a_new_etag(api: CampaignApi):
    created = api.create(scheduled_request("Before", description="kept"))
    edited = pb.Campaign()
    edited.CopyFrom(created)
    edited.name = "After"
    edited.description = "not in the mask, so ignored"
    del edited.channels[:]
    edited.channels.append(sms("Updated text"))

    updated = api.update(edited, ["name", "channels"])

    assert updated.name == "After"
    assert updated.description == "kept"
    assert [c.sms.body for c in updated.channels] == ["Updated text"]
    assert updated.etag != created.etag
    assert updated.updated_at.ToDatetime() >= created.updated_at.ToDatetime()
    assert api.get(created.campaign_id) == updated


def test_update_keeps_the_ids_of_audiences_that_stay(api: CampaignApi):
    created = api.create(scheduled_request("Ids"))
    edited = pb.Campaign()
    edited.CopyFrom(created)
    edited.audiences.append(segment("seg-second"))

    updated = api.update(edited, ["audiences"])

    assert updated.audiences[0].audience_id == created.audiences[0].audience_id
    assert updated.audiences[1].audience_id not in ("", created.audiences[0].audience_id)


def test_stale_etag_is_aborted_and_changes_nothing(api: CampaignApi):
    created = api.create(scheduled_request("Concurrent"))
    first = pb.Campaign(campaign_id=created.campaign_id, name="First writer")
    api.update(first, ["name"], etag=created.etag)
    second = pb.Campaign(campaign_id=created.campaign_id, name="Second writer")

    failure = api.fails("UpdateCampaign", update_request(second, ["name"], etag=created.etag))

    assert failure.code == grpc.StatusCode.ABORTED
    assert failure.reason == "ETAG_MISMATCH"
    current = api.get(created.campaign_id)
    assert current.name == "First writer"
    assert failure.error_metadata["current_etag"] == current.etag


def test_update_of_a_field_that_is_not_editable_is_invalid_argument(api: CampaignApi):
    created = api.create(scheduled_request("Mask"))
    edited = pb.Campaign(campaign_id=created.campaign_id, status=pb.CAMPAIGN_STATUS_ACTIVE)

    failure = api.fails("UpdateCampaign", update_request(edited, ["status"], etag=created.etag))

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["update_mask"]
    assert api.get(created.campaign_id).status == pb.CAMPAIGN_STATUS_DRAFT


def test_update_of_an_unknown_id_is_not_found(api: CampaignApi):
    edited = pb.Campaign(campaign_id="missing", name="x")

    failure = api.fails("UpdateCampaign", update_request(edited, ["name"], etag=""))

    assert failure.code == grpc.StatusCode.NOT_FOUND


def test_delete_removes_the_campaign_from_get_and_list(api: CampaignApi):
    kept = api.create(draft_request("Kept"))
    doomed = api.create(draft_request("Doomed"))

    reply = api.call("DeleteCampaign", svc.DeleteCampaignRequest(campaign_id=doomed.campaign_id))

    assert reply == svc.DeleteCampaignResponse()
    missing = api.fails("GetCampaign", svc.GetCampaignRequest(campaign_id=doomed.campaign_id))
    assert missing.code == grpc.StatusCode.NOT_FOUND
    assert [c.campaign_id for c in api.list().campaigns] == [kept.campaign_id]
    again = api.fails("DeleteCampaign", svc.DeleteCampaignRequest(campaign_id=doomed.campaign_id))
    assert again.code == grpc.StatusCode.NOT_FOUND


def test_delete_with_a_stale_etag_is_aborted_and_keeps_the_campaign(api: CampaignApi):
    created = api.create(draft_request("Guarded"))
    api.update(pb.Campaign(campaign_id=created.campaign_id, name="Renamed"), ["name"], created.etag)

    failure = api.fails(
        "DeleteCampaign",
        svc.DeleteCampaignRequest(campaign_id=created.campaign_id, etag=created.etag),
    )

    assert failure.code == grpc.StatusCode.ABORTED
    assert api.get(created.campaign_id).name == "Renamed"


def test_clone_copies_the_definition_into_a_new_draft(api: CampaignApi):
    source = api.create(scheduled_request("Original", channels=[email(), sms()], tags=["x"]))
    api.transition("CancelCampaign", source.campaign_id, reason="superseded")

    clone = api.transition("CloneCampaign", source.campaign_id, name="Second try")

    assert clone.campaign_id != source.campaign_id
    assert clone.cloned_from_id == source.campaign_id
    assert clone.status == pb.CAMPAIGN_STATUS_DRAFT
    assert clone.name == "Second try"
    assert clone.channels == source.channels
    assert list(clone.tags) == ["x"]
    assert [a.segment_id for a in clone.audiences] == [a.segment_id for a in source.audiences]
    assert clone.audiences[0].audience_id != source.audiences[0].audience_id
    assert api.get(source.campaign_id).status == pb.CAMPAIGN_STATUS_CANCELLED
    assert api.total() == 2


def test_clone_without_a_name_derives_one_from_the_original(api: CampaignApi):
    source = api.create(draft_request("Black Friday"))

    clone = api.transition("CloneCampaign", source.campaign_id)

    assert "Black Friday" in clone.name
    assert clone.name != "Black Friday"


def test_create_with_the_same_request_id_twice_returns_the_same_campaign(api: CampaignApi):
    request = scheduled_request("Idempotent", request_id="req-42")

    first = api.create(request)
    second = api.create(request)

    assert second.campaign_id == first.campaign_id
    assert second == first
    assert api.total() == 1


def test_request_id_reused_for_a_different_campaign_is_already_exists(api: CampaignApi):
    first = api.create(scheduled_request("Original body", request_id="req-7"))

    failure = api.fails("CreateCampaign", scheduled_request("Different body", request_id="req-7"))

    assert failure.code == grpc.StatusCode.ALREADY_EXISTS
    assert failure.reason == "REQUEST_ID_REUSED"
    assert failure.error_metadata.get("campaign_id") == first.campaign_id
    assert [c.name for c in api.list().campaigns] == ["Original body"]


def test_request_ids_are_scoped_to_the_organization(api_as):
    request = scheduled_request("Same key", request_id="shared-key")
    first_org, second_org = api_as(new_org()), api_as(new_org())

    first = first_org.create(request)
    second = second_org.create(request)

    assert first.campaign_id != second.campaign_id
    assert second.organization_id != first.organization_id


def test_clone_with_the_same_request_id_twice_returns_the_same_copy(api: CampaignApi):
    source = api.create(draft_request("Black Friday"))
    request = svc.CloneCampaignRequest(campaign_id=source.campaign_id, request_id="clone-42")

    first = api.call("CloneCampaign", request).campaign
    second = api.call("CloneCampaign", request).campaign

    assert second == first
    assert api.total() == 2


def test_clone_request_id_reused_for_another_clone_is_already_exists(api: CampaignApi):
    source = api.create(draft_request("Black Friday"))
    first = api.call(
        "CloneCampaign",
        svc.CloneCampaignRequest(campaign_id=source.campaign_id, request_id="clone-7"),
    ).campaign

    failure = api.fails(
        "CloneCampaign",
        svc.CloneCampaignRequest(
            campaign_id=source.campaign_id, name="Other", request_id="clone-7"
        ),
    )

    assert failure.code == grpc.StatusCode.ALREADY_EXISTS
    assert failure.reason == "REQUEST_ID_REUSED"
    assert failure.error_metadata.get("campaign_id") == first.campaign_id
    assert api.total() == 2


def test_clones_with_a_taken_name_get_a_unique_suffix(api: CampaignApi):
    source = api.create(draft_request("Black Friday"))
    api.create(draft_request("Second try"))

    copies = [api.transition("CloneCampaign", source.campaign_id).name for _ in range(3)]
    named = api.transition("CloneCampaign", source.campaign_id, name="Second try")

    base = "Copy of Black Friday"
    assert copies == [base, f"{base} (2)", f"{base} (3)"]
    assert named.name == "Second try (2)"
    names = [c.name for c in api.list_all(page_size=10)]
    assert len(names) == len(set(names)) == 6
