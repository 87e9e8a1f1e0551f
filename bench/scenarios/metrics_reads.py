"""GetCampaignMetrics latency of a small and a large campaign, for `metrics-lag`.

Calls go one at a time (a latency, not a throughput test), alternating small and large, so
whatever else the machine does at a moment slows both sizes alike. Every call asks for all three
breakdowns (variant, channel, segment), the most a read does. The ledger's cost is in its
counter rows (cells x shards, docs/metrics.md), not in the messages: the line reports how many
rows each campaign has, so a reader can see what the two reads actually summed.
"""

from __future__ import annotations

import time
from typing import Any

import grpc
from campaign.v1 import metrics_pb2, metrics_service_pb2, metrics_service_pb2_grpc

BREAKDOWNS = (
    metrics_pb2.BREAKDOWN_VARIANT,
    metrics_pb2.BREAKDOWN_CHANNEL,
    metrics_pb2.BREAKDOWN_SEGMENT,
)
WARMUP_CALLS = 20


def read_latencies(
    address: str, campaigns: dict[str, tuple[str, str]], calls: int
) -> dict[str, dict[str, Any]]:
    """{size: {"seconds": [...], "queued": n, "breakdown_rows": n}} for `campaigns`
    {size: (campaign id, a token of its organization)}."""
    metadata = {
        name: [("authorization", f"Bearer {token}")] for name, (_, token) in campaigns.items()
    }
    out: dict[str, dict[str, Any]] = {name: {"seconds": []} for name in campaigns}
    with grpc.insecure_channel(address) as channel:
        stub = metrics_service_pb2_grpc.MetricsServiceStub(channel)
        requests = {
            name: metrics_service_pb2.GetCampaignMetricsRequest(
                campaign_id=cid, breakdowns=list(BREAKDOWNS)
            )
            for name, (cid, _) in campaigns.items()
        }
        for name, request in requests.items():
            for _ in range(WARMUP_CALLS):
                answer = stub.GetCampaignMetrics(request, metadata=metadata[name], timeout=30)
            out[name]["queued"] = int(answer.totals.queued)
            out[name]["breakdown_rows"] = len(answer.rows)
        for _ in range(calls):
            for name, request in requests.items():
                started = time.perf_counter()
                stub.GetCampaignMetrics(request, metadata=metadata[name], timeout=30)
                out[name]["seconds"].append(time.perf_counter() - started)
    return out
