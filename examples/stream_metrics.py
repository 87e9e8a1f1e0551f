"""A minimal live metrics client: follow one campaign's StreamCampaignMetrics until it ends.

    CAMPAIGN_TOKEN=$(campaign-service token --org acme --role user) \
        python examples/stream_metrics.py CAMPAIGN_ID

The server is CAMPAIGN_GRPC_ADDRESS (default 127.0.0.1:50051), the bearer token
CAMPAIGN_TOKEN. Prints one line per update: the first is the full snapshot, then one per change
(at most one per second, the default min_interval), and the stream ends by itself with the
final snapshot once the campaign completes or is cancelled. Ctrl-C cancels the stream.
"""

from __future__ import annotations

import os
import sys

import grpc
from campaign.v1 import campaign_pb2, metrics_service_pb2, metrics_service_pb2_grpc
from google.protobuf import duration_pb2


def describe(update: metrics_service_pb2.StreamCampaignMetricsResponse) -> str:
    kind = "+".join(k for k, on in (("snapshot", update.snapshot), ("final", update.final)) if on)
    status = campaign_pb2.CampaignStatus.Name(update.campaign_status).removeprefix(
        "CAMPAIGN_STATUS_"
    )
    t = update.totals
    return (
        f"{kind or 'update':14} {status:9} queued={t.queued} sent={t.sent} delivered={t.delivered} "
        f"opened={t.opened} clicked={t.clicked} converted={t.converted} "
        f"open_rate={update.rates.open_rate:.1%}"
    )


def main(campaign_id: str) -> int:
    address = os.environ.get("CAMPAIGN_GRPC_ADDRESS", "127.0.0.1:50051")
    metadata = [("authorization", f"Bearer {os.environ['CAMPAIGN_TOKEN']}")]
    request = metrics_service_pb2.StreamCampaignMetricsRequest(
        campaign_id=campaign_id, min_interval=duration_pb2.Duration(seconds=1)
    )
    with grpc.insecure_channel(address) as channel:
        stub = metrics_service_pb2_grpc.MetricsServiceStub(channel)
        try:
            for update in stub.StreamCampaignMetrics(request, metadata=metadata):
                print(describe(update), flush=True)
        except grpc.RpcError as error:
            print(f"{error.code().name}: {error.details()}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:  # leaving the block closes the channel: the stream is cancelled
            return 130
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
