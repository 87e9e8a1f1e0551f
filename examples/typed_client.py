"""A typed client on the campaign-service-api package alone (grpcio and protobuf, no server code):
store a few contacts, create an email campaign for them, send it now (or schedule it), and watch
its execution until it ends.

    pip install 'campaign-service-api[typing]'        # docs/client-package.md
    CAMPAIGN_TOKEN=$(campaign-service token --org acme --role admin) \\
        python examples/typed_client.py                  # send now and watch the run
    ... python examples/typed_client.py --schedule-in 900  # schedule it 15 minutes ahead instead

The server is CAMPAIGN_GRPC_ADDRESS (default 127.0.0.1:50051), the bearer token CAMPAIGN_TOKEN
(role admin or user: the example writes contacts and campaigns). `mypy --strict` passes on this
file with only the package installed: the stubs (*_pb2_grpc.pyi) type every call and reply.
Exit code 0 when the run completed (or the campaign is scheduled), 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import grpc
from campaign.v1 import (
    audience_pb2,
    audience_service_pb2,
    audience_service_pb2_grpc,
    campaign_pb2,
    campaign_service_pb2,
    campaign_service_pb2_grpc,
    execution_pb2,
)
from google.protobuf import struct_pb2, timestamp_pb2

RPC_TIMEOUT = 15.0
POLL_SECONDS = 0.5
FINAL = frozenset(
    {
        execution_pb2.EXECUTION_STATUS_COMPLETED,
        execution_pb2.EXECUTION_STATUS_CANCELLED,
        execution_pb2.EXECUTION_STATUS_FAILED,
    }
)
# Marketing email must carry an unsubscribe link and a postal address (checked at launch).
FOOTER = (
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
    "<address>Acme Inc., 1 Main Street, Springfield</address>"
)

Metadata = tuple[tuple[str, str | bytes], ...]  # what the stubs take as call metadata


def contacts(cohort: str, count: int) -> Iterator[audience_service_pb2.UpsertContactsRequest]:
    """`count` opted-in email contacts whose `cohort` attribute is `cohort`."""
    for i in range(count):
        attributes = struct_pb2.Struct()
        attributes.update({"cohort": cohort, "first_name": f"Reader{i}"})
        yield audience_service_pb2.UpsertContactsRequest(
            contact=audience_pb2.Contact(
                user_id=f"{cohort}-{i}",
                email=f"{cohort}-{i}@example.com",
                email_opted_in=True,
                attributes=attributes,
            )
        )


def campaign_request(cohort: str) -> campaign_service_pb2.CreateCampaignRequest:
    """A one-time email campaign for the contacts of `cohort`, without quiet hours."""
    in_cohort = campaign_pb2.Condition(
        field="cohort",
        operator=campaign_pb2.CONDITION_OPERATOR_EQUALS,
        value=struct_pb2.Value(string_value=cohort),
    )
    return campaign_service_pb2.CreateCampaignRequest(
        name=f"Typed client {cohort}",
        campaign_type=campaign_pb2.CAMPAIGN_TYPE_SCHEDULED,
        audiences=[
            campaign_pb2.Audience(
                segment_type=campaign_pb2.SEGMENT_TYPE_INCLUDE,
                query=campaign_pb2.SegmentQuery(conditions=[in_cohort]),
            )
        ],
        channels=[
            campaign_pb2.ChannelContent(
                channel=campaign_pb2.CHANNEL_EMAIL,
                email=campaign_pb2.EmailContent(
                    subject="Hello {{ first_name }}", html_body="<p>News for you</p>" + FOOTER
                ),
            )
        ],
        throttle=campaign_pb2.Throttle(quiet_hours=campaign_pb2.QuietHours(enabled=False)),
        request_id=f"typed-client-{cohort}",  # a retried create returns the first campaign
    )


def describe(execution: execution_pb2.Execution) -> str:
    status = execution_pb2.ExecutionStatus.Name(execution.status).removeprefix("EXECUTION_STATUS_")
    counts = execution.counts
    return (
        f"execution {execution.execution_id} {status} audience={execution.audience_size} "
        f"queued={counts.queued} sent={counts.sent} delivered={counts.delivered} "
        f"failed={counts.failed}"
    )


def watch(
    stub: campaign_service_pb2_grpc.CampaignServiceStub,
    metadata: Metadata,
    execution: execution_pb2.Execution,
    timeout: float,
) -> execution_pb2.Execution:
    """Poll GetExecution, printing each change, until the run is final or `timeout` passed."""
    request = campaign_service_pb2.GetExecutionRequest(
        campaign_id=execution.campaign_id, execution_id=execution.execution_id
    )
    deadline = time.monotonic() + timeout
    shown = ""
    while True:
        line = describe(execution)
        if line != shown:
            print(line, flush=True)
            shown = line
        if execution.status in FINAL or time.monotonic() > deadline:
            return execution
        time.sleep(POLL_SECONDS)
        reply = stub.GetExecution(request, metadata=metadata, timeout=RPC_TIMEOUT)
        execution = reply.execution


def run(channel: grpc.Channel, metadata: Metadata, args: argparse.Namespace) -> int:
    audiences = audience_service_pb2_grpc.AudienceServiceStub(channel)
    campaigns = campaign_service_pb2_grpc.CampaignServiceStub(channel)

    stored = audiences.UpsertContacts(
        contacts(args.cohort, args.contacts), metadata=metadata, timeout=RPC_TIMEOUT
    )
    print(f"upserted {stored.upserted_count} contacts in cohort {args.cohort}", flush=True)
    campaign = campaigns.CreateCampaign(
        campaign_request(args.cohort), metadata=metadata, timeout=RPC_TIMEOUT
    ).campaign
    print(f"created campaign {campaign.campaign_id}", flush=True)

    if args.schedule_in is not None:
        at = timestamp_pb2.Timestamp()
        at.FromDatetime(datetime.now(UTC) + timedelta(seconds=args.schedule_in))
        scheduled = campaigns.ScheduleCampaign(
            campaign_service_pb2.ScheduleCampaignRequest(
                campaign_id=campaign.campaign_id, scheduled_at=at
            ),
            metadata=metadata,
            timeout=RPC_TIMEOUT,
        ).campaign
        status = campaign_pb2.CampaignStatus.Name(scheduled.status)
        print(f"campaign {scheduled.campaign_id} {status} at {at.ToJsonString()}", flush=True)
        return 0

    started = campaigns.SendCampaignNow(
        campaign_service_pb2.SendCampaignNowRequest(campaign_id=campaign.campaign_id),
        metadata=metadata,
        timeout=RPC_TIMEOUT,
    ).execution
    final = watch(campaigns, metadata, started, args.timeout)
    if final.status != execution_pb2.EXECUTION_STATUS_COMPLETED:
        print(f"the run did not complete: {final.failure_reason or 'timed out'}", file=sys.stderr)
        return 1
    return 0


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=5, help="contacts to create (default 5)")
    parser.add_argument(
        "--cohort", default=f"c{uuid.uuid4().hex[:8]}", help="attribute value the audience uses"
    )
    parser.add_argument(
        "--schedule-in",
        type=int,
        metavar="SECONDS",
        help="schedule the campaign this far ahead instead of sending it now",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="most seconds to watch")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse(argv)
    address = os.environ.get("CAMPAIGN_GRPC_ADDRESS", "127.0.0.1:50051")
    metadata: Metadata = (("authorization", f"Bearer {os.environ['CAMPAIGN_TOKEN']}"),)
    with grpc.insecure_channel(address) as channel:
        try:
            return run(channel, metadata, args)
        except grpc.RpcError as error:
            print(f"{error.code().name}: {error.details()}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
