"""What the trigger fault tests share: one contact, an active triggered campaign (email, everyone
with `city` Oslo, quiet hours off) and events through TrackEvents, all through the API as a
client would."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import grpc
from campaign.v1 import audience_pb2 as apb
from campaign.v1 import audience_service_pb2 as asvc
from campaign.v1 import audience_service_pb2_grpc as asvc_grpc
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import campaign_service_pb2_grpc as svc_grpc
from campaign.v1 import event_pb2, event_service_pb2, event_service_pb2_grpc
from google.protobuf import duration_pb2, struct_pb2

from tests.faults.conftest import RPC_TIMEOUT, Rig
from tests.support.compliance import FOOTER
from tests.support.server_process import ServerProcess


async def seed_one(rig: Rig, server: ServerProcess, user_id: str) -> None:
    def run(channel: grpc.Channel, metadata: Any) -> None:
        attributes = struct_pb2.Struct()
        attributes.update({"city": "Oslo", "first_name": "Kari"})
        contact = apb.Contact(
            user_id=user_id,
            email=f"{user_id}@example.test",
            timezone="UTC",
            email_opted_in=True,
            attributes=attributes,
        )
        reply = asvc_grpc.AudienceServiceStub(channel).UpsertContacts(
            iter([asvc.UpsertContactsRequest(contact=contact)]), metadata=metadata, timeout=30
        )
        assert reply.upserted_count == 1, reply

    await rig.call(server, run)


async def activate_triggered(
    rig: Rig,
    server: ServerProcess,
    *,
    frequency_limit: int = 1,
    delay: timedelta = timedelta(0),
) -> str:
    """An ACTIVE triggered campaign on `order.completed`; returns its id."""

    def run(channel: grpc.Channel, metadata: Any) -> str:
        stub = svc_grpc.CampaignServiceStub(channel)
        oslo = pb.Condition(field="city", operator=pb.CONDITION_OPERATOR_EQUALS)
        oslo.value.string_value = "Oslo"
        trigger = pb.Trigger(event_type="order.completed", frequency_limit=frequency_limit)
        if delay:
            trigger.delay.CopyFrom(duration_pb2.Duration(seconds=int(delay.total_seconds())))
        request = svc.CreateCampaignRequest(
            name=f"triggered {uuid.uuid4().hex[:8]}",
            campaign_type=pb.CAMPAIGN_TYPE_TRIGGERED,
            audiences=[
                pb.Audience(
                    segment_type=pb.SEGMENT_TYPE_INCLUDE, query=pb.SegmentQuery(conditions=[oslo])
                )
            ],
            channels=[
                pb.ChannelContent(
                    channel=pb.CHANNEL_EMAIL,
                    email=pb.EmailContent(
                        subject="Thanks {{ first_name }}", html_body="<p>x</p>" + FOOTER
                    ),
                )
            ],
            triggers=[trigger],
            throttle=pb.Throttle(quiet_hours=pb.QuietHours(enabled=False)),
        )
        created = stub.CreateCampaign(request, metadata=metadata, timeout=RPC_TIMEOUT)
        campaign_id = created.campaign.campaign_id
        stub.ActivateCampaign(
            svc.ActivateCampaignRequest(campaign_id=campaign_id),
            metadata=metadata,
            timeout=RPC_TIMEOUT,
        )
        return campaign_id

    campaign_id: str = await rig.call(server, run)
    rig.campaigns.append(campaign_id)
    return campaign_id


def track_call(channel: grpc.Channel, metadata: Any, event_id: str, user_id: str) -> str:
    """One `order.completed` event through TrackEvents; its outcome as the answer counts it
    ("accepted", "duplicate" or "rejected")."""
    properties = struct_pb2.Struct()
    properties.update({"total": 80})
    event = event_pb2.TrackedEvent(
        event_id=event_id, event_type="order.completed", user_id=user_id, properties=properties
    )
    reply = event_service_pb2_grpc.EventServiceStub(channel).TrackEvents(
        event_service_pb2.TrackEventsRequest(events=[event]),
        metadata=metadata,
        timeout=RPC_TIMEOUT,
    )
    counts = {
        "accepted": reply.accepted_count,
        "duplicate": reply.duplicate_count,
        "rejected": reply.rejected_count,
    }
    [outcome] = [name for name, n in counts.items() if n]
    return outcome


async def track(rig: Rig, server: ServerProcess, event_id: str, user_id: str) -> str:
    outcome: str = await rig.call(server, track_call, event_id, user_id)
    return outcome
