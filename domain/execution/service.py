"""Reading executions and messages, sending transactional messages, previewing content."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from domain.audience.contacts import Contact, address_for, choose_channels
from domain.audience.lookup import load_contact
from domain.audience.model import TRANSACTIONAL_EXEMPT, SuppressionReason, suppression_reasons
from domain.audience.ports import ContactDirectory, SuppressionStore
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import CampaignStatus, CampaignType
from domain.campaigns.ports import HostResolver
from domain.campaigns.rendering import TemplateRenderError
from domain.campaigns.store import load_campaign
from domain.campaigns.templates import Template, TemplateSource, templates_of
from domain.campaigns.webhooks import check_destinations
from domain.execution.lookup import load_execution, load_message
from domain.execution.model import (
    TRANSACTIONAL_EXECUTION,
    Execution,
    Message,
    MessageStatus,
    content_digest,
    message_id,
)
from domain.execution.planning import Arm, CampaignPlan, ContentRenderFailedError, sent_contents
from domain.execution.ports import ExecutionUnitOfWork, ExecutionUnitOfWorkFactory
from domain.execution.suppression_notes import suppressed_note
from domain.kernel.channels import Channel
from domain.kernel.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    FieldViolation,
    InvalidArgumentError,
    PreconditionViolation,
    shown,
)
from domain.kernel.paging import clamp_page_size
from domain.kernel.ports import Clock, IdGenerator
from domain.kernel.principal import PLANNERS, Principal

# Page sizes as documented in campaign_service.proto: (default for 0, most per page).
DEFAULT_EXECUTION_PAGE, MAX_EXECUTION_PAGE = 20, 100
DEFAULT_MESSAGE_PAGE, MAX_MESSAGE_PAGE = 100, 1_000


@dataclass(frozen=True, slots=True)
class Preview:
    contents: list[tuple[Channel, dict[str, str]]]
    warnings: list[str]


class ExecutionService:
    def __init__(
        self,
        uow: ExecutionUnitOfWorkFactory,
        contacts: ContactDirectory,
        clock: Clock,
        ids: IdGenerator,
        templates: TemplateSource | None = None,
        *,
        resolver: HostResolver | None = None,
        suppressions: SuppressionStore,
    ) -> None:
        """`resolver` checks where webhooks point (domain.campaigns.webhooks); `suppressions`
        is the list a transactional send honours (all but marketing unsubscribes)."""
        self._resolver = resolver
        self._suppressions = suppressions
        self._uow = uow
        self._contacts = contacts
        self._clock = clock
        self._ids = ids
        self._templates = templates

    async def get_execution(
        self, principal: Principal, campaign_id: str, execution_id: str
    ) -> tuple[Execution, dict[MessageStatus, int]]:
        principal.require_read()
        async with self._uow(read_only=True) as uow:
            found = await load_execution(
                uow.executions, principal.organization_id, campaign_id, execution_id
            )
            return found, await uow.messages.status_counts(found.execution_id)

    async def list_executions(
        self, principal: Principal, campaign_id: str, *, after: str = "", limit: int = 0
    ) -> tuple[Sequence[tuple[Execution, dict[MessageStatus, int]]], str]:
        """A page of executions, each with its messages per status (as GetExecution has them)."""
        principal.require_read()
        async with self._uow(read_only=True) as uow:
            await _campaign(uow, principal, campaign_id)
            found, next_token = await uow.executions.list(
                principal.organization_id,
                campaign_id,
                after=after,
                limit=clamp_page_size(
                    limit, default=DEFAULT_EXECUTION_PAGE, maximum=MAX_EXECUTION_PAGE
                ),
            )
            counted = [(e, await uow.messages.status_counts(e.execution_id)) for e in found]
            return counted, next_token

    async def get_message(
        self, principal: Principal, campaign_id: str, message_id_: str
    ) -> Message:
        principal.require_read()
        async with self._uow(read_only=True) as uow:
            return await load_message(
                uow.messages, principal.organization_id, campaign_id, message_id_
            )

    async def list_messages(
        self,
        principal: Principal,
        campaign_id: str,
        *,
        execution_id: str = "",
        user_id: str = "",
        statuses: Sequence[MessageStatus] = (),
        after: str = "",
        limit: int = 0,
    ) -> tuple[Sequence[Message], str]:
        principal.require_read()
        async with self._uow(read_only=True) as uow:
            await _campaign(uow, principal, campaign_id)
            return await uow.messages.list(
                principal.organization_id,
                campaign_id,
                execution_id=execution_id,
                user_id=user_id,
                statuses=statuses,
                after=after,
                limit=clamp_page_size(
                    limit, default=DEFAULT_MESSAGE_PAGE, maximum=MAX_MESSAGE_PAGE
                ),
            )

    async def send_transactional(
        self,
        principal: Principal,
        campaign_id: str,
        user_id: str,
        context: Mapping[str, Any],
        idempotency_key: str = "",
    ) -> Message:
        """One message now, on the first eligible channel. Transactional messages (receipts,
        password resets) are not held by quiet hours or campaign throttles, and may ignore a
        marketing unsubscribe, never a bounce, a complaint or an operator's suppression: a
        recipient blocked by one on every channel of the campaign gets a SUPPRESSED message
        carrying the reason, which is stored and never handed to delivery."""
        principal.require_write()
        contact = await load_contact(self._contacts, principal.organization_id, user_id)
        entries = await self._suppressions.entries_for(principal.organization_id, contact)
        blocked = suppression_reasons(contact, entries, ignoring=TRANSACTIONAL_EXEMPT)
        async with self._uow() as uow:
            campaign = await _campaign(uow, principal, campaign_id)
            if (
                campaign.spec.campaign_type is not CampaignType.TRANSACTIONAL
                or campaign.status is not CampaignStatus.ACTIVE
            ):
                raise FailedPreconditionError(
                    "SendTransactional needs an active transactional campaign",
                    metadata={
                        "status": campaign.status.value,
                        "campaign_type": campaign.spec.campaign_type.value,
                    },
                )
            templates = await templates_of(campaign, self._templates)
            await check_destinations(sent_contents(campaign, templates), self._resolver)
            # Compiling and rendering run within the render budget, off the event loop.
            message = await asyncio.to_thread(
                functools.partial(self._compose, blocked=blocked),
                campaign,
                templates,
                contact,
                context,
                idempotency_key,
            )
            if idempotency_key:
                original = await uow.messages.by_idempotency_key(
                    principal.organization_id, campaign_id, idempotency_key
                )
                if original is not None:
                    return _replay(original, message)
            await uow.messages.add_many([message], idempotency_key=idempotency_key or None)
            await uow.commit()
            return message

    def _compose(
        self,
        campaign: Campaign,
        templates: Mapping[str, Template],
        contact: Contact,
        context: Mapping[str, Any],
        key: str,
        *,
        blocked: Mapping[Channel, SuppressionReason],
    ) -> Message:
        plan = CampaignPlan.of(campaign, templates)
        arm = next(a for a in plan.arms.values() if not a.is_control)
        channels = choose_channels(contact, arm.channels, set(blocked), all_channels=False)
        # Reachable, but suppressed on each channel it could use: answered, not sent.
        wanted = channels or choose_channels(contact, arm.channels, set(), all_channels=False)
        if not wanted:
            raise FailedPreconditionError(
                f"contact {shown(contact.user_id)} cannot be reached on any channel "
                "of this campaign"
            )
        channel = wanted[0]
        content, _missing = _render(arm, channel, {**contact.profile(), **context})
        now = self._clock.now()
        scope = f"{TRANSACTIONAL_EXECUTION}:{campaign.campaign_id}:{key or self._ids.new_id()}"
        message = Message(
            message_id=message_id(scope, contact.user_id, channel),
            execution_id=TRANSACTIONAL_EXECUTION,
            campaign_id=campaign.campaign_id,
            organization_id=campaign.organization_id,
            user_id=contact.user_id,
            variant_id=arm.variant_id,
            channel=channel,
            recipient=address_for(contact, channel),
            content=content,
            send_after=now,
            queued_at=now,
            content_digest=content_digest(content),
        )
        if channels:
            return message
        return replace(
            message,
            status=MessageStatus.SUPPRESSED,
            error=suppressed_note(blocked[channel], channel),
        )

    async def preview_message(
        self,
        principal: Principal,
        campaign_id: str,
        *,
        variant_id: str = "",
        channel: Channel | None = None,
        sample_user_id: str = "",
        sample_profile: Mapping[str, Any] | None = None,
    ) -> Preview:
        principal.require_any(PLANNERS, "previewing a message")
        async with self._uow(read_only=True) as uow:
            campaign = await _campaign(uow, principal, campaign_id)
        profile: dict[str, Any] = dict(sample_profile or {})
        if sample_user_id:
            contact = await load_contact(self._contacts, principal.organization_id, sample_user_id)
            profile = {**contact.profile(), **profile}
        templates = await templates_of(campaign, self._templates)
        # Compiling and rendering run within the render budget, off the event loop.
        return await asyncio.to_thread(_preview, campaign, templates, profile, variant_id, channel)


def _preview(
    campaign: Campaign,
    templates: Mapping[str, Template],
    profile: Mapping[str, Any],
    variant_id: str,
    channel: Channel | None,
) -> Preview:
    plan = CampaignPlan.of(campaign, templates)
    arm = (
        plan.arms.get(variant_id)
        if variant_id
        else next((a for a in plan.arms.values() if not a.is_control), None)
    )
    if arm is None:
        raise InvalidArgumentError([FieldViolation("variant_id", "not a variant of this campaign")])
    chosen = [channel] if channel else list(arm.channels)
    contents: list[tuple[Channel, dict[str, str]]] = []
    missing: set[str] = set()
    for c in chosen:
        if c not in arm.contents:
            raise InvalidArgumentError([FieldViolation("channel", f"{c.value} has no content")])
        rendered, gaps = _render(arm, c, profile)
        contents.append((c, rendered))
        missing |= gaps
    warnings = [
        f"variable {shown(name)} is not in the profile; it renders empty"
        for name in sorted(missing)
    ]
    return Preview(contents, warnings)


def _render(
    arm: Arm, channel: Channel, profile: Mapping[str, Any]
) -> tuple[dict[str, str], frozenset[str]]:
    """The arm's content for this profile; a template that fails for it (an error in the
    template, a sandbox violation, the render budget) is FAILED_PRECONDITION with the reason,
    and nothing is stored: the caller may fix the profile or the context."""
    try:
        return arm.contents[channel].render(profile)
    except TemplateRenderError as exc:
        raise ContentRenderFailedError(
            f"the content does not render for this profile: {exc}",
            violations=[PreconditionViolation("TEMPLATE", channel.value, str(exc))],
            metadata={"channel": channel.value},
        ) from exc


def _replay(original: Message, again: Message) -> Message:
    if (original.user_id, original.content) != (again.user_id, again.content):
        raise AlreadyExistsError(
            "idempotency_key was already used for a different message",
            metadata={"message_id": original.message_id},
        )
    return original


async def _campaign(uow: ExecutionUnitOfWork, principal: Principal, campaign_id: str) -> Campaign:
    return await load_campaign(uow.campaigns, principal.organization_id, campaign_id)
