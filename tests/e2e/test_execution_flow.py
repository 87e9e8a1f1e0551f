"""The embedded default end to end: upsert contacts, create and schedule an A/B email campaign with
a 5% holdout, let it run, read its execution and messages back.

The first test does all of it through grpcurl, as an operator would; the second does it again
with the typed stubs, the include audience a saved segment; the third deletes that segment before
the run. All run on each backend, on a server of their own whose engine runs a campaign within
seconds (engine_helpers.ENGINE_OVERRIDES); the shared server keeps the production defaults.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import grpc
import pytest
from campaign.v1 import audience_pb2 as apb
from campaign.v1 import audience_service_pb2 as asvc
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import execution_pb2 as xpb
from google.protobuf import json_format

from tests.e2e.engine_helpers import (
    RUN_TIMEOUT,
    SCORED_QUERY,
    AudienceApi,
    Seed,
    ab_campaign_json,
    engine_server,
    eventually,
    grpcurl_stream,
    in_holdout,
    parse_rfc3339,
    rfc3339,
    soon,
    without_holdout,
)
from tests.e2e.helpers import BACKENDS, CampaignApi, Grpcurl, mint_token, new_org, timestamp
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.e2e

CAMPAIGNS = "campaign.v1.CampaignService"
AUDIENCES = "campaign.v1.AudienceService"
HOLDOUT = 5.0
PAGE = 37  # not a divisor of the message count: the last page is a short one


@pytest.fixture(scope="module", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    kind: str = request.param
    with engine_server(kind, tmp_path_factory.mktemp(f"engine-{kind}")) as process:
        yield process


@pytest.fixture
def live_engine(engine: ServerProcess) -> ServerProcess:
    code = engine.process.poll()
    if code is not None:
        pytest.fail(f"the engine server exited with code {code}:\n{engine.log[-5000:]}")
    return engine


@pytest.fixture
def channel(live_engine: ServerProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(live_engine.address) as opened:
        yield opened


class Expected:
    """What the run of `campaign_id` over the seeded directory must produce."""

    def __init__(self, seed: Seed, campaign_id: str) -> None:
        members = seed.members
        self.audience = {seed.user(i) for i in members}
        self.holdout = {
            seed.user(i) for i in members if in_holdout(seed.user(i), campaign_id, HOLDOUT)
        }
        self.recipients = {
            seed.user(i)
            for i in members
            if seed.user(i) not in self.holdout and seed.email_reachable(i)
        }
        # neither held out nor reachable: opted out of email, the campaign's only channel
        self.skipped = self.audience - self.holdout - self.recipients
        self.never = {seed.user(i) for i in seed.users if i not in members} | self.holdout


def expected_estimate(seed: Seed) -> dict[str, Any]:
    members = seed.members
    not_excluded = [i for i in seed.users if not seed.excluded(i)]
    email = sum(1 for i in members if seed.email_reachable(i))
    return {
        "by_segment": [seed.size, sum(1 for i in seed.users if seed.excluded(i))],
        "after_exclusions": len(not_excluded),
        "after_suppression": len(members),
        "after_holdout": without_holdout(len(members), HOLDOUT),
        # the campaign's channels only: its variants send email, nothing else
        "reachable": {"CHANNEL_EMAIL": without_holdout(email, HOLDOUT)},
    }


# --- through grpcurl --------------------------------------------------------------------------


class Operator:
    """grpcurl calls of one organization's admin."""

    def __init__(self, grpcurl: Grpcurl, org: str) -> None:
        self.grpcurl = grpcurl
        self.token = mint_token(org)

    def __call__(self, method: str, body: dict[str, Any]) -> Any:
        return self.grpcurl.invoke(method, body, token=self.token)

    def upsert(self, seed: Seed) -> None:
        """Contacts streamed on stdin: the invalid rows reported with reasons, the rest kept."""
        upserted = grpcurl_stream(
            self.grpcurl, f"{AUDIENCES}/UpsertContacts", seed.stream(), token=self.token
        ).json()
        assert upserted["upserted_count"] == str(seed.size)
        rejected = upserted["rejected"]
        assert [(r.get("index", "0"), r["user_id"]) for r in rejected] == [
            (str(position), row["user_id"]) for position, row, _ in seed.invalid
        ]
        for entry, (_, row, prefixes) in zip(rejected, seed.invalid, strict=True):
            assert [reason.split(" ", 1)[0] for reason in entry["reasons"]] == list(prefixes)
            bad_values = [v for k, v in row.items() if k != "user_id"]
            assert all(any(v in reason for v in bad_values) for reason in entry["reasons"])
        stored = self(f"{AUDIENCES}/GetContact", {"user_id": seed.user(42)})["contact"]
        assert stored["email"] == seed.email(42)
        assert stored["attributes"] == {"first_name": "Ada42", "country": "FR", "score": 42}

    def check_estimate(self, campaign_id: str, seed: Seed) -> None:
        estimate = self(f"{AUDIENCES}/EstimateAudience", {"campaign_id": campaign_id})
        want = expected_estimate(seed)
        assert [int(s.get("size", 0)) for s in estimate["by_segment"]] == want["by_segment"]
        assert [s["audience"]["name"] for s in estimate["by_segment"]] == ["scored", "germany"]
        assert int(estimate["after_exclusions"]) == want["after_exclusions"]
        assert int(estimate["after_suppression"]) == want["after_suppression"]
        assert int(estimate["after_holdout"]) == want["after_holdout"]
        assert int(estimate["estimated_size"]) == want["after_holdout"]
        reach = {r["channel"]: int(r.get("size", 0)) for r in estimate["reachable_by_channel"]}
        assert reach == want["reachable"]

    def run(self, campaign_id: str) -> tuple[datetime, dict[str, Any]]:
        """Schedule two seconds ahead; the schedule instant and the execution, once COMPLETED."""
        at = soon()
        scheduled = self(
            f"{CAMPAIGNS}/ScheduleCampaign",
            {"campaign_id": campaign_id, "scheduled_at": rfc3339(at)},
        )["campaign"]
        assert scheduled["status"] == "CAMPAIGN_STATUS_SCHEDULED"

        def completed() -> list[dict[str, Any]] | None:
            page = self(f"{CAMPAIGNS}/ListExecutions", {"campaign_id": campaign_id})
            executions = page.get("executions", [])
            done = [e for e in executions if e["status"] == "EXECUTION_STATUS_COMPLETED"]
            return executions if done else None

        [execution] = eventually(completed, within=RUN_TIMEOUT, what="a COMPLETED execution")
        return at, execution

    def all_messages(self, campaign_id: str, expected_count: int) -> list[dict[str, Any]]:
        """Every message, following next_page_token; each page full but the last."""
        messages: list[dict[str, Any]] = []
        token = ""
        for _ in range(100):
            page = self(
                f"{CAMPAIGNS}/ListMessages",
                {"campaign_id": campaign_id, "page_size": PAGE, "page_token": token},
            )
            messages += page["messages"]
            token = page.get("next_page_token", "")
            if not token:
                assert 0 < len(page["messages"]) <= PAGE
                break
            assert len(page["messages"]) == PAGE
        else:
            raise AssertionError("paging never ended")
        assert len(messages) == expected_count
        return messages

    def finds_no_message(self, campaign_id: str, **filters: Any) -> bool:
        return self(f"{CAMPAIGNS}/ListMessages", {"campaign_id": campaign_id, **filters}) == {}


def test_an_ab_email_campaign_with_holdout_runs_end_to_end_through_grpcurl(
    live_engine: ServerProcess,
):
    seed = Seed()
    op = Operator(Grpcurl(live_engine.address), new_org())
    op.upsert(seed)
    added = op(f"{AUDIENCES}/AddSuppressions", {"entries": seed.suppressions_json()})
    assert added == {"added_count": "2"}
    campaign = op(f"{CAMPAIGNS}/CreateCampaign", ab_campaign_json("Spring A/B", SCORED_QUERY))
    campaign_id = campaign["campaign"]["campaign_id"]
    variant_ids = {v["name"]: v["variant_id"] for v in campaign["campaign"]["variants"]}
    op.check_estimate(campaign_id, seed)

    at, listed = op.run(campaign_id)

    # the execution: who was in the audience, held out, skipped (opted out)
    expected = Expected(seed, campaign_id)
    assert listed["campaign_id"] == campaign_id
    assert listed["trigger"] == "schedule"
    assert int(listed["audience_size"]) == len(expected.audience)
    assert int(listed.get("holdout_size", 0)) == len(expected.holdout)
    assert int(listed.get("suppressed_count", 0)) == len(expected.skipped)
    started, finished = parse_rfc3339(listed["started_at"]), parse_rfc3339(listed["completed_at"])
    assert at.replace(microsecond=0) <= started <= finished
    # its messages per status: every one delivered by the sandbox; the list says the same
    got = op(
        f"{CAMPAIGNS}/GetExecution",
        {"campaign_id": campaign_id, "execution_id": listed["execution_id"]},
    )
    assert got["execution"]["counts"] == {"delivered": str(len(expected.recipients))}
    assert got["execution"] == listed

    # every message: each recipient once; nobody held out, excluded or suppressed
    messages = op.all_messages(campaign_id, len(expected.recipients))
    users = [m["user_id"] for m in messages]
    assert len(users) == len(set(users))
    assert set(users) == expected.recipients
    assert not set(users) & expected.never
    assert len({m["message_id"] for m in messages}) == len(messages)
    for message in messages:
        assert message["campaign_id"] == campaign_id
        assert message["execution_id"] == listed["execution_id"]
        assert message["channel"] == "CHANNEL_EMAIL"
        assert message["recipient"] == f"{message['user_id']}@example.com"
        assert message["status"] == "MESSAGE_STATUS_DELIVERED"
        for stamp in ("queued_at", "sent_at"):
            assert started <= parse_rfc3339(message[stamp]) <= finished
        # A run completes once every message is handed over; the delivery report (the
        # sandbox's, as a provider's) may be taken just after, so it is not bounded by the end.
        assert parse_rfc3339(message["sent_at"]) <= parse_rfc3339(message["delivered_at"])
    # the variants split about evenly; A greets each recipient by name, B all the same
    by_variant = Counter(m["variant_id"] for m in messages)
    assert set(by_variant) == set(variant_ids.values())
    assert all(0.3 <= n / len(messages) <= 0.7 for n in by_variant.values()), by_variant
    digests = {
        name: [m["content_digest"] for m in messages if m["variant_id"] == variant_id]
        for name, variant_id in variant_ids.items()
    }
    assert len(set(digests["A"])) == len(digests["A"])
    assert len(set(digests["B"])) == 1

    # one message on its own, and the filters
    one = messages[len(messages) // 2]
    assert op(
        f"{CAMPAIGNS}/GetMessage", {"campaign_id": campaign_id, "message_id": one["message_id"]}
    ) == {"message": one}
    mine = op(f"{CAMPAIGNS}/ListMessages", {"campaign_id": campaign_id, "user_id": one["user_id"]})
    assert mine == {"messages": [one]}
    for user_id in [*sorted(expected.holdout)[:3], seed.user(seed.suppressed_user)]:
        assert op.finds_no_message(campaign_id, user_id=user_id)
    assert op.finds_no_message(campaign_id, statuses=["MESSAGE_STATUS_QUEUED"])

    # the one-time campaign is over
    final = op(f"{CAMPAIGNS}/GetCampaign", {"campaign_id": campaign_id})["campaign"]
    assert final["status"] == "CAMPAIGN_STATUS_COMPLETED"
    assert parse_rfc3339(final["completed_at"]) >= finished.replace(microsecond=0)


# --- with the typed stubs ---------------------------------------------------------------------


def test_the_same_run_through_the_typed_stubs_with_a_saved_segment_as_audience(
    channel: grpc.Channel,
):
    seed = Seed(prefix="typed")
    token = mint_token(new_org())
    audiences, campaigns = AudienceApi(channel, token), CampaignApi(channel, token)
    upserted = audiences.upsert(*seed.contacts())
    assert upserted.upserted_count == seed.size
    assert [r.user_id for r in upserted.rejected] == [row["user_id"] for _, row, _ in seed.invalid]
    suppressions = [
        json_format.ParseDict(e, apb.SuppressionEntry()) for e in seed.suppressions_json()
    ]
    assert audiences.suppress(*suppressions) == 2
    segment = json_format.ParseDict(
        {"segment_id": "scored", "name": "Scored", **SCORED_QUERY["query"]}, apb.Segment()
    )
    audiences.call("CreateSegment", asvc.CreateSegmentRequest(segment=segment))
    request = json_format.ParseDict(
        ab_campaign_json("Typed A/B", {"segment_id": "scored"}), svc.CreateCampaignRequest()
    )
    created = campaigns.create(request)
    estimate = audiences.estimate(campaign_id=created.campaign_id)
    want = expected_estimate(seed)
    assert [s.size for s in estimate.by_segment] == want["by_segment"]
    assert estimate.by_segment[0].audience.segment_id == "scored"
    assert estimate.after_holdout == want["after_holdout"]

    at = soon()
    campaigns.transition("ScheduleCampaign", created.campaign_id, scheduled_at=timestamp(at))

    def completed() -> xpb.Execution | None:
        page = campaigns.call(
            "ListExecutions", svc.ListExecutionsRequest(campaign_id=created.campaign_id)
        )
        done = [e for e in page.executions if e.status == xpb.EXECUTION_STATUS_COMPLETED]
        return done[0] if done else None

    execution = eventually(completed, within=RUN_TIMEOUT, what="a COMPLETED execution")
    expected = Expected(seed, created.campaign_id)
    assert execution.audience_size == len(expected.audience)
    assert execution.holdout_size == len(expected.holdout)
    assert execution.suppressed_count == len(expected.skipped)
    assert execution.counts == xpb.MessageCounts(delivered=len(expected.recipients))
    got = campaigns.call(
        "GetExecution",
        svc.GetExecutionRequest(
            campaign_id=created.campaign_id, execution_id=execution.execution_id
        ),
    ).execution
    assert got == execution

    # without page_size a page holds 100 messages (campaign_service.proto)
    first = campaigns.call("ListMessages", svc.ListMessagesRequest(campaign_id=created.campaign_id))
    assert len(first.messages) == min(100, len(expected.recipients))
    assert bool(first.next_page_token) == (len(expected.recipients) > 100)
    rest = campaigns.call(
        "ListMessages",
        svc.ListMessagesRequest(
            campaign_id=created.campaign_id, page_token=first.next_page_token, page_size=1000
        ),
    )
    assert not rest.next_page_token
    messages = [*first.messages, *rest.messages]
    assert {m.user_id for m in messages} == expected.recipients
    assert len(messages) == len(expected.recipients)
    assert {m.status for m in messages} == {xpb.MESSAGE_STATUS_DELIVERED}
    assert {m.channel for m in messages} == {pb.CHANNEL_EMAIL}
    sample = messages[0]
    assert (
        campaigns.call(
            "GetMessage",
            svc.GetMessageRequest(campaign_id=created.campaign_id, message_id=sample.message_id),
        ).message
        == sample
    )
    assert campaigns.get(created.campaign_id).status == pb.CAMPAIGN_STATUS_COMPLETED


def test_a_run_whose_saved_segment_was_deleted_fails_naming_the_segment(channel: grpc.Channel):
    token = mint_token(new_org())
    audiences, campaigns = AudienceApi(channel, token), CampaignApi(channel, token)
    seed = Seed(size=20, invalid=())
    audiences.upsert(*seed.contacts())
    segment = json_format.ParseDict(
        {"segment_id": "short-lived", **SCORED_QUERY["query"]}, apb.Segment()
    )
    audiences.call("CreateSegment", asvc.CreateSegmentRequest(segment=segment))
    created = campaigns.create(
        json_format.ParseDict(
            ab_campaign_json("Orphan", {"segment_id": "short-lived"}), svc.CreateCampaignRequest()
        )
    )
    campaigns.transition("ScheduleCampaign", created.campaign_id, scheduled_at=timestamp(soon()))
    audiences.call("DeleteSegment", asvc.DeleteSegmentRequest(segment_id="short-lived"))

    estimate = audiences.fails(
        "EstimateAudience", asvc.EstimateAudienceRequest(campaign_id=created.campaign_id)
    )

    def ended() -> xpb.Execution | None:
        page = campaigns.call(
            "ListExecutions", svc.ListExecutionsRequest(campaign_id=created.campaign_id)
        )
        final = {xpb.EXECUTION_STATUS_COMPLETED, xpb.EXECUTION_STATUS_FAILED}
        return next((e for e in page.executions if e.status in final), None)

    execution = eventually(ended, within=RUN_TIMEOUT, what="the end of the execution")
    assert estimate.code == grpc.StatusCode.FAILED_PRECONDITION
    assert estimate.subjects == ["audiences[0].segment_id"]
    assert estimate.precondition_violations[0].type == "SEGMENT_NOT_FOUND"
    assert estimate.error_metadata["segment_id"] == "short-lived"
    assert execution.status == xpb.EXECUTION_STATUS_FAILED
    assert "short-lived" in execution.failure_reason
    messages = campaigns.call(
        "ListMessages", svc.ListMessagesRequest(campaign_id=created.campaign_id)
    )
    assert list(messages.messages) == []
