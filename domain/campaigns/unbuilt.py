"""What a call that succeeds still cannot do in this version, told to its caller.

ActivateCampaign accepts a triggered campaign (it is complete and valid), but while inbound events
are taken (over NATS and through EventService.TrackEvents), no trigger evaluates them yet, so
nothing can fire it: the answer says so (ActivateCampaignResponse.warnings) instead of letting an
active status suggest that it listens. The warning goes away with the trigger handler, together
with this entry.
"""

from __future__ import annotations

from domain.campaigns.campaign import Campaign
from domain.campaigns.model import CampaignType

TRIGGERS_NOT_CONSUMED = (
    "this campaign is active but cannot fire yet: inbound events are taken (over NATS and "
    "through EventService.TrackEvents) but this version evaluates no triggers on them, so it "
    "sends nothing"
)


def activation_warnings(campaign: Campaign) -> tuple[str, ...]:
    """What the activation of `campaign` does not do yet; empty when it works as it reads."""
    if campaign.spec.campaign_type is CampaignType.TRIGGERED:
        return (TRIGGERS_NOT_CONSUMED,)
    return ()
