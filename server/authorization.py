"""Which roles may call which RPC: the whole table in one place, checked before any handler runs.

Users read; admins, services and the system write, and they alone estimate audiences and preview
messages (both read contacts' data in bulk). The use cases check the same rules again
(domain.kernel.principal), so a caller that is not an RPC (a worker, an event) is held to them
too; this table makes the rule for each RPC visible, answers PERMISSION_DENIED before a request
is validated or a query runs, and fails closed: an RPC missing from it is denied to everyone
(tests/unit/test_authorization.py keeps it complete).
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.kernel.errors import PermissionDeniedError
from domain.kernel.principal import PLANNERS, READERS, WRITERS, Principal, Role

_CAMPAIGNS = "/campaign.v1.CampaignService/"
_AUDIENCES = "/campaign.v1.AudienceService/"
_METRICS = "/campaign.v1.MetricsService/"
_EVENTS = "/campaign.v1.EventService/"

RPC_ROLES: Mapping[str, frozenset[Role]] = {
    # CampaignService
    _CAMPAIGNS + "CreateCampaign": WRITERS,
    _CAMPAIGNS + "GetCampaign": READERS,
    _CAMPAIGNS + "ListCampaigns": READERS,
    _CAMPAIGNS + "UpdateCampaign": WRITERS,
    _CAMPAIGNS + "DeleteCampaign": WRITERS,
    _CAMPAIGNS + "CloneCampaign": WRITERS,
    _CAMPAIGNS + "ScheduleCampaign": WRITERS,
    _CAMPAIGNS + "UnscheduleCampaign": WRITERS,
    _CAMPAIGNS + "ActivateCampaign": WRITERS,
    _CAMPAIGNS + "PauseCampaign": WRITERS,
    _CAMPAIGNS + "ResumeCampaign": WRITERS,
    _CAMPAIGNS + "CancelCampaign": WRITERS,
    _CAMPAIGNS + "SendTransactional": WRITERS,
    _CAMPAIGNS + "PreviewMessage": PLANNERS,
    _CAMPAIGNS + "SelectWinner": WRITERS,
    _CAMPAIGNS + "GetExecution": READERS,
    _CAMPAIGNS + "ListExecutions": READERS,
    _CAMPAIGNS + "GetMessage": READERS,
    _CAMPAIGNS + "ListMessages": READERS,
    _CAMPAIGNS + "SendCampaignNow": WRITERS,
    _CAMPAIGNS + "ListTriggerEvaluations": READERS,
    # AudienceService
    _AUDIENCES + "EstimateAudience": PLANNERS,
    _AUDIENCES + "UpsertContacts": WRITERS,
    _AUDIENCES + "GetContact": READERS,
    _AUDIENCES + "DeleteContact": WRITERS,
    _AUDIENCES + "AddSuppressions": WRITERS,
    _AUDIENCES + "RemoveSuppressions": WRITERS,
    _AUDIENCES + "ListSuppressions": READERS,
    _AUDIENCES + "CreateSegment": WRITERS,
    _AUDIENCES + "GetSegment": READERS,
    _AUDIENCES + "ListSegments": READERS,
    _AUDIENCES + "DeleteSegment": WRITERS,
    # MetricsService
    _METRICS + "GetCampaignMetrics": READERS,
    _METRICS + "StreamCampaignMetrics": READERS,
    _METRICS + "GetExperimentResults": READERS,
    # EventService
    _EVENTS + "TrackEvents": WRITERS,
}


def authorize(principal: Principal, method: str) -> None:
    """PermissionDeniedError unless the principal holds a role the table allows for `method`
    (a full gRPC method name, `/package.Service/Rpc`)."""
    rpc = method.rsplit("/", 1)[-1]
    allowed = RPC_ROLES.get(method)
    if allowed is None:
        raise PermissionDeniedError(f"{rpc} is open to no role")
    principal.require_any(allowed, rpc)
