"""Campaign protos remembered by the stored version they show, for the read RPCs.

A campaign's stored content only changes through a save that bumps its version (the repository's
conditional UPDATE; docs/lifecycle.md), so (organization, campaign id, version, updated_at)
names one content for good: the proto built for it once can answer every later Get and List
page that reads the same row. Building it (enum tables, seven timestamps, nested audiences and
contents) was about a tenth of a ListCampaigns' CPU (docs/performance.md, "Where a Get's CPU
goes"). The cached messages are never handed out for mutation: a response copies them in.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from campaign.v1 import campaign_pb2 as pb

from domain.campaigns.campaign import Campaign
from server.mappers.campaign_out import campaign_to_proto

CACHE_SIZE = 2_000  # campaigns; a few KB each

_Key = tuple[str, str, int, datetime]


class CampaignProtos:
    """A bounded LRU of campaign_to_proto results."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._cache: OrderedDict[_Key, pb.Campaign] = OrderedDict()

    def __call__(self, campaign: Campaign) -> pb.Campaign:
        key = (
            campaign.organization_id,
            campaign.campaign_id,
            campaign.version,
            campaign.updated_at,
        )
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        built = campaign_to_proto(campaign)
        self._cache[key] = built
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return built
