"""campaign.v1.CampaignService: maps requests to use cases and results back to protos.

Nothing here decides anything; a handler that grows an `if` about business rules belongs in the
domain instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import campaign_service_pb2_grpc as svc_grpc

from domain.campaigns import listing
from domain.campaigns.service import CampaignService
from domain.events.trigger_queries import TriggerEvaluations
from domain.execution.send_now import SendNow
from domain.execution.service import ExecutionService
from domain.kernel.errors import (
    FieldViolation,
    InvalidArgumentError,
    ValidationError,
    ViolationCollector,
)
from domain.kernel.paging import clamp_page_size
from server.interceptors.authentication import current_principal
from server.mappers import enums
from server.mappers.campaign_in import schedule_from_proto, spec_from_proto
from server.mappers.campaign_out import campaign_to_proto
from server.mappers.campaign_protos import CampaignProtos
from server.mappers.common import enum_in, optional_datetime
from server.mappers.executions import execution_to_proto
from server.page_tokens import PageTokenSealer
from server.servicers.campaign_executions import ExecutionRpcs
from server.servicers.unimplemented import with_unimplemented

IMPLEMENTED = {
    "CreateCampaign",
    "GetCampaign",
    "ListCampaigns",
    "UpdateCampaign",
    "DeleteCampaign",
    "CloneCampaign",
    "ScheduleCampaign",
    "UnscheduleCampaign",
    "ActivateCampaign",
    "PauseCampaign",
    "ResumeCampaign",
    "CancelCampaign",
    "GetExecution",
    "ListExecutions",
    "GetMessage",
    "ListMessages",
    "SendTransactional",
    "PreviewMessage",
    "SendCampaignNow",
    "SelectWinner",
}
_Base = with_unimplemented(
    svc_grpc.CampaignServiceServicer,
    svc.DESCRIPTOR.services_by_name["CampaignService"],
    IMPLEMENTED,
)


# Fields of UpdateCampaignRequest itself: their violations keep their path, unprefixed.
_REQUEST_FIELDS = frozenset({"update_mask", "etag"})


@contextmanager
def _fields_under(prefix: str) -> Iterator[None]:
    """Report violations with the request path the client used (`campaign.name`)."""
    try:
        yield
    except InvalidArgumentError as exc:
        exc.violations = [
            v if v.field in _REQUEST_FIELDS else FieldViolation(prefix + v.field, v.description)
            for v in exc.violations
        ]
        raise


class CampaignServicer(ExecutionRpcs, _Base):  # type: ignore[misc, valid-type]
    def __init__(
        self,
        service: CampaignService,
        executions: ExecutionService,
        pages: PageTokenSealer,
        *,
        send_now: SendNow,
        evaluations: TriggerEvaluations,
    ) -> None:
        self._service = service
        self._executions = executions
        self._pages = pages
        self._send_now = send_now
        self._evaluations = evaluations
        self._read_protos = CampaignProtos()  # Get and List only (server/mappers/campaign_protos)

    async def CreateCampaign(
        self,
        request: svc.CreateCampaignRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.CreateCampaignResponse:
        v = ViolationCollector(error=ValidationError)
        spec = spec_from_proto(request, v)
        v.raise_if_any()
        campaign = await self._service.create_campaign(
            current_principal(), spec, request_id=request.request_id
        )
        return svc.CreateCampaignResponse(campaign=campaign_to_proto(campaign))

    async def GetCampaign(
        self,
        request: svc.GetCampaignRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.GetCampaignResponse:
        campaign = await self._service.get_campaign(current_principal(), request.campaign_id)
        return svc.GetCampaignResponse(campaign=self._read_protos(campaign))

    async def ListCampaigns(
        self,
        request: svc.ListCampaignsRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.ListCampaignsResponse:
        principal = current_principal()
        bound = {"organization_id": principal.organization_id, "rpc": "ListCampaigns"}
        query = _list_query(request, self._pages.open(request.page_token, **bound))
        page = await self._service.list_campaigns(principal, query)
        next_token = listing.encode_page_token(page.next_cursor, query)
        return svc.ListCampaignsResponse(
            campaigns=[self._read_protos(c) for c in page.campaigns],
            next_page_token=self._pages.seal(next_token, **bound),
            total_size=page.total_size,
        )

    async def UpdateCampaign(
        self,
        request: svc.UpdateCampaignRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.UpdateCampaignResponse:
        paths = frozenset(request.update_mask.paths)
        v = ViolationCollector(error=ValidationError)
        spec = spec_from_proto(request.campaign, v, require_type=False)
        relevant = [x for x in v.violations if x.field.split("[")[0].split(".")[0] in paths]
        with _fields_under("campaign."):
            if relevant:
                raise InvalidArgumentError(relevant)
        if not request.campaign.campaign_id:
            raise InvalidArgumentError([FieldViolation("campaign.campaign_id", "is required")])
        with _fields_under("campaign."):
            campaign = await self._service.update_campaign(
                current_principal(),
                request.campaign.campaign_id,
                spec,
                paths,
                etag=request.etag or request.campaign.etag,
            )
        return svc.UpdateCampaignResponse(campaign=campaign_to_proto(campaign))

    async def DeleteCampaign(
        self,
        request: svc.DeleteCampaignRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.DeleteCampaignResponse:
        await self._service.delete_campaign(
            current_principal(), request.campaign_id, etag=request.etag
        )
        return svc.DeleteCampaignResponse()

    async def CloneCampaign(
        self,
        request: svc.CloneCampaignRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.CloneCampaignResponse:
        campaign = await self._service.clone_campaign(
            current_principal(),
            request.campaign_id,
            name=request.name,
            request_id=request.request_id,
        )
        return svc.CloneCampaignResponse(campaign=campaign_to_proto(campaign))

    async def ScheduleCampaign(
        self,
        request: svc.ScheduleCampaignRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.ScheduleCampaignResponse:
        v = ViolationCollector(error=ValidationError)
        schedule = schedule_from_proto(v, request)
        v.raise_if_any()
        campaign = await self._service.schedule_campaign(
            current_principal(), request.campaign_id, schedule
        )
        return svc.ScheduleCampaignResponse(campaign=campaign_to_proto(campaign))

    async def UnscheduleCampaign(
        self,
        request: svc.UnscheduleCampaignRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.UnscheduleCampaignResponse:
        campaign = await self._service.unschedule_campaign(current_principal(), request.campaign_id)
        return svc.UnscheduleCampaignResponse(campaign=campaign_to_proto(campaign))

    async def ActivateCampaign(
        self,
        request: svc.ActivateCampaignRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.ActivateCampaignResponse:
        campaign = await self._service.activate_campaign(current_principal(), request.campaign_id)
        return svc.ActivateCampaignResponse(campaign=campaign_to_proto(campaign))

    async def PauseCampaign(
        self,
        request: svc.PauseCampaignRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.PauseCampaignResponse:
        campaign = await self._service.pause_campaign(current_principal(), request.campaign_id)
        return svc.PauseCampaignResponse(campaign=campaign_to_proto(campaign))

    async def ResumeCampaign(
        self,
        request: svc.ResumeCampaignRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.ResumeCampaignResponse:
        campaign = await self._service.resume_campaign(current_principal(), request.campaign_id)
        return svc.ResumeCampaignResponse(campaign=campaign_to_proto(campaign))

    async def CancelCampaign(
        self,
        request: svc.CancelCampaignRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.CancelCampaignResponse:
        campaign = await self._service.cancel_campaign(
            current_principal(), request.campaign_id, request.reason
        )
        return svc.CancelCampaignResponse(campaign=campaign_to_proto(campaign))

    async def SendCampaignNow(
        self,
        request: svc.SendCampaignNowRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.SendCampaignNowResponse:
        campaign, execution = await self._send_now.send_campaign_now(
            current_principal(), request.campaign_id
        )
        return svc.SendCampaignNowResponse(
            campaign=campaign_to_proto(campaign), execution=execution_to_proto(execution)
        )

    async def SelectWinner(
        self,
        request: svc.SelectWinnerRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.SelectWinnerResponse:
        campaign = await self._service.select_winner(
            current_principal(), request.campaign_id, request.variant_id
        )
        return svc.SelectWinnerResponse(campaign=campaign_to_proto(campaign))


def _list_query(request: svc.ListCampaignsRequest, page_token: str) -> listing.CampaignQuery:
    """The query of `request`, resuming after the position in `page_token` (the codec's token,
    already opened by the servicer)."""
    v = ViolationCollector(error=ValidationError)
    statuses = tuple(
        s
        for i, n in enumerate(request.statuses)
        if (s := enum_in(v, f"statuses[{i}]", enums.STATUSES, n)) is not None
    )
    filters = listing.CampaignFilter(
        statuses=statuses,
        campaign_type=enum_in(
            v, "campaign_type", enums.CAMPAIGN_TYPES, request.campaign_type, required=False
        ),
        channel=enum_in(v, "channel", enums.CHANNELS, request.channel, required=False),
        name_prefix=request.name_prefix,
        tags=tuple(request.tags),
        created_after=optional_datetime(request, "created_after"),
        created_before=optional_datetime(request, "created_before"),
        scheduled_after=optional_datetime(request, "scheduled_after"),
        scheduled_before=optional_datetime(request, "scheduled_before"),
    )
    v.raise_if_any()
    ordering = listing.parse_order_by(request.order_by)
    return listing.CampaignQuery(
        filter=filters,
        ordering=ordering,
        page_size=clamp_page_size(
            request.page_size, default=listing.DEFAULT_PAGE_SIZE, maximum=listing.MAX_PAGE_SIZE
        ),
        after=listing.decode_page_token(page_token, filters, ordering),
    )
