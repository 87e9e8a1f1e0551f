"""campaign.v1.AudienceService: contacts, suppressions, saved segments and estimates."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from campaign.v1 import audience_service_pb2 as asvc
from campaign.v1 import audience_service_pb2_grpc as asvc_grpc

from domain.audience.service import AudienceService
from domain.execution.estimate import AudienceEstimator
from domain.kernel.errors import ViolationCollector
from server.interceptors.authentication import current_principal
from server.mappers import enums
from server.mappers.audience import (
    REASONS,
    contact_from_proto,
    contact_to_proto,
    estimate_to_proto,
    rejected_to_proto,
    segment_from_proto,
    segment_to_proto,
    suppression_to_proto,
    suppressions_from_proto,
)
from server.mappers.campaign_in import audience_list_from_proto
from server.mappers.common import enum_in
from server.page_tokens import PageTokenSealer


class AudienceServicer(asvc_grpc.AudienceServiceServicer):
    def __init__(
        self, service: AudienceService, estimator: AudienceEstimator, pages: PageTokenSealer
    ) -> None:
        self._service = service
        self._estimator = estimator
        self._pages = pages

    async def UpsertContacts(
        self,
        request_iterator: AsyncIterator[asvc.UpsertContactsRequest],
        context: grpc.aio.ServicerContext,
    ) -> asvc.UpsertContactsResponse:
        contacts = self._service.contact_import(current_principal())
        async for request in request_iterator:
            await contacts.add(contact_from_proto(request.contact))
        report = await contacts.finish()
        return asvc.UpsertContactsResponse(
            upserted_count=report.upserted,
            rejected=[rejected_to_proto(r) for r in report.rejected],
            rejected_count=report.rejected_count,
        )

    async def GetContact(
        self,
        request: asvc.GetContactRequest,
        context: grpc.aio.ServicerContext,
    ) -> asvc.GetContactResponse:
        contact = await self._service.get_contact(current_principal(), request.user_id)
        return asvc.GetContactResponse(contact=contact_to_proto(contact))

    async def DeleteContact(
        self,
        request: asvc.DeleteContactRequest,
        context: grpc.aio.ServicerContext,
    ) -> asvc.DeleteContactResponse:
        await self._service.delete_contact(current_principal(), request.user_id)
        return asvc.DeleteContactResponse()

    async def AddSuppressions(
        self,
        request: asvc.AddSuppressionsRequest,
        context: grpc.aio.ServicerContext,
    ) -> asvc.AddSuppressionsResponse:
        added = await self._service.add_suppressions(
            current_principal(), suppressions_from_proto(list(request.entries), adding=True)
        )
        return asvc.AddSuppressionsResponse(added_count=added)

    async def RemoveSuppressions(
        self,
        request: asvc.RemoveSuppressionsRequest,
        context: grpc.aio.ServicerContext,
    ) -> asvc.RemoveSuppressionsResponse:
        removed = await self._service.remove_suppressions(
            current_principal(), suppressions_from_proto(list(request.entries))
        )
        return asvc.RemoveSuppressionsResponse(removed_count=removed)

    async def ListSuppressions(
        self,
        request: asvc.ListSuppressionsRequest,
        context: grpc.aio.ServicerContext,
    ) -> asvc.ListSuppressionsResponse:
        v = ViolationCollector()
        channel = enum_in(v, "channel", enums.CHANNELS, request.channel, required=False)
        reason = enum_in(v, "reason", REASONS, request.reason, required=False)
        v.raise_if_any()
        principal = current_principal()
        bound = {"organization_id": principal.organization_id, "rpc": "ListSuppressions"}
        entries, next_token = await self._service.list_suppressions(
            principal,
            channel=channel,
            reason=reason,
            page_size=request.page_size,
            page_token=self._pages.open(request.page_token, **bound),
        )
        return asvc.ListSuppressionsResponse(
            entries=[suppression_to_proto(e) for e in entries],
            next_page_token=self._pages.seal(next_token, **bound),
        )

    async def CreateSegment(
        self,
        request: asvc.CreateSegmentRequest,
        context: grpc.aio.ServicerContext,
    ) -> asvc.CreateSegmentResponse:
        saved = await self._service.create_segment(
            current_principal(), segment_from_proto(request.segment)
        )
        return asvc.CreateSegmentResponse(segment=segment_to_proto(saved))

    async def GetSegment(
        self,
        request: asvc.GetSegmentRequest,
        context: grpc.aio.ServicerContext,
    ) -> asvc.GetSegmentResponse:
        found = await self._service.get_segment(current_principal(), request.segment_id)
        return asvc.GetSegmentResponse(segment=segment_to_proto(found))

    async def ListSegments(
        self,
        request: asvc.ListSegmentsRequest,
        context: grpc.aio.ServicerContext,
    ) -> asvc.ListSegmentsResponse:
        principal = current_principal()
        bound = {"organization_id": principal.organization_id, "rpc": "ListSegments"}
        found, next_token = await self._service.list_segments(
            principal,
            page_size=request.page_size,
            page_token=self._pages.open(request.page_token, **bound),
        )
        return asvc.ListSegmentsResponse(
            segments=[segment_to_proto(s) for s in found],
            next_page_token=self._pages.seal(next_token, **bound),
        )

    async def DeleteSegment(
        self,
        request: asvc.DeleteSegmentRequest,
        context: grpc.aio.ServicerContext,
    ) -> asvc.DeleteSegmentResponse:
        await self._service.delete_segment(current_principal(), request.segment_id)
        return asvc.DeleteSegmentResponse()

    async def EstimateAudience(
        self,
        request: asvc.EstimateAudienceRequest,
        context: grpc.aio.ServicerContext,
    ) -> asvc.EstimateAudienceResponse:
        v = ViolationCollector()
        audiences = audience_list_from_proto(v, list(request.audiences))
        v.raise_if_any()
        estimate = await self._estimator.estimate_audience(
            current_principal(),
            campaign_id=request.campaign_id,
            audiences=audiences,
            holdout_percentage=request.holdout_percentage,
        )
        return estimate_to_proto(estimate, estimate.audiences)
