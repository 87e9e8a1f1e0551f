"""ListCampaigns: filters, ordering and page tokens across pages."""

from __future__ import annotations

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc

from tests.e2e.helpers import (
    CampaignApi,
    draft_request,
    email,
    in_minutes,
    scheduled_request,
    sms,
    timestamp,
    triggered_request,
    webhook,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def catalog(api: CampaignApi) -> dict[str, pb.Campaign]:
    """Six campaigns of one organization, each in a different corner of the filters."""
    made = {
        "newsletter": api.create(
            scheduled_request("Newsletter May", channels=[email()], tags=["news", "monthly"])
        ),
        "news_sms": api.create(
            scheduled_request("newsletter SMS", channels=[sms()], tags=["news"])
        ),
        "scheduled": api.create(scheduled_request("Promo", channels=[email(), sms()])),
        "active": api.create(triggered_request("Welcome flow", tags=["monthly"])),
        "cancelled": api.create(triggered_request("Old flow")),
        "hook": api.create(
            draft_request("Hook", channels=[webhook("https://hooks.example.com/x")])
        ),
    }
    api.transition(
        "ScheduleCampaign", made["scheduled"].campaign_id, scheduled_at=timestamp(in_minutes(45))
    )
    api.transition("ActivateCampaign", made["active"].campaign_id)
    api.transition("CancelCampaign", made["cancelled"].campaign_id, reason="replaced")
    return made


def names(api: CampaignApi, **filters: object) -> set[str]:
    page = api.list(page_size=100, **filters)
    assert page.total_size == len(page.campaigns)
    return {c.name for c in page.campaigns}


def test_without_filters_every_campaign_of_the_organization_is_listed(api: CampaignApi, catalog):
    page = api.list()

    assert page.total_size == 6
    assert {c.campaign_id for c in page.campaigns} == {c.campaign_id for c in catalog.values()}
    assert page.next_page_token == ""


def test_statuses_filter_keeps_campaigns_in_any_of_the_given_states(api: CampaignApi, catalog):
    assert names(api, statuses=[pb.CAMPAIGN_STATUS_ACTIVE]) == {"Welcome flow"}
    assert names(api, statuses=[pb.CAMPAIGN_STATUS_SCHEDULED, pb.CAMPAIGN_STATUS_CANCELLED]) == {
        "Promo",
        "Old flow",
    }
    assert names(api, statuses=[pb.CAMPAIGN_STATUS_DRAFT]) == {
        "Newsletter May",
        "newsletter SMS",
        "Hook",
    }


def test_campaign_type_filter(api: CampaignApi, catalog):
    assert names(api, campaign_type=pb.CAMPAIGN_TYPE_TRIGGERED) == {"Welcome flow", "Old flow"}
    assert names(api, campaign_type=pb.CAMPAIGN_TYPE_TRANSACTIONAL) == set()


def test_channel_filter_matches_any_channel_of_the_campaign(api: CampaignApi, catalog):
    assert names(api, channel=pb.CHANNEL_EMAIL) == {"Newsletter May", "Promo"}
    assert names(api, channel=pb.CHANNEL_SMS) == {
        "newsletter SMS",
        "Promo",
        "Welcome flow",
        "Old flow",
    }
    assert names(api, channel=pb.CHANNEL_WEBHOOK) == {"Hook"}
    assert names(api, channel=pb.CHANNEL_WHATSAPP) == set()


def test_name_prefix_filter_ignores_case(api: CampaignApi, catalog):
    assert names(api, name_prefix="newsletter") == {"Newsletter May", "newsletter SMS"}
    assert names(api, name_prefix="NEWSLETTER m") == {"Newsletter May"}
    assert names(api, name_prefix="letter") == set()


def test_tags_filter_requires_every_given_tag(api: CampaignApi, catalog):
    assert names(api, tags=["news"]) == {"Newsletter May", "newsletter SMS"}
    assert names(api, tags=["monthly"]) == {"Newsletter May", "Welcome flow"}
    assert names(api, tags=["news", "monthly"]) == {"Newsletter May"}
    assert names(api, tags=["nope"]) == set()


def test_filters_combine_with_and(api: CampaignApi, catalog):
    assert names(
        api,
        campaign_type=pb.CAMPAIGN_TYPE_SCHEDULED,
        channel=pb.CHANNEL_SMS,
        statuses=[pb.CAMPAIGN_STATUS_DRAFT],
    ) == {"newsletter SMS"}


def test_pages_follow_tokens_to_the_end_without_gaps_or_repeats(api: CampaignApi):
    created = [api.create(draft_request(f"Batch {i}")).campaign_id for i in range(7)]

    first = api.list(page_size=3)
    second = api.list(page_size=3, page_token=first.next_page_token)
    third = api.list(page_size=3, page_token=second.next_page_token)

    pages = [first, second, third]
    assert [len(p.campaigns) for p in pages] == [3, 3, 1]
    assert [p.total_size for p in pages] == [7, 7, 7]
    assert first.next_page_token
    assert second.next_page_token
    assert third.next_page_token == ""
    listed = [c.campaign_id for p in pages for c in p.campaigns]
    assert listed == list(reversed(created))  # default order: newest first


def test_paging_keeps_the_filter_and_order_of_the_first_page(api: CampaignApi):
    for name in ("delta", "alpha", "echo", "charlie", "bravo"):
        api.create(draft_request(f"Team {name}", tags=["team"]))
    api.create(draft_request("Team zulu"))  # no tag: filtered out on every page

    listed = api.list_all(page_size=2, tags=["team"], order_by="name")

    assert [c.name for c in listed] == [
        "Team alpha",
        "Team bravo",
        "Team charlie",
        "Team delta",
        "Team echo",
    ]


def test_order_by_name_descending(api: CampaignApi):
    for name in ("b", "c", "a"):
        api.create(draft_request(name))

    assert [c.name for c in api.list(order_by="name desc").campaigns] == ["c", "b", "a"]


def test_a_garbage_page_token_is_invalid_argument(api: CampaignApi):
    api.create(draft_request("Only one"))

    failure = api.fails("ListCampaigns", svc.ListCampaignsRequest(page_token="not-a-token"))

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["page_token"]


def test_a_page_token_used_with_other_filters_is_invalid_argument(api: CampaignApi):
    for i in range(3):
        api.create(draft_request(f"Filtered {i}", tags=["x"]))
    token = api.list(page_size=1, tags=["x"]).next_page_token
    assert token

    failure = api.fails(
        "ListCampaigns", svc.ListCampaignsRequest(page_size=1, page_token=token, tags=["y"])
    )

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["page_token"]


def test_an_unknown_order_by_is_invalid_argument(api: CampaignApi):
    failure = api.fails("ListCampaigns", svc.ListCampaignsRequest(order_by="status"))

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["order_by"]


def test_a_negative_page_size_is_invalid_argument(api: CampaignApi):
    failure = api.fails("ListCampaigns", svc.ListCampaignsRequest(page_size=-1))

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["page_size"]


def test_name_prefix_wildcard_characters_match_literally(api: CampaignApi):
    for name in ("50% off", "500 deals", "a_b test", "axb test"):
        api.create(draft_request(name))

    assert names(api, name_prefix="50%") == {"50% off"}
    assert names(api, name_prefix="a_b") == {"a_b test"}


def test_name_prefix_folds_case_beyond_ascii(api: CampaignApi):
    for name in ("Été en fête", "ÉTÉ indien", "Etude"):
        api.create(draft_request(name))

    assert names(api, name_prefix="été") == {"Été en fête", "ÉTÉ indien"}


def test_created_range_is_inclusive_below_and_exclusive_above(api: CampaignApi):
    first = api.create(draft_request("First"))
    second = api.create(draft_request("Second"))
    third = api.create(draft_request("Third"))

    assert names(api, created_after=second.created_at) == {"Second", "Third"}
    assert names(api, created_before=second.created_at) == {"First"}
    assert names(api, created_after=first.created_at, created_before=third.created_at) == {
        "First",
        "Second",
    }


def test_scheduled_range_selects_by_next_run(api: CampaignApi):
    soon, later = in_minutes(30), in_minutes(300)
    for name, at in (("Soon", soon), ("Later", later)):
        created = api.create(scheduled_request(name))
        api.transition("ScheduleCampaign", created.campaign_id, scheduled_at=timestamp(at))
    api.create(scheduled_request("Unscheduled"))

    assert names(api, scheduled_after=timestamp(soon)) == {"Soon", "Later"}
    assert names(api, scheduled_before=timestamp(later)) == {"Soon"}
    assert names(api, scheduled_after=timestamp(in_minutes(60))) == {"Later"}


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_order_by_scheduled_at_sorts_by_next_run_with_unscheduled_last(
    api: CampaignApi, direction: str
):
    for name, minutes in (("Later", 300), ("Soon", 30), ("Middle", 120)):
        created = api.create(scheduled_request(name))
        api.transition(
            "ScheduleCampaign", created.campaign_id, scheduled_at=timestamp(in_minutes(minutes))
        )
    unscheduled = sorted(
        (api.create(draft_request(f"Draft {i}")) for i in range(3)), key=lambda c: c.campaign_id
    )
    scheduled = ["Soon", "Middle", "Later"]
    drafts = [c.name for c in unscheduled]
    if direction == "desc":
        scheduled.reverse()
        drafts.reverse()

    listed = api.list_all(page_size=2, order_by=f"scheduled_at {direction}")

    assert [c.name for c in listed] == scheduled + drafts
