"""Turning a batch of recipients into message drafts: pure, so the executor's I/O stays thin.

Per recipient: holdout and variant by hash (domain.execution.assignment), control arms send nothing,
channels by eligibility in the campaign's order (fallback or all), content rendered from the
variant's (or the campaign's) channel content with the recipient's profile. A content that
fails to render for a recipient (TemplateRenderError: an error in the template, a sandbox
violation, an exhausted budget) makes that recipient's draft a failed one carrying the reason;
the other recipients are not affected (docs/lifecycle.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from domain.audience.contacts import address_for, choose_channels
from domain.audience.model import Recipient
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import ChannelContent, ChannelStrategy
from domain.campaigns.rendering import CompiledText, TemplateRenderError, compile_text, text_mode
from domain.campaigns.rules import TEXT_FIELDS
from domain.campaigns.templates import Template
from domain.campaigns.webhooks import with_headers
from domain.execution.assignment import Allocation, bucket
from domain.execution.model import ExecutionCounts, Message, MessageStatus, content_digest
from domain.kernel.channels import Channel
from domain.kernel.errors import FailedPreconditionError

_NONE_MISSING: frozenset[str] = frozenset()
RENDER_FAILED = "template failed to render"


def render_failure(exc: TemplateRenderError) -> str:
    """The reason a message (or a run) records for a render error."""
    return f"{RENDER_FAILED}: {exc}"


class ContentRenderFailedError(FailedPreconditionError):
    """The content fails to render for every recipient: the run (or a transactional send)
    fails with the reason instead of producing failed messages."""

    reason = "TEMPLATE_RENDER_FAILED"


@dataclass(frozen=True, slots=True)
class CompiledContent:
    channel: Channel
    texts: Mapping[str, CompiledText]
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, content: ChannelContent) -> CompiledContent:
        texts = {
            name: compile_text(getattr(content, name), text_mode(content.channel, name))
            for name in TEXT_FIELDS
            if getattr(content, name)
        }
        return cls(content.channel, texts, content.headers)

    def render(self, profile: Mapping[str, object]) -> tuple[dict[str, str], frozenset[str]]:
        """Raises TemplateRenderError naming the channel and text that failed."""
        missing: set[str] = set()
        try:
            out = {name: text.render_into(profile, missing) for name, text in self.texts.items()}
        except TemplateRenderError as exc:
            raise TemplateRenderError(f"{self._failing_text(profile)}: {exc}") from exc
        if self.headers:
            with_headers(out, self.headers)
        return out, (frozenset(missing) if missing else _NONE_MISSING)

    def _failing_text(self, profile: Mapping[str, object]) -> str:
        for name, text in self.texts.items():
            try:
                text.render(profile)
            except TemplateRenderError:
                return f"{self.channel.value}.{name}"
        return self.channel.value


@dataclass(frozen=True, slots=True)
class Arm:
    variant_id: str
    is_control: bool
    channels: tuple[Channel, ...]
    contents: Mapping[Channel, CompiledContent]


@dataclass(frozen=True, slots=True)
class CampaignPlan:
    """Everything about a campaign the per-recipient loop needs, computed once per execution."""

    campaign_id: str
    allocation: Allocation
    arms: Mapping[str, Arm]
    all_channels: bool
    # The A/B winner the allocation honours ("" before one is chosen): a run re-plans when the
    # campaign's winner changes under it (domain.execution.executor).
    winner_variant_id: str = ""
    # What the plan was made of: a planner in another process makes the same plan from them
    # (compiled templates do not cross a process boundary; domain.execution.planners).
    campaign: Campaign | None = field(default=None, compare=False, repr=False)
    templates: Mapping[str, Template] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(
        cls, campaign: Campaign, templates: Mapping[str, Template] | None = None
    ) -> CampaignPlan:
        spec = campaign.spec
        arms: dict[str, Arm] = {}
        variants = spec.variants or ()
        for variant in variants:
            contents = variant.channels or spec.channels
            arms[variant.variant_id] = _arm(
                variant.variant_id, variant.is_control, contents, templates or {}
            )
        if not variants:
            arms[""] = _arm("", False, spec.channels, templates or {})
        return cls(
            campaign_id=campaign.campaign_id,
            allocation=Allocation.for_campaign(
                spec.holdout_percentage, variants, campaign.winner_variant_id or ""
            ),
            arms=arms,
            all_channels=spec.channel_strategy is ChannelStrategy.ALL,
            winner_variant_id=campaign.winner_variant_id or "",
            campaign=campaign,
            templates=dict(templates or {}),
        )


def sent_contents(
    campaign: Campaign, templates: Mapping[str, Template] | None = None
) -> list[ChannelContent]:
    """Every content a campaign's arms send, templates resolved, uncompiled: what the webhook
    destination checks (domain.campaigns.webhooks) look at before a run or a send."""
    spec = campaign.spec
    groups = [v.channels or spec.channels for v in spec.variants if not v.is_control]
    if not spec.variants:
        groups.append(spec.channels)
    return [c for group in groups for c in _resolved(group, templates or {})]


def _resolved(
    contents: Sequence[ChannelContent], templates: Mapping[str, Template]
) -> list[ChannelContent]:
    return [
        templates[c.template_id].content if c.template_id and c.template_id in templates else c
        for c in contents
    ]


def _arm(
    variant_id: str,
    is_control: bool,
    contents: Sequence[ChannelContent],
    templates: Mapping[str, Template],
) -> Arm:
    resolved = _resolved(contents, templates)
    compiled = {c.channel: CompiledContent.of(c) for c in resolved}
    return Arm(variant_id, is_control, tuple(c.channel for c in contents), compiled)


@dataclass(slots=True)
class Draft:
    """A message before throttling and timing: who, which arm, which channel, what content.

    A value, not frozen only for speed (one per message; see domain.execution.Message)."""

    recipient: Recipient
    variant_id: str
    channel: Channel
    address: str
    content: dict[str, str]
    missing_variables: frozenset[str] = frozenset()
    error: str = ""  # set when the content failed to render: the message fails with it
    # The content's fingerprint (model.content_digest), computed with the content where it is
    # rendered, so that work leaves the executor's loop along with the rendering; "" until then.
    digest: str = ""


@dataclass(slots=True)
class BatchPlan:
    drafts: list[Draft] = field(default_factory=list)
    counts: ExecutionCounts = field(default_factory=ExecutionCounts)
    last_user_id: str = ""
    # The batch's holdout members: they get no message, but the executor records them with the
    # batch, so their conversions are the baseline of lift (docs/conversions.md).
    holdout_user_ids: list[str] = field(default_factory=list)


def plan_batch(plan: CampaignPlan, recipients: Sequence[Recipient]) -> BatchPlan:
    out = BatchPlan()
    drafts = out.drafts
    assign, campaign_id = plan.allocation.assign, plan.campaign_id
    arms, all_channels = plan.arms, plan.all_channels
    held_out = out.holdout_user_ids
    control = unreachable = failed = 0
    # Per recipient: the hot loop of an execution (docs/performance.md): locals, no helper objects.
    for recipient in recipients:
        contact = recipient.contact
        variant_id = assign(bucket(contact.user_id, campaign_id))
        if variant_id is None:
            held_out.append(contact.user_id)
            continue
        arm = arms[variant_id]
        if arm.is_control:
            control += 1
            continue
        channels = choose_channels(
            contact, arm.channels, set(recipient.suppressed_channels), all_channels=all_channels
        )
        if not channels:
            unreachable += 1
            continue
        profile = contact.profile()
        for channel in channels:
            try:
                content, missing = arm.contents[channel].render(profile)
            except TemplateRenderError as exc:
                failed += 1
                drafts.append(
                    Draft(
                        recipient,
                        variant_id,
                        channel,
                        address_for(contact, channel),
                        {},
                        error=render_failure(exc),
                    )
                )
                continue
            drafts.append(
                Draft(
                    recipient,
                    variant_id,
                    channel,
                    address_for(contact, channel),
                    content,
                    missing,
                    digest=content_digest(content),
                )
            )
    counts = out.counts
    counts.audience += len(recipients)
    counts.holdout += len(held_out)
    counts.control += control
    counts.unreachable += unreachable
    counts.failed = failed
    counts.queued = len(drafts) - failed
    if recipients:
        out.last_user_id = recipients[-1].contact.user_id
    return out


def fallback_draft(
    plan: CampaignPlan, recipient: Recipient, variant_id: str, failed: Channel
) -> Draft | None:
    """The draft on the first channel after `failed` in the arm's order that the recipient is
    eligible for (BR-CAM-003.3, on outcome), rendered as the run renders; None when there is none
    (the arm never sent on `failed`, it is a control arm, or no later channel is eligible)."""
    arm = plan.arms.get(variant_id)
    if arm is None or arm.is_control or failed not in arm.channels:
        return None
    later = arm.channels[arm.channels.index(failed) + 1 :]
    contact = recipient.contact
    channels = choose_channels(
        contact, later, set(recipient.suppressed_channels), all_channels=False
    )
    if not channels:
        return None
    channel = channels[0]
    address = address_for(contact, channel)
    try:
        content, missing = arm.contents[channel].render(contact.profile())
    except TemplateRenderError as exc:
        return Draft(recipient, variant_id, channel, address, {}, error=render_failure(exc))
    return Draft(recipient, variant_id, channel, address, content, missing)


def draft_message(
    draft: Draft,
    *,
    message_id: str,
    execution_id: str,
    campaign_id: str,
    organization_id: str,
    send_after: datetime,
    now: datetime,
    status: MessageStatus = MessageStatus.QUEUED,
    held: bool = False,
    fallback_of: str = "",
) -> Message:
    """The message a draft becomes, queued `now` to go at `send_after`: one shape for a run's
    messages, a trigger's and a fallback's, which differ only in their ids and timing."""
    contact = draft.recipient.contact
    return Message(
        message_id=message_id,
        execution_id=execution_id,
        campaign_id=campaign_id,
        organization_id=organization_id,
        user_id=contact.user_id,
        variant_id=draft.variant_id,
        channel=draft.channel,
        recipient=draft.address,
        content=draft.content,
        send_after=send_after,
        queued_at=now,
        status=status,
        content_digest=draft.digest or content_digest(draft.content),
        held=held,
        timezone=contact.timezone,
        fallback_of=fallback_of,
    )
