"""Campaign use cases, one transaction each; method names mirror the CampaignService RPCs.

Every method takes the caller's Principal first: it authorizes the call and scopes every read
and write to the caller's organization, so tenancy cannot be forgotten by a new RPC. The
aggregate decides each change and records its event; the use cases check what needs the world
outside it (templates, the clock, the etag) and save through domain.campaigns.store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from domain.audience.ports import AudienceSource
from domain.audience.segments import segment_violation
from domain.campaigns import rules, scheduling
from domain.campaigns.campaign import Campaign
from domain.campaigns.clones import base_name, clone_fingerprint, lookup_prefix, unique_name
from domain.campaigns.compliance import ensure_can_spam
from domain.campaigns.identity import assign_child_ids, fingerprint
from domain.campaigns.listing import CampaignPage, CampaignQuery
from domain.campaigns.model import MUTABLE_SPEC_FIELDS, CampaignSpec, CampaignType, Schedule
from domain.campaigns.ports import CampaignReads, NewCampaigns, UnitOfWork, UnitOfWorkFactory
from domain.campaigns.profile_fields import ensure_known_variables, renders_from_profiles_alone
from domain.campaigns.sample_render import ensure_content_renders
from domain.campaigns.store import (
    UnitOfWorkNewCampaigns,
    add_campaign,
    load_campaign,
    save_campaign,
)
from domain.campaigns.templates import Template, TemplateSource, templates_of
from domain.kernel.errors import (
    CampaignIncompleteError,
    CampaignNotFoundError,
    DuplicateRequestError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
    PreconditionViolation,
    RequestIdReusedError,
    StaleEtagError,
    required,
    shown,
)
from domain.kernel.outbox import stamped
from domain.kernel.ports import Clock, IdGenerator
from domain.kernel.principal import Principal

MAX_REQUEST_ID = 128
MAX_REASON = 500  # characters of a cancel reason
_CLONE_REQUEST = "request (a create, or a clone of another campaign or under another name)"


class Change(Protocol):
    """A lifecycle method of the aggregate, e.g. `Campaign.pause`."""

    def __call__(self, campaign: Campaign, /, *, by: str, at: datetime) -> None: ...


class ReadOnlyReads:
    """CampaignReads through a read-only unit of work of its own for each read."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def campaign(self, organization_id: str, campaign_id: str) -> Campaign | None:
        async with self._uow(read_only=True) as uow:
            return await uow.campaigns.get(organization_id, campaign_id)

    async def page(self, organization_id: str, query: CampaignQuery) -> CampaignPage:
        async with self._uow(read_only=True) as uow:
            return await uow.campaigns.list(organization_id, query)


class CampaignService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        *,
        min_schedule_lead: timedelta = scheduling.MIN_LEAD_TIME,
        min_cron_interval: timedelta = scheduling.MIN_CRON_INTERVAL,
        templates: TemplateSource | None = None,
        audience: AudienceSource | None = None,
        reads: CampaignReads | None = None,
        new_campaigns: NewCampaigns | None = None,
    ) -> None:
        """`min_schedule_lead` is BR-CAM-001.3's 5 minutes and `min_cron_interval` the shortest
        time between two cron firings (an hour); operators may change both.
        `templates` (the creative service) is asked at launch for every referenced template,
        and `audience` for the profile fields the content's variables may name. `reads`
        answers GetCampaign and ListCampaigns (by default a read-only unit of work per call),
        `new_campaigns` stores what CreateCampaign made (by default a unit of work per call)."""
        self._reads = reads or ReadOnlyReads(uow)
        self._new_campaigns = new_campaigns or UnitOfWorkNewCampaigns(uow)
        self._templates = templates
        self._audience = audience
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._min_lead = min_schedule_lead
        self._min_cron_interval = min_cron_interval

    # --- reads -------------------------------------------------------------------------------

    async def get_campaign(self, principal: Principal, campaign_id: str) -> Campaign:
        principal.require_read()
        found = await self._reads.campaign(
            principal.organization_id, required("campaign_id", campaign_id)
        )
        if found is None:
            raise CampaignNotFoundError(campaign_id)
        return found

    async def list_campaigns(self, principal: Principal, query: CampaignQuery) -> CampaignPage:
        principal.require_read()
        return await self._reads.page(principal.organization_id, query)

    # --- definition --------------------------------------------------------------------------

    async def create_campaign(
        self, principal: Principal, spec: CampaignSpec, *, request_id: str = ""
    ) -> Campaign:
        principal.require_write()
        _check_request_id(request_id)
        await _validate(spec)
        # Only a request_id is ever compared with it: without one there is nothing to digest
        # (a deep walk of the definition, a sixth of a Create's CPU; docs/performance.md).
        digest = fingerprint(spec) if request_id else ""
        try:
            return await self._create(principal, spec, request_id, digest)
        except DuplicateRequestError:
            # The request_id is taken (a retry, or a concurrent call that committed first):
            # answer as a replay.
            async with self._uow() as uow:
                return await _replay(uow, principal, request_id, digest)

    async def _create(
        self, principal: Principal, spec: CampaignSpec, request_id: str, digest: str
    ) -> Campaign:
        # Nothing is read first: a request_id already taken fails the insert, and the caller
        # answers that as a replay (one statement for the whole create where the store can).
        campaign = Campaign.new(
            self._ids.new_id(),
            principal.organization_id,
            assign_child_ids(spec, self._ids),
            by=principal.subject,
            at=self._clock.now(),
            request_id=request_id or None,
            request_fingerprint=digest if request_id else None,
        )
        _, pending = campaign.take_changes()
        await self._new_campaigns.add(campaign, stamped(pending, self._ids, self._clock))
        return campaign

    async def update_campaign(
        self,
        principal: Principal,
        campaign_id: str,
        spec: CampaignSpec,
        paths: frozenset[str],
        *,
        etag: str = "",
    ) -> Campaign:
        principal.require_write()
        _check_update_paths(paths)
        async with self._uow() as uow:
            campaign = await _load(uow, principal, campaign_id)
            _check_etag(campaign, etag)
            candidate = replace(campaign.spec, **{p: getattr(spec, p) for p in paths})
            await _validate(candidate)
            campaign.apply_update(
                assign_child_ids(candidate, self._ids, campaign.spec),
                paths,
                by=principal.subject,
                at=self._clock.now(),
            )
            await self._save(uow, campaign)
            return campaign

    async def delete_campaign(
        self, principal: Principal, campaign_id: str, *, etag: str = ""
    ) -> None:
        principal.require_write()
        async with self._uow() as uow:
            campaign = await _load(uow, principal, campaign_id)
            _check_etag(campaign, etag)
            campaign.ensure_deletable()
            await uow.campaigns.delete(principal.organization_id, campaign_id)
            await uow.commit()

    async def clone_campaign(
        self, principal: Principal, campaign_id: str, *, name: str = "", request_id: str = ""
    ) -> Campaign:
        """A new draft with the definition of `campaign_id`, named after docs/lifecycle.md
        (domain.campaigns.clones). `request_id` makes it idempotent as for create: a retry with
        the same key, campaign and name returns the same copy."""
        principal.require_write()
        _check_request_id(request_id)
        digest = clone_fingerprint(campaign_id, name)
        try:
            return await self._clone(principal, campaign_id, name, request_id, digest)
        except DuplicateRequestError:
            # A concurrent call with the same request_id committed first: answer as a replay.
            async with self._uow() as uow:
                return await _replay(uow, principal, request_id, digest, what=_CLONE_REQUEST)

    async def _clone(
        self, principal: Principal, campaign_id: str, name: str, request_id: str, digest: str
    ) -> Campaign:
        organization_id = principal.organization_id
        async with self._uow() as uow:
            if (
                request_id
                and (await uow.campaigns.get_by_request_id(organization_id, request_id)) is not None
            ):
                return await _replay(uow, principal, request_id, digest, what=_CLONE_REQUEST)
            source = await _load(uow, principal, campaign_id)
            base = base_name(source.spec.name, name)
            taken = await uow.campaigns.names_starting_with(organization_id, lookup_prefix(base))
            spec = replace(
                source.spec,
                name=unique_name(base, taken),
                audiences=tuple(replace(a, audience_id="") for a in source.spec.audiences),
                variants=tuple(replace(v, variant_id="") for v in source.spec.variants),
                triggers=tuple(replace(t, trigger_id="") for t in source.spec.triggers),
            )
            await _validate(spec)
            now = self._clock.now()
            clone = Campaign.new(
                self._ids.new_id(),
                organization_id,
                assign_child_ids(spec, self._ids),
                by=principal.subject,
                at=now,
                cloned_from_id=source.campaign_id,
                request_id=request_id or None,
                request_fingerprint=digest if request_id else None,
            )
            await add_campaign(uow, clone, self._ids, self._clock)
            await uow.commit()
            return clone

    # --- lifecycle ---------------------------------------------------------------------------

    async def schedule_campaign(
        self, principal: Principal, campaign_id: str, schedule: Schedule
    ) -> Campaign:
        principal.require_write()
        async with self._uow() as uow:
            campaign = await _load(uow, principal, campaign_id)
            now = self._clock.now()
            first = scheduling.validate_schedule(
                schedule, now, self._min_lead, self._min_cron_interval
            )
            await self.check_launch(campaign)
            campaign.schedule_for(schedule, first, by=principal.subject, at=now)
            await self._save(uow, campaign)
            return campaign

    async def unschedule_campaign(self, principal: Principal, campaign_id: str) -> Campaign:
        return await self._change(principal, campaign_id, Campaign.unschedule)

    async def activate_campaign(self, principal: Principal, campaign_id: str) -> Campaign:
        return await self._change(principal, campaign_id, Campaign.activate, launch=True)

    async def pause_campaign(self, principal: Principal, campaign_id: str) -> Campaign:
        """`campaign.paused` carries the messages its runs sent so far, counted in the same
        transaction as the pause."""
        principal.require_write()
        async with self._uow() as uow:
            campaign = await _load(uow, principal, campaign_id)
            sent = await uow.runs.messages_sent(campaign.organization_id, campaign_id)
            campaign.pause(by=principal.subject, at=self._clock.now(), messages_sent=sent)
            await self._save(uow, campaign)
            return campaign

    async def resume_campaign(self, principal: Principal, campaign_id: str) -> Campaign:
        return await self._change(principal, campaign_id, Campaign.resume)

    async def cancel_campaign(
        self, principal: Principal, campaign_id: str, reason: str = ""
    ) -> Campaign:
        if len(reason) > MAX_REASON:
            raise InvalidArgumentError(
                [FieldViolation("reason", f"at most {MAX_REASON} characters")]
            )
        principal.require_write()
        async with self._uow() as uow:
            campaign = await _load(uow, principal, campaign_id)
            now = self._clock.now()
            campaign.cancel(reason, by=principal.subject, at=now)
            if campaign.spec.campaign_type is CampaignType.TRIGGERED:
                # Its trigger messages belong to no run that would close them: cancelled here,
                # in the cancel's own transaction (docs/triggers.md).
                await uow.runs.cancel_triggered(campaign.organization_id, campaign_id, reason, now)
            await self._save(uow, campaign)
            return campaign

    async def select_winner(
        self, principal: Principal, campaign_id: str, variant_id: str
    ) -> Campaign:
        """SelectWinner: the operator declares the A/B winner by hand (any status; choosing the
        same winner again changes nothing and records no event). docs/experiments.md."""
        principal.require_write()
        required("campaign_id", campaign_id)
        required("variant_id", variant_id)
        if len(variant_id) > rules.MAX_ID:
            raise InvalidArgumentError(
                [FieldViolation("variant_id", f"at most {rules.MAX_ID} characters")]
            )
        async with self._uow() as uow:
            campaign = await _load(uow, principal, campaign_id)
            if campaign.select_winner(variant_id, by=principal.subject, at=self._clock.now()):
                await self._save(uow, campaign)
            return campaign

    async def _change(
        self, principal: Principal, campaign_id: str, change: Change, *, launch: bool = False
    ) -> Campaign:
        """Load, apply one lifecycle change, save. `launch` first checks that the campaign is
        ready and its content valid (BR-CAM-008), which only launching needs."""
        principal.require_write()
        async with self._uow() as uow:
            campaign = await _load(uow, principal, campaign_id)
            now = self._clock.now()
            if launch:
                await self.check_launch(campaign)
            change(campaign, by=principal.subject, at=now)
            await self._save(uow, campaign)
            return campaign

    # --- helpers -----------------------------------------------------------------------------

    async def check_launch(self, campaign: Campaign) -> None:
        """Everything a campaign needs before it may run (BR-CAM-008, docs/lifecycle.md): it is
        complete, every referenced segment exists, and its content is valid. Every way of
        starting a campaign goes through it (ScheduleCampaign, ActivateCampaign and
        SendCampaignNow in domain.execution.send_now), so what would fail at run time is
        answered to the operator who launches instead. Raises; changes nothing."""
        _ensure_ready(campaign)
        await self._ensure_segments(campaign)
        templates = await self._ensure_content(campaign)
        ensure_can_spam(campaign, templates)  # last: a content that is wrong says so first

    async def _ensure_segments(self, campaign: Campaign) -> None:
        """Every include and exclude audience naming a saved segment finds it: one
        PreconditionViolation per missing one, subject `audiences[i].segment_id`."""
        audiences = campaign.spec.audiences
        if self._audience is None or not any(a.segment_id for a in audiences):
            return
        missing = await self._audience.missing_segments(campaign.organization_id, audiences)
        if missing:
            names = ", ".join(shown(audiences[i].segment_id) for i in missing)
            raise CampaignIncompleteError(
                f"the campaign references segments that do not exist: {names}",
                violations=[segment_violation(i, audiences[i]) for i in missing],
                metadata={"segment_id": audiences[missing[0]].segment_id or ""},
            )

    async def _ensure_content(self, campaign: Campaign) -> Mapping[str, Template]:
        """BR-CAM-008.1/2: every referenced template exists, its texts are valid templates and
        render with a sample profile, and every variable is a profile field: checked at launch
        rather than found by the executor."""
        try:
            found = await templates_of(campaign, self._templates)
        except NotFoundError as exc:
            raise CampaignIncompleteError(
                f"the campaign references a template the creative service does not have: {exc}",
                violations=[PreconditionViolation("TEMPLATE", "template_id", str(exc))],
            ) from exc
        for template_id, template in found.items():
            problems = await asyncio.to_thread(rules.template_problems, template.content)
            if problems:
                raise CampaignIncompleteError(
                    f"template {shown(template_id)} is not valid: {'; '.join(problems)}",
                    violations=[
                        PreconditionViolation("TEMPLATE", template_id, p) for p in problems
                    ],
                )
        # Rendering is CPU work, bounded by the render budget: off the event loop.
        await asyncio.to_thread(ensure_content_renders, campaign, found)
        if self._audience is None or not renders_from_profiles_alone(campaign):
            return found  # (a transactional activation must not wait on the data service)
        known = await self._audience.profile_fields(campaign.organization_id)
        if known is not None:
            ensure_known_variables(campaign, found, known)
        return found

    async def _save(self, uow: UnitOfWork, campaign: Campaign) -> None:
        await save_campaign(uow, campaign, self._ids, self._clock)
        await uow.commit()


async def _validate(spec: CampaignSpec) -> None:
    """rules.validate_spec off the event loop when it compiles a template and test-renders it
    within the render budget, which must not hold up other requests (docs/rendering.md); in
    place when every text is a plain substitution (rules.validates_cheaply)."""
    if rules.validates_cheaply(spec):
        rules.validate_spec(spec)
    else:
        await asyncio.to_thread(rules.validate_spec, spec)


async def _load(uow: UnitOfWork, principal: Principal, campaign_id: str) -> Campaign:
    return await load_campaign(uow.campaigns, principal.organization_id, campaign_id)


async def _replay(
    uow: UnitOfWork,
    principal: Principal,
    request_id: str,
    digest: str,
    *,
    what: str = "campaign definition",
) -> Campaign:
    """The campaign a request_id made, for a retry asking the same (`digest`): create and
    clone share the organization's request_ids, so a key used by one is reused by the other."""
    original = await uow.campaigns.get_by_request_id(principal.organization_id, request_id)
    if original is None:  # the original was deleted since; the key is free again
        raise RequestIdReusedError("request_id belonged to a campaign that was deleted")
    if original.request_fingerprint != digest:
        raise RequestIdReusedError(
            f"request_id was already used for a different {what}",
            metadata={"request_id": request_id, "campaign_id": original.campaign_id},
        )
    return original


def _check_request_id(request_id: str) -> None:
    if len(request_id) > MAX_REQUEST_ID:
        raise InvalidArgumentError(
            [FieldViolation("request_id", f"at most {MAX_REQUEST_ID} characters")]
        )


def _check_update_paths(paths: frozenset[str]) -> None:
    if not paths:
        raise InvalidArgumentError([FieldViolation("update_mask", "name the fields to update")])
    unknown = sorted(paths - MUTABLE_SPEC_FIELDS)
    if unknown:
        raise InvalidArgumentError(
            [FieldViolation("update_mask", f"{shown(p)} cannot be updated") for p in unknown]
        )


def _check_etag(campaign: Campaign, etag: str) -> None:
    if etag and etag != campaign.etag:
        raise StaleEtagError(
            "the campaign changed since it was read; fetch it again and reapply the change",
            metadata={"current_etag": campaign.etag},
        )


def _ensure_ready(campaign: Campaign) -> None:
    problems = rules.readiness_problems(campaign.spec)
    if problems:
        raise CampaignIncompleteError(
            "the campaign is not ready to launch: "
            + "; ".join(f"{p.subject}: {p.description}" for p in problems),
            violations=problems,
        )
