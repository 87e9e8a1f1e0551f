"""Concurrent writers: optimistic concurrency and idempotency hold on every backend."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb

from tests.e2e.helpers import CampaignApi, RpcFailure, draft_request, update_request

pytestmark = pytest.mark.e2e

WRITERS = 6


def test_of_concurrent_updates_with_one_etag_exactly_one_wins(api: CampaignApi):
    created = api.create(draft_request("Contested"))

    def rename(i: int) -> str:
        edited = pb.Campaign(campaign_id=created.campaign_id, name=f"Writer {i}")
        try:
            api.call("UpdateCampaign", update_request(edited, ["name"], etag=created.etag))
        except grpc.RpcError as error:
            return RpcFailure.of(error).code.name
        return "OK"

    with ThreadPoolExecutor(WRITERS) as pool:
        outcomes = Counter(pool.map(rename, range(WRITERS)))

    assert outcomes == {"OK": 1, "ABORTED": WRITERS - 1}
    final = api.get(created.campaign_id)
    assert final.name.startswith("Writer ")
    assert final.etag != created.etag


def test_concurrent_creates_with_one_request_id_make_one_campaign(api: CampaignApi):
    request = draft_request("Retried", request_id="retry-storm")

    with ThreadPoolExecutor(WRITERS) as pool:
        ids = set(pool.map(lambda _: api.create(request).campaign_id, range(WRITERS)))

    assert len(ids) == 1
    assert api.total() == 1
