"""The execution-side RPCs of CampaignService: executions, messages, transactional sends and
previews. A mixin of CampaignServicer, kept apart so each file stays about one thing."""

from __future__ import annotations

import grpc
from campaign.v1 import campaign_service_pb2 as svc
from google.protobuf import json_format

from domain.events.trigger_queries import TriggerEvaluations
from domain.execution.service import ExecutionService
from domain.kernel.errors import ViolationCollector
from server.interceptors.authentication import current_principal
from server.mappers import enums
from server.mappers.common import enum_in
from server.mappers.executions import (
    MESSAGE_STATUSES,
    execution_to_proto,
    message_to_proto,
    rendered_to_proto,
)
from server.mappers.triggers import evaluation_to_proto
from server.page_tokens import PageTokenSealer


class ExecutionRpcs:
    _executions: ExecutionService
    _evaluations: TriggerEvaluations
    _pages: PageTokenSealer

    async def GetExecution(
        self,
        request: svc.GetExecutionRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.GetExecutionResponse:
        execution, by_status = await self._executions.get_execution(
            current_principal(), request.campaign_id, request.execution_id
        )
        return svc.GetExecutionResponse(execution=execution_to_proto(execution, by_status))

    async def ListExecutions(
        self,
        request: svc.ListExecutionsRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.ListExecutionsResponse:
        principal = current_principal()
        bound = {"organization_id": principal.organization_id, "rpc": "ListExecutions"}
        found, next_token = await self._executions.list_executions(
            principal,
            request.campaign_id,
            after=self._pages.open(request.page_token, **bound),
            limit=request.page_size,
        )
        return svc.ListExecutionsResponse(
            executions=[execution_to_proto(e, by_status) for e, by_status in found],
            next_page_token=self._pages.seal(next_token, **bound),
        )

    async def GetMessage(
        self,
        request: svc.GetMessageRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.GetMessageResponse:
        message = await self._executions.get_message(
            current_principal(), request.campaign_id, request.message_id
        )
        return svc.GetMessageResponse(message=message_to_proto(message))

    async def ListMessages(
        self,
        request: svc.ListMessagesRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.ListMessagesResponse:
        v = ViolationCollector()
        statuses = [
            s
            for i, n in enumerate(request.statuses)
            if (s := enum_in(v, f"statuses[{i}]", MESSAGE_STATUSES, n)) is not None
        ]
        v.raise_if_any()
        principal = current_principal()
        bound = {"organization_id": principal.organization_id, "rpc": "ListMessages"}
        found, next_token = await self._executions.list_messages(
            principal,
            request.campaign_id,
            execution_id=request.execution_id,
            user_id=request.user_id,
            statuses=statuses,
            after=self._pages.open(request.page_token, **bound),
            limit=request.page_size,
        )
        return svc.ListMessagesResponse(
            messages=[message_to_proto(m) for m in found],
            next_page_token=self._pages.seal(next_token, **bound),
        )

    async def SendTransactional(
        self,
        request: svc.SendTransactionalRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.SendTransactionalResponse:
        message = await self._executions.send_transactional(
            current_principal(),
            request.campaign_id,
            request.user_id,
            json_format.MessageToDict(request.context),
            request.idempotency_key,
        )
        return svc.SendTransactionalResponse(message=message_to_proto(message))

    async def PreviewMessage(
        self,
        request: svc.PreviewMessageRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.PreviewMessageResponse:
        v = ViolationCollector()
        channel = enum_in(v, "channel", enums.CHANNELS, request.channel, required=False)
        sample = request.WhichOneof("sample")
        if sample is None:
            v.add("sample", "give a sample_user_id or a sample_profile")
        v.raise_if_any()
        preview = await self._executions.preview_message(
            current_principal(),
            request.campaign_id,
            variant_id=request.variant_id,
            channel=channel,
            sample_user_id=request.sample_user_id if sample == "sample_user_id" else "",
            sample_profile=json_format.MessageToDict(request.sample_profile)
            if sample == "sample_profile"
            else None,
        )
        return svc.PreviewMessageResponse(
            contents=[rendered_to_proto(c, content) for c, content in preview.contents],
            warnings=preview.warnings,
        )

    async def ListTriggerEvaluations(
        self,
        request: svc.ListTriggerEvaluationsRequest,
        context: grpc.aio.ServicerContext,
    ) -> svc.ListTriggerEvaluationsResponse:
        principal = current_principal()
        bound = {"organization_id": principal.organization_id, "rpc": "ListTriggerEvaluations"}
        found, next_token = await self._evaluations.list(
            principal,
            campaign_id=request.campaign_id,
            user_id=request.user_id,
            after=self._pages.open(request.page_token, **bound),
            limit=request.page_size,
        )
        return svc.ListTriggerEvaluationsResponse(
            evaluations=[evaluation_to_proto(e) for e in found],
            next_page_token=self._pages.seal(next_token, **bound),
        )
